"""Tax: declared sales trend and year on year, VAT paid against payable, the credit grade;
input invoices received, the corporate-income-tax settlement and R&D super deduction year on
year, the customs credit rating and trade declared, and public support (subsidies paid,
high-tech certification)."""

from __future__ import annotations

import polars as pl

from features.events import Measures, event_window_sums
from features.family import (
    DOWN,
    TAX_RATINGS,
    UP,
    Evidence,
    Family,
    Step,
    Unit,
    days,
    event_columns,
    feature,
    months,
    names,
)
from features.panel import (
    LATEST,
    annual_panel,
    at,
    change,
    label_at,
    lag_mean,
    lag_sum,
    monthly_panel,
    ratio,
    summarise,
)
from features.point_in_time import GRID_ROW
from features.source_set import SourceSet, one

FAMILY_NAME = "tax"
VAT = one("tax_vat_declaration")
TAX_RATING = one("tax_credit_rating")
INVOICES_RECEIVED = one("tax_invoice_receipt")
CIT_SETTLEMENT = one("tax_cit_annual_settlement")
RD_DEDUCTION = one("tax_rd_super_deduction")
CUSTOMS_RATING = one("tax_customs_credit_rating")
CUSTOMS_DECLARATIONS = one("tax_customs_declaration")
SUBSIDIES = one("tax_government_subsidy")
HIGH_TECH = one("tax_high_tech_certification")
CUSTOMS_DISHONEST = "失信企业"
CUSTOMS_ADVANCED = "高级认证企业"
# A high-tech enterprise certificate is valid for three years.
CERTIFICATE_YEARS = days(1095)
QUARTER, YEAR_WINDOW = months(3), months(12)
RECENT = range(QUARTER.length)
BEFORE = range(QUARTER.length, 2 * QUARTER.length)
YEAR_AGO = range(12, 12 + QUARTER.length)
YEAR = range(YEAR_WINDOW.length)

UNPAID_VAT = Evidence(
    VAT,
    ("vat_payable", "vat_paid"),
    pl.col("vat_paid") < pl.col("vat_payable"),
    mode="panel",
    lags=tuple(YEAR),
)

REVENUE_TREND = feature(
    "tax_revenue_trend_3m",
    FAMILY_NAME,
    [VAT],
    Unit.signed_ratio,
    DOWN,
    (
        "最近3个月月均申报销售额较此前3个月的变化（按已申报月份平均）",
        "Average monthly declared sales over the last 3 months vs the 3 before (months declared)",
    ),
    ("近3个月申报销售额较前3个月变化 {value}", "declared sales {value} vs the previous 3 months"),
    window=QUARTER,
    evidence=[Evidence(VAT, ("sales_revenue",), mode="panel", lags=(*RECENT, *BEFORE))],
)
REVENUE_YOY = feature(
    "tax_revenue_yoy_3m",
    FAMILY_NAME,
    [VAT],
    Unit.signed_ratio,
    DOWN,
    (
        "最近3个月月均申报销售额同比变化（按已申报月份平均）",
        "Average monthly declared sales over the last 3 months, year on year (months declared)",
    ),
    ("近3个月申报销售额同比变化 {value}", "declared sales {value} year on year"),
    window=QUARTER,
    evidence=[Evidence(VAT, ("sales_revenue",), mode="panel", lags=(*RECENT, *YEAR_AGO))],
)
VAT_PAID_RATIO = feature(
    "tax_vat_paid_ratio_12m",
    FAMILY_NAME,
    [VAT],
    Unit.ratio,
    DOWN,
    ("最近12个月增值税实缴/应缴", "VAT paid / VAT payable over the last 12 months"),
    (
        "近12个月增值税仅缴纳应缴的 {value}",
        "only {value} of VAT payable paid in the last 12 months",
    ),
    window=YEAR_WINDOW,
    evidence=[UNPAID_VAT],
)
VAT_UNPAID = feature(
    "tax_vat_unpaid_12m",
    FAMILY_NAME,
    [VAT],
    Unit.cny,
    UP,
    ("最近12个月增值税应缴未缴金额", "VAT payable but unpaid over the last 12 months"),
    ("近12个月增值税欠缴 {value}", "{value} VAT unpaid over the last 12 months"),
    window=YEAR_WINDOW,
    evidence=[UNPAID_VAT],
)
CREDIT_RATING = feature(
    "tax_credit_rating",
    FAMILY_NAME,
    [TAX_RATING],
    Unit.rating,
    UP,
    ("最近一次纳税信用等级（A=0 … D=4）", "Latest tax credit grade (A=0 ... D=4)"),
    ("纳税信用等级为 {value}", "tax credit grade {value}"),
    evidence=[Evidence(TAX_RATING, ("rating",), mode="latest")],
)

INPUT_TREND = feature(
    "tax_input_invoices_trend_3m",
    FAMILY_NAME,
    [INVOICES_RECEIVED],
    Unit.signed_ratio,
    DOWN,
    (
        "最近3个月月均取得进项发票金额较此前3个月的变化",
        "Average monthly amount of input invoices received over the last 3 months vs the 3 before",
    ),
    (
        "近3个月取得进项发票金额较前3个月变化 {value}",
        "input invoices received {value} vs the previous 3 months",
    ),
    window=QUARTER,
    evidence=[
        Evidence(
            INVOICES_RECEIVED,
            ("invoices_received", "input_amount"),
            mode="panel",
            lags=(*RECENT, *BEFORE),
        )
    ],
)
SETTLEMENTS = Evidence(
    CIT_SETTLEMENT, ("taxable_income", "loss_carried_forward"), mode="panel", lags=(0, 1)
)
TAXABLE_INCOME_CHANGE = feature(
    "tax_cit_taxable_income_change",
    FAMILY_NAME,
    [CIT_SETTLEMENT],
    Unit.signed_ratio,
    DOWN,
    (
        "最近一次企业所得税汇算应纳税所得额较上年变化",
        "Taxable income in the latest corporate-income-tax settlement vs the year before",
    ),
    (
        "企业所得税汇算应纳税所得额较上年变化 {value}",
        "taxable income {value} vs the year before",
    ),
    evidence=[SETTLEMENTS],
)
LOSS_CARRIED = feature(
    "tax_cit_loss_carried_forward",
    FAMILY_NAME,
    [CIT_SETTLEMENT],
    Unit.cny,
    UP,
    (
        "最近一次企业所得税汇算结转的以前年度亏损",
        "Losses carried forward in the latest corporate-income-tax settlement",
    ),
    ("企业所得税汇算结转亏损 {value}", "{value} of losses carried forward"),
    evidence=[SETTLEMENTS],
)
RD_CHANGE = feature(
    "tax_rd_expense_change",
    FAMILY_NAME,
    [RD_DEDUCTION],
    Unit.signed_ratio,
    DOWN,
    (
        "最近一次研发费用加计扣除申报的研发费用较上年变化",
        "R&D expense claimed for super deduction in the latest year vs the year before",
    ),
    ("加计扣除研发费用较上年变化 {value}", "R&D expense {value} vs the year before"),
    evidence=[Evidence(RD_DEDUCTION, ("rd_expense", "rd_projects"), mode="panel", lags=(0, 1))],
)
LATEST_CUSTOMS_RATING = Evidence(CUSTOMS_RATING, ("customs_rating",), mode="latest")
CUSTOMS_DISHONEST_RATED = feature(
    "customs_rated_dishonest",
    FAMILY_NAME,
    [CUSTOMS_RATING],
    Unit.flag,
    UP,
    ("最近一次海关信用等级为失信企业", "Rated a dishonest enterprise in the latest customs rating"),
    ("海关信用等级为失信企业：{value}", "rated dishonest by customs: {value}"),
    evidence=[LATEST_CUSTOMS_RATING],
)
CUSTOMS_ADVANCED_RATED = feature(
    "customs_rated_advanced",
    FAMILY_NAME,
    [CUSTOMS_RATING],
    Unit.flag,
    DOWN,
    (
        "最近一次海关信用等级为高级认证企业",
        "Rated an advanced certified enterprise in the latest customs rating",
    ),
    ("海关高级认证企业：{value}", "advanced certified enterprise of customs: {value}"),
    evidence=[LATEST_CUSTOMS_RATING],
)
TRADE_TREND = feature(
    "customs_trade_trend_3m",
    FAMILY_NAME,
    [CUSTOMS_DECLARATIONS],
    Unit.signed_ratio,
    DOWN,
    (
        "最近3个月月均报关进出口额较此前3个月的变化",
        "Average monthly imports and exports declared over the last 3 months vs the 3 before",
    ),
    (
        "近3个月报关进出口额较前3个月变化 {value}",
        "imports and exports declared {value} vs the previous 3 months",
    ),
    window=QUARTER,
    evidence=[
        Evidence(
            CUSTOMS_DECLARATIONS,
            ("import_value", "export_value", "declarations"),
            mode="panel",
            lags=(*RECENT, *BEFORE),
        )
    ],
)
SUBSIDIES_PAID = Evidence(SUBSIDIES, ("programme", "subsidy_amount"))
SUBSIDY_COUNT = feature(
    "subsidy_count_365d",
    FAMILY_NAME,
    [SUBSIDIES],
    Unit.count,
    DOWN,
    ("近365天获得政府补贴笔数", "Government subsidies paid to the firm in the last 365 days"),
    (
        "近365天获得政府补贴 {value} 笔",
        "{value} government [subsidy|subsidies] received in the last 365 days",
    ),
    window=days(365),
    evidence=[SUBSIDIES_PAID],
)
SUBSIDY_AMOUNT = feature(
    "subsidy_amount_365d",
    FAMILY_NAME,
    [SUBSIDIES],
    Unit.cny,
    DOWN,
    ("近365天获得政府补贴金额", "Government subsidies received in the last 365 days"),
    ("近365天获得政府补贴 {value}", "{value} of government subsidies in the last 365 days"),
    window=days(365),
    evidence=[SUBSIDIES_PAID],
)
HIGH_TECH_CERTIFIED = feature(
    f"high_tech_certification_count_{CERTIFICATE_YEARS}",
    FAMILY_NAME,
    [HIGH_TECH],
    Unit.count,
    DOWN,
    (
        "近3年（证书有效期内）获得高新技术企业认定次数",
        "High-tech enterprise certifications in the last 3 years (a certificate's validity)",
    ),
    (
        "近3年获高新技术企业认定 {value} 次",
        "certified a high-tech enterprise {value} [time|times] in the last 3 years",
    ),
    window=CERTIFICATE_YEARS,
    evidence=[Evidence(HIGH_TECH, ("certificate_no", "tech_field", "valid_to"))],
)


def vat(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(VAT)
    if not members:
        return None
    long = monthly_panel(
        sources,
        members,
        grid,
        ["sales_revenue", "vat_payable", "vat_paid"],
        sorted({*RECENT, *BEFORE, *YEAR, *YEAR_AGO}),
    )
    return summarise(
        long,
        change(lag_mean("sales_revenue", RECENT), lag_mean("sales_revenue", BEFORE)).alias(
            REVENUE_TREND.name
        ),
        change(lag_mean("sales_revenue", RECENT), lag_mean("sales_revenue", YEAR_AGO)).alias(
            REVENUE_YOY.name
        ),
        ratio(lag_sum("vat_paid", YEAR), lag_sum("vat_payable", YEAR)).alias(VAT_PAID_RATIO.name),
        (lag_sum("vat_payable", YEAR) - lag_sum("vat_paid", YEAR))
        .clip(lower_bound=0)
        .alias(VAT_UNPAID.name),
    ).drop(LATEST)


def tax_rating(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(TAX_RATING)
    if not members:
        return None
    long = annual_panel(sources, members, grid, [], (0,), labels=("rating",))
    grades = pl.LazyFrame(
        {
            "_grade": list(TAX_RATINGS),
            CREDIT_RATING.name: [float(i) for i, _ in enumerate(TAX_RATINGS)],
        }
    )
    return (
        summarise(long, label_at("rating", 0).alias("_grade"))
        .join(grades, on="_grade", how="left")
        .select(GRID_ROW, CREDIT_RATING.name)
    )


def input_invoices(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(INVOICES_RECEIVED)
    if not members:
        return None
    long = monthly_panel(sources, members, grid, ["input_amount"], (*RECENT, *BEFORE))
    return summarise(
        long,
        change(lag_mean("input_amount", RECENT), lag_mean("input_amount", BEFORE)).alias(
            INPUT_TREND.name
        ),
    ).drop(LATEST)


def cit_settlement(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(CIT_SETTLEMENT)
    if not members:
        return None
    long = annual_panel(sources, members, grid, ["taxable_income", "loss_carried_forward"], (0, 1))
    return summarise(
        long,
        change(at("taxable_income", 0), at("taxable_income", 1)).alias(TAXABLE_INCOME_CHANGE.name),
        at("loss_carried_forward", 0).alias(LOSS_CARRIED.name),
    ).drop(LATEST)


def rd_deduction(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(RD_DEDUCTION)
    if not members:
        return None
    long = annual_panel(sources, members, grid, ["rd_expense"], (0, 1))
    return summarise(
        long, change(at("rd_expense", 0), at("rd_expense", 1)).alias(RD_CHANGE.name)
    ).drop(LATEST)


def customs_rating(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(CUSTOMS_RATING)
    if not members:
        return None
    long = annual_panel(sources, members, grid, [], (0,), labels=("customs_rating",))
    latest = label_at("customs_rating", 0)
    return summarise(
        long,
        (latest == CUSTOMS_DISHONEST).cast(pl.Float64).alias(CUSTOMS_DISHONEST_RATED.name),
        (latest == CUSTOMS_ADVANCED).cast(pl.Float64).alias(CUSTOMS_ADVANCED_RATED.name),
    ).drop(LATEST)


def customs_trade(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(CUSTOMS_DECLARATIONS)
    if not members:
        return None
    long = monthly_panel(
        sources, members, grid, ["import_value", "export_value"], (*RECENT, *BEFORE)
    )

    def trade(lags: range) -> pl.Expr:
        return lag_mean("import_value", lags) + lag_mean("export_value", lags)

    return summarise(long, change(trade(RECENT), trade(BEFORE)).alias(TRADE_TREND.name)).drop(
        LATEST
    )


def public_support(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    parts = [
        Measures(
            SUBSIDIES,
            {"subsidy": pl.lit(1), "subsidy_amount": pl.col("subsidy_amount")},
            columns=("subsidy_amount",),
        ),
        Measures(HIGH_TECH, {"certified": pl.lit(1)}),
    ]
    return event_window_sums(
        grid,
        sources,
        parts,
        {
            **event_columns([SUBSIDY_COUNT], "subsidy"),
            **event_columns([SUBSIDY_AMOUNT], "subsidy_amount"),
            **event_columns([HIGH_TECH_CERTIFIED], "certified"),
        },
    )


VAT_SPECS = (REVENUE_TREND, REVENUE_YOY, VAT_PAID_RATIO, VAT_UNPAID)
CIT_SPECS = (TAXABLE_INCOME_CHANGE, LOSS_CARRIED)
CUSTOMS_RATING_SPECS = (CUSTOMS_DISHONEST_RATED, CUSTOMS_ADVANCED_RATED)
SUPPORT_SPECS = (SUBSIDY_COUNT, SUBSIDY_AMOUNT, HIGH_TECH_CERTIFIED)
# Added for issue 22 (sources that carried stress and fed nothing), by ablation group.
FILING_SPECS = (INPUT_TREND, *CIT_SPECS, RD_CHANGE)
CUSTOMS_SPECS = (*CUSTOMS_RATING_SPECS, TRADE_TREND)
FAMILY = Family(
    FAMILY_NAME,
    (*VAT_SPECS, CREDIT_RATING, *FILING_SPECS, *CUSTOMS_SPECS, *SUPPORT_SPECS),
    steps=(
        Step(vat, names(VAT_SPECS)),
        Step(tax_rating, (CREDIT_RATING.name,)),
        Step(input_invoices, (INPUT_TREND.name,)),
        Step(cit_settlement, names(CIT_SPECS)),
        Step(rd_deduction, (RD_CHANGE.name,)),
        Step(customs_rating, names(CUSTOMS_RATING_SPECS)),
        Step(customs_trade, (TRADE_TREND.name,)),
        Step(public_support, names(SUPPORT_SPECS)),
    ),
)
