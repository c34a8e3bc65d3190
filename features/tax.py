"""Tax: declared sales trend and year on year, VAT paid against payable, the credit grade."""

from __future__ import annotations

import polars as pl

from features.family import (
    DOWN,
    TAX_RATINGS,
    UP,
    Evidence,
    Family,
    Step,
    Unit,
    feature,
    months,
    names,
)
from features.panel import (
    LATEST,
    annual_panel,
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


VAT_SPECS = (REVENUE_TREND, REVENUE_YOY, VAT_PAID_RATIO, VAT_UNPAID)
FAMILY = Family(
    FAMILY_NAME,
    (*VAT_SPECS, CREDIT_RATING),
    steps=(Step(vat, names(VAT_SPECS)), Step(tax_rating, (CREDIT_RATING.name,))),
)
