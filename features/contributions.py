"""Social insurance and housing fund contributions: arrears and insured headcount.

The social-insurance family (every ``si_*`` source) counts a month as in arrears when any of its
insurances has an unpaid amount that month; amounts add up across insurances. Windows are the
last N reported months up to the latest month usable at T.
"""

from __future__ import annotations

import polars as pl

from features.panel import (
    LATEST,
    at,
    change,
    lag_sum,
    leading_run,
    monthly_panel,
    months_since,
    periods_where,
    ratio,
    summarise,
)
from features.registry import HOUSING_FUND, PENSION, SOCIAL_INSURANCE
from features.source_set import SourceFamily, SourceSet

ARREARS_WINDOWS = (3, 6, 12)
AMOUNT_WINDOWS = (3, 12)
STREAK_CAP = 12
HEADCOUNT_LAGS = (3, 6, 12)
# Paid in the last 3 months: a sign the firm still operates (used by the licence check).
SI_PAID_3M = "_si_paid_3m"


def arrears_features(
    grid: pl.LazyFrame, sources: SourceSet, family: SourceFamily, prefix: str
) -> pl.LazyFrame | None:
    members = sources.family(family)
    if not members:
        return None
    long = monthly_panel(
        sources,
        members,
        grid,
        ["amount_due", "amount_paid", "arrears_amount"],
        range(max(STREAK_CAP, 6)),
    )
    # A month is in arrears when any member insurance has an unpaid amount that month.
    in_arrears = pl.col("arrears_amount") > 0
    return summarise(
        long,
        *[
            periods_where(in_arrears, range(w))
            .cast(pl.Float64)
            .alias(f"{prefix}_arrears_months_{w}m")
            for w in ARREARS_WINDOWS
        ],
        leading_run(in_arrears, STREAK_CAP)
        .cast(pl.Float64)
        .alias(f"{prefix}_arrears_consecutive_months"),
        *[
            lag_sum("arrears_amount", range(w)).alias(f"{prefix}_arrears_amount_{w}m")
            for w in AMOUNT_WINDOWS
        ],
        (
            lag_sum("arrears_amount", range(3))
            - lag_sum("arrears_amount", range(3, 6)).fill_null(0)
        ).alias(f"{prefix}_arrears_amount_trend_3m"),
        ratio(lag_sum("amount_paid", range(3)), lag_sum("amount_due", range(3))).alias(
            f"{prefix}_paid_ratio_3m"
        ),
        lag_sum("amount_paid", range(3)).alias(f"_{prefix}_paid_3m"),
    ).with_columns(months_since(pl.col(LATEST)).alias(f"{prefix}_months_since_report"))


def social_insurance(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    return arrears_features(grid, sources, SOCIAL_INSURANCE, "si")


def housing_fund(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    return arrears_features(grid, sources, HOUSING_FUND, "hf")


def headcount(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(PENSION)
    if not members:
        return None
    long = monthly_panel(sources, members, grid, ["insured_count"], (0, *HEADCOUNT_LAGS))
    now = at("insured_count", 0).cast(pl.Float64)
    return summarise(
        long,
        now.alias("headcount_latest"),
        *[
            (now - at("insured_count", lag)).alias(f"headcount_change_{lag}m")
            for lag in HEADCOUNT_LAGS
        ],
        *[
            change(now, at("insured_count", lag).cast(pl.Float64)).alias(
                f"headcount_change_rel_{lag}m"
            )
            for lag in HEADCOUNT_LAGS
        ],
    )
