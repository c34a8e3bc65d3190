"""Inspection reports in the case store, from returned workbooks and from department sources.

A report is identified by its ``report_key`` (see ``pipelines.cases.tables.Inspection``). The
same report recorded again is unchanged; a report that says something different supersedes the
earlier one, which stays as history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import polars as pl

from pipelines.cases.history import NOW, AsOf
from pipelines.cases.store import CaseStore, Change
from pipelines.cases.tables import Inspection


@dataclass(frozen=True)
class Report:
    """One inspection report as a channel delivers it (before it is recorded)."""

    report_key: str
    channel: str
    uscc: str
    industry: str
    week: str | None
    inspection_date: dt.date | None
    method: str | None
    outcome: str
    note: str | None
    origin: str | None
    received_at: dt.datetime

    def values(self) -> dict[str, object]:
        values = asdict(self)
        values.pop("received_at")
        return values


def record_reports(change: Change, reports: Iterable[Report], *scope: Any) -> dict[str, int]:
    """Add each report to the write in progress; returns how many were added, corrected or
    unchanged. ``scope`` narrows the current reports compared with (it must cover them all)."""
    return change.put_many(Inspection, ((r.values(), r.received_at) for r in reports), *scope)


def inspections(store: CaseStore, as_of: AsOf = NOW, industry: str | None = None) -> pl.DataFrame:
    """Current inspection reports at ``as_of`` (one industry's or all), in the order written."""
    where = [] if industry is None else [Inspection.industry == industry]
    return store.frame(Inspection, as_of, *where)
