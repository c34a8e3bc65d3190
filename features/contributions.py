"""Social insurance and housing fund contributions: arrears and insured headcount.

The social-insurance family (every ``si_*`` source) counts a month as in arrears when any of its
insurances has an unpaid amount that month; amounts add up across insurances. Windows are the
last N reported months up to the latest month usable at T.
"""

from __future__ import annotations

import polars as pl

from features.panel import LATEST, at, change, lag_sum, monthly_panel, months_since, ratio
from features.point_in_time import AS_OF, USCC
from features.registry import HOUSING_FUND, PENSION, SOCIAL_INSURANCE
from features.source_set import SourceFamily, SourceSet

ARREARS_WINDOWS = (3, 6, 12)
AMOUNT_WINDOWS = (3, 12)
STREAK_CAP = 12
HEADCOUNT_LAGS = (3, 6, 12)
# Paid in the last 3 months: a sign the firm still operates (used by the licence check).
SI_PAID_3M = "_si_paid_3m"


def in_arrears(lag: int) -> pl.Expr:
    """True when that month is present with an unpaid amount (absent months are not)."""
    return (at("arrears_amount", lag) > 0).fill_null(False)


def consecutive_arrears(cap: int = STREAK_CAP) -> pl.Expr:
    """Months in arrears in a row ending at the latest month; an absent month breaks the run."""
    first_break = [pl.when(~in_arrears(j)).then(pl.lit(j)) for j in range(cap)]
    return pl.coalesce([*first_break, pl.lit(cap)]).cast(pl.Float64)


def arrears_features(
    grid: pl.LazyFrame, sources: SourceSet, family: SourceFamily, prefix: str
) -> pl.LazyFrame | None:
    members = sources.family(family)
    if not members:
        return None
    lags = range(max(STREAK_CAP, 6))
    wide = monthly_panel(
        sources, members, grid, ["amount_due", "amount_paid", "arrears_amount"], lags
    )
    return wide.select(
        USCC,
        AS_OF,
        *[
            pl.sum_horizontal(in_arrears(j) for j in range(w))
            .cast(pl.Float64)
            .alias(f"{prefix}_arrears_months_{w}m")
            for w in ARREARS_WINDOWS
        ],
        consecutive_arrears().alias(f"{prefix}_arrears_consecutive_months"),
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
        months_since(pl.col(LATEST)).alias(f"{prefix}_months_since_report"),
        lag_sum("amount_paid", range(3)).alias(f"_{prefix}_paid_3m"),
    )


def social_insurance(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    return arrears_features(grid, sources, SOCIAL_INSURANCE, "si")


def housing_fund(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    return arrears_features(grid, sources, HOUSING_FUND, "hf")


def headcount(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(PENSION)
    if not members:
        return None
    wide = monthly_panel(sources, members, grid, ["insured_count"], (0, *HEADCOUNT_LAGS))
    now = at("insured_count", 0).cast(pl.Float64)
    return wide.select(
        USCC,
        AS_OF,
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
