"""`ews audit cards` on a small synthetic workdir trained twice: files, MLflow, audit record."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from models import card
from models.evaluate import METRICS
from models.promotion import BaselineVerdict
from pipelines import audit, file_io
from pipelines.flows import train
from pipelines.flows.audit import model_cards_flow
from pipelines.flows.train import train_flow
from pipelines.io import read_json
from pipelines.model_cards import CARD_ARTIFACT
from pipelines.settings import Settings
from pipelines.tracking import tracker_for
from tests.pipelines.audit_workdir import write_audit_workdir
from tests.pipelines.finance_workdir import declared_without_pool

pytestmark = pytest.mark.slow
TRAINER = "analyst-wang"


@pytest.fixture(scope="module", autouse=True)
def finance_alone(tmp_path_factory):
    """These workdirs hold finance firms only: finance trains alone, pool or not."""
    with declared_without_pool(tmp_path_factory.mktemp("declaration")) as path:
        yield path


@pytest.fixture(scope="module")
def workdir(prefect_harness, tmp_path_factory) -> Settings:
    root = tmp_path_factory.mktemp("ews_cards")
    settings = write_audit_workdir(root, seed=11)
    settings.sim_truth.mkdir()  # a simulated park leaves its truth beside the data
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EWS_OPERATOR", TRAINER)
        # Cards of two gated candidates: the candidates' own baseline check is waived here (its
        # linear synthetic signal leaves a booster no edge); tests/pipelines/test_train_flow.py
        # tests that gate, and test_a_serving_baseline_gets_its_own_card the baseline's card.
        patch.setattr(train, "beats_baseline", lambda *_, **__: BaselineVerdict(True, "waived"))
        for _ in range(2):
            train_flow(workdir=str(root), industries=["finance"])
    return settings


@pytest.fixture(scope="module")
def cards(workdir: Settings) -> dict[str, str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EWS_OPERATOR", "auditor-zhao")
        return model_cards_flow(workdir=str(workdir.workdir))


def _card(settings: Settings, version: int) -> dict:
    return read_json(settings.model_cards / "finance" / f"v{version}.json")


def test_flow_returns_the_champion_card_and_writes_every_version(workdir, cards):
    champion = tracker_for(workdir).version_for("finance", "champion")
    assert cards == {"finance": str(workdir.model_cards / "finance" / f"v{champion}.json")}
    for version in (1, 2):
        folder = workdir.model_cards / "finance"
        for name in (f"v{version}.json", f"v{version}.md", f"v{version}.html"):
            assert (folder / name).stat().st_size > 1000
        for plot in ("calibration", "shap"):
            assert (folder / f"v{version}_{plot}.png").read_bytes()[:4] == b"\x89PNG"
        assert set(card.SECTIONS) <= set(_card(workdir, version))


def test_card_numbers_match_the_mlflow_run(workdir, cards):
    client = MlflowClient(workdir.mlflow_uri)
    for version in (1, 2):
        built = _card(workdir, version)
        registered = client.get_model_version("ews-finance", str(version))
        run = client.get_run(registered.run_id).data
        assert built["model_details"]["run_id"] == registered.run_id
        assert built["model_details"]["data_snapshot_sha256"] == registered.tags["snapshot_hash"]
        for side, prefix in (("model", ""), ("baseline", "baseline_")):
            for metric in METRICS:
                for key, suffix in (("value", ""), ("ci_low", "_ci_low"), ("ci_high", "_ci_high")):
                    logged = run.metrics[f"{prefix}{metric}{suffix}"]
                    shown = built["performance"][side][metric][key]
                    assert shown is None if math.isnan(logged) else shown == logged


def test_training_facts_come_from_the_run_exports(workdir, cards):
    tracker = tracker_for(workdir)
    for version in (1, 2):
        scratch = workdir.workdir / "x"
        exported = read_json(tracker.export_file("finance", version, "result.json", scratch))
        built = _card(workdir, version)
        assert built["training_data"]["class_balance"] == exported["class_balance"]
        assert built["training_data"]["split"] == exported["boundaries"]
        assert built["model_details"]["owner"] == TRAINER


def test_cards_are_logged_to_the_version_run(workdir, cards):
    client = MlflowClient(workdir.mlflow_uri)
    for version in (1, 2):
        run_id = client.get_model_version("ews-finance", str(version)).run_id
        logged = {Path(a.path).name for a in client.list_artifacts(run_id, CARD_ARTIFACT)}
        expected = {f"v{version}.json", f"v{version}.md", f"v{version}.html"}
        assert expected | {f"v{version}_calibration.png", f"v{version}_shap.png"} == logged
        downloaded = client.download_artifacts(
            run_id, f"{CARD_ARTIFACT}/v{version}.json", str(workdir.workdir / "dl")
        )
        local = workdir.model_cards / "finance" / f"v{version}.json"
        assert Path(downloaded).read_bytes() == local.read_bytes()


def test_second_version_is_compared_with_the_first_and_the_change_log_has_both(workdir, cards):
    built = _card(workdir, 2)
    assert built["performance"]["previous_champion_version"] == 1
    assert built["performance"]["previous_champion"]["roc_auc"]["value"] is not None
    log = built["change_log"]
    assert [entry["version"] for entry in log] == [2, 1]
    assert log[1]["promotion_reason"].startswith("no champion yet")
    assert "champion was v1" in log[0]["promotion_reason"]
    assert _card(workdir, 1)["performance"]["previous_champion"] is None


def test_card_says_the_data_is_simulated_and_names_subgroups(workdir, cards):
    built = _card(workdir, 1)
    assert built["limitations"][0].startswith("Simulated data")
    groups = {g["group"] for g in built["subgroups"]["dimensions"]["district"]["groups"]}
    assert groups == {"湖东", "湖西", "独墅湖"}
    features = [f["feature"] for f in built["explanation"]["top_features"]]
    assert features[0] == "si_arrears_months_6m"


def test_cards_run_is_in_the_audit_log_with_hashes_of_every_card(workdir, cards):
    entry = [e for e in audit.read_log(workdir) if e["kind"] == "cards"][-1]
    assert entry["operator"] == "auditor-zhao"
    hashed = {o["path"]: o["sha256"] for o in entry["outputs"] if "path" in o}
    for version in (1, 2):
        path = workdir.model_cards / "finance" / f"v{version}.json"
        assert hashed[path.relative_to(workdir.workdir).as_posix()] == file_io.file_sha256(path)
    assert {"ref": "models:/ews-finance/2"} in entry["inputs"]
    assert audit.check_chain(workdir).ok


def test_auditor_pages_link_every_card(workdir, cards):
    index = (workdir.site / "auditor" / "index.html").read_text(encoding="utf-8")
    for version in (1, 2):
        assert f'href="cards/finance/v{version}.html"' in index
        page = workdir.site / "auditor" / "cards" / "finance" / f"v{version}.html"
        text = page.read_text(encoding="utf-8")
        assert 'href="../../index.html"' in text and f"v{version}_shap.png" in text
        assert (page.parent / f"v{version}_shap.png").is_file()
    assert json.loads((workdir.site / "auditor" / "cards" / "finance" / "v1.json").read_text())


def test_without_recorded_inspections_the_card_says_so(workdir, cards):
    assert _card(workdir, 1)["feedback"] == {
        "available": False,
        "note": "no inspection outcome has been recorded yet",
    }


def test_random_checks_give_each_tier_an_inspected_rate_beside_the_calibrated_one(
    workdir, cards, tmp_path
):
    import datetime as dt
    import shutil

    import polars as pl

    from pipelines.cases import open_store
    from pipelines.cases.inspections import Report, record_reports
    from pipelines.cases.tables import DEPARTMENT_SOURCE
    from pipelines.flows.train import history_path
    from pipelines.model_cards import build_version_card
    from pipelines.model_exports import PREDICTIONS_FILE

    copy = Settings(workdir=tmp_path / "work")
    shutil.copytree(workdir.workdir, copy.workdir)
    tracker = tracker_for(copy)
    predictions = pl.read_parquet(
        tracker.export_file("finance", 1, PREDICTIONS_FILE, tmp_path)
    ).sort("as_of", "uscc")
    # A random check of every 7th test firm-week, three days after its as-of date; it confirms
    # the risk when the firm-week's label is an event.
    checked = predictions.gather_every(7)
    reports = [
        Report(
            report_key=f"inspection_random_check/R{i}",
            channel="inspection_random_check",
            uscc=row["uscc"],
            industry="finance",
            week=None,
            inspection_date=row["as_of"] + dt.timedelta(days=3),
            method="double_random",
            outcome="risk_confirmed" if row["label"] else "no_risk_found",
            note=None,
            origin="test",
            received_at=dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
        )
        for i, row in enumerate(checked.iter_rows(named=True))
    ]
    store = open_store(copy)
    with store.write(DEPARTMENT_SOURCE, "clerk", "lake/inspection_random_check") as change:
        record_reports(change, reports)
    store.dispose()

    written = build_version_card(copy, tracker, "finance", 1, history_path(copy))
    feedback = read_json(written.json)["feedback"]
    assert feedback["available"] and "inverse-propensity" in feedback["method"]
    tiers = {t["tier"]: t for t in feedback["tiers"]}
    assert sum(t["random_checks"] for t in tiers.values()) == checked.height
    for tier in tiers.values():
        if tier["random_checks"]:
            # Nothing was listed, so the weighted rate re-weights the random checks by week only.
            assert 0 <= tier["random_rate"] <= 1
            assert abs(tier["ipw_rate"] - tier["random_rate"]) < 0.05
    assert feedback["lists"]["weeks"] == []  # nothing was listed in this workdir
    markdown = written.markdown.read_text(encoding="utf-8")
    assert "## Inspection feedback" in markdown and "weighted rate (IPW)" in markdown
    assert "Inspection feedback" in written.html.read_text(encoding="utf-8")


def test_a_serving_baseline_gets_its_own_card(prefect_harness, tmp_path, monkeypatch):
    # Without the waiver this workdir's candidate is not shown better than its logistic
    # baseline: the baseline is registered and serves, and its card says what it is and why.
    root = tmp_path / "work"
    settings = write_audit_workdir(root, seed=11)
    monkeypatch.setenv("EWS_OPERATOR", TRAINER)
    trained = train_flow(workdir=str(root), industries=["finance"])["models"]["finance"]
    assert trained["alias"] == "challenger" and trained["baseline"]["version"] == 2
    cards = model_cards_flow(workdir=str(root))
    assert cards == {"finance": str(settings.model_cards / "finance" / "v2.json")}
    built = _card(settings, 2)
    details = built["model_details"]
    assert details["kind"] == "logistic_baseline"
    assert details["algorithm"].startswith("regularised logistic regression")
    assert "no champion yet and the candidate lost" in details["why_it_serves"]
    assert details["owner"] == TRAINER
    pairs = {row["pair"] for row in _card(settings, 1)["performance"]["ratios"]}
    assert pairs == {"model/baseline"}  # no simulator truth here: no oracle
    markdown = (settings.model_cards / "finance" / "v2.md").read_text(encoding="utf-8")
    assert "Gate decision" in markdown and "logistic" in markdown
