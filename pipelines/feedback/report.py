"""The accuracy report: how the lists fared, from the case store, as JSON-ready data.

Used three ways: ``ews feedback report`` (the store now), each week's publication
(``feedback.json``: the regulator's earlier lists as the store stood at the week's cut-off, so
the week can be re-derived), and the model card. The numbers come from ``models.accuracy``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from data_contracts.feedback import FeedbackContract, load_feedback
from models.accuracy import follow_up, outcome_counts, rolling, summarise
from pipelines import file_io
from pipelines.cases import AsOf, CaseStore, open_store
from pipelines.cases.inspections import inspections
from pipelines.cases.listings import listings
from pipelines.settings import Settings
from pipelines.timeline import Week, week_cutoff

ROLLING_WEEKS = 8  # the weeks a rolling figure covers (the firm page's history is as long)
FOLLOW_UP_DAYS = 90  # an inspection later than this after the list no longer answers it
FEEDBACK_FILE = "feedback.json"
# The figures of a window with no listed firm (the keys ``summarise`` gives).
NOTHING_LISTED = {
    "listed": 0,
    "inspected": 0,
    "confirmed": 0,
    "reported_not_inspected": 0,
    "awaiting": 0,
    "median_days_to_inspection": None,
    "max_days_to_inspection": None,
    "confirmed_share": None,
    "ci_low": None,
    "ci_high": None,
}


def _week_key(week: str) -> tuple[int, int]:
    parsed = Week.parse(week)
    return parsed.year, parsed.number


def accuracy(
    listed: pl.DataFrame,
    reports: pl.DataFrame,
    contract: FeedbackContract,
    *,
    at: dt.date,
    industries: Sequence[str],
    rolling_weeks: int = ROLLING_WEEKS,
    follow_up_days: int = FOLLOW_UP_DAYS,
) -> dict[str, Any]:
    """Per industry: each listed week's figures, the rolling figures over its last
    ``rolling_weeks`` listed weeks, and the outcomes found."""
    followed = follow_up(
        listed,
        reports,
        at=at,
        window_days=follow_up_days,
        inspected=contract.inspected(),
        confirming=contract.confirming(),
    )
    out: dict[str, Any] = {
        "at": at.isoformat(),
        "follow_up_days": follow_up_days,
        "rolling_weeks": rolling_weeks,
        "confirming_outcomes": contract.confirming(),
        "industries": {},
    }
    for industry in industries:
        mine = followed.filter(pl.col("industry") == industry)
        weeks = sorted(set(mine["week"]), key=_week_key)
        window = weeks[-rolling_weeks:]
        per_week = summarise(mine, ["week"]).sort(pl.col("week"))
        found = outcome_counts(mine, ["week"])
        by_week = {
            row["week"]: _clean(row)
            | {
                "outcomes": dict(
                    found.filter(pl.col("week") == row["week"]).select("outcome", "firms").rows()
                )
            }
            for row in per_week.iter_rows(named=True)
        }
        recent = rolling(mine, window)
        summary = summarise(recent.with_columns(scope=pl.lit("rolling")), ["scope"])
        out["industries"][industry] = {
            "weeks": [by_week[w] for w in weeks],
            "rolling": {
                "weeks": window,
                **(_clean(summary.row(0, named=True)) if summary.height else NOTHING_LISTED),
                "outcomes": dict(
                    outcome_counts(recent.with_columns(scope=pl.lit("r")), ["scope"])
                    .select("outcome", "firms")
                    .rows()
                ),
            },
        }
    return out


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready: no group keys, NaN as null, shares rounded to 4 places."""
    out = {}
    for key, value in row.items():
        if key in ("scope", "industry"):
            continue
        if isinstance(value, float):
            value = None if math.isnan(value) else round(value, 4)
        out[key] = value
    return out


def store_accuracy(
    store: CaseStore,
    contract: FeedbackContract,
    *,
    as_of: AsOf,
    at: dt.date,
    industries: Sequence[str],
    before_week: str | None = None,
) -> dict[str, Any]:
    """``accuracy`` of the lists recorded in the store at ``as_of`` (only weeks before
    ``before_week`` when given)."""
    listed = listings(store, as_of)
    if before_week is not None:
        earlier = [w for w in set(listed["week"]) if _week_key(w) < _week_key(before_week)]
        listed = listed.filter(pl.col("week").is_in(earlier))
    reports = inspections(store, as_of)
    report = accuracy(listed, reports, contract, at=at, industries=industries)
    report["case_store"] = as_of.as_dict()
    return report


def publication_view(store: CaseStore, week: str) -> AsOf:
    """What a week's publication may read from the store: what had arrived by the week's
    cut-off, at the store version that held it (recorded in the manifest)."""
    cutoff = week_cutoff(week)
    return AsOf(version=store.version(before=cutoff), before=cutoff.astimezone(dt.UTC))


def publication_feedback(
    store: CaseStore,
    contract: FeedbackContract,
    industry: str,
    week: str,
    as_of: dt.date,
    view: AsOf,
) -> dict[str, Any]:
    """The feedback a week's list shows: this industry's earlier lists as the store stood."""
    report = store_accuracy(
        store, contract, as_of=view, at=as_of, industries=[industry], before_week=week
    )
    body = report["industries"][industry]
    return {
        "week": week,
        "industry": industry,
        "at": report["at"],
        "follow_up_days": report["follow_up_days"],
        "rolling_weeks": report["rolling_weeks"],
        "confirming_outcomes": report["confirming_outcomes"],
        "case_store": report["case_store"],
        "last_week": body["weeks"][-1] if body["weeks"] else None,
        **body,
    }


def write_publication_feedback(
    folder: Path, settings: Settings, industry: str, week: str, as_of: dt.date, view: AsOf | None
) -> AsOf:
    """``feedback.json`` into a publication folder; returns the store view it read (the publish
    flow passes None and records the view; ``ews audit verify`` passes the recorded one)."""
    store = open_store(settings)
    try:
        view = view or publication_view(store, week)
        payload = publication_feedback(store, load_feedback(), industry, week, as_of, view)
    finally:
        store.dispose()
    file_io.write_json(folder / FEEDBACK_FILE, payload)
    return view
