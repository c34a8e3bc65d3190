"""A small synthetic finance workdir: a weekly feature history and the distress events in the
outcomes lake, both driven by each firm's latent stress.

The train-flow and audit tests each build theirs with it (their own feature columns and event
rate), so both train on workdirs written the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from data_contracts import catalog
from pipelines import io
from pipelines.settings import Settings
from tests.declarations import changed_declaration_in_force

FIRMS = 160
WEEKS = 150
FIRST_WEEK = date(2023, 1, 2)


def firm_code(i: int) -> str:
    return f"91320594MA{i:07d}X"


def distress_weeks(
    rng: np.random.Generator, stress: np.ndarray, slope: float, offset: float
) -> list[int | None]:
    """Each firm's event week (None: no event); the weekly event probability is
    ``sigmoid(stress * slope - offset)``."""
    hazard = 1 / (1 + np.exp(-(stress * slope - offset)))
    return [
        next((w for w in range(WEEKS) if rng.random() < hazard[i]), None)
        for i in range(len(stress))
    ]


def write_finance_workdir(
    settings: Settings,
    event_weeks: Sequence[int | None],
    columns: Callable[[int, int], dict[str, Any]],
) -> None:
    """``features/history.parquet``: a row per firm and week until its event, with
    ``columns(firm, week)`` after the keys; its events as one outcomes delivery in the lake."""
    rows = []
    for i, event_week in enumerate(event_weeks):
        for week in range(WEEKS if event_week is None else event_week):
            rows.append(
                {
                    "uscc": firm_code(i),
                    "as_of": FIRST_WEEK + timedelta(weeks=week),
                    "sector": "金融",
                    **columns(i, week),
                }
            )
    events = []
    for i, event_week in enumerate(event_weeks):
        if event_week is not None:
            happened = FIRST_WEEK + timedelta(weeks=event_week, days=3)
            events.append(
                {
                    "event_id": f"E{i:05d}",
                    "uscc": firm_code(i),
                    "event_date": happened,
                    "event_type": "金融风险事件",
                    "industry": "finance",
                    "confirmed_by": "联合核查组现场核实",
                    "arrived_at": datetime.combine(
                        happened + timedelta(days=14), datetime.min.time()
                    ),
                }
            )
    write_history_and_outcomes(settings, rows, events)


def write_history_and_outcomes(
    settings: Settings, rows: list[dict[str, Any]], events: list[dict[str, Any]]
) -> None:
    """The feature history and one delivery of the outcome source (its ledger line) in the
    workdir of ``settings``."""
    settings.features.mkdir(parents=True)
    pl.DataFrame(rows).write_parquet(settings.features / "history.parquet")
    schema = io.lake_schema(catalog.get("outcome_distress_event"))
    outcomes = pl.DataFrame(events).cast({name: schema[name] for name in events[0]})
    io.write_partition(settings.lake, "outcome_distress_event", "2026-01-05", outcomes)
    io.append_ledger(
        settings.lake,
        [{"source": "outcome_distress_event", "delivery_id": "2026-01-05", "rows": len(events)}],
    )


@contextmanager
def declared_without_pool(folder: Path) -> Iterator[Path]:
    """The declaration in force (the tests' light copy) without its ``pool:`` block, while open: a
    workdir of finance firms only trains finance alone (a pool needs its members' rows)."""
    with changed_declaration_in_force(folder, lambda declared: declared.pop("pool", None)) as path:
        yield path
