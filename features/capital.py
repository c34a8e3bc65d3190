"""Capital reductions (减资): how many, how much, what share of the capital, how recent."""

from __future__ import annotations

import polars as pl

from features.events import Measures, event_window_sums, windows
from features.panel import ratio
from features.point_in_time import AS_OF, EVENT_DATE, GRID_ROW, valid_rows
from features.registry import CAPITAL_CHANGES
from features.source_set import SourceSet

# How far back "days since the latest reduction" looks (the simulated lake holds three years).
LOOKBACK_DAYS = 3 * 365
REDUCTION = pl.col("capital_after") < pl.col("capital_before")
REDUCED_AMOUNT = pl.col("capital_before") - pl.col("capital_after")


def capital(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    """Needs ``registered_capital`` on the grid (the master's value at T, in 万元)."""
    reductions = Measures(
        CAPITAL_CHANGES,
        {"reduction": pl.lit(1), "amount": REDUCED_AMOUNT},
        columns=("capital_before", "capital_after"),
        where=REDUCTION,
    )
    sums = event_window_sums(
        grid,
        sources,
        [reductions],
        {
            **windows("capital_reduction_count", "reduction", (90, 180, 365)),
            **windows("capital_reduction_amount", "amount", (180, 365)),
        },
    )
    if sums is None:
        return None
    source_id = sources.family(CAPITAL_CHANGES)[0]
    latest = (
        valid_rows(
            sources.versions(source_id, ["capital_before", "capital_after"]).filter(REDUCTION),
            grid,
            horizon_days=LOOKBACK_DAYS,
        )
        .group_by(GRID_ROW)
        .agg(pl.col(EVENT_DATE).max().alias("_latest_reduction"))
    )
    amount = pl.col("capital_reduction_amount_365d")
    return (
        sums.join(latest, on=GRID_ROW, how="left")
        .join(grid.select(GRID_ROW, AS_OF, "registered_capital"), on=GRID_ROW, how="left")
        .select(
            GRID_ROW,
            pl.col("^capital_reduction_(count|amount)_.*$"),
            ratio(amount, pl.col("registered_capital") + amount).alias(
                "capital_reduction_share_365d"
            ),
            (pl.col(AS_OF) - pl.col("_latest_reduction"))
            .dt.total_days()
            .cast(pl.Float64)
            .alias("days_since_capital_reduction"),
        )
    )
