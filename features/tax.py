"""Tax: declared sales trend and year on year, VAT paid against payable, the credit grade."""

from __future__ import annotations

import polars as pl

from features.panel import annual_panel, at, change, lag_sum, monthly_panel, ratio
from features.point_in_time import AS_OF, USCC
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
    wide = monthly_panel(
        sources,
        members,
        grid,
        ["sales_revenue", "vat_payable", "vat_paid"],
        sorted({*RECENT, *BEFORE, *YEAR, *YEAR_AGO}),
    )
    return wide.select(
        USCC,
        AS_OF,
        change(lag_sum("sales_revenue", RECENT), lag_sum("sales_revenue", BEFORE)).alias(
            "tax_revenue_trend_3m"
        ),
        change(lag_sum("sales_revenue", RECENT), lag_sum("sales_revenue", YEAR_AGO)).alias(
            "tax_revenue_yoy_3m"
        ),
        ratio(lag_sum("vat_paid", YEAR), lag_sum("vat_payable", YEAR)).alias(
            "tax_vat_paid_ratio_12m"
        ),
        (lag_sum("vat_payable", YEAR) - lag_sum("vat_paid", YEAR))
        .clip(lower_bound=0)
        .alias("tax_vat_unpaid_12m"),
    )


def tax_rating(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(TAX_RATING)
    if not members:
        return None
    wide = annual_panel(sources, members, grid, [], (0,), labels=("rating",))
    grades = pl.DataFrame(
        {
            "_grade": list(TAX_RATINGS),
            "tax_credit_rating": [float(i) for i in range(len(TAX_RATINGS))],
        }
    ).lazy()
    return wide.join(grades, left_on=at("rating", 0), right_on="_grade", how="left").select(
        USCC, AS_OF, "tax_credit_rating"
    )
