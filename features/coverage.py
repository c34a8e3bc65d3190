"""Data coverage: how many sources know the firm at T, and whether that is enough to score.

Rule for ``insufficient_data``: fewer than ``MIN_SOURCES_KNOWN`` sources hold any usable row on
the firm at T, or none of the monthly operating panels (social insurance, housing fund, tax,
energy, prepaid-fee supervision: every source of monthly grain) does. Such a firm is kept in the
table but not ranked: its features would be mostly unknown, and unknown is not "safe".
"""

from __future__ import annotations

import polars as pl

from data_contracts.schema import Grain
from features.point_in_time import (
    EVENT_DATE,
    VALID_TO,
    VISIBLE_FROM,
    WindowSum,
    window_sums,
)
from features.registry import ALL_SOURCES
from features.source_set import SourceSet

MIN_SOURCES_KNOWN = 3
PANELS_KNOWN = "_panels_known"


def coverage(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame:
    """``n_sources_known`` and ``_panels_known`` per grid row. A source knows the firm from the
    first day one of its rows is usable (event time and arrival both passed); revisions only
    replace rows, so it keeps knowing it."""
    firsts = []
    for source_id in sources.family(ALL_SOURCES):
        is_panel = sources.contracts[source_id].grain == Grain.monthly
        # One query per source: a single plan over every source would open them all at once.
        firsts.append(
            sources.first_usable(source_id)
            .with_columns(
                pl.col(VISIBLE_FROM).alias(EVENT_DATE),
                pl.lit(None, dtype=pl.Date).alias(VALID_TO),
                pl.lit(1.0 if is_panel else 0.0).alias("_panel"),
            )
            .collect()
        )
    known = pl.concat(firsts, how="vertical_relaxed").lazy()
    return window_sums(
        known,
        grid,
        {"n_sources_known": WindowSum(pl.lit(1)), PANELS_KNOWN: WindowSum(pl.col("_panel"))},
    )


def insufficient(n_sources_known: pl.Expr, panels_known: pl.Expr) -> pl.Expr:
    return (n_sources_known < MIN_SOURCES_KNOWN) | (panels_known < 1)
