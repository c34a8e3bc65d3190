"""Windowed counts and sums over event sources (one query for every as-of date).

Each present source contributes named measures (a count of matching rows, an amount, ...); the
measures of every source are stacked and summed over their windows at once. A measure that no
present source provides gives null (unknown), not zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from features.point_in_time import (
    EVENT_DATE,
    GRID_ROW,
    USCC,
    VALID_TO,
    VISIBLE_FROM,
    WindowSum,
    window_sums,
)
from features.source_set import SourceFamily, SourceSet


@dataclass(frozen=True)
class Measures:
    """What one family of sources contributes: ``measures`` name -> expression over the
    ``columns`` it reads, evaluated on each row version (rows failing ``where`` contribute
    nothing)."""

    family: SourceFamily
    measures: Mapping[str, pl.Expr]
    columns: Sequence[str] = ()
    where: pl.Expr | None = None


def measured_versions(
    sources: SourceSet, parts: Sequence[Measures]
) -> tuple[pl.LazyFrame | None, set[str]]:
    """The stacked row versions of every present source with their measures (0 where a source
    does not provide a measure), and the set of measure names provided."""
    frames: list[pl.LazyFrame] = []
    provided: set[str] = set()
    names = list(dict.fromkeys(n for p in parts for n in p.measures))
    for part in parts:
        for source_id in sources.family(part.family):
            versions = sources.versions(source_id, part.columns)
            if part.where is not None:
                versions = versions.filter(part.where)
            measures = part.measures
            provided.update(measures)
            frames.append(
                versions.select(
                    USCC,
                    EVENT_DATE,
                    VISIBLE_FROM,
                    VALID_TO,
                    *[
                        measures.get(n, pl.lit(0)).cast(pl.Float64).fill_null(0.0).alias(n)
                        for n in names
                    ],
                )
            )
    if not frames:
        return None, provided
    return pl.concat(frames, how="vertical_relaxed"), provided


def event_window_sums(
    grid: pl.LazyFrame,
    sources: SourceSet,
    parts: Sequence[Measures],
    columns: Mapping[str, tuple[str, int | None]],
) -> pl.LazyFrame | None:
    """``columns``: output name -> (measure name, window in days or None for no window)."""
    stacked, provided = measured_versions(sources, parts)
    if stacked is None:
        return None
    known = {name: spec for name, spec in columns.items() if spec[0] in provided}
    sums = window_sums(
        stacked,
        grid,
        {name: WindowSum(pl.col(measure), window) for name, (measure, window) in known.items()},
    )
    return sums.select(
        GRID_ROW,
        *[
            pl.col(name) if name in known else pl.lit(None, dtype=pl.Float64).alias(name)
            for name in columns
        ],
    )


def windows(
    stem: str, measure: str, days: Sequence[int | None]
) -> dict[str, tuple[str, int | None]]:
    """Output columns ``<stem>_<days>d`` (or ``<stem>`` for no window) for one measure."""
    return {(f"{stem}_{d}d" if d is not None else stem): (measure, d) for d in days}
