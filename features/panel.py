"""Panels (one row per firm per month or year) seen from an as-of date.

At T a firm's panel ends at its latest period usable at T. Panel features look back a fixed
number of periods from there ("the last 3 reported months"), each period in the version that
wins at T, so a month that is late, missing or revised is treated exactly as it stood at T.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

from features.point_in_time import AS_OF, USCC, latest_key, month_index, values_at
from features.source_set import SourceSet

LATEST = "_latest"
INDEX = "_index"
LAG = "_lag"
TARGET = "_target"


def lag_column(column: str, lag: int) -> str:
    return f"{column}@{lag}"


def at(column: str, lag: int) -> pl.Expr:
    """The column's value ``lag`` periods before the latest (null when that period is absent)."""
    return pl.col(lag_column(column, lag))


def lag_sum(column: str, lags: Sequence[int]) -> pl.Expr:
    """Sum over the periods present; null when none of them is."""
    values = [at(column, j) for j in lags]
    return pl.when(pl.any_horizontal(v.is_not_null() for v in values)).then(
        pl.sum_horizontal(values)
    )


def ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator, null when the denominator is zero or null."""
    return pl.when(denominator != 0).then(numerator / denominator)


def change(recent: pl.Expr, earlier: pl.Expr) -> pl.Expr:
    """Relative change recent / earlier - 1, null without a positive earlier value."""
    return pl.when(earlier > 0).then(recent / earlier - 1.0)


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
    """Wide lagged values for every grid row whose firm has a usable period at T.

    Returns ``uscc``, ``as_of``, ``_latest`` (index of the latest usable period) and one column
    ``<column>@<lag>`` per column and lag: numeric ``columns`` summed over the member sources that
    have that period, text ``labels`` taken from one of them.
    """
    stacked = pl.concat(
        [
            sources.versions(s, [period, *columns, *labels])
            .with_columns(index(pl.col(period)).cast(pl.Int32).alias(INDEX))
            .select(USCC, INDEX, *columns, *labels, "_event_date", "_visible_from", "_valid_to")
            for s in members
        ],
        how="vertical_relaxed",
    )
    latest = latest_key(stacked, grid.select(USCC, AS_OF), key=INDEX, alias=LATEST).filter(
        pl.col(LATEST).is_not_null()
    )
    targets = (
        latest.with_columns(pl.lit(list(lags), dtype=pl.List(pl.Int32)).alias(LAG))
        .explode(LAG)
        .with_columns((pl.col(LATEST) - pl.col(LAG)).alias(TARGET))
    )
    per_lag = (
        values_at(stacked, targets, key=INDEX, target=TARGET)
        .group_by(USCC, AS_OF, LATEST, LAG)
        .agg(*[pl.col(c).sum() for c in columns], *[pl.col(c).min() for c in labels])
    )
    wide = per_lag.group_by(USCC, AS_OF, LATEST).agg(
        pl.col(c).filter(pl.col(LAG) == j).first().alias(lag_column(c, j))
        for c in [*columns, *labels]
        for j in lags
    )
    # Firms whose lagged periods are all missing at T still have a latest period.
    return latest.select(USCC, AS_OF, LATEST).join(wide, on=[USCC, AS_OF, LATEST], how="left")


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
