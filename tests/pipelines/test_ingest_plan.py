"""Planning one source against landing and the ledger (no GX, no Prefect)."""

from __future__ import annotations

import datetime as dt

import pytest

from data_contracts import catalog
from pipelines import io
from pipelines.ingest_policy import SourcePlan
from tests.pipelines.ingest_landing import land, land_bytes, plan_landed, valid_rows

HOTLINE = catalog.get("complaint_12345")
AS_OF = dt.datetime(2026, 11, 2, 12)
DAY = dt.date(2026, 11, 1)


def _plan(tmp_path, ledger=None) -> SourcePlan:
    return plan_landed(tmp_path, HOTLINE, as_of=AS_OF, ledger=ledger)


def test_new_files_are_planned_oldest_first_and_newest_due_date_is_kept(tmp_path):
    for delivery in ("2026-11-01", "backfill-2026-10-01"):
        land(tmp_path / "landing", HOTLINE, delivery, valid_rows(HOTLINE, 2, day=DAY))
    plan = _plan(tmp_path)
    assert [p.delivery_id for p in plan.to_process] == ["backfill-2026-10-01", "2026-11-01"]
    assert plan.newest_delivery == dt.date(2026, 11, 1)
    assert all(p.previous_sha256 is None for p in plan.to_process)


def test_same_file_in_the_ledger_is_skipped_and_a_changed_one_is_a_redelivery(tmp_path):
    same = land(tmp_path / "landing", HOTLINE, "2026-10-30", valid_rows(HOTLINE, 2, day=DAY))
    land(tmp_path / "landing", HOTLINE, "2026-11-01", valid_rows(HOTLINE, 2, day=DAY))
    ledger = {
        (HOTLINE.id, "2026-10-30"): {"sha256": io.file_sha256(same), "rows_in": 2},
        (HOTLINE.id, "2026-11-01"): {"sha256": "an older version", "rows_in": 3},
    }
    plan = _plan(tmp_path, ledger)
    assert plan.skipped == ["2026-10-30"]
    assert plan.weekly_rows == {"2026-10-30": 2, "2026-11-01": 3}
    (redelivery,) = plan.to_process
    assert (redelivery.delivery_id, redelivery.previous_sha256) == (
        "2026-11-01",
        "an older version",
    )


def test_delivery_dated_after_the_ingest_time_waits(tmp_path):
    land(tmp_path / "landing", HOTLINE, "2026-11-03", valid_rows(HOTLINE, 2, day=DAY))
    plan = _plan(tmp_path)
    assert plan.not_due == ["2026-11-03"]
    assert plan.to_process == []
    assert plan.newest_delivery is None


def test_second_file_for_one_delivery_id_is_ignored_in_favour_of_the_declared_format(tmp_path):
    land_bytes(tmp_path / "landing", HOTLINE, "2026-11-01.parquet", b"x")
    land(tmp_path / "landing", HOTLINE, "2026-11-01", valid_rows(HOTLINE, 2, day=DAY))
    plan = _plan(tmp_path)
    assert [p.path.rsplit("/", 1)[1] for p in plan.to_process] == ["2026-11-01.csv"]
    assert plan.ignored == ["2026-11-01.parquet"]


def test_plan_survives_its_json_round_trip(tmp_path):
    land(tmp_path / "landing", HOTLINE, "2026-11-01", valid_rows(HOTLINE, 2, day=DAY))
    plan = _plan(tmp_path)
    path = io.write_json(tmp_path / "plan.json", plan.to_dict())
    assert SourcePlan.from_dict(io.read_json(path)) == plan
    written = io.read_json(path)
    assert (written["as_of"], written["newest_delivery"]) == ("2026-11-02T12:00:00", "2026-11-01")


def test_a_plan_file_with_an_unreadable_time_names_the_field(tmp_path):
    plan = _plan(tmp_path).to_dict()
    with pytest.raises(ValueError, match="ingest plan as_of 'noon' is not an ISO date-time"):
        SourcePlan.from_dict({**plan, "as_of": "noon"})
    with pytest.raises(ValueError, match="ingest plan newest_delivery '1/11/2026'"):
        SourcePlan.from_dict({**plan, "newest_delivery": "1/11/2026"})


def test_weekly_rows_come_from_this_sources_weekly_ledger_entries_only(tmp_path):
    land(tmp_path / "landing", HOTLINE, "2026-11-01", valid_rows(HOTLINE, 2, day=DAY))
    ledger = {
        (HOTLINE.id, "backfill-2026-10-04"): {"sha256": "a", "rows_in": 900},  # not a week
        (HOTLINE.id, "2026-10-11"): {"sha256": "b", "rows_in": 0},  # a nil return
        (HOTLINE.id, "2026-10-18"): {"sha256": "c", "rows_in": 14},
        ("si_pension", "2026-10-18"): {"sha256": "d", "rows_in": 77},  # another source
    }
    plan = _plan(tmp_path, ledger)
    assert plan.weekly_rows == {"2026-10-11": 0, "2026-10-18": 14}
