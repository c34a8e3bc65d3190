"""Annual reports: leverage, net margin and revenue growth from the latest report usable at T
(and the one before it for growth); the corrections made to the latest report, and the
guarantees given and equity transfers declared in the latest report of each kind; whether the
firm filed its reports (on time, late or not at all), the pension arrears and contributions of
its social-insurance section, and its bank loans against revenue from the assets section."""

from __future__ import annotations

import polars as pl

from features.family import DOWN, UP, Evidence, Family, Step, Unit, feature, names
from features.panel import (
    LATEST,
    annual_panel,
    at,
    change,
    label_at,
    periods_where,
    ratio,
    summarise,
)
from features.point_in_time import EVENT_DATE, GRID_ROW, valid_rows
from features.source_set import SourceFamily, SourceSet, one

FAMILY_NAME = "annual_report"
ANNUAL_REPORT = one("annual_report_basic")
CORRECTIONS = one("annual_report_corrections")
GUARANTEES = one("annual_report_guarantees")
EQUITY_TRANSFERS = one("annual_report_equity_transfer")
FILING_STATUS = one("annual_report_filing_status")
SOCIAL_INSURANCE = one("annual_report_social_insurance")
ASSETS = one("annual_report_assets")
# The market regulator's filing statuses: filed on time, filed late, not filed.
NOT_FILED = "未报送"
FILED_LATE = "逾期补报"
# Report years looked back over for lapses: the latest three usable at T.
FILING_LAGS = (0, 1, 2)
# A report of year Y arrives in the middle of Y + 1; one more than two years older than T's year
# says nothing about the firm now (a firm that stopped giving guarantees files no rows).
REPORT_REACH_DAYS = 3 * 365 + 1
TEN_THOUSAND_YUAN = 10_000.0
GUARANTEES_SHOWN = ("debtor", "creditor", "principal_amount", "guarantee_type", "term_end")
TRANSFERS_SHOWN = ("shareholder_name", "pct_before", "pct_after", "transfer_date")
REPORTED = ["total_assets", "total_liabilities", "revenue", "net_profit"]
LATEST_REPORTS = Evidence(
    ANNUAL_REPORT,
    ("total_assets", "total_liabilities", "revenue", "net_profit"),
    mode="panel",
    lags=(0, 1),
)

LIABILITY_RATIO = feature(
    "report_liability_ratio",
    FAMILY_NAME,
    [ANNUAL_REPORT],
    Unit.ratio,
    UP,
    ("最近年报资产负债率", "Liabilities / assets in the latest annual report"),
    ("年报资产负债率 {value}", "liabilities at {value} of assets in the latest annual report"),
    evidence=[LATEST_REPORTS],
)
PROFIT_MARGIN = feature(
    "report_profit_margin",
    FAMILY_NAME,
    [ANNUAL_REPORT],
    Unit.signed_ratio,
    DOWN,
    ("最近年报净利润率", "Net profit / revenue in the latest annual report"),
    ("年报净利润率 {value}", "net margin {value} in the latest annual report"),
    evidence=[LATEST_REPORTS],
)
REVENUE_GROWTH = feature(
    "report_revenue_growth",
    FAMILY_NAME,
    [ANNUAL_REPORT],
    Unit.signed_ratio,
    DOWN,
    ("最近年报营业收入较上年变化", "Revenue growth in the latest annual report vs the year before"),
    ("年报营业收入较上年变化 {value}", "annual revenue {value} vs the year before"),
    evidence=[LATEST_REPORTS],
)

CORRECTION_COUNT = feature(
    "report_corrections",
    FAMILY_NAME,
    [CORRECTIONS],
    Unit.count,
    UP,
    ("最近年报的修改次数", "Corrections made to the latest annual report"),
    ("最近年报修改 {value} 次", "latest annual report corrected {value} [time|times]"),
    evidence=[Evidence(CORRECTIONS, ("corrections", "corrected_items"), mode="latest")],
)
GUARANTEE_COUNT = feature(
    "report_guarantee_count",
    FAMILY_NAME,
    [GUARANTEES],
    Unit.count,
    UP,
    ("最近年报披露的对外担保笔数", "Guarantees given, as declared in the latest annual report"),
    (
        "最近年报披露对外担保 {value} 笔",
        "{value} [guarantee|guarantees] given in the latest annual report",
    ),
    evidence=[Evidence(GUARANTEES, GUARANTEES_SHOWN, window_days=REPORT_REACH_DAYS)],
)
GUARANTEE_PRINCIPAL = feature(
    "report_guarantee_principal",
    FAMILY_NAME,
    [GUARANTEES],
    Unit.cny,
    UP,
    (
        "最近年报披露的对外担保主债权合计",
        "Principal of the debts guaranteed, as declared in the latest annual report",
    ),
    (
        "最近年报披露为他人担保债务 {value}",
        "guarantees of {value} of others' debts in the latest annual report",
    ),
    evidence=[Evidence(GUARANTEES, GUARANTEES_SHOWN, window_days=REPORT_REACH_DAYS)],
)
EQUITY_TRANSFER_COUNT = feature(
    "report_equity_transfer_count",
    FAMILY_NAME,
    [EQUITY_TRANSFERS],
    Unit.count,
    UP,
    (
        "最近年报披露的股权变更股东数",
        "Shareholders whose stake changed, per the latest annual report",
    ),
    (
        "最近年报披露 {value} 名股东股权变更",
        "{value} [shareholder's|shareholders'] stake changed in the latest annual report",
    ),
    evidence=[Evidence(EQUITY_TRANSFERS, TRANSFERS_SHOWN, window_days=REPORT_REACH_DAYS)],
)

LATEST_FILINGS = Evidence(
    FILING_STATUS, ("filing_status", "filed_date"), mode="panel", lags=FILING_LAGS
)
LATEST_NOT_FILED = feature(
    "report_latest_not_filed",
    FAMILY_NAME,
    [FILING_STATUS],
    Unit.flag,
    UP,
    ("最近报告年度未报送年报", "The latest annual report due was not filed"),
    ("最近报告年度未报送年报：{value}", "latest annual report not filed: {value}"),
    evidence=[LATEST_FILINGS],
)
FILING_LAPSES = feature(
    "report_filing_lapses_3y",
    FAMILY_NAME,
    [FILING_STATUS],
    Unit.count,
    UP,
    (
        "最近三个报告年度中逾期补报或未报送年报的年数",
        "Of the latest three report years, those filed late or not at all",
    ),
    (
        "最近三个报告年度中 {value} 年逾期或未报送年报",
        "annual report late or not filed in {value} of the latest three [year|years]",
    ),
    evidence=[LATEST_FILINGS],
)
SOCIAL_INSURANCE_SHOWN = ("pension_insured", "pension_paid", "accumulated_arrears")
PENSION_ARREARS = feature(
    "report_pension_arrears",
    FAMILY_NAME,
    [SOCIAL_INSURANCE],
    Unit.cny,
    UP,
    (
        "最近年报社保信息中的养老保险累计欠缴金额",
        "Accumulated pension arrears declared in the latest annual report",
    ),
    (
        "最近年报申报养老保险累计欠缴 {value}",
        "pension arrears of {value} declared in the latest annual report",
    ),
    evidence=[Evidence(SOCIAL_INSURANCE, SOCIAL_INSURANCE_SHOWN, mode="panel", lags=(0,))],
)
PENSION_PAID_GROWTH = feature(
    "report_pension_paid_growth",
    FAMILY_NAME,
    [SOCIAL_INSURANCE],
    Unit.signed_ratio,
    DOWN,
    (
        "最近年报养老保险实际缴费较上年变化",
        "Pension contributions paid in the latest annual report vs the year before",
    ),
    ("年报养老保险缴费较上年变化 {value}", "pension contributions {value} vs the year before"),
    evidence=[Evidence(SOCIAL_INSURANCE, SOCIAL_INSURANCE_SHOWN, mode="panel", lags=(0, 1))],
)
BANK_LOANS_TO_REVENUE = feature(
    "report_bank_loans_to_revenue",
    FAMILY_NAME,
    [ASSETS],
    Unit.multiple,
    UP,
    (
        "最近年报银行贷款与主营业务收入之比",
        "Bank loans / main business revenue in the latest annual report",
    ),
    (
        "年报银行贷款为主营业务收入的 {value} 倍",
        "bank loans at {value} times main business revenue in the latest annual report",
    ),
    evidence=[Evidence(ASSETS, ("bank_loans", "main_business_revenue"), mode="panel", lags=(0,))],
)


def annual_report(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(ANNUAL_REPORT)
    if not members:
        return None
    long = annual_panel(sources, members, grid, REPORTED, (0, 1))
    return summarise(
        long,
        ratio(at("total_liabilities", 0), at("total_assets", 0))
        .cast(pl.Float64)
        .alias(LIABILITY_RATIO.name),
        ratio(at("net_profit", 0), at("revenue", 0)).cast(pl.Float64).alias(PROFIT_MARGIN.name),
        change(at("revenue", 0), at("revenue", 1)).cast(pl.Float64).alias(REVENUE_GROWTH.name),
    ).drop(LATEST)


def report_corrections(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(CORRECTIONS)
    if not members:
        return None
    long = annual_panel(sources, members, grid, ["corrections"], (0,))
    return summarise(long, at("corrections", 0).cast(pl.Float64).alias(CORRECTION_COUNT.name)).drop(
        LATEST
    )


def latest_report_sums(
    grid: pl.LazyFrame,
    sources: SourceSet,
    family: SourceFamily,
    measures: dict[str, pl.Expr],
    columns: tuple[str, ...],
) -> pl.LazyFrame | None:
    """Per grid row, ``measures`` summed over the rows of the latest report year usable at T
    (within ``REPORT_REACH_DAYS``) of a source with several rows per report; zero when the
    source is present but holds no such row for the firm, None when it is absent."""
    held = sources.family_versions(family, columns)
    if held is None:
        return None
    year = pl.col(EVENT_DATE).dt.year()
    sums = (
        valid_rows(held.with_columns(**measures), grid, REPORT_REACH_DAYS)
        .filter(year == year.max().over(GRID_ROW))
        .group_by(GRID_ROW)
        .agg(pl.col(name).cast(pl.Float64).sum() for name in measures)
    )
    return (
        grid.select(GRID_ROW)
        .join(sums, on=GRID_ROW, how="left")
        .with_columns(pl.col(name).fill_null(0.0) for name in measures)
    )


def report_guarantees(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    return latest_report_sums(
        grid,
        sources,
        GUARANTEES,
        {
            GUARANTEE_COUNT.name: pl.lit(1),
            GUARANTEE_PRINCIPAL.name: pl.col("principal_amount").fill_null(0.0) * TEN_THOUSAND_YUAN,
        },
        ("principal_amount",),
    )


def report_equity_transfers(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    return latest_report_sums(
        grid, sources, EQUITY_TRANSFERS, {EQUITY_TRANSFER_COUNT.name: pl.lit(1)}, ()
    )


def report_filing(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(FILING_STATUS)
    if not members:
        return None
    long = annual_panel(sources, members, grid, [], FILING_LAGS, labels=("filing_status",))
    status = pl.col("filing_status")
    return summarise(
        long,
        (label_at("filing_status", 0) == NOT_FILED).cast(pl.Float64).alias(LATEST_NOT_FILED.name),
        periods_where(status.is_in([NOT_FILED, FILED_LATE]), FILING_LAGS)
        .cast(pl.Float64)
        .alias(FILING_LAPSES.name),
    ).drop(LATEST)


def report_social_insurance(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(SOCIAL_INSURANCE)
    if not members:
        return None
    long = annual_panel(sources, members, grid, ["accumulated_arrears", "pension_paid"], (0, 1))
    return summarise(
        long,
        (at("accumulated_arrears", 0) * TEN_THOUSAND_YUAN)
        .cast(pl.Float64)
        .alias(PENSION_ARREARS.name),
        change(at("pension_paid", 0), at("pension_paid", 1))
        .cast(pl.Float64)
        .alias(PENSION_PAID_GROWTH.name),
    ).drop(LATEST)


def report_assets(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(ASSETS)
    if not members:
        return None
    long = annual_panel(sources, members, grid, ["bank_loans", "main_business_revenue"], (0,))
    return summarise(
        long,
        ratio(at("bank_loans", 0), at("main_business_revenue", 0))
        .cast(pl.Float64)
        .alias(BANK_LOANS_TO_REVENUE.name),
    ).drop(LATEST)


RATIO_SPECS = (LIABILITY_RATIO, PROFIT_MARGIN, REVENUE_GROWTH)
GUARANTEE_SPECS = (GUARANTEE_COUNT, GUARANTEE_PRINCIPAL)
# Added for issue 22 (sources that carried stress and fed nothing); ablated as one group.
MORE_SPECS = (CORRECTION_COUNT, *GUARANTEE_SPECS, EQUITY_TRANSFER_COUNT)
FILING_SPECS = (LATEST_NOT_FILED, FILING_LAPSES)
SOCIAL_INSURANCE_SPECS = (PENSION_ARREARS, PENSION_PAID_GROWTH)
# The third set (issue 22): the filing status, social-insurance and assets sections.
THIRD_SPECS = (*FILING_SPECS, *SOCIAL_INSURANCE_SPECS, BANK_LOANS_TO_REVENUE)
SPECS = (*RATIO_SPECS, *MORE_SPECS, *THIRD_SPECS)
FAMILY = Family(
    FAMILY_NAME,
    SPECS,
    steps=(
        Step(annual_report, names(RATIO_SPECS)),
        Step(report_corrections, (CORRECTION_COUNT.name,)),
        Step(report_guarantees, names(GUARANTEE_SPECS)),
        Step(report_equity_transfers, (EQUITY_TRANSFER_COUNT.name,)),
        Step(report_filing, names(FILING_SPECS)),
        Step(report_social_insurance, names(SOCIAL_INSURANCE_SPECS)),
        Step(report_assets, (BANK_LOANS_TO_REVENUE.name,)),
    ),
)
