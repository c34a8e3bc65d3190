"""The legal representative's other firms: how many, and how many were deregistered or revoked.

The source has one row per linked firm and status (a status change is a new row with the date it
took effect), so a linked firm's status at T is that of its row with the latest status date
among the rows usable at T.
"""

from __future__ import annotations

import polars as pl

from features.panel import ratio
from features.point_in_time import AS_OF, EVENT_DATE, GRID_ROW, valid_rows
from features.registry import LINKED_FIRMS
from features.source_set import SourceSet

CLOSED = ("注销", "吊销")
RECENT_DAYS = 365


def linked_firms(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    held = sources.family_versions(LINKED_FIRMS, ["linked_uscc", "linked_status"])
    if held is None:
        return None
    status_at_t = (
        valid_rows(held, grid)
        .group_by(GRID_ROW, AS_OF, "linked_uscc")
        .agg(
            pl.col("linked_status").sort_by(EVENT_DATE, "linked_status").last(),
            pl.col(EVENT_DATE).max(),
        )
    )
    closed = pl.col("linked_status").is_in(list(CLOSED))
    recent = pl.col(AS_OF) - pl.col(EVENT_DATE) < pl.duration(days=RECENT_DAYS)
    counts = status_at_t.group_by(GRID_ROW).agg(
        pl.len().cast(pl.Float64).alias("linked_firms_count"),
        closed.sum().cast(pl.Float64).alias("linked_firms_closed_count"),
        (closed & recent).sum().cast(pl.Float64).alias("linked_firms_closed_365d"),
    )
    return (
        grid.select(GRID_ROW)
        .join(counts, on=GRID_ROW, how="left")
        .with_columns(pl.col("^linked_firms_.*$").fill_null(0.0))
        .with_columns(
            ratio(pl.col("linked_firms_closed_count"), pl.col("linked_firms_count")).alias(
                "linked_firms_closed_share"
            )
        )
    )
