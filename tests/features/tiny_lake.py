"""Tiny hand-built lakes for feature tests.

``rec(source_id, **values)`` is one lake row: columns not given are null, except the key columns,
which get defaults (a fresh key, uscc ``F1``, arrival the morning after the event).
``build(records, as_of_dates)`` runs the real feature build on exactly those rows.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import polars as pl

from data_contracts.catalog import get
from data_contracts.to_polars import polars_schema
from features.build import build_feature_table

_keys = itertools.count(1)
FIRM = "F1"


@dataclass(frozen=True)
class Rec:
    source_id: str
    values: dict[str, Any] = field(default_factory=dict)


def arrival_after(day: date, days: int = 1) -> datetime:
    return datetime.combine(day + timedelta(days=days), time(9, 0))


def rec(source_id: str, **values: Any) -> Rec:
    contract = get(source_id)
    filled = dict(values)
    filled.setdefault(contract.entity_key, FIRM)
    event = filled.get(contract.event_time)
    if event is None:
        raise ValueError(f"{source_id}: give {contract.event_time}")
    filled.setdefault(contract.arrival_time, arrival_after(event))
    for key in contract.unique_key:
        if key not in filled and contract.column(key).type.value == "string":
            filled[key] = f"{key}-{next(_keys)}"
    return Rec(source_id, filled)


def master(
    uscc: str = FIRM,
    snapshot: date = date(2023, 1, 1),
    status: str = "存续",
    sector: str = "制造业",
    district: str = "湖西",
    registered_capital: float = 1000.0,
    **values: Any,
) -> Rec:
    return rec(
        "reg_enterprise_master",
        uscc=uscc,
        snapshot_date=snapshot,
        status=status,
        sector=sector,
        district=district,
        name=f"firm {uscc}",
        ownership_type="民营",
        established_date=date(2015, 6, 1),
        registered_capital=registered_capital,
        **values,
    )


def frames(records: Iterable[Rec]) -> dict[str, pl.LazyFrame]:
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        rows[r.source_id].append(r.values)
    out = {}
    for source_id, items in rows.items():
        schema = polars_schema(get(source_id))
        unknown = {k for item in items for k in item} - set(schema.names())
        if unknown:
            raise ValueError(f"{source_id} has no columns {sorted(unknown)}")
        data = {c: [item.get(c) for item in items] for c in schema.names()}
        out[source_id] = pl.DataFrame(data, schema=schema).lazy()
    return out


def build(records: Iterable[Rec], as_of_dates: Sequence[date], **kwargs: Any) -> pl.DataFrame:
    return build_feature_table(frames(records), list(as_of_dates), **kwargs).collect()


def value(table: pl.DataFrame, name: str, as_of: date, uscc: str = FIRM) -> Any:
    row = table.filter((pl.col("uscc") == uscc) & (pl.col("as_of") == as_of))
    if row.height != 1:
        raise AssertionError(f"{row.height} rows for {uscc} at {as_of}")
    return row[name][0]


def months(start: date, count: int) -> list[date]:
    """First days of ``count`` consecutive months from ``start``'s month."""
    out = []
    year, month = start.year, start.month
    for _ in range(count):
        out.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out
