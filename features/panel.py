"""Panels (one row per firm per month or year) seen from an as-of date.

At T a firm's panel ends at its latest period usable at T. Panel features look back a fixed
number of periods from there ("the last 3 reported months"), each period in the version that
wins at T, so a month that is late, missing or revised is treated exactly as it stood at T.

``panel`` gives the long form: at most one row per (grid row, period back from the latest),
a panel over several sources (the social-insurance family) adding its members up. Features are
aggregations over it per grid row, written with ``at``, ``lag_sum`` and friends; they are plain
conditional sums, cheap over millions of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

from features.point_in_time import (
    AS_OF,
    EVENT_DATE,
    FIXED_POINT,
    GRID_ROW,
    USCC,
    VALID_TO,
    VISIBLE_FROM,
    fixed_point,
    join_firm_pairs,
    latest_key,
    month_index,
    values_at,
    versions,
)
from features.source_set import SourceSet

LATEST = "_latest"
INDEX = "_index"
LAG = "_lag"
TARGET = "_target"


def _among(lags: Sequence[int]) -> pl.Expr:
    return pl.col(LAG).is_in(list(lags))


def present(lags: Sequence[int]) -> pl.Expr:
    """True when any of those periods back is present (aggregation)."""
    return _among(lags).any()


def lag_total(column: str, lags: Sequence[int]) -> pl.Expr:
    """The fixed-point sum over the periods present among ``lags``; null when none is
    (aggregation). Integer sums are exact whatever order the rows come in."""
    return pl.when(present(lags)).then(pl.when(_among(lags)).then(pl.col(column)).sum())


def lag_sum(column: str, lags: Sequence[int]) -> pl.Expr:
    """Sum over the periods present among ``lags``; null when none is (aggregation)."""
    return lag_total(column, lags) / FIXED_POINT


def lag_mean(column: str, lags: Sequence[int]) -> pl.Expr:
    """Mean over the periods present among ``lags``; null when none is (aggregation).

    Comparing windows by their means, not their sums, keeps a month missing from one window
    (a panel's first months, a late declaration) from reading as a drop or a rise."""
    return lag_sum(column, lags) / _among(lags).sum()


def at(column: str, lag: int) -> pl.Expr:
    """The value ``lag`` periods before the latest; null when that period is absent."""
    return lag_sum(column, [lag])


def label_at(column: str, lag: int) -> pl.Expr:
    """A text column's value ``lag`` periods back (aggregation)."""
    return pl.when(pl.col(LAG) == lag).then(pl.col(column)).max()


def periods_where(condition: pl.Expr, lags: Sequence[int]) -> pl.Expr:
    """How many of those periods back meet ``condition`` (aggregation)."""
    return (condition & _among(lags)).sum()


def leading_run(condition: pl.Expr, cap: int) -> pl.Expr:
    """Periods in a row meeting ``condition`` counting back from the latest, at most ``cap``;
    an absent period ends the run (aggregation: the trailing ones of a bit per period)."""
    bit = pl.lit(2, dtype=pl.Int64).pow(pl.col(LAG)).cast(pl.Int64)
    mask = pl.when(condition & (pl.col(LAG) < cap)).then(bit).otherwise(0).sum()
    return mask.bitwise_trailing_ones()


def ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator, null when the denominator is zero or null."""
    return pl.when(denominator != 0).then(numerator / denominator)


def change(recent: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    """Relative change recent / earlier - 1, null without a positive earlier value."""
    return pl.when(earlier > 0).then(recent / earlier - 1.0)


def peer_gap(value: pl.Expr) -> pl.Expr:
    """The firm's value minus the median of the active firms of its sector at the same date
    (on a frame holding ``sector`` and ``as_of``; nulls are left out of the median)."""
    return value - value.median().over("sector", AS_OF)


def as_of_range(grid: pl.LazyFrame) -> tuple:
    return (
        grid.select(pl.col(AS_OF).min().alias("first"), pl.col(AS_OF).max().alias("last"))
        .collect()
        .row(0)
    )


def recent_rows(
    sources: SourceSet,
    source_id: str,
    grid: pl.LazyFrame,
    key: str,
    index: Callable[[pl.Expr], pl.Expr],
    reach: int,
) -> pl.LazyFrame:
    """The source's rows that can matter at some grid date: usable by the last as-of date and
    not more than ``reach`` periods before the firm's latest usable period at the first as-of
    date (the latest period only grows with T; a firm with nothing usable then keeps every
    row). Rows dropped here would change no version, no latest period and no lag up to the
    last date."""
    first, last = as_of_range(grid)
    if first is None:  # no firm to score
        return sources.frames[source_id].clear()
    timing = sources.timing(source_id)
    usable_from = pl.max_horizontal(
        pl.col(timing.event_time).cast(pl.Date), pl.col(timing.arrival_time).cast(pl.Date)
    )
    period = index(pl.col(key)).cast(pl.Int32)
    # when/then rather than a filter inside the window: the same maximum, computed on the whole
    # column at once instead of group by group (twice as fast on a large master).
    floor = pl.when(usable_from <= first).then(period).max().over(timing.entity_key) - reach
    return sources.frames[source_id].filter(
        (usable_from <= last) & (floor.is_null() | (period >= floor))
    )


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
    ``_lag`` (periods back from it), numeric ``columns`` (fixed point: ``lag_sum`` and ``at``
    read them) summed over the member sources' versions winning at T, and text ``labels``
    (single-member panels). One row per period present among ``lags``; grid rows whose firm
    has no usable period are absent."""
    if labels and len(members) > 1:
        raise ValueError(f"text columns {list(labels)} need a panel of one source")
    for s in members:
        timing = sources.timing(s)
        if set(timing.unique_key) != {timing.entity_key, period}:
            raise ValueError(f"panel source {s} must be unique by (entity, {period})")
    # The stacked versions and the latest periods feed several steps: computed once, here.
    stacked = (
        pl.concat(
            [
                versions(
                    recent_rows(sources, s, grid, period, index, max(lags)),
                    sources.timing(s),
                    [period, *columns, *labels],
                )
                .with_columns(
                    index(pl.col(period)).cast(pl.Int32).alias(INDEX),
                    *[fixed_point(pl.col(c)).alias(c) for c in columns],
                )
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
    keys = [GRID_ROW, AS_OF, LATEST, LAG]
    if len(members) == 1:
        # One source: each period has one winning version at T, found by a plain join.
        return values_at(stacked, targets, key=INDEX, target=TARGET).select(
            *keys, *columns, *labels
        )
    return _member_sums(stacked, targets, columns, keys)


def _member_sums(
    stacked: pl.LazyFrame, targets: pl.LazyFrame, columns: Sequence[str], keys: list[str]
) -> pl.LazyFrame:
    """Sums over several members' versions winning at T, per target period.

    Once every member's row of a period has arrived and none was revised, its sum no longer
    changes: such (settled) periods take their total by one join. Only the few periods still
    filling up at T (the latest months) are summed from the winning versions. Sums run on fixed
    point, so the result is the same whatever order the rows are added in.
    """
    totals = stacked.group_by(USCC, INDEX).agg(
        *[pl.col(c).sum() for c in columns],
        pl.col(VISIBLE_FROM).max().alias("_settled_from"),
        pl.col(VALID_TO).is_not_null().any().alias("_revised"),
    )
    matched = join_firm_pairs(targets, totals, TARGET, INDEX).with_columns(
        ((pl.col(AS_OF) >= pl.col("_settled_from")) & ~pl.col("_revised")).alias("_settled")
    )
    settled = matched.filter(pl.col("_settled")).select(*keys, *columns)
    filling = (
        values_at(
            stacked,
            matched.filter(~pl.col("_settled")).select(*keys, USCC, TARGET),
            key=INDEX,
            target=TARGET,
        )
        .group_by(keys)
        .agg(pl.col(c).sum() for c in columns)
    )
    return pl.concat([settled, filling], how="vertical")


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
