"""Tax: declared sales trend and year on year, VAT paid against payable, the credit grade."""

from __future__ import annotations

import polars as pl

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
from features.registry import TAX_RATING, TAX_RATINGS, VAT
from features.source_set import SourceSet

RECENT = range(3)
BEFORE = range(3, 6)
YEAR_AGO = range(12, 15)
YEAR = range(12)


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
            "tax_revenue_trend_3m"
        ),
        change(lag_mean("sales_revenue", RECENT), lag_mean("sales_revenue", YEAR_AGO)).alias(
            "tax_revenue_yoy_3m"
        ),
        ratio(lag_sum("vat_paid", YEAR), lag_sum("vat_payable", YEAR)).alias(
            "tax_vat_paid_ratio_12m"
        ),
        (lag_sum("vat_payable", YEAR) - lag_sum("vat_paid", YEAR))
        .clip(lower_bound=0)
        .alias("tax_vat_unpaid_12m"),
    ).drop(LATEST)


def tax_rating(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(TAX_RATING)
    if not members:
        return None
    long = annual_panel(sources, members, grid, [], (0,), labels=("rating",))
    grades = pl.LazyFrame(
        {
            "_grade": list(TAX_RATINGS),
            "tax_credit_rating": [float(i) for i, _ in enumerate(TAX_RATINGS)],
        }
    )
    return (
        summarise(long, label_at("rating", 0).alias("_grade"))
        .join(grades, on="_grade", how="left")
        .select(GRID_ROW, "tax_credit_rating")
    )
