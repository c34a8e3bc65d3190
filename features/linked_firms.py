"""The legal representative's other firms: how many, and how many were deregistered or revoked.

Each linked firm is one key of the source; its latest version at T gives its status at T.
"""

from __future__ import annotations

import polars as pl

from features.events import Measures, event_window_sums
from features.panel import ratio
from features.point_in_time import AS_OF, USCC
from features.registry import LINKED_FIRMS
from features.source_set import SourceSet

CLOSED = ("注销", "吊销")


def linked_firms(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    parts = [
        Measures(
            LINKED_FIRMS,
            {"linked": pl.lit(1), "closed": pl.col("linked_status").is_in(list(CLOSED))},
            columns=("linked_status",),
        )
    ]
    sums = event_window_sums(
        grid,
        sources,
        parts,
        {
            "linked_firms_count": ("linked", None),
            "linked_firms_closed_count": ("closed", None),
            "linked_firms_closed_365d": ("closed", 365),
        },
    )
    if sums is None:
        return None
    return sums.with_columns(
        ratio(pl.col("linked_firms_closed_count"), pl.col("linked_firms_count")).alias(
            "linked_firms_closed_share"
        )
    ).select(USCC, AS_OF, pl.exclude(USCC, AS_OF))
