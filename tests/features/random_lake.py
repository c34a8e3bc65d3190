"""Random lake rows from the contracts, for property tests (seeded; any seed is valid).

Keys are drawn from small pools so the same key is often delivered twice (a revision), and
arrivals are sometimes long after the event (late rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from data_contracts.catalog import get
from data_contracts.schema import ColumnType, Grain, SourceContract
from data_contracts.to_polars import polars_schema

START, END = date(2022, 1, 1), date(2024, 12, 31)
ACTIVE_SHARE = 0.85


def random_day(rng: np.random.Generator, start: date = START, end: date = END) -> date:
    return start + timedelta(days=int(rng.integers(0, (end - start).days + 1)))


def _value(
    contract: SourceContract, name: str, rng: np.random.Generator, firms: Sequence[str]
) -> Any:
    column = contract.column(name)
    if name == contract.entity_key:
        return str(rng.choice(firms))
    if name in contract.unique_key and column.type == ColumnType.string:
        return f"{name}-{int(rng.integers(0, 6))}"
    if column.type == ColumnType.string:
        if name == "status" and contract.id == "reg_enterprise_master":
            return "存续" if rng.random() < ACTIVE_SHARE else str(rng.choice(column.allowed))
        if column.allowed:
            return str(rng.choice(column.allowed))
        if column.pattern and "A-HJ-NP" in column.pattern:
            return str(rng.choice([*firms, "L0000000000000000X"]))
        return None if rng.random() < 0.2 else f"{name}-{int(rng.integers(0, 4))}"
    if column.type in (ColumnType.int, ColumnType.float):
        low = column.min if column.min is not None else 0.0
        high = min(column.max if column.max is not None else 1e5, low + 1e5)
        number = low + (high - low) * float(rng.random()) ** 3
        if rng.random() < 0.3:
            number = low  # zeros matter: no arrears, zero capital
        return int(number) if column.type == ColumnType.int else round(number, 2)
    if column.type == ColumnType.date:
        return random_day(rng)
    if column.type == ColumnType.datetime:
        return datetime.combine(random_day(rng), datetime.min.time()) + timedelta(
            minutes=int(rng.integers(0, 24 * 60))
        )
    return bool(rng.random() < 0.5)


def random_row(
    source_id: str,
    rng: np.random.Generator,
    firms: Sequence[str],
    event: date | None = None,
    arrival: datetime | None = None,
) -> dict[str, Any]:
    contract = get(source_id)
    row = {c.name: _value(contract, c.name, rng, firms) for c in contract.columns}
    day = event if event is not None else random_day(rng)
    if contract.grain == Grain.monthly:
        day = day.replace(day=1)
    row[contract.event_time] = day
    delay = int(rng.choice([0, 1, 5, 20, 45, 120, 400]))
    row[contract.arrival_time] = arrival or datetime.combine(
        day + timedelta(days=delay), datetime.min.time()
    ) + timedelta(minutes=int(rng.integers(0, 24 * 60)))
    return row


def is_usable(source_id: str, row: dict[str, Any], as_of: date) -> bool:
    contract = get(source_id)
    return row[contract.event_time] <= as_of and row[contract.arrival_time].date() <= as_of


def random_lake(
    sources: Sequence[str], rng: np.random.Generator, firms: Sequence[str], rows_per_source: int = 6
) -> dict[str, list[dict[str, Any]]]:
    lake = {
        s: [random_row(s, rng, firms) for _ in range(int(rng.integers(0, rows_per_source)))]
        for s in sources
    }
    # Every firm is registered before the history starts, so the grid is never empty.
    lake["reg_enterprise_master"] += [
        {
            **random_row("reg_enterprise_master", rng, firms, event=START),
            "uscc": f,
            "status": "存续",
        }
        for f in firms
    ]
    return lake


def future_rows(
    source_id: str,
    rng: np.random.Generator,
    firms: Sequence[str],
    as_of: date,
    past: Sequence[dict[str, Any]],
    count: int,
) -> list[dict[str, Any]]:
    """Rows not usable at ``as_of``: events after it, late arrivals, and revisions of usable
    rows (same key, new values) arriving after it."""
    contract = get(source_id)
    after = as_of + timedelta(days=1)
    out = []
    for _ in range(count):
        kind = rng.integers(0, 3)
        if kind == 0:
            row = random_row(
                source_id, rng, firms, event=random_day(rng, after, END + timedelta(days=400))
            )
        else:
            arrival = datetime.combine(
                random_day(rng, after, END + timedelta(days=400)), datetime.min.time()
            )
            row = random_row(source_id, rng, firms, arrival=arrival)
            if kind == 2 and past:
                base = past[int(rng.integers(0, len(past)))]
                row = {
                    **row,
                    **{k: base[k] for k in contract.unique_key},
                    contract.event_time: base[contract.event_time],
                    contract.entity_key: base[contract.entity_key],
                }
        if not is_usable(source_id, row, as_of):  # a month floors to its first day
            out.append(row)
    return out


def to_frames(lake: dict[str, list[dict[str, Any]]]) -> dict[str, pl.LazyFrame]:
    out = {}
    for source_id, rows in lake.items():
        schema = polars_schema(get(source_id))
        data = {c: [r[c] for r in rows] for c in schema.names()}
        out[source_id] = pl.DataFrame(data, schema=schema).lazy()
    return out
