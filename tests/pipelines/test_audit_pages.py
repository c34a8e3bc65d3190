"""The auditor pages of the static site, from files on disk (no MLflow, no flows)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines import audit, file_io
from pipelines.settings import Settings
from pipelines.site_audit import render_auditor_pages


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(workdir=tmp_path / "work", operator="auditor-li")


def _ingest_run(
    settings: Settings, run_id: str, as_of: str, with_docs: bool, sources: dict | None = None
) -> None:
    folder = settings.ingest_runs / run_id
    folder.mkdir(parents=True)
    summary = {
        "run_id": run_id,
        "as_of": as_of,
        "totals": {"rows_in": 1200, "rows_accepted": 1150, "rows_quarantined": 50, "sources": 174},
        "sources": sources or {},
    }
    (folder / "ingest_summary.json").write_text(json.dumps(summary), encoding="utf-8")
    if with_docs:
        (folder / "data_docs" / "static").mkdir(parents=True)
        (folder / "data_docs" / "index.html").write_text(f"<h1>docs {run_id}</h1>")
        (folder / "data_docs" / "static" / "style.css").write_text("body{}")


def test_empty_workdir_gives_pages_that_say_so(settings: Settings) -> None:
    pages = render_auditor_pages(settings, settings.site)
    index = settings.site / "auditor" / "index.html"
    assert pages == [index, settings.site / "auditor" / "audit_log.html"]
    text = index.read_text(encoding="utf-8")
    assert "ews audit cards" in text and "No ingest run yet" in text
    assert "The log is empty" in pages[1].read_text(encoding="utf-8")


def test_latest_data_docs_are_copied_and_older_runs_listed(settings: Settings) -> None:
    _ingest_run(settings, "run-old", "2026-11-09T02:00:00", with_docs=True)
    _ingest_run(settings, "run-new", "2026-11-16T02:00:00", with_docs=True)

    render_auditor_pages(settings, settings.site)

    copied = settings.site / "auditor" / "data_docs" / "run-new"
    assert (copied / "index.html").read_text() == "<h1>docs run-new</h1>"
    assert (copied / "static" / "style.css").is_file()
    assert not (settings.site / "auditor" / "data_docs" / "run-old").exists()
    text = (settings.site / "auditor" / "index.html").read_text(encoding="utf-8")
    assert 'href="data_docs/run-new/index.html"' in text
    assert text.index("run-new") < text.index("run-old")
    assert "1,150" in text


def _report(status: str, reason: str, late: bool = False) -> dict:
    return {"status": status, "reason": reason, "late": late}


def _index_after_run(settings: Settings, sources: dict) -> str:
    """The auditor index after a newest ingest run (as of 2026-11-16) with these reports."""
    _ingest_run(settings, "run-new", "2026-11-16T02:00:00", with_docs=False, sources=sources)
    render_auditor_pages(settings, settings.site)
    return (settings.site / "auditor" / "index.html").read_text(encoding="utf-8")


def test_newest_runs_sources_needing_attention_are_listed_worst_first(settings: Settings) -> None:
    old = {"si_pension": _report("failed", "an old failure, since fixed")}
    _ingest_run(settings, "run-old", "2026-11-09T02:00:00", with_docs=False, sources=old)
    text = _index_after_run(
        settings,
        {
            "complaint_12345": _report("degraded", "complaint_12345: 2 rows quarantined"),
            "court_bankruptcy": _report("ok", "court_bankruptcy: 1 nil return"),
            "credit_commitment": _report("degraded", "late: 28 days old", late=True),
            "tax_non_filing": _report("missing", "tax_non_filing: no delivery"),
        },
    )
    attention = text[text.index('id="attention"') :]
    order = [attention.index(s) for s in ("tax_non_filing", "complaint_12345", "credit_commitment")]
    assert order == sorted(order)  # missing before degraded, then by source id
    assert "court_bankruptcy" not in attention  # ok sources are not listed
    assert "an old failure" not in text  # only the newest run's sources
    assert "12345政务服务热线企业诉求" in attention  # the titles from the contract
    assert "Late or missing tax returns" in attention
    assert "late: 28 days old" in attention and "逾期" in attention


def test_newest_runs_landing_files_not_ingested_are_listed_with_rows_and_reason(
    settings: Settings,
) -> None:
    _ingest_run(settings, "run-new", "2026-11-16T02:00:00", with_docs=False)
    summary_path = settings.ingest_runs / "run-new" / "ingest_summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    summary["landing"] = {
        "entries": [
            {"path": "si_pension/2026-11-16.csv", "status": "accepted", "rows": 9, "reason": "ok"},
            {
                "path": "si_pension/..2026-11-09.csv",
                "status": "ignored",
                "rows": 1234,
                "reason": "a hidden name <b>",
            },
            {
                "path": "si_pension/link.csv",
                "status": "rejected",
                "rows": None,
                "reason": "a symbolic link (to /etc/passwd); links are refused",
            },
        ]
    }
    summary_path.write_text(json.dumps(summary), encoding="utf-8")
    render_auditor_pages(settings, settings.site)
    text = (settings.site / "auditor" / "index.html").read_text(encoding="utf-8")
    section = text[text.index('id="not-ingested"') :]
    assert "landing/si_pension/..2026-11-09.csv" in section and "1,234" in section
    assert "a symbolic link (to /etc/passwd)" in section and "拒收" in section
    assert "a hidden name &lt;b&gt;" in section  # reasons quote untrusted names: escaped
    assert "landing/si_pension/2026-11-16.csv" not in section  # read files are not listed


def test_a_run_with_every_source_ok_says_so(settings: Settings) -> None:
    text = _index_after_run(settings, {"si_pension": _report("ok", "all rows accepted")})
    assert "Every source is ok." in text
    assert "did not record its landing files one by one" in text  # a summary without landing


def test_audit_log_page_lists_records_newest_first_with_hashes(settings: Settings) -> None:
    source = settings.workdir / "features" / "history.parquet"
    source.parent.mkdir(parents=True)
    source.write_bytes(b"history")
    audit.record(settings, "train", inputs=[source], details={"note": "<b>first</b>"})
    audit.record(settings, "publish", details={"week": "2026-W47"})

    render_auditor_pages(settings, settings.site)

    page = (settings.site / "auditor" / "audit_log.html").read_text(encoding="utf-8")
    assert page.index(">publish<") < page.index(">train<")
    assert file_io.file_sha256(source)[:16] in page
    assert "features/history.parquet" in page
    assert "&lt;b&gt;first&lt;/b&gt;" in page and "<b>first</b>" not in page
    assert "hash chain is intact" in page


def test_broken_chain_is_shown_on_both_pages(settings: Settings) -> None:
    for kind in ("ingest", "train", "publish"):
        audit.record(settings, kind)
    lines = settings.audit_log.read_text(encoding="utf-8").splitlines(keepends=True)
    settings.audit_log.write_text(lines[0] + lines[2], encoding="utf-8")

    render_auditor_pages(settings, settings.site)

    for name in ("index.html", "audit_log.html"):
        text = (settings.site / "auditor" / name).read_text(encoding="utf-8")
        assert "hash chain is broken" in text.lower() and "line 2" in text


def test_latest_verification_per_week_is_shown(settings: Settings) -> None:
    audit.record(settings, "verify", details={"week": "2026-W46", "ok": False, "problems": ["x"]})
    audit.record(settings, "verify", details={"week": "2026-W46", "ok": True, "problems": []})
    audit.record(
        settings,
        "verify",
        details={"week": "2026-W47", "ok": False, "problems": ["risk_list.csv: sha256 differs"]},
    )

    render_auditor_pages(settings, settings.site)

    text = (settings.site / "auditor" / "index.html").read_text(encoding="utf-8")
    w47, w46 = text.index("2026-W47"), text.index("2026-W46")
    assert w47 < w46
    assert "risk_list.csv: sha256 differs" in text
    assert text.count("matches") == 1 and text.count("mismatch") == 1


def test_rendering_replaces_only_the_auditor_folder(settings: Settings) -> None:
    other = settings.site / "2026-W47" / "finance" / "index.html"
    other.parent.mkdir(parents=True)
    other.write_text("list")
    stale = settings.site / "auditor" / "stale.html"
    stale.parent.mkdir(parents=True)
    stale.write_text("old")

    render_auditor_pages(settings, settings.site)

    assert other.read_text() == "list"
    assert not stale.exists()
