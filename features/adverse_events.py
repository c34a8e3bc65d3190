"""Adverse events: one count per source whose every record is bad news (see the registry's
``ADVERSE_EVENT_SOURCES``), over the last year."""

from __future__ import annotations

import polars as pl

from features.events import Measures, event_window_sums
from features.registry import ADVERSE_EVENT_SOURCES, ADVERSE_WINDOW_DAYS, adverse_feature
from features.source_set import SourceSet, one


def adverse_events(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    parts = [Measures(one(s), {s: pl.lit(1)}) for s in ADVERSE_EVENT_SOURCES]
    return event_window_sums(
        grid,
        sources,
        parts,
        {adverse_feature(s): (s, ADVERSE_WINDOW_DAYS) for s in ADVERSE_EVENT_SOURCES},
    )
