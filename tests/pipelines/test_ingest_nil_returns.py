"""Nil returns: a header-only weekly file from a source whose contract allows them.

A quiet source's empty week is accepted with no rows (and keeps the source from looking late); the
same file from a source whose weeks usually carry rows is rejected as a broken export. Calls the
planner and ``ingest_source`` directly: no Prefect.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

from data_contracts import catalog
from pipelines import io
from pipelines.ingest_policy import (
    NIL_RETURN_MAX_USUAL_ROWS,
    USUAL_WEEKS,
    PlannedDelivery,
    nil_return_outcome,
    nil_return_refusal,
    usual_weekly_rows,
)
from pipelines.ingest_source import ingest_source
from tests.pipelines.ingest_landing import land, plan_landed, valid_rows

HOTLINE = catalog.get("complaint_12345")  # busy: many complaints every week
BANKRUPTCY = catalog.get("court_bankruptcy")  # quiet: weeks without a case are normal
AS_OF = dt.datetime(2026, 10, 26, 23, 59, 59)
WEEKS = ("2026-10-04", "2026-10-11", "2026-10-18", "2026-10-25")


def _ingest(workdir, contract, ledger=None):
    plan = plan_landed(workdir, contract, as_of=AS_OF, ledger=ledger, run_id="nil")
    return ingest_source(contract, plan)


def _land_week(workdir, contract, week: str, rows: int, start: int = 0) -> None:
    day = dt.date.fromisoformat(week)
    land(workdir / "landing", contract, week, valid_rows(contract, rows, day=day, start=start))


def test_both_sources_declare_nil_returns():
    assert HOTLINE.delivery.nil_returns and BANKRUPTCY.delivery.nil_returns


def test_quiet_source_empty_weeks_are_accepted_with_no_rows_and_it_is_not_late(tmp_path):
    for week, rows in zip(WEEKS, (1, 0, 0, 0), strict=True):
        _land_week(tmp_path, BANKRUPTCY, week, rows)
    report = _ingest(tmp_path, BANKRUPTCY)
    assert report.status == "ok" and not report.late
    assert [(o.delivery_id, o.status, o.rows_in) for o in report.deliveries] == [
        ("2026-10-04", "accepted", 1),
        ("2026-10-11", "accepted", 0),
        ("2026-10-18", "accepted", 0),
        ("2026-10-25", "accepted", 0),
    ]
    assert report.deliveries[-1].reason == (
        "court_bankruptcy delivery 2026-10-25: nil return (no records this week)"
    )
    assert "(3 of them nil returns)" in report.reason
    assert (report.rows_in, report.rows_accepted, report.rows_quarantined) == (1, 1, 0)
    lake = pl.read_parquet(tmp_path / "lake" / BANKRUPTCY.id)
    assert lake.height == 1  # nil returns write no partition
    assert not (tmp_path / "quarantine" / BANKRUPTCY.id).exists()
    ledger = io.latest_deliveries(tmp_path / "lake")
    assert ledger[(BANKRUPTCY.id, "2026-10-25")]["rows_in"] == 0


def test_busy_source_header_only_week_is_rejected_as_a_broken_export(tmp_path):
    for k, week in enumerate(WEEKS[:3]):
        _land_week(tmp_path, HOTLINE, week, 8, start=100 * k)
    _land_week(tmp_path, HOTLINE, WEEKS[3], 0)
    report = _ingest(tmp_path, HOTLINE)
    assert report.status == "degraded"
    outcome = report.deliveries[-1]
    assert (outcome.delivery_id, outcome.status) == ("2026-10-25", "rejected")
    assert outcome.reason == (
        "complaint_12345 file 2026-10-25.csv: empty file (a header but no data rows) where the "
        "source's recent weekly deliveries carried a median of 8 rows; treated as a broken "
        "export, not a nil return"
    )
    assert outcome.rows_in == outcome.rows_quarantined == 0
    folder = tmp_path / "quarantine" / HOTLINE.id
    assert (folder / "2026-10-25.raw").exists()
    record = json.loads((folder / "2026-10-25.reason.json").read_text(encoding="utf-8"))
    assert record["kind"] == "empty" and record["reason"] == outcome.reason


def test_busy_weeks_already_in_the_ledger_count_towards_the_usual_volume(tmp_path):
    # Only the header-only week is new: the three busy weeks before it are known from the ledger.
    _land_week(tmp_path, HOTLINE, WEEKS[3], 0)
    ledger = {(HOTLINE.id, week): {"sha256": week, "rows_in": 40} for week in WEEKS[:3]}
    report = _ingest(tmp_path, HOTLINE, ledger)
    (outcome,) = report.deliveries
    assert outcome.status == "rejected"
    assert "a median of 40 rows" in outcome.reason


def test_first_weeks_of_a_source_are_believed(tmp_path):
    # Two busy weeks are too few to say what a usual week is.
    for k, week in enumerate(WEEKS[:2]):
        _land_week(tmp_path, HOTLINE, week, 8, start=100 * k)
    _land_week(tmp_path, HOTLINE, WEEKS[2], 0)
    report = _ingest(tmp_path, HOTLINE)
    assert [o.status for o in report.deliveries] == ["accepted"] * 3
    assert report.deliveries[-1].reason.endswith("nil return (no records this week)")


@pytest.mark.parametrize(
    ("weekly_rows", "expected", "edge"),
    [
        ({"2026-10-04": 3, "2026-10-11": 9}, None, "fewer than three other weeks"),
        ({"2026-10-04": 0, "2026-10-11": 0, "2026-10-18": 7}, 0, "mostly nil returns"),
        (
            {"2026-10-04": 4, "2026-10-11": 6, "2026-10-18": 5, "2026-10-25": 0},
            5,
            "itself left out",
        ),
        (
            {"backfill-2026-09-27": 5000, "2026-10-04": 1, "2026-10-11": 1, "2026-10-18": 2},
            1,
            "backfill is not a week",
        ),
    ],
)
def test_usual_weekly_rows(weekly_rows, expected, edge):
    assert usual_weekly_rows(weekly_rows, "2026-10-25") == expected, edge


def test_usual_weekly_rows_looks_at_the_latest_weeks_only():
    old_busy = {f"2025-01-{day:02d}": 500 for day in range(1, 20)}
    recent_quiet = {f"2026-10-{day:02d}": 1 for day in range(1, USUAL_WEEKS + 1)}
    usual = usual_weekly_rows({**old_busy, **recent_quiet}, "2026-10-25")
    assert usual == 1 < NIL_RETURN_MAX_USUAL_ROWS


def test_the_nil_return_policy_decides_without_reading_a_file(tmp_path):
    """The policy is pure: the plan's numbers decide, the file named need not exist."""
    planned = PlannedDelivery("2026-10-25", str(tmp_path / "absent.csv"), "0" * 64)
    busy = {day: 40 for day in WEEKS[:-1]}
    refusal = nil_return_refusal(HOTLINE.id, planned, busy)
    assert refusal is not None and "median of 40 rows" in refusal
    assert nil_return_refusal(HOTLINE.id, planned, {}) is None  # too few weeks to know
    outcome = nil_return_outcome(HOTLINE.id, planned, [])
    assert (outcome.status, outcome.rows_in, outcome.redelivery) == ("accepted", 0, False)
