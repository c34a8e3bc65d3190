"""Hand-built rows that give a consistency rule's side a chosen value for one firm and period.

``side_records(rule, name, value, period_start)`` writes the rows of the side's source that the
engine reads back as ``value`` (in the rule's unit) for that period: one row for a per-period
source, the period's last month for ``last``, every month for ``sum`` / ``mean``, ``value`` rows
for ``count``. ``examine_records`` runs the real engine at one as-of date.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

import polars as pl

from data_contracts.catalog import get, load_all
from data_contracts.rules import (
    MONTHS_PER_PERIOD,
    Aggregate,
    CompareRule,
    Condition,
    Period,
    periods_per_year,
)
from data_contracts.schema import ColumnType
from data_contracts.to_polars import polars_schema
from features.rules import examine
from tests.features.tiny_lake import FIRM, Rec, arrival_after, frames, master, months, rec

ARRIVAL_DAYS = 20  # rows arrive this long after their period ends


def period_end(period: Period, start: date) -> date:
    last = months(start, MONTHS_PER_PERIOD[period])[-1]
    following = months(last, 2)[1]
    return following - timedelta(days=1)


def shifted(period: Period, start: date, periods: int) -> date:
    """The first day ``periods`` periods after ``start`` (negative: before)."""
    step = MONTHS_PER_PERIOD[period] * periods
    index = start.year * 12 + start.month - 1 + step
    return date(index // 12, index % 12 + 1, 1)


def _typed(source: str, column: str, raw: float) -> Any:
    kind = get(source).column(column).type
    return round(raw) if kind == ColumnType.int else float(raw)


def side_records(
    rule: CompareRule,
    name: str,
    value: float | str,
    start: date,
    *,
    uscc: str = FIRM,
    arrival_days: int = ARRIVAL_DAYS,
) -> list[Rec]:
    """Rows giving side ``name`` the value ``value`` for the period beginning ``start``."""
    side = rule.side(name)
    if side.change is not None:
        # A change of ``value`` on the year: 100 a year before, 100 x (1 + value) now.
        earlier = shifted(rule.period, start, -periods_per_year(rule.period))
        base = rule.model_copy(update={name: side.model_copy(update={"change": None})})
        return [
            *side_records(base, name, 100.0, earlier, uscc=uscc, arrival_days=arrival_days),
            *side_records(
                base, name, 100.0 * (1 + float(value)), start, uscc=uscc, arrival_days=arrival_days
            ),
        ]
    source = side.source or ""
    contract = get(source)
    arrive = arrival_after(period_end(rule.period, start), arrival_days)
    span = months(start, MONTHS_PER_PERIOD[rule.period])
    if side.aggregate in (Aggregate.count, Aggregate.exists):
        out = []
        for k in range(int(value)):
            day = span[min(k, len(span) - 1)] + timedelta(days=3 + k)
            values = {contract.event_time: day, contract.arrival_time: arrive}
            if side.where is not None:
                values[side.where.column] = _satisfying(
                    source, side.where.column, side.where.condition
                )
            out.append(rec(source, uscc=uscc, **values))
        return out
    column = side.column or ""
    if side.aggregate == Aggregate.value:
        days, each = [start], value
    elif side.aggregate == Aggregate.last:
        days, each = [span[-1]], value
    elif side.aggregate == Aggregate.sum:
        days, each = span, float(value) / len(span)
    else:  # mean
        days, each = span, value
    out = []
    for day in days:
        raw = each if isinstance(each, str) else _typed(source, column, float(each) / side.scale)
        out.append(
            rec(
                source,
                uscc=uscc,
                **{contract.event_time: day, contract.arrival_time: arrive, column: raw},
            )
        )
    return out


def _satisfying(source: str, column: str, condition: Condition) -> Any:
    """A value of ``column`` that meets ``condition``."""
    target = condition.value
    if isinstance(target, list):
        return target[0]
    if isinstance(target, str):
        return target
    bump = {"gt": 1.0, "lt": -1.0, "ge": 0.0, "le": 0.0, "eq": 0.0, "ne": 1.0}[condition.op]
    return _typed(source, column, float(target) + bump)


def satisfying(rule: CompareRule, name: str, condition: Condition, holds: bool) -> Any:
    """A side value (in the rule's unit) that meets ``condition``, or fails it."""
    side = rule.side(name)
    target = condition.value
    if isinstance(target, list):
        if holds:
            return target[0]
        allowed = get(side.source or "").column(side.column or "").allowed or []
        return next(v for v in allowed if v not in target)
    if isinstance(target, str):
        if holds == (condition.op == "eq"):
            return target
        allowed = get(side.source or "").column(side.column or "").allowed or []
        return next(v for v in allowed if v != target)
    sign = {"gt": 1, "ge": 1, "lt": -1, "le": -1}.get(condition.op, 1)
    step = 0.2 if side.change else 1.0
    value = float(target) + (0.0 if condition.op in ("ge", "le") else sign * step)
    if not holds:
        value = float(target) - sign * step
    return max(value, 0.0) if not side.change else value


def examine_records(
    rule: CompareRule | Any,
    records: Iterable[Rec],
    as_of: date,
    *,
    firms: list[tuple[str, str]] | None = None,
    revisit: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """The rule's examined rows at ``as_of`` on these records plus a master row per firm
    (``firms``: (uscc, sector); default the one firm F1 in manufacturing)."""
    lake = lake_of(rule, records, firms)
    examination = examine({rule.id: rule}, lake, as_of, contracts=load_all(), revisit=revisit)
    return examination.examined


def lake_of(
    rule, records: Iterable[Rec], firms: list[tuple[str, str]] | None = None
) -> dict[str, pl.LazyFrame]:
    """The records and a master row per firm as lake frames; every source the rule reads is in
    the lake, if only with no rows (delivered but empty)."""
    masters = [
        master(uscc=u, sector=s, snapshot=date(2020, 1, 31))
        for u, s in (firms or [(FIRM, "制造业")])
    ]
    lake = frames([*masters, *records])
    for source in rule.sources():
        lake.setdefault(source, pl.DataFrame(schema=polars_schema(get(source))).lazy())
    return lake
