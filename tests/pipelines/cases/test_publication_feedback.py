"""A week's feedback.json reads the store as it stood at the week's cut-off, so re-deriving
the week later gives the same bytes whatever came back since."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pipelines.cases import AsOf, CaseStore
from pipelines.cases.inspections import Report, record_reports
from pipelines.cases.listings import record_publication
from pipelines.cases.tables import WORKBOOK
from pipelines.feedback.report import FEEDBACK_FILE, write_publication_feedback
from pipelines.settings import Settings
from pipelines.timeline import PARK_TZ, week_cutoff
from tests.pipelines.cases.test_listings import publication

LISTED_WEEK, THIS_WEEK = "2026-W45", "2026-W46"
AS_OF = dt.date(2026, 11, 8)  # the Sunday before 2026-W46


def report(uscc: str, outcome: str, day: dt.date, received: dt.datetime) -> Report:
    return Report(
        report_key=f"workbook/{LISTED_WEEK}/finance/{uscc}",
        channel="workbook",
        uscc=uscc,
        industry="finance",
        week=LISTED_WEEK,
        inspection_date=day,
        method="targeted",
        outcome=outcome,
        note=None,
        origin="风险名单!R2",
        received_at=received,
    )


def record(store: CaseStore, *reports: Report) -> None:
    with store.write(WORKBOOK, "clerk", "back.xlsx") as change:
        record_reports(change, reports)


def feedback(settings: Settings, folder: Path, view: AsOf | None) -> tuple[AsOf, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    used = write_publication_feedback(folder, settings, "finance", THIS_WEEK, AS_OF, view)
    return used, (folder / FEEDBACK_FILE).read_bytes()


@pytest.fixture
def settings(store_url: str, tmp_path: Path, monkeypatch) -> Settings:
    monkeypatch.setenv("EWS_CASE_STORE_URL", store_url)
    return Settings(workdir=tmp_path)


def test_feedback_is_last_weeks_accuracy_and_re_derives_after_later_imports(
    settings: Settings, store: CaseStore, tmp_path: Path
) -> None:
    listed = [("91320594000000000A", 0.3), ("91320594000000000B", 0.2), ("C" * 18, 0.1)]
    record_publication(store, publication(tmp_path / "pub", listed), "publisher")
    before_cutoff = dt.datetime(2026, 11, 6, 17, tzinfo=PARK_TZ)
    record(
        store,
        report("91320594000000000A", "risk_confirmed", dt.date(2026, 11, 4), before_cutoff),
        report("91320594000000000B", "no_risk_found", dt.date(2026, 11, 5), before_cutoff),
    )
    view, published = feedback(settings, tmp_path / "first", None)
    body = json.loads(published)
    week = body["last_week"]
    assert (week["week"], week["listed"], week["inspected"], week["confirmed"]) == (
        LISTED_WEEK,
        3,
        2,
        1,
    )
    assert week["awaiting"] == 1 and week["confirmed_share"] == 0.5
    assert week["median_days_to_inspection"] == 2.5
    assert body["case_store"] == view.as_dict()
    assert view.before == week_cutoff(THIS_WEEK).astimezone(dt.UTC)

    # Later: a correction received after the cut-off and a late import of a report received
    # before it. The week as published still re-derives; a fresh look sees both.
    after = dt.datetime(2026, 11, 10, 9, tzinfo=PARK_TZ)
    record(store, report("91320594000000000B", "risk_confirmed", dt.date(2026, 11, 5), after))
    record(store, report("C" * 18, "risk_confirmed", dt.date(2026, 11, 6), before_cutoff))
    _, again = feedback(settings, tmp_path / "again", view)
    assert again == published
    _, fresh = feedback(settings, tmp_path / "fresh", None)
    assert json.loads(fresh)["last_week"]["confirmed"] == 2  # the late one; not the correction


def test_a_week_with_no_earlier_list_says_so(settings: Settings, store: CaseStore, tmp_path):
    _, published = feedback(settings, tmp_path / "first", None)
    body = json.loads(published)
    assert body["last_week"] is None and body["weeks"] == []
    assert body["rolling"]["listed"] == 0
