"""Who a consistency run looks at: every firm of the registration master at each as-of date.

Unlike the feature table's grid, a firm need not be active: a cancelled firm still paying social
insurance is exactly what some rules look for. Each row carries the master's latest snapshot
usable at T (name, sector, district, status), which attribute sides and states read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from data_contracts.rules import ATTRIBUTES, MASTER
from features.point_in_time import AS_OF, GRID_ROW, USCC, latest_key, values_at
from features.source_set import SourceSet

NAME = "name"
GRID_COLUMNS = (GRID_ROW, USCC, AS_OF, NAME, *ATTRIBUTES)


def consistency_grid(
    sources: SourceSet, as_of_dates: Sequence[date], firms: Sequence[str] | None = None
) -> pl.LazyFrame:
    """One row per firm in the master at each as-of date (``GRID_COLUMNS``), sorted by as_of
    then uscc and numbered in that order; only ``firms`` when given."""
    if MASTER not in sources:
        raise KeyError(f"a consistency run needs source {MASTER}")
    dates = sorted(set(as_of_dates))
    if not dates:
        raise ValueError("as_of_dates is empty")
    snapshot = sources.timing(MASTER).event_time
    master = sources.versions(MASTER, [snapshot, NAME, *ATTRIBUTES]).collect().lazy()
    known = master.select(USCC).unique()
    if firms is not None:
        wanted = pl.LazyFrame({USCC: list(firms)}, schema={USCC: master.collect_schema()[USCC]})
        known = known.join(wanted.unique(), on=USCC, how="semi")
    candidates = known.join(
        pl.LazyFrame({AS_OF: dates}, schema={AS_OF: pl.Date}), how="cross"
    ).collect()
    latest = latest_key(master, candidates.lazy(), key=snapshot, alias="_snapshot")
    current = values_at(master, latest, key=snapshot, target="_snapshot")
    return (
        current.select(USCC, AS_OF, NAME, *ATTRIBUTES)
        .sort(AS_OF, USCC)
        .with_row_index(GRID_ROW)
        .select(*GRID_COLUMNS)
    )
