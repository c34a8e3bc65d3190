"""Point-in-time views of a source: which row versions a feature may use at an as-of date T.

A delivered row is usable at T when its event time is on or before T and it arrived on or before
T. Arrival is compared by calendar day: the as-of date T covers everything that reached the
platform by the end of day T. When the same unique key is delivered again (a revision), the usable
version with the latest arrival wins.

So every row version has an interval of as-of dates ``[_visible_from, _valid_to)`` in which it is
the winning version of its key (``_valid_to`` null = still winning). Every feature is computed
from those intervals, which is what lets one query answer many as-of dates at once instead of
filtering the lake once per date.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from data_contracts.schema import SourceContract

USCC = "uscc"
AS_OF = "as_of"
# Integer id of a (firm, as-of) row of the grid: grouping and joining on it is cheaper than on
# the (uscc, as_of) pair.
GRID_ROW = "_grid_row"
EVENT_DATE = "_event_date"
VISIBLE_FROM = "_visible_from"
VALID_TO = "_valid_to"
DELTA_DATE = "_delta_date"
DATE_INDEX = "_date_index"
# A row's number in its source as delivered, set when a source is narrowed to some firms (the
# narrowing does not keep row order): ties between versions are broken by it.
ROW_NUMBER = "_source_row"
# Integer (or date: days) columns of at most 32 bits, which a pair key packs exactly.
_PACKABLE = (pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16, pl.UInt32, pl.Date)
# Sums run on fixed-point integers: adding and later removing an amount leaves exactly zero,
# and a sum is the same in whatever order its rows come. The scale is a power of two, so
# turning a sum back into a float is exact (polars may divide by a constant through its
# reciprocal, which for a power of ten depends on the code path); amounts keep about six
# decimal digits.
FIXED_POINT = 2**20


class SourceDataError(ValueError):
    """A source frame that cannot be used (names the source, the column and the row)."""


@dataclass(frozen=True)
class Timing:
    """The columns of one source that point-in-time logic needs (from its contract)."""

    source_id: str
    entity_key: str
    event_time: str
    arrival_time: str
    unique_key: tuple[str, ...]

    @classmethod
    def of(cls, contract: SourceContract) -> Timing:
        return cls(
            source_id=contract.id,
            entity_key=contract.entity_key,
            event_time=contract.event_time,
            arrival_time=contract.arrival_time,
            unique_key=tuple(contract.unique_key),
        )

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(
            dict.fromkeys((self.entity_key, self.event_time, self.arrival_time, *self.unique_key))
        )


def check_columns(frame: pl.LazyFrame, source_id: str, columns: Sequence[str]) -> None:
    """Raise naming the source and column when a needed column is absent."""
    present = set(frame.collect_schema().names())
    for column in columns:
        if column not in present:
            raise SourceDataError(
                f"source {source_id}: column {column!r} is missing (present: {sorted(present)})"
            )


def versions(frame: pl.LazyFrame, timing: Timing, columns: Sequence[str] = ()) -> pl.LazyFrame:
    """Every row version that wins its key for some as-of date, with its validity interval.

    Returns ``uscc``, the requested ``columns``, ``_event_date``, ``_visible_from`` and
    ``_valid_to``. A version stops winning as soon as any version of the same key with a later
    arrival becomes usable; a version that is superseded before it ever wins is dropped.
    """
    wanted = [c for c in dict.fromkeys(columns) if c != timing.entity_key]
    check_columns(frame, timing.source_id, [*timing.required, *wanted])
    numbered = ROW_NUMBER in frame.collect_schema().names()
    arrival_order = "_arrival_order"
    row_order = "_row_order"
    event_date = pl.col(timing.event_time).cast(pl.Date)
    arrival_date = pl.col(timing.arrival_time).cast(pl.Date)
    keys = [USCC if k == timing.entity_key else k for k in timing.unique_key]
    staged = frame.select(
        pl.col(timing.entity_key).alias(USCC),
        *[
            pl.col(c)
            for c in dict.fromkeys([*wanted, *timing.unique_key])
            if c != timing.entity_key
        ],
        event_date.alias(EVENT_DATE),
        pl.max_horizontal(event_date, arrival_date).alias(VISIBLE_FROM),
        pl.col(timing.arrival_time).alias(arrival_order),
        *([pl.col(ROW_NUMBER).alias(row_order)] if numbered else []),
    )
    if not numbered:
        staged = staged.with_row_index(row_order)
    # The earliest date a later-arriving version of the same key becomes usable. Revisions are
    # rare, so the ordered window runs only over keys delivered more than once.
    copies = "_copies"
    staged = staged.with_columns(pl.len().over(keys).alias(copies))
    single = staged.filter(pl.col(copies) == 1).with_columns(
        pl.lit(None, dtype=pl.Date).alias(VALID_TO)
    )
    revised = staged.filter(pl.col(copies) > 1).with_columns(
        pl.col(VISIBLE_FROM)
        .cum_min(reverse=True)
        .shift(-1)
        .over(keys, order_by=[arrival_order, row_order])
        .alias(VALID_TO)
    )
    return (
        pl.concat([single, revised], how="vertical")
        .filter(pl.col(VALID_TO).is_null() | (pl.col(VISIBLE_FROM) < pl.col(VALID_TO)))
        .select(USCC, *wanted, EVENT_DATE, VISIBLE_FROM, VALID_TO)
    )


def valid_at(as_of: pl.Expr) -> pl.Expr:
    """True for a version that is the winning version of its key at ``as_of``."""
    return (pl.col(VISIBLE_FROM) <= as_of) & (
        pl.col(VALID_TO).is_null() | (as_of < pl.col(VALID_TO))
    )


@dataclass(frozen=True)
class WindowSum:
    """One output column: the sum of ``measure`` over versions valid at T whose event date lies
    within the last ``window_days`` days up to T (``None`` = no window: all valid versions)."""

    measure: pl.Expr
    window_days: int | None = None


def window_sums(
    versions_frame: pl.LazyFrame, grid: pl.LazyFrame, columns: Mapping[str, WindowSum]
) -> pl.LazyFrame:
    """Windowed sums for every row of ``grid`` (keyed by ``_grid_row``; 0 where nothing
    counts).

    A version contributes to as-of T when ``_visible_from <= T < min(_valid_to, event + window)``.
    Each version therefore adds its measure on one date and removes it on another; a running sum
    of those changes per firm, looked up with an as-of join, answers every T at once. Only the
    grid's dates are ever looked up, so each change is filed under the first of them on or after
    its date: the running sums then need a row per firm and date that saw a change, not one per
    change date (most changes lie before the first date and share one row).
    """
    names = list(columns)
    if not names:
        return grid.select(GRID_ROW)
    scaled = {name: fixed_point(spec.measure) for name, spec in columns.items()}
    valued = versions_frame.select(
        USCC, EVENT_DATE, VISIBLE_FROM, VALID_TO, *[e.alias(n) for n, e in scaled.items()]
    )
    zero = pl.lit(0, dtype=pl.Int64)
    parts = [valued.select(USCC, pl.col(VISIBLE_FROM).alias(DELTA_DATE), *names)]
    for window in dict.fromkeys(spec.window_days for spec in columns.values()):
        if window is None:
            ends = pl.col(VALID_TO)
        else:
            window_end = pl.col(EVENT_DATE) + pl.duration(days=window)
            # A row arriving after its window closed adds and removes on the same day.
            ends = pl.max_horizontal(
                pl.min_horizontal(pl.col(VALID_TO), window_end), pl.col(VISIBLE_FROM)
            )
        parts.append(
            valued.select(
                USCC,
                ends.alias(DELTA_DATE),
                *[
                    (-pl.col(n) if columns[n].window_days == window else zero).alias(n)
                    for n in names
                ],
            ).filter(pl.col(DELTA_DATE).is_not_null())
        )
    dates, date_index = grid_dates(grid)
    changes = (
        pl.concat(parts, how="vertical")
        .with_columns(date_index(pl.col(DELTA_DATE)).alias(DATE_INDEX))
        .filter(pl.col(DATE_INDEX) < dates)
        .group_by(USCC, DATE_INDEX)
        .agg(pl.col(names).sum())
    )
    running = running_sums(changes, names, by=USCC, order=DATE_INDEX)
    return last_of_firm(
        grid.select(GRID_ROW, USCC, date_index(pl.col(AS_OF)).alias(DATE_INDEX)), running
    ).select(
        GRID_ROW,
        *[(pl.col(n).fill_null(0) / FIXED_POINT).cast(pl.Float64) for n in names],
    )


def grid_dates(grid: pl.LazyFrame) -> tuple[int, Callable[[pl.Expr], pl.Expr]]:
    """How many distinct as-of dates the grid has, and an expression giving a date's position
    among them: that of the first grid date on or after it (the count when there is none).

    Only the grid's dates are ever looked up, so a change filed under that position is seen by
    exactly the same grid rows as at its own date, and changes sharing a position add up first.
    """
    dates = grid.select(pl.col(AS_OF).unique().sort()).collect().to_series()

    def date_index(date: pl.Expr) -> pl.Expr:
        return pl.lit(dates).search_sorted(date, side="left").cast(pl.Int32)

    return dates.len(), date_index


def running_sums(frame: pl.LazyFrame, names: Sequence[str], by: str, order: str) -> pl.LazyFrame:
    """``frame`` sorted by (``by``, ``order``) with each of ``names`` replaced by its running sum
    within its ``by`` group.

    One running sum over the whole column minus the total before the group's first row: exact
    on integers, and several times faster than ``cum_sum().over(by)``. Summed in Int128 so that
    the total over all groups cannot overflow (only each group's own sums must fit in Int64).
    """
    first = pl.col(by).is_first_distinct()
    totals = {n: pl.col(n).cast(pl.Int128).cum_sum() for n in names}
    return frame.sort(by, order).with_columns(
        (totals[n] - pl.when(first).then(totals[n] - pl.col(n)).forward_fill())
        .cast(pl.Int64)
        .alias(n)
        for n in names
    )


def fixed_point(expr: pl.Expr) -> pl.Expr:
    return (expr.cast(pl.Float64).fill_null(0.0) * FIXED_POINT).round().cast(pl.Int64)


def latest_key(
    versions_frame: pl.LazyFrame, grid: pl.LazyFrame, key: str, alias: str
) -> pl.LazyFrame:
    """For each grid row, the largest value of ``key`` among the firm's versions usable at T.

    Once any version of a key is usable, some version of it stays usable (revisions only replace
    versions), so the largest usable key only grows with T: a running maximum ordered by first
    usability (as positions among the grid's dates, see ``grid_dates``), looked up with an as-of
    join. Null when the firm has nothing usable at T.
    """
    first_seen = "_first_seen"
    dates, date_index = grid_dates(grid)
    running = (
        versions_frame.group_by(USCC, key)
        .agg(pl.col(VISIBLE_FROM).min().alias(first_seen))
        .group_by(USCC, date_index(pl.col(first_seen)).alias(DATE_INDEX))
        .agg(pl.col(key).max())
        .filter(pl.col(DATE_INDEX) < dates)
        .with_columns(pl.col(key).cum_max().over(USCC, order_by=DATE_INDEX).alias(alias))
        .select(USCC, DATE_INDEX, alias)
    )
    return last_of_firm(
        grid.with_columns(date_index(pl.col(AS_OF)).alias(DATE_INDEX)), running
    ).drop(DATE_INDEX)


def last_of_firm(left: pl.LazyFrame, right: pl.LazyFrame) -> pl.LazyFrame:
    """An as-of join by firm on ``_date_index``: each row of ``left`` with the other columns of
    the row of ``right`` of the same firm with the largest date index at most its own (nulls
    when there is none).

    With integer firm codes (as inside the feature build) firm and index are packed into one
    Int64 that sorts like the pair, and a plain as-of join on it replaces the one grouped by
    firm (a third cheaper); a match landing on another firm's row means there was none.
    """
    taken = [c for c in right.collect_schema().names() if c not in (USCC, DATE_INDEX)]
    if not (left.collect_schema()[USCC] in _PACKABLE and right.collect_schema()[USCC] in _PACKABLE):
        return left.sort(DATE_INDEX).join_asof(
            right.sort(DATE_INDEX),
            on=DATE_INDEX,
            by=USCC,
            strategy="backward",
            check_sortedness=False,
        )
    packed, firm = "_packed", "_firm"
    pack = (pl.col(USCC).cast(pl.Int64) * 2**32 + pl.col(DATE_INDEX).cast(pl.Int64)).alias(packed)
    return (
        left.with_columns(pack)
        .sort(packed)
        .join_asof(
            right.select(pack, pl.col(USCC).alias(firm), *taken).sort(packed),
            on=packed,
            strategy="backward",
            check_sortedness=False,
        )
        .with_columns(pl.when(pl.col(firm) == pl.col(USCC)).then(pl.col(c)).alias(c) for c in taken)
        .drop(packed, firm)
    )


def values_at(
    versions_frame: pl.LazyFrame, targets: pl.LazyFrame, key: str, target: str
) -> pl.LazyFrame:
    """The winning version at T of key value ``target`` for each (uscc, as_of, target) row.

    Rows of ``targets`` whose key has no winning version at T are dropped.
    """
    return join_firm_pairs(
        targets.filter(pl.col(target).is_not_null()), versions_frame, target, key
    ).filter(valid_at(pl.col(AS_OF)))


def join_firm_pairs(
    left: pl.LazyFrame, right: pl.LazyFrame, left_key: str, right_key: str
) -> pl.LazyFrame:
    """Inner join of ``left`` and ``right`` on (uscc, ``left_key``) = (uscc, ``right_key``),
    columns as a join on the pair gives them.

    With integer firm codes and integer or date keys (as inside the feature build) each pair is
    packed into one Int64: hashing one integer instead of a pair makes a join of millions of rows
    about three times cheaper. Keys of one dtype of at most 32 bits span at most 2**32 values, so
    the packing is one-to-one (firm codes are row numbers, far below 2**31).
    """
    left_schema, right_schema = left.collect_schema(), right.collect_schema()
    packable = (
        left_schema[USCC] in _PACKABLE
        and right_schema[USCC] in _PACKABLE
        and left_schema[left_key] == right_schema[right_key]
        and left_schema[left_key] in _PACKABLE
    )
    if not packable:
        return left.join(right, left_on=[USCC, left_key], right_on=[USCC, right_key], how="inner")
    pair = "_pair"

    def packed(key: str) -> pl.Expr:
        return (pl.col(USCC).cast(pl.Int64) * 2**32 + pl.col(key).cast(pl.Int64)).alias(pair)

    return (
        left.with_columns(packed(left_key))
        .join(
            right.with_columns(packed(right_key)).drop(USCC, right_key),
            on=pair,
            how="inner",
        )
        .drop(pair)
    )


def valid_rows(
    versions_frame: pl.LazyFrame, grid: pl.LazyFrame, horizon_days: int | None = None
) -> pl.LazyFrame:
    """Every (grid row, winning version) pair at T, optionally only events in the last
    ``horizon_days`` days. Costs firms' versions x as-of dates: meant for sparse sources."""
    pairs = grid.select(GRID_ROW, USCC, AS_OF).join(versions_frame, on=USCC, how="inner")
    keep = valid_at(pl.col(AS_OF))
    if horizon_days is not None:
        keep = keep & (pl.col(AS_OF) < pl.col(EVENT_DATE) + pl.duration(days=horizon_days))
    return pairs.filter(keep)


def month_index(expr: pl.Expr) -> pl.Expr:
    """Months since year 0 for a date: consecutive months differ by exactly one."""
    return (expr.dt.year().cast(pl.Int32) * 12 + expr.dt.month().cast(pl.Int32) - 1).cast(pl.Int32)
