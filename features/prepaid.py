"""Prepaid-fee supervision (training schools and the like): escrow shortfall and coverage,
and how fast prepaid money comes in."""

from __future__ import annotations

import polars as pl

from features.panel import LATEST, at, change, lag_sum, monthly_panel, ratio, summarise
from features.registry import PREPAID_SUPERVISION
from features.source_set import SourceSet

RECENT = range(3)
BEFORE = range(3, 6)


def prepaid(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(PREPAID_SUPERVISION)
    if not members:
        return None
    long = monthly_panel(
        sources,
        members,
        grid,
        ["prepaid_received", "escrow_required", "escrow_deposited", "escrow_shortfall"],
        (*RECENT, *BEFORE),
    )
    return summarise(
        long,
        at("escrow_shortfall", 0).cast(pl.Float64).alias("prepaid_escrow_shortfall"),
        ratio(lag_sum("escrow_deposited", RECENT), lag_sum("escrow_required", RECENT)).alias(
            "prepaid_escrow_coverage_3m"
        ),
        change(lag_sum("prepaid_received", RECENT), lag_sum("prepaid_received", BEFORE)).alias(
            "prepaid_received_trend_3m"
        ),
    ).drop(LATEST)
