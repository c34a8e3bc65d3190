"""Panels (one row per firm per month or year) seen from an as-of date.

At T a firm's panel ends at its latest period usable at T. Panel features look back a fixed
number of periods from there ("the last 3 reported months"), each period in the version that
wins at T, so a month that is late, missing or revised is treated exactly as it stood at T.

``panel`` gives the long form: one row per (firm, as-of, period back from the latest, member
source). Features are aggregations over it per (firm, as-of), written with ``at``, ``lag_sum``
and friends; a panel over several sources (the social-insurance family) adds them up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

from features.point_in_time import (
    AS_OF,
    DELTA_DATE,
    EVENT_DATE,
    FIXED_POINT,
    GRID_ROW,
    ROWS,
    USCC,
    VALID_TO,
    VISIBLE_FROM,
    latest_key,
    month_index,
    running_states,
    values_at,
    versions,
)
from features.source_set import SourceSet

LATEST = "_latest"
INDEX = "_index"
LAG = "_lag"
TARGET = "_target"


def present(lags: Sequence[int]) -> pl.Expr:
    """True when any of those periods back is present (aggregation)."""
    return pl.col(LAG).is_in(list(lags)).any()


def at(column: str, lag: int) -> pl.Expr:
    """The column's value ``lag`` periods before the latest, summed over member sources; null
    when that period is absent (aggregation)."""
    return pl.when(present([lag])).then(pl.col(column).filter(pl.col(LAG) == lag).sum())


def label_at(column: str, lag: int) -> pl.Expr:
    """A text column's value ``lag`` periods back (the smallest if sources disagree)."""
    return pl.col(column).filter(pl.col(LAG) == lag).min()


def lag_sum(column: str, lags: Sequence[int]) -> pl.Expr:
    """Sum over the periods present among ``lags``; null when none is (aggregation)."""
    return pl.when(present(lags)).then(pl.col(column).filter(pl.col(LAG).is_in(list(lags))).sum())


def periods_where(condition: pl.Expr, lags: Sequence[int]) -> pl.Expr:
    """How many of those periods back have a row meeting ``condition`` (aggregation)."""
    return pl.col(LAG).filter(condition & pl.col(LAG).is_in(list(lags))).n_unique()


def leading_run(condition: pl.Expr, cap: int) -> pl.Expr:
    """Periods in a row meeting ``condition`` counting back from the latest; an absent period
    ends the run (aggregation)."""
    hits = pl.col(LAG).filter(condition & (pl.col(LAG) < cap)).unique().sort()
    positions = pl.int_range(0, hits.len(), dtype=pl.Int32)
    return (hits == positions).cast(pl.UInt8).cum_min().sum()


def ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator, null when the denominator is zero or null."""
    return pl.when(denominator != 0).then(numerator / denominator)


def change(recent: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    """Relative change recent / earlier - 1, null without a positive earlier value."""
    return pl.when(earlier > 0).then(recent / earlier - 1.0)


def recent_rows(
    sources: SourceSet,
    members: Sequence[str],
    grid: pl.LazyFrame,
    key: str,
    index: Callable[[pl.Expr], pl.Expr],
    reach: int,
) -> dict[str, pl.LazyFrame]:
    """Each member's rows that can matter at some grid date: usable by the last as-of date, and
    not older than ``reach`` periods before the firm's latest usable period at the first as-of
    date (the latest period only grows with T). Rows are dropped before versions are formed;
    a version usable only after the last date cannot change anything up to it."""
    first, last = (
        grid.select(pl.col(AS_OF).min().alias("first"), pl.col(AS_OF).max().alias("last"))
        .collect()
        .row(0)
    )
    staged = {}
    for s in members:
        timing = sources.timing(s)
        usable_from = pl.max_horizontal(
            pl.col(timing.event_time).cast(pl.Date), pl.col(timing.arrival_time).cast(pl.Date)
        )
        staged[s] = (
            sources.frames[s]
            .with_columns(
                index(pl.col(key)).cast(pl.Int32).alias(INDEX), usable_from.alias(VISIBLE_FROM)
            )
            .filter(pl.col(VISIBLE_FROM) <= last)
        )
    entity = {s: sources.timing(s).entity_key for s in members}
    floors = (
        pl.concat(
            [
                f.filter(pl.col(VISIBLE_FROM) <= first).select(pl.col(entity[s]).alias(USCC), INDEX)
                for s, f in staged.items()
            ],
            how="vertical",
        )
        .group_by(USCC)
        .agg((pl.col(INDEX).max() - reach).alias("_floor"))
        .collect()
        .lazy()
    )
    return {
        s: f.join(floors, left_on=entity[s], right_on=USCC, how="left")
        .filter(pl.col("_floor").is_null() | (pl.col(INDEX) >= pl.col("_floor")))
        .drop("_floor", INDEX, VISIBLE_FROM)
        for s, f in staged.items()
    }


def panel(
    sources: SourceSet,
    members: Sequence[str],
    grid: pl.LazyFrame,
    columns: Sequence[str],
    lags: Sequence[int],
    period: str,
    index: Callable[[pl.Expr], pl.Expr],
    labels: Sequence[str] = (),
) -> pl.LazyFrame:
    """The long panel: ``_grid_row``, ``as_of``, ``_latest`` (index of the latest usable period),
    ``_lag`` (periods back from it), numeric ``columns`` summed over the member sources'
    versions winning at T, and text ``labels`` (single-member panels). One row per period
    present among ``lags``; grid rows whose firm has no usable period are absent."""
    if labels and len(members) > 1:
        raise ValueError(f"text columns {list(labels)} need a panel of one source")
    recent = recent_rows(sources, members, grid, period, index, max(lags))
    # The stacked versions and the latest periods feed several steps: computed once, here.
    stacked = (
        pl.concat(
            [
                versions(recent[s], sources.timing(s), [period, *columns, *labels])
                .with_columns(index(pl.col(period)).cast(pl.Int32).alias(INDEX))
                .select(USCC, INDEX, *columns, *labels, EVENT_DATE, VISIBLE_FROM, VALID_TO)
                for s in members
            ],
            how="vertical_relaxed",
        )
        .collect()
        .lazy()
    )
    latest = (
        latest_key(stacked, grid.select(GRID_ROW, USCC, AS_OF), key=INDEX, alias=LATEST)
        .filter(pl.col(LATEST).is_not_null())
        .collect()
        .lazy()
    )
    targets = (
        latest.with_columns(pl.lit(list(lags), dtype=pl.List(pl.Int32)).alias(LAG))
        .explode(LAG)
        .with_columns((pl.col(LATEST) - pl.col(LAG)).alias(TARGET))
    )
    if len(members) == 1:
        # One source: each period has one winning version at T, found by a plain join.
        return values_at(stacked, targets, key=INDEX, target=TARGET).select(
            GRID_ROW, AS_OF, LATEST, LAG, *columns, *labels
        )
    # Sums over several members as they stood at T: one as-of lookup per period instead of a
    # join that fans out to every member's row.
    states = running_states(stacked, [USCC, INDEX], columns)
    return (
        targets.sort(AS_OF)
        .join_asof(
            states,
            left_on=AS_OF,
            right_on=DELTA_DATE,
            by_left=[USCC, TARGET],
            by_right=[USCC, INDEX],
            strategy="backward",
            check_sortedness=False,
        )
        .filter(pl.col(ROWS) > 0)
        .select(
            GRID_ROW,
            AS_OF,
            LATEST,
            LAG,
            *[(pl.col(c) / FIXED_POINT).alias(c) for c in columns],
        )
    )


def summarise(long: pl.LazyFrame, *aggregations: pl.Expr) -> pl.LazyFrame:
    """One row per grid row of the long panel: _grid_row, as_of, _latest and the
    aggregations."""
    return long.group_by(GRID_ROW).agg(pl.col(AS_OF).first(), pl.col(LATEST).first(), *aggregations)


def monthly_panel(
    sources: SourceSet,
    members: Sequence[str],
    grid: pl.LazyFrame,
    columns: Sequence[str],
    lags: Sequence[int],
    labels: Sequence[str] = (),
) -> pl.LazyFrame:
    """``panel`` over monthly sources, whose event time is the first day of the month."""
    period = sources.timing(members[0]).event_time
    return panel(sources, members, grid, columns, lags, period, month_index, labels)


def annual_panel(
    sources: SourceSet,
    members: Sequence[str],
    grid: pl.LazyFrame,
    columns: Sequence[str],
    lags: Sequence[int],
    labels: Sequence[str] = (),
) -> pl.LazyFrame:
    """``panel`` over annual sources, whose event time is a date within the year it covers."""
    period = sources.timing(members[0]).event_time
    return panel(sources, members, grid, columns, lags, period, lambda e: e.dt.year(), labels)


def months_since(latest: pl.Expr) -> pl.Expr:
    """Months between the as-of month and the latest usable period."""
    return (month_index(pl.col(AS_OF)) - latest).cast(pl.Float64)
