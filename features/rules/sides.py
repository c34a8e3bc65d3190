"""One side of a compare rule as versions: a value per firm and period, with the as-of dates it
holds for.

Every row version of a source is usable from ``_visible_from`` until ``_valid_to`` (see
``features.point_in_time``). A side turns those into *period versions*: ``_period`` (an integer
index of the month, quarter or year), ``_value``, ``_date`` (the day the value describes: the
row's period or event date, for a sum the latest month in it) and ``_arrived`` (when its newest
row reached the platform), valid over ``[_visible_from, _valid_to)``. So the value of a side at
any as-of date T is the period version valid at T: one query answers every as-of date, the way
the feature table does.

- ``value``: the source's own row of the period (a monthly source read by month, an annual one by
  year); ``last``: a monthly source's last month of the period (December for a year).
- ``sum``, ``mean``, ``count``, ``exists``: over the rows of the period. Each row version adds
  itself when it becomes usable and takes itself away when it is superseded, so the aggregate
  changes exactly at those dates (a running sum per firm and period over them). A sum or mean
  of months holds only once every month of the period is there: a month still to come or
  never delivered leaves the period without a value, never with a smaller one.
"""

from __future__ import annotations

import polars as pl

from data_contracts.rules import MONTHS_PER_PERIOD, Aggregate, Period, Side, period_index
from features.point_in_time import (
    EVENT_DATE,
    FIXED_POINT,
    USCC,
    VALID_TO,
    VISIBLE_FROM,
    fixed_point,
)
from features.source_set import SourceSet

PERIOD = "_period"
VALUE = "_value"
DATE = "_date"
ARRIVED = "_arrived"
SIDE_COLUMNS = (USCC, PERIOD, VALUE, DATE, ARRIVED, VISIBLE_FROM, VALID_TO)
_COUNT = "_count"
_CHANGE = "_change_date"


def side_versions(side: Side, period: Period, sources: SourceSet) -> pl.LazyFrame | None:
    """The side's period versions (``SIDE_COLUMNS``); None when its source is absent."""
    source = side.source
    if source is None or source not in sources:
        return None
    timing = sources.timing(source)
    wanted = [timing.event_time, timing.arrival_time]
    for column in (side.column, side.where.column if side.where else None):
        if column is not None:
            wanted.append(column)
    rows = sources.versions(source, list(dict.fromkeys(wanted)))
    if side.where is not None:
        rows = rows.filter(side.where.condition.expr(pl.col(side.where.column)))
    day = pl.col(EVENT_DATE)
    rows = rows.with_columns(
        period_index(period, day).alias(PERIOD),
        pl.col(timing.arrival_time).alias(ARRIVED),
        day.alias(DATE),
    )
    if side.aggregate in (Aggregate.value, Aggregate.last):
        if side.aggregate == Aggregate.last:
            last_month = MONTHS_PER_PERIOD[period]
            rows = rows.filter(day.dt.month() % last_month == 0)
        value = pl.col(side.column or "")
        if side.scale != 1.0:
            value = value.cast(pl.Float64) * side.scale
        elif rows.collect_schema()[side.column or ""].is_numeric():
            value = value.cast(pl.Float64)
        return rows.select(USCC, PERIOD, value.alias(VALUE), DATE, ARRIVED, VISIBLE_FROM, VALID_TO)
    measure = (
        pl.lit(1.0)
        if side.aggregate in (Aggregate.count, Aggregate.exists)
        else pl.col(side.column or "") * side.scale
    )
    return _running(rows.with_columns(measure.alias(VALUE)), side.aggregate, period)


def _running(members: pl.LazyFrame, aggregate: Aggregate, period: Period) -> pl.LazyFrame:
    """Aggregate versions per (firm, period) from member row versions (see the module doc).

    Each member adds (value, 1) on its ``_visible_from`` and removes it on its ``_valid_to``;
    cumulative sums in date order give the aggregate from each change date to the next. Sums run
    on fixed point, so adding and removing leave exactly zero whatever the order.
    """
    added = members.select(
        USCC,
        PERIOD,
        pl.col(VISIBLE_FROM).alias(_CHANGE),
        fixed_point(pl.col(VALUE)).alias(VALUE),
        pl.lit(1, dtype=pl.Int64).alias(_COUNT),
        DATE,
        ARRIVED,
    )
    removed = members.filter(pl.col(VALID_TO).is_not_null()).select(
        USCC,
        PERIOD,
        pl.col(VALID_TO).alias(_CHANGE),
        -fixed_point(pl.col(VALUE)).alias(VALUE),
        pl.lit(-1, dtype=pl.Int64).alias(_COUNT),
        pl.lit(None, dtype=pl.Date).alias(DATE),
        pl.lit(None, dtype=members.collect_schema()[ARRIVED]).alias(ARRIVED),
    )
    group = [USCC, PERIOD]
    changes = (
        pl.concat([added, removed], how="vertical")
        .group_by(*group, _CHANGE)
        .agg(
            pl.col(VALUE).sum(),
            pl.col(_COUNT).sum(),
            pl.col(DATE).max(),
            pl.col(ARRIVED).max(),
        )
        .sort(*group, _CHANGE)
        .with_columns(
            pl.col(VALUE).cum_sum().over(group),
            pl.col(_COUNT).cum_sum().over(group),
            pl.col(DATE).cum_max().over(group),
            pl.col(ARRIVED).cum_max().over(group),
            pl.col(_CHANGE).shift(-1).over(group).alias(VALID_TO),
        )
    )
    count = pl.col(_COUNT)
    total = pl.col(VALUE).cast(pl.Float64) / FIXED_POINT
    if aggregate == Aggregate.count:
        value, holds = count.cast(pl.Float64), count > 0
    elif aggregate == Aggregate.exists:
        value, holds = pl.lit(1.0), count > 0
    else:
        # Every month of the period, or no value at all.
        holds = count == MONTHS_PER_PERIOD[period]
        value = total if aggregate == Aggregate.sum else total / count
    return changes.filter(holds).select(
        USCC,
        PERIOD,
        value.alias(VALUE),
        DATE,
        ARRIVED,
        pl.col(_CHANGE).alias(VISIBLE_FROM),
        VALID_TO,
    )
