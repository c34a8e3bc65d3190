"""The train and promote flows on a small synthetic workdir (feature history + outcomes lake).

One workdir per module; the tests run in order: first training, second training, promote.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from models import pipeline
from pipelines import audit, io
from pipelines.flows import train
from pipelines.flows.train import promote_flow, promote_target_task, snapshot_hash, train_flow
from pipelines.settings import Settings
from pipelines.tracking import tracker_for
from tests.pipelines.finance_workdir import (
    FIRMS,
    declared_without_pool,
    distress_weeks,
    write_finance_workdir,
)

# More firms than the shared finance workdir: the gate needs enough test events to tell the
# boosted model from its baseline with confidence.
FIRMS_HERE = 4 * FIRMS
pytestmark = pytest.mark.slow  # Prefect harness, MLflow store and two trainings


def write_synthetic_workdir(root: Path, seed: int) -> None:
    """Finance firms whose latent stress drives both a feature and a distress event.

    Stress far from normal in either direction is the risk (a U shape), which trees learn and the
    logistic baseline cannot: the boosted model is shown better than its baseline, as the
    promotion gate demands of a champion.
    """
    rng = np.random.default_rng(seed)
    stress = rng.normal(size=FIRMS_HERE)
    event_weeks = distress_weeks(rng, 2.0 * np.abs(stress) - 1.0, slope=1.5, offset=7.5)

    def columns(i: int, week: int) -> dict:
        return {
            "district": "园区",
            "stress_signal": stress[i] + rng.normal(scale=0.1),
            "unrelated_signal": rng.normal(),
        }

    write_finance_workdir(Settings(workdir=root), event_weeks, columns)


@pytest.fixture(scope="module", autouse=True)
def finance_alone(tmp_path_factory):
    """These workdirs hold finance firms only: finance trains alone, pool or not."""
    with declared_without_pool(tmp_path_factory.mktemp("declaration")) as path:
        yield path


@pytest.fixture(scope="module", autouse=True)
def held_to_roc_auc(finance_alone):
    """The gate holds models to their baseline on ROC-AUC here: with a few dozen test events
    PR-AUC's paired interval is too wide to show any model better (the parks' industries.yaml
    uses PR-AUC, which the demo park's test periods can resolve)."""
    specs = {
        key: spec.model_copy(
            update={"promotion": spec.promotion.model_copy(update={"baseline_metric": "roc_auc"})}
        )
        for key, spec in train.load_models().items()
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(train, "load_models", lambda: dict(specs))
        yield


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("ews_train")
    write_synthetic_workdir(root, seed=7)
    return str(root)


@pytest.fixture(scope="module")
def first(prefect_harness, workdir) -> dict:
    return train_flow(workdir=workdir, industries=["finance"])


def test_first_training_makes_the_champion(first, workdir):
    finance = first["models"]["finance"]
    assert finance["name"] == "ews-finance"
    assert (finance["version"], finance["alias"]) == (1, "champion")
    assert finance["reason"].startswith("no champion yet")
    model, info = tracker_for(Settings(workdir=Path(workdir))).load_model("finance")
    assert model.feature_names == ("stress_signal", "unrelated_signal")
    settings = Settings(workdir=Path(workdir))
    assert info.snapshot_hash == snapshot_hash(
        settings.features / "history.parquet", io.ledger_path(settings.lake)
    )
    assert info.decision == "champion" and info.reason == finance["reason"]


def test_metrics_file_has_point_values_bounds_and_baseline(first):
    metrics = io.read_json(Path(first["metrics"]))["finance"]
    for name in ("roc_auc", "pr_auc", "ks", "brier", "precision_at_k", "recall_at_k"):
        assert isinstance(metrics[name], float)
        assert metrics["ci"][name]["low"] <= metrics[name] <= metrics["ci"][name]["high"]
        assert isinstance(metrics["baseline"][name], float)
    assert metrics["k"] == 22
    assert metrics["positives"] > 0 and metrics["n_test"] > metrics["positives"]
    start, end = metrics["test_period"].split("..")
    assert date.fromisoformat(start) < date.fromisoformat(end)
    # The synthetic signal is strong: the model must rank well above chance.
    assert metrics["roc_auc"] > 0.6


def test_second_training_is_gated_with_a_reason(first, workdir):
    second = train_flow(workdir=workdir, industries=["finance"])["models"]["finance"]
    tracker = tracker_for(Settings(workdir=Path(workdir)))
    assert second["version"] == 2
    if second["alias"] == "champion":
        assert second["reason"].startswith("promoted")
        assert tracker.version_for("finance", "champion") == 2
    else:
        assert second["reason"].startswith("kept as challenger")
        assert tracker.version_for("finance", "champion") == 1
        assert tracker.version_for("finance", "challenger") == 2
    assert "champion was v1" in second["reason"]
    assert tracker.info("finance", 2).reason == second["reason"]
    kinds = [entry["kind"] for entry in audit.read_log(Settings(workdir=Path(workdir)))]
    assert kinds.count("train") == 2


def test_promote_regates_the_other_version_on_its_own_test_rows(first, workdir):
    tracker = tracker_for(Settings(workdir=Path(workdir)))
    champion = tracker.version_for("finance", "champion")
    other = 2 if champion == 1 else 1
    result = promote_flow(workdir=workdir, industry="finance", version=other)
    assert (result["industry"], result["version"]) == ("finance", other)
    # Both re-scored on the version's own test rows: a decision with both values and the margin.
    assert f"champion was v{champion}" in result["reason"] and "margin" in result["reason"]
    assert tracker.info("finance", other).reason == result["reason"]
    assert tracker.version_for("finance", result["alias"]) == other


def test_promote_the_champion_keeps_its_recorded_reason(first, workdir):
    tracker = tracker_for(Settings(workdir=Path(workdir)))
    champion = tracker.version_for("finance", "champion")
    recorded = tracker.info("finance", champion).reason
    result = promote_flow(workdir=workdir, industry="finance", version=champion)
    assert result["reason"] == f"v{champion} is already the champion ({recorded})"
    assert tracker.info("finance", champion).reason == recorded


def test_promote_unknown_industry_names_the_known_ones(workdir):
    with pytest.raises(ValueError, match=r"unknown industry.*finance"):
        promote_flow.fn(workdir=workdir, industry="shipping")


def test_promote_without_a_challenger_asks_for_a_version(first, workdir):
    with pytest.raises(LookupError, match="ews-education has no challenger"):
        promote_target_task.fn(workdir, "education", None)


def test_the_label_cut_off_given_as_a_date_or_its_text_is_the_same_inputs(workdir):
    """The flow parses ``as_of`` once; its tasks receive the date."""
    cut = date(2025, 6, 1)
    by_date = train.inputs_task.fn(workdir, cut, ["finance"])
    assert by_date["known_until"] == cut
    assert by_date == train.inputs_task.fn(workdir, train.parse_day("2025-06-01"), ["finance"])
    latest = train.inputs_task.fn(workdir, None, ["finance"])["known_until"]
    assert isinstance(latest, date) and latest > cut


@pytest.mark.parametrize("as_of", ["2025-06-31", "June 2025"])
def test_a_bad_label_cut_off_is_refused_by_name(prefect_harness, workdir, as_of):
    with pytest.raises(ValueError, match=f"as_of '{as_of}' is not a date YYYY-MM-DD"):
        train_flow(workdir=workdir, industries=["finance"], as_of=as_of)


def test_train_without_feature_history_says_what_to_run(prefect_harness, tmp_path):
    with pytest.raises(FileNotFoundError, match="ews features"):
        train_flow(workdir=str(tmp_path), industries=["finance"])


def test_a_planted_losing_candidate_is_refused_and_the_baseline_serves(
    prefect_harness, tmp_path, monkeypatch
):
    # The planted loser: the booster learns from shuffled training labels; its baseline does not.
    write_synthetic_workdir(tmp_path, seed=11)
    real_fit = pipeline.fit_risk_model

    def fit_on_noise(train, *args, **kwargs):
        return real_fit(train.with_columns(pl.col("label").shuffle(seed=0)), *args, **kwargs)

    monkeypatch.setattr(pipeline, "fit_risk_model", fit_on_noise)
    result = train_flow(workdir=str(tmp_path), industries=["finance"])
    finance = result["models"]["finance"]
    assert (finance["version"], finance["alias"]) == (1, "challenger")
    assert finance["reason"].startswith("not promoted: candidate - baseline roc_auc")
    served = finance["baseline"]
    assert (served["version"], served["alias"]) == (2, "champion")
    assert "no champion yet and the candidate lost" in served["reason"]
    tracker = tracker_for(Settings(workdir=tmp_path))
    model, info = tracker.load_model("finance")
    assert model.kind == "logistic_baseline" and info.version == 2
    assert info.reason == served["reason"]
    metrics = io.read_json(Path(result["metrics"]))["finance"]
    vs_baseline = metrics["comparisons"]["model/baseline"]["roc_auc"]["difference"]
    assert vs_baseline["low"] <= 0  # not shown better: what refused it
    audit_entry = audit.read_log(Settings(workdir=tmp_path))[-1]
    assert {"ref": "models:/ews-finance/2"} in audit_entry["outputs"]
