"""The train and promote flows on a small synthetic workdir (feature history + outcomes lake).

One workdir per module; the tests run in order: first training, second training, promote.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from pipelines import audit, io
from pipelines.flows.train import promote_flow, promote_target_task, snapshot_hash, train_flow
from pipelines.settings import Settings
from pipelines.tracking import tracker_for
from tests.pipelines.finance_workdir import FIRMS, distress_weeks, write_finance_workdir

pytestmark = pytest.mark.slow  # Prefect harness, MLflow store and two trainings


def write_synthetic_workdir(root: Path, seed: int) -> None:
    """Finance firms whose latent stress drives both a feature and a distress event."""
    rng = np.random.default_rng(seed)
    stress = rng.normal(size=FIRMS)
    event_weeks = distress_weeks(rng, stress, slope=1.5, offset=7.0)

    def columns(i: int, week: int) -> dict:
        return {
            "district": "园区",
            "stress_signal": stress[i] + rng.normal(scale=0.3),
            "unrelated_signal": rng.normal(),
        }

    write_finance_workdir(Settings(workdir=root), event_weeks, columns)


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


def test_train_without_feature_history_says_what_to_run(prefect_harness, tmp_path):
    with pytest.raises(FileNotFoundError, match="ews features"):
        train_flow(workdir=str(tmp_path), industries=["finance"])
