"""Department inspection sources into the case store: mapped, keyed, corrected, idempotent."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from data_contracts.feedback import load_feedback
from models.config import load_industries
from pipelines.cases import CaseStore, Inspection
from pipelines.cases.inspections import inspections
from pipelines.feedback.sources import sync_department_sources
from pipelines.timeline import PARK_TZ
from tests.features.tiny_lake import master, rec
from tests.pipelines.feedback.lake_rows import write_lake


def check(record: str, uscc: str, day: dt.date, result: str, arrived: dt.datetime):
    return rec(
        "inspection_random_check",
        inspection_id=record,
        uscc=uscc,
        inspection_date=day,
        result=result,
        issues_found=0,
        check_items="经营场所",
        arrived_at=arrived,
    )


def sync(store: CaseStore, lake: Path) -> dict:
    return sync_department_sources(store, lake, load_feedback(), load_industries(), "clerk")


def test_rows_become_reports_with_mapped_outcomes_and_the_firms_industry(tmp_path: Path):
    lake = tmp_path / "lake"
    write_lake(
        lake,
        [
            master("A", sector="金融"),
            master("B", sector="其他"),
            check(
                "R1", "A", dt.date(2026, 11, 20), "发现问题移送立案", dt.datetime(2026, 11, 24, 9)
            ),
            check("R2", "B", dt.date(2026, 11, 21), "未发现经营场所", dt.datetime(2026, 11, 25, 9)),
        ],
    )
    store = CaseStore(f"sqlite:///{tmp_path / 'cases.db'}")
    counts = sync(store, lake)
    assert counts["inspection_random_check"]["added"] == 2
    assert counts["inspection_onsite_result"] == {
        "rows": 0,
        "added": 0,
        "corrected": 0,
        "unchanged": 0,
    }
    frame = inspections(store).sort("report_key")
    assert frame.select("report_key", "industry", "method", "outcome", "week").rows() == [
        ("inspection_random_check/R1", "finance", "double_random", "risk_confirmed", None),
        ("inspection_random_check/R2", "other", "double_random", "closed_or_unreachable", None),
    ]
    # arrived_at is the park's wall-clock time: 09:00 in Suzhou is 01:00 UTC.
    assert frame["received_at"][0] == dt.datetime(2026, 11, 24, 9, tzinfo=PARK_TZ)
    assert frame["origin"][0] == "lake/inspection_random_check/delivery=2026-11-29"


def test_a_second_sync_writes_nothing_and_a_redelivery_corrects(tmp_path: Path):
    lake = tmp_path / "lake"
    rows = [
        master("A", sector="金融"),
        check("R1", "A", dt.date(2026, 11, 20), "未发现问题", dt.datetime(2026, 11, 24, 9)),
    ]
    write_lake(lake, rows)
    store = CaseStore(f"sqlite:///{tmp_path / 'cases.db'}")
    sync(store, lake)
    again = sync(store, lake)["inspection_random_check"]
    assert (again["unchanged"], again["batch"]) == (1, None)
    assert len(store.batches()) == 1
    write_lake(
        lake,
        [
            check(
                "R1", "A", dt.date(2026, 11, 20), "发现问题已责令整改", dt.datetime(2026, 12, 1, 9)
            )
        ],
        delivery="2026-12-06",
    )
    corrected = sync(store, lake)["inspection_random_check"]
    assert corrected["corrected"] == 1
    assert inspections(store)["outcome"].to_list() == ["rectification_ordered"]
    history = store.frame(Inspection, history=True)
    assert history["outcome"].to_list() == ["no_risk_found", "rectification_ordered"]
    assert pl.Series(history["supersedes_id"]).null_count() == 1
