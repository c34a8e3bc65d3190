"""`ews feedback import` on SQLite and PostgreSQL: all or nothing, idempotent, corrections kept,
every attempt audit-logged with the operator."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipelines import audit
from pipelines.cases import CaseStore, Inspection
from pipelines.cases.inspections import inspections
from pipelines.cases.listings import listings
from pipelines.feedback.workbook import WorkbookRejected
from pipelines.flows.feedback import import_workbook_flow, report_flow
from pipelines.settings import Settings
from pipelines.timeline import Week, parse_park_moment
from tests.pipelines.feedback.published import Published, fill, publish_one

RECEIVED = "2026-11-20T16:30:00"  # the park's time


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> Published:
    return publish_one(tmp_path_factory.mktemp("import"))


@pytest.fixture
def workdir(published: Published, store_url: str, monkeypatch, tmp_path) -> Settings:
    """The published world with this test's own store and audit log."""
    monkeypatch.setenv("EWS_CASE_STORE_URL", store_url)
    monkeypatch.setenv("EWS_OPERATOR", "clerk-wang")
    root = published.world.settings.workdir
    log = root / "audit" / "audit_log.jsonl"
    log.unlink(missing_ok=True)
    return Settings(workdir=root)


def run(settings: Settings, path: Path, **options):
    return import_workbook_flow.fn(
        workdir=str(settings.workdir), path=str(path), received_at=RECEIVED, **options
    )


def filled(published: Published, path: Path, outcome: str = "风险属实") -> Path:
    return fill(
        published.returned_copy(path),
        {"M2": dt.datetime(2026, 11, 18), "N2": "定向检查", "O2": outcome, "O3": "未检查"},
    )


def test_a_refused_file_records_nothing_and_is_logged(workdir, published, store_url, tmp_path):
    path = fill(filled(published, tmp_path / "back.xlsx"), {"O4": "差不多"})
    with pytest.raises(WorkbookRejected, match="row 4, column 检查结果"):
        run(workdir, path)
    store = CaseStore(store_url)
    assert inspections(store).height == 0 and listings(store).height == 0
    assert store.batches() == []
    [entry] = audit.read_log(workdir)
    assert (entry["kind"], entry["operator"], entry["details"]["status"]) == (
        "feedback",
        "clerk-wang",
        "refused",
    )
    assert "row 4, column 检查结果" in entry["details"]["problems"][0]


def test_import_then_again_then_corrected(workdir, published, store_url, tmp_path):
    first = run(workdir, filled(published, tmp_path / "back.xlsx"))
    assert (first["status"], first["added"], first["firms"], first["reported"]) == (
        "recorded",
        2,
        5,
        2,
    )
    store = CaseStore(store_url)
    assert listings(store).height == 5  # the week's listing is there to answer
    again = run(workdir, filled(published, tmp_path / "same.xlsx"))
    assert (again["status"], again["unchanged"], again["batch"]) == ("unchanged", 2, None)
    corrected = run(workdir, filled(published, tmp_path / "fixed.xlsx", outcome="责令整改"))
    assert (corrected["corrected"], corrected["unchanged"]) == (1, 1)
    now = inspections(store).sort("origin")
    assert now.select("origin", "outcome", "method").rows() == [
        ("风险名单!R2", "rectification_ordered", "targeted"),
        ("风险名单!R3", "not_inspected", None),
    ]
    history = store.frame(Inspection, history=True)
    assert sorted(history["outcome"].to_list()) == [
        "not_inspected",
        "rectification_ordered",
        "risk_confirmed",
    ]
    received = now["received_at"][0]
    assert received == dt.datetime(2026, 11, 20, 8, 30, tzinfo=dt.UTC)
    actions = [(e["details"]["status"], e["operator"]) for e in audit.read_log(workdir)]
    assert actions == [
        ("recorded", "clerk-wang"),
        ("unchanged", "clerk-wang"),
        ("recorded", "clerk-wang"),
    ]


def test_the_operator_can_insist_on_the_week_and_industry(workdir, published, tmp_path):
    path = filled(published, tmp_path / "back.xlsx")
    with pytest.raises(WorkbookRejected, match="not the education list"):
        run(workdir, path, industry="education")
    with pytest.raises(WorkbookRejected, match="not 2026-W48"):
        run(workdir, path, week="2026-W48")
    with pytest.raises(WorkbookRejected, match="not 2026-W48"):
        run(workdir, path, week=Week(2026, 48))  # the flow's edge takes the type or its label


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("week", "2026-48", "week '2026-48' is not an ISO week"),
        ("received_at", "20.11.2026", "received_at '20.11.2026' is not an ISO date-time"),
    ],
)
def test_a_bad_week_or_time_is_refused_by_name_before_the_file_is_read(
    workdir, published, tmp_path, option, value, named
):
    path = filled(published, tmp_path / "back.xlsx")
    with pytest.raises(ValueError, match=named):
        import_workbook_flow.fn(workdir=str(workdir.workdir), path=str(path), **{option: value})
    assert audit.read_log(workdir) == []


def test_the_time_a_file_came_back_is_the_parks_unless_it_says_otherwise():
    park = parse_park_moment(RECEIVED, "received_at")
    assert park.utcoffset() == dt.timedelta(hours=8)
    assert park == parse_park_moment(dt.datetime.fromisoformat(RECEIVED), "received_at")
    assert parse_park_moment("2026-11-20T08:30:00+00:00", "received_at") == park


def test_the_command_refuses_with_exit_code_2_and_names_the_cell(
    prefect_harness, workdir, published, tmp_path
):
    from typer.testing import CliRunner

    from pipelines.cli import app

    path = fill(filled(published, tmp_path / "back.xlsx"), {"G3": "A"})
    runner = CliRunner()
    refused = runner.invoke(
        app, ["feedback", "import", str(path), "--workdir", str(workdir.workdir)]
    )
    assert refused.exit_code == 2
    assert "sheet 风险名单, row 3, column 风险等级 (G): published column edited" in refused.output
    accepted = runner.invoke(
        app,
        [
            "feedback",
            "import",
            str(filled(published, tmp_path / "good.xlsx")),
            "--workdir",
            str(workdir.workdir),
            "--received-at",
            RECEIVED,
        ],
    )
    assert accepted.exit_code == 0, accepted.output
    assert '"status": "recorded"' in accepted.output


def test_the_accuracy_report_refuses_a_bad_day_by_name(tmp_path):
    with pytest.raises(ValueError, match="at '30/11/2026' is not a date YYYY-MM-DD"):
        report_flow.fn(workdir=str(tmp_path), at="30/11/2026")
    assert not (tmp_path / "feedback").exists()
