"""`ews audit verify`: a published week re-derived from its lineage, tampering found by name."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines import audit, exit_codes, file_io, tracking
from pipelines.cli import app
from pipelines.flows.audit import verify_flow
from pipelines.flows.publish import publish_flow
from pipelines.settings import Settings
from pipelines.timeline import Week
from pipelines.verify import verify_publication, verify_tiers
from tests.pipelines.publish_world import WEEK, build_world

pytestmark = pytest.mark.slow  # one publication with SHAP charts, then re-derivations of it
LIST = f"publish/{WEEK}/finance"
TIERS = f"publish/{WEEK}/tiers"


@pytest.fixture(scope="module")
def published(prefect_harness, tmp_path_factory):
    """A tiny world published once; every test verifies a copy of it."""
    world = build_world(tmp_path_factory.mktemp("ews_verify"), seed=5)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tracking, "tracker_for", lambda settings: world.tracker)
        publish_flow(workdir=str(world.settings.workdir), week=WEEK)
        yield world


@pytest.fixture
def workdir(published, tmp_path, monkeypatch) -> Settings:
    copy = tmp_path / "work"
    shutil.copytree(published.settings.workdir, copy)
    monkeypatch.setattr(tracking, "tracker_for", lambda settings: published.tracker)
    monkeypatch.setenv("EWS_OPERATOR", "auditor-sun")
    return Settings(workdir=copy)


def _flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _check(report: dict, industry: str, name: str) -> dict:
    return next(f for f in report["industries"][industry]["files"] if f["file"] == name)


def _verify_finance(settings: Settings, tmp_path: Path) -> dict:
    """One list verified without the flow (the flow adds only the other industries)."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    return verify_publication(settings, settings.workdir / LIST, scratch)


def _finance_check(report: dict, name: str) -> dict:
    return next(f for f in report["files"] if f["file"] == name)


def test_untouched_latest_week_re_derives_to_the_same_hashes(workdir):
    report = verify_flow(workdir=str(workdir.workdir))  # the latest published week

    assert report["ok"], report["problems"]
    assert report["week"] == WEEK
    assert set(report["industries"]) == {"finance", "manufacturing", "education"}
    finance = report["industries"]["finance"]
    assert finance["rederived"] and finance["problems"] == []
    assert {f["status"] for f in finance["files"]} == {"ok"}
    assert {"risk_list.csv", "risk_list.xlsx", "scores.parquet"} <= {
        f["file"] for f in finance["files"]
    }
    manifest = json.loads((workdir.workdir / LIST / "manifest.json").read_text())
    for check in finance["files"]:
        assert check["manifest"] == check["published"] == check["rederived"]
        assert check["manifest"] == manifest["files"][check["file"]]
    tiers = report["tiers"]  # every enterprise's credit class, re-derived too
    assert tiers["ok"] and tiers["rederived"], tiers["problems"]
    assert [(f["file"], f["status"]) for f in tiers["files"]] == [("tiers.parquet", "ok")]
    entry = audit.read_log(workdir)[-1]
    assert entry["kind"] == "verify" and entry["operator"] == "auditor-sun"
    assert entry["details"] == {"week": WEEK, "ok": True, "problems": []}


def test_one_changed_byte_is_reported_with_both_hashes(workdir):
    target = workdir.workdir / LIST / "risk_list.csv"
    recorded = file_io.file_sha256(target)
    _flip_one_byte(target)

    report = verify_flow(workdir=str(workdir.workdir), week=WEEK)

    assert not report["ok"]
    check = _check(report, "finance", "risk_list.csv")
    actual = file_io.file_sha256(target)
    assert check["status"] == "changed"
    assert (check["manifest"], check["published"]) == (recorded, actual)
    expected = (
        f"{LIST}/risk_list.csv: published file has sha256 {actual}, the manifest records {recorded}"
    )
    assert expected in report["problems"]
    assert report["industries"]["manufacturing"]["ok"]
    assert audit.read_log(workdir)[-1]["details"]["ok"] is False


def test_missing_file_is_reported_by_name(workdir, tmp_path):
    target = workdir.workdir / LIST / "explanations.parquet"
    recorded = file_io.file_sha256(target)
    target.unlink()

    report = _verify_finance(workdir, tmp_path)

    assert not report["ok"]
    assert _finance_check(report, "explanations.parquet")["status"] == "missing"
    assert (
        f"{LIST}/explanations.parquet: missing (the manifest records sha256 {recorded})"
        in report["problems"]
    )


def test_manifest_rewritten_to_hide_a_change_is_caught_by_re_derivation(workdir, tmp_path):
    folder = workdir.workdir / LIST
    _flip_one_byte(folder / "risk_list.csv")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["risk_list.csv"] = file_io.file_sha256(folder / "risk_list.csv")
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    report = _verify_finance(workdir, tmp_path)

    assert not report["ok"]
    check = _finance_check(report, "risk_list.csv")
    assert check["status"] == "not_reproduced" and check["rederived"] != check["manifest"]
    assert any("the publish audit record has" in p for p in report["problems"])


def test_manifest_citing_other_credit_repairs_is_caught_by_re_derivation(workdir, tmp_path):
    folder = workdir.workdir / LIST
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["repairs"] == {"count": 0, "in_force": []}  # the world repairs nothing
    forged = {"source": "credit_repair", "id": "CR1", "sha256": "0" * 64}
    manifest["repairs"] = {"count": 1, "in_force": [forged]}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    report = _verify_finance(workdir, tmp_path)

    assert not report["ok"]
    assert any("credit repairs in force" in p for p in report["problems"])


def test_file_added_to_a_list_is_reported_as_unlisted(workdir, tmp_path):
    (workdir.workdir / LIST / "extra.csv").write_text("uscc\n", encoding="utf-8")
    report = _verify_finance(workdir, tmp_path)
    assert _finance_check(report, "extra.csv")["status"] == "unlisted"
    assert not report["ok"]


def test_rewritten_lake_ledger_breaks_the_lineage_and_the_re_derivation(workdir, tmp_path):
    ledger = workdir.lake / "_ledger.jsonl"
    ledger.write_text(ledger.read_text(encoding="utf-8").replace("2026", "2025", 1))

    report = _verify_finance(workdir, tmp_path)

    assert not report["ok"] and not report["rederived"]
    assert any("the lake was rewritten" in p for p in report["problems"])
    assert any("could not re-derive the list: KeyError" in p for p in report["problems"])


def test_manifest_without_its_lineage_is_reported_not_crashed_on(workdir, tmp_path):
    manifest = workdir.workdir / LIST / "manifest.json"
    recorded = json.loads(manifest.read_text(encoding="utf-8"))
    del recorded["lake_snapshot"]
    manifest.write_text(json.dumps(recorded), encoding="utf-8")

    report = _verify_finance(workdir, tmp_path)

    assert report == {
        "ok": False,
        "folder": LIST,
        "problems": [f"{LIST}/manifest.json lacks lake_snapshot: the lineage cannot be checked"],
    }


@pytest.mark.parametrize("week", ["2026-W01", Week(2026, 1)], ids=["label", "Week"])
def test_week_without_publication_fails(workdir, week):
    report = verify_flow(workdir=str(workdir.workdir), week=week)
    assert report == {
        "ok": False,
        "week": "2026-W01",
        "audit_log": {"ok": True, "records": 1, "problem": None, "line": None, "fault": None},
        "industries": {},
        "tiers": None,
        "problems": ["publish/2026-W01: no published list for this week"],
    }


@pytest.mark.parametrize("week", ["../2026-W01", "2026-W60", "latest"])
def test_a_week_that_is_not_an_iso_week_is_refused_by_name(prefect_harness, tmp_path, week):
    """The week names a folder: it is parsed before any path is built from it."""
    with pytest.raises(ValueError, match=f"week {re.escape(repr(week))}"):
        verify_flow(workdir=str(tmp_path), week=week)


def test_an_edited_audit_log_line_fails_verify_naming_the_line(prefect_harness, tmp_path):
    """The chain is checked even where nothing is published; the edited line is named."""
    settings = Settings(workdir=tmp_path / "work", operator="auditor-sun")
    for kind in ("ingest", "train", "publish"):
        audit.record(settings, kind)
    lines = settings.audit_log.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[1] = lines[1].replace("auditor-sun", "auditor-moon")
    settings.audit_log.write_text("".join(lines), encoding="utf-8")

    result = CliRunner().invoke(app, ["audit", "verify", "--workdir", str(settings.workdir)])

    assert result.exit_code == exit_codes.MISMATCH
    report = json.loads(result.stdout)
    assert report["audit_log"]["line"] == 2 and report["audit_log"]["fault"] == "hash_mismatch"
    assert report["problems"][0].startswith("audit/audit_log.jsonl: line 2: hash mismatch")
    assert audit.read_log(settings)[-1]["details"]["problems"] == report["problems"]


def test_cli_exits_non_zero_on_a_tampered_week(workdir):
    _flip_one_byte(workdir.workdir / LIST / "scores.parquet")
    result = CliRunner().invoke(
        app, ["audit", "verify", "--workdir", str(workdir.workdir), "--week", WEEK]
    )
    assert result.exit_code == exit_codes.MISMATCH
    assert "scores.parquet" in result.output


def _verify_tiers(settings: Settings, tmp_path: Path) -> dict:
    scratch = tmp_path / "scratch_tiers"
    scratch.mkdir()
    return verify_tiers(settings, settings.workdir / TIERS, scratch)


def test_a_credit_class_changed_and_its_manifest_rewritten_is_caught_by_re_derivation(
    workdir, tmp_path
):
    import polars as pl

    folder = workdir.workdir / TIERS
    tiers = pl.read_parquet(folder / "tiers.parquet")
    first = tiers["uscc"][0]
    forged = tiers.with_columns(
        tier=pl.when(pl.col("uscc") == first)
        .then(pl.when(pl.col("tier") == "A").then(pl.lit("D")).otherwise(pl.lit("A")))
        .otherwise(pl.col("tier"))
    )
    forged.write_parquet(folder / "tiers.parquet")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["tiers.parquet"] = file_io.file_sha256(folder / "tiers.parquet")
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    report = _verify_tiers(workdir, tmp_path)

    assert not report["ok"] and report["rederived"]
    check = next(f for f in report["files"] if f["file"] == "tiers.parquet")
    assert check["status"] == "not_reproduced" and check["rederived"] != check["manifest"]
    assert any("the publish audit record has" in p for p in report["problems"])
    flow_report = verify_flow(workdir=str(workdir.workdir), week=WEEK)
    assert not flow_report["ok"] and any(TIERS in p for p in flow_report["problems"])


def test_the_classes_name_a_list_whose_scores_changed_since(workdir, tmp_path):
    _flip_one_byte(workdir.workdir / LIST / "scores.parquet")
    report = _verify_tiers(workdir, tmp_path)
    assert not report["ok"]
    assert any(
        f"{LIST}/scores.parquet" in p and "the classes were made from" in p
        for p in report["problems"]
    )


def test_a_tiers_manifest_citing_other_decisions_is_caught(workdir, tmp_path):
    folder = workdir.workdir / TIERS
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["decisions"] == {"objections": [], "overrides": []}
    manifest["decisions"]["overrides"] = [{"id": "OVR-000009", "sha256": "0" * 64}]
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    report = _verify_tiers(workdir, tmp_path)
    assert not report["ok"] and any("decisions re-derives as" in p for p in report["problems"])


def test_general_scores_forged_with_their_manifest_are_caught_by_scoring_again(workdir, tmp_path):
    import polars as pl

    folder = workdir.workdir / f"publish/{WEEK}/general"
    scores = pl.read_parquet(folder / "scores.parquet")
    assert scores.height > 0  # every enterprise outside the industries, scored
    forged = scores.with_columns(probability=pl.col("probability") * 0.5)
    forged.write_parquet(folder / "scores.parquet")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["scores.parquet"] = file_io.file_sha256(folder / "scores.parquet")
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    report = _verify_tiers(workdir, tmp_path)

    assert not report["ok"]
    assert any(
        f"publish/{WEEK}/general/scores.parquet" in p and "re-derive" in p.lower()
        for p in report["problems"]
    ), report["problems"]
