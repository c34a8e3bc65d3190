"""Tracking and registry on a temporary SQLite store (one per module) and in memory."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from models.evaluate import calibration_table, evaluate
from models.promotion import Decision
from models.train import TrainConfig, fit_risk_model
from pipelines import runtime
from pipelines.calibration_plot import calibration_figure
from pipelines.settings import Settings
from pipelines.tracking import (
    MlflowTracker,
    NullTracker,
    RunRecord,
    flat_metrics,
    flat_params,
    log_artifacts,
    model_name,
)

FEATURES = ("arrears_ratio", "complaints_90d", "energy_drop")


def synthetic_frame(rng: np.random.Generator, rows: int) -> pl.DataFrame:
    x = rng.normal(size=(rows, len(FEATURES)))
    x[rng.random(size=x.shape) < 0.1] = np.nan  # unknowns, as in the feature table
    logit = -2.0 + 1.5 * np.nan_to_num(x[:, 0]) + 0.8 * np.nan_to_num(x[:, 1])
    label = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    return pl.DataFrame({name: x[:, i] for i, name in enumerate(FEATURES)}).with_columns(
        pl.Series("label", label)
    )


def run_record(industry: str, seed: int) -> RunRecord:
    rng = np.random.default_rng(seed)
    train, valid, test = (synthetic_frame(rng, n) for n in (600, 300, 300))
    config = TrainConfig(max_rounds=30, early_stopping_rounds=10, nthread=1, seed=seed)
    model = fit_risk_model(train, valid, FEATURES, config=config)
    y = test.get_column("label").to_numpy()
    p = model.predict_proba(test)
    metrics = {
        "model": evaluate(y, p, k=20, n_boot=20, seed=seed),
        "baseline": evaluate(y, np.full(len(y), y.mean()), k=20, n_boot=20, seed=seed),
    }
    calibration = calibration_table(y, p, bins=5)
    return RunRecord(
        industry=industry,
        model=model,
        metrics=metrics,
        params={**model.metadata, "seed": seed},
        calibration=calibration,
        sample_input=test.head(20),
        snapshot_hash=f"sha256-of-inputs-{seed}",
        trained_at=datetime(2026, 11, 21, 12, 0, tzinfo=UTC),
        test_period="2026-01-05..2026-05-25",
        code_version="abc123",
        figures={"evaluation/calibration.png": calibration_figure(calibration, "calibration")},
    )


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mlflow")


@pytest.fixture(scope="module", params=["mlflow", "memory"])
def tracker(request, store):
    if request.param == "memory":
        return NullTracker()
    return MlflowTracker(f"sqlite:///{(store / 'mlflow.db').as_posix()}", store / "artifacts")


@pytest.fixture(scope="module")
def records() -> list[RunRecord]:
    return [run_record("finance", seed) for seed in (1, 2)]


def test_round_trip_gives_identical_predictions_and_info(tracker, records):
    record = records[0]
    logged = tracker.log_run(record)
    version = tracker.register(logged)
    info = tracker.assign("finance", version, Decision(True, "first model"))
    model, loaded = tracker.load_model("finance")

    np.testing.assert_array_equal(
        model.predict_proba(record.sample_input), record.model.predict_proba(record.sample_input)
    )
    assert model.feature_names == FEATURES
    assert loaded == info
    assert loaded.name == model_name("finance") == "ews-finance"
    assert (loaded.version, loaded.alias, loaded.run_id) == (version, "champion", logged.run_id)
    assert (loaded.decision, loaded.reason) == ("champion", "first model")
    assert loaded.snapshot_hash == "sha256-of-inputs-1"
    assert loaded.code_version == "abc123"
    assert loaded.trained_at.startswith("2026-11-21T12:00")
    pr_auc = record.metrics["model"]["pr_auc"]
    assert loaded.metrics["pr_auc"] == pytest.approx(pr_auc["value"])
    assert loaded.metrics["pr_auc_ci_low"] == pytest.approx(pr_auc["ci_low"])
    assert "baseline_pr_auc" in loaded.metrics
    assert loaded.params["seed"] == "1"


def test_candidate_kept_as_challenger_then_promoted(tracker, records):
    champion_before = tracker.version_for("finance", "champion")
    version = tracker.register(tracker.log_run(records[1]))

    kept = tracker.assign("finance", version, Decision(False, "not better by the margin"))
    assert kept.alias == "challenger" and kept.reason == "not better by the margin"
    assert tracker.version_for("finance", "champion") == champion_before
    assert tracker.version_for("finance", "challenger") == version

    promoted = tracker.assign("finance", version, Decision(True, "promoted by hand"))
    assert promoted.aliases == ("champion",)
    assert tracker.version_for("finance", "challenger") is None
    old = tracker.info("finance", champion_before)
    assert old.alias is None and old.decision == "champion"
    assert [info.version for info in tracker.versions("finance")] == [champion_before, version]


def test_unknown_industry_has_no_versions_and_a_clear_error(tracker):
    assert tracker.version_for("shipping", "champion") is None
    assert tracker.versions("shipping") == []
    with pytest.raises(LookupError, match="ews-shipping has no 'champion'"):
        tracker.load_model("shipping")


def test_mlflow_run_carries_evaluation_artifacts_and_leaves_the_process_uri_alone(
    store, records, monkeypatch
):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    tracker = MlflowTracker(f"sqlite:///{(store / 'mlflow.db').as_posix()}", store / "artifacts")
    logged = tracker.log_run(records[0])
    # mlflow mirrors its global URI into the environment, where Settings would pick it up.
    assert "MLFLOW_TRACKING_URI" not in os.environ
    assert Settings(workdir=store / "other").mlflow_uri.endswith("other/mlflow.db")
    run = tracker.client.get_run(logged.run_id)
    assert run.info.artifact_uri.startswith((store / "artifacts" / "ews-finance").as_uri())
    listed = {a.path for a in tracker.client.list_artifacts(logged.run_id, "evaluation")}
    assert listed == {
        "evaluation/metrics.csv",
        "evaluation/calibration.csv",
        "evaluation/calibration.png",
    }
    assert run.data.tags["snapshot_hash"] == "sha256-of-inputs-1"


def test_attached_export_comes_back_from_the_version(tracker, records, tmp_path):
    attachment = tmp_path / "test_predictions.parquet"
    pl.DataFrame({"uscc": ["A"], "p_model": [0.1]}).write_parquet(attachment)
    record = dataclasses.replace(records[0], industry="education", attachments=(attachment,))
    version = tracker.register(tracker.log_run(record))
    copied = tracker.export_file("education", version, attachment.name, tmp_path / "back")
    assert copied.read_bytes() == attachment.read_bytes()
    card = tmp_path / "card.md"
    card.write_text("# model card", encoding="utf-8")
    log_artifacts(tracker, tracker.info("education", version).run_id, [card], "exports")
    added = tracker.export_file("education", version, "card.md", tmp_path / "back")
    assert added.read_text(encoding="utf-8") == "# model card"
    with pytest.raises(FileNotFoundError, match=r"ews-education v1 .*has no attached nope\.csv"):
        tracker.export_file("education", version, "nope.csv", tmp_path / "back")


def test_flat_metrics_name_bounds_and_baseline():
    metrics = {
        "model": {"pr_auc": {"value": 0.4, "ci_low": 0.3, "ci_high": 0.5}},
        "baseline": {"pr_auc": {"value": 0.2, "ci_low": 0.1, "ci_high": 0.3}},
    }
    assert flat_metrics(metrics) == {
        "pr_auc": 0.4,
        "pr_auc_ci_low": 0.3,
        "pr_auc_ci_high": 0.5,
        "baseline_pr_auc": 0.2,
        "baseline_pr_auc_ci_low": 0.1,
        "baseline_pr_auc_ci_high": 0.3,
    }


def test_flat_params_nested_mapping_list_and_overlong_value():
    flat = flat_params({"config": {"max_depth": 4, "names": ["a", "b"]}, "note": "x" * 7000})
    assert flat["config.max_depth"] == "4"
    assert flat["config.names"] == '["a", "b"]'
    assert len(flat["note"]) == 6000


def test_importing_the_mlflow_wrapper_draws_nothing_and_sets_no_environment():
    """The entry points set the environment (pipelines/runtime.py); the callers draw the charts."""
    script = (
        "import os, sys\n"
        "import pipelines.tracking\n"
        "from pipelines.runtime import DEFAULTS\n"
        "print(sorted(k for k in DEFAULTS if k in os.environ))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in runtime.DEFAULTS}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert done.stdout.splitlines() == ["[]", "[]"]


def test_a_model_with_fixed_inputs_is_logged_and_served_without_them(store):
    """A pooled member's model (models.pooled): its signature and input example leave the fixed
    industry indicator out, and the pyfunc supplies it when a caller's frame lacks it."""
    import mlflow

    rng = np.random.default_rng(3)
    names = (*FEATURES, "industry_is_finance")

    def marked(rows: int) -> pl.DataFrame:
        frame = synthetic_frame(rng, rows)
        return frame.with_columns(pl.Series("industry_is_finance", rng.integers(0, 2, rows)))

    config = TrainConfig(max_rounds=20, early_stopping_rounds=5, nthread=1, seed=3)
    pooled = fit_risk_model(marked(600), marked(300), names, config=config)
    model = dataclasses.replace(
        pooled, metadata={**pooled.metadata, "fixed_inputs": {"industry_is_finance": 1}}
    )
    record = dataclasses.replace(run_record("education", 3), model=model)
    tracker = MlflowTracker(f"sqlite:///{(store / 'mlflow.db').as_posix()}", store / "artifacts")
    logged = tracker.log_run(record)
    with tracker._fluent():
        served = mlflow.pyfunc.load_model(logged.model_uri)
    schema = [column.name for column in served.metadata.get_input_schema().inputs]
    assert schema == list(FEATURES)
    frame = record.sample_input.select(FEATURES)
    expected = model.predict_proba(frame.with_columns(pl.lit(1).alias("industry_is_finance")))
    np.testing.assert_allclose(served.predict(frame.to_pandas()), expected)
