"""Gathering a card's evidence: run metrics, earlier champions, trainers, the test snapshots."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest

from features.build import build_feature_table
from models.config import load_industries
from pipelines import audit
from pipelines.io import lake_sources
from pipelines.model_cards import evaluation_rows, previous_champion, trainers, unflatten_metrics
from pipelines.settings import Settings
from pipelines.tracking import ModelInfo
from tests.pipelines.publish_world import AS_OF, build_world


def _info(version: int, decision: str | None) -> ModelInfo:
    return ModelInfo(
        name="ews-finance",
        industry="finance",
        version=version,
        aliases=(),
        run_id=f"run{version}",
        metrics={},
        params={},
        trained_at="2026-11-01T03:00:00+00:00",
        snapshot_hash="f" * 64,
        code_version="abc",
        test_period="2026-01-04..2026-05-24",
        decision=decision,
        reason=None,
    )


def test_unflatten_metrics_reads_mlflow_names_and_keeps_missing_bounds_undefined():
    flat = {
        "roc_auc": 0.8,
        "roc_auc_ci_low": 0.7,
        "roc_auc_ci_high": 0.9,
        "baseline_roc_auc": 0.6,
        "pr_auc": 0.2,
    }
    assert unflatten_metrics(flat)["roc_auc"] == {"value": 0.8, "ci_low": 0.7, "ci_high": 0.9}
    assert math.isnan(unflatten_metrics(flat)["pr_auc"]["ci_low"])
    assert set(unflatten_metrics(flat, "baseline_")) == {"roc_auc"}


def test_previous_champion_is_the_latest_earlier_version_made_champion():
    infos = [
        _info(1, "champion"),
        _info(2, "challenger"),
        _info(3, "champion"),
        _info(4, "challenger"),
    ]
    assert previous_champion(infos, 1) is None
    assert previous_champion(infos, 2) == 1
    assert previous_champion(infos, 4) == 3


def test_trainers_come_from_the_train_records_of_the_audit_log(tmp_path: Path):
    settings = Settings(workdir=tmp_path, operator="analyst-a")
    models = {"finance": {"version": 1}, "education": {"version": 1}}
    audit.record(settings, "train", details={"models": models})
    later = Settings(workdir=tmp_path, operator="analyst-b")
    audit.record(later, "train", details={"models": {"finance": {"version": 2}}})
    audit.record(later, "publish", details={"models": {"finance": {"version": 3}}})
    assert trainers(settings, "finance") == {1: "analyst-a", 2: "analyst-b"}


def test_test_snapshots_gone_from_the_history_are_rebuilt_from_the_lake(tmp_path: Path):
    world = build_world(tmp_path / "work", seed=3)
    settings, spec = world.settings, load_industries()["finance"]
    firms = sorted(world.firms.filter(pl.col("industry") == "finance")["uscc"].to_list())[:4]
    predictions = pl.DataFrame(
        {"uscc": firms, "as_of": [AS_OF] * 4, "label": [0, 1, 0, 0]},
        schema_overrides={"label": pl.Int8},
    )
    history = settings.features / "history.parquet"
    # As after a rebuild on other as-of dates: the test week is no longer in the history.
    pl.read_parquet(history).filter(pl.col("as_of") != AS_OF).write_parquet(history)
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    rows = evaluation_rows(settings, history, predictions, spec, scratch)

    expected = (
        build_feature_table(lake_sources(settings.lake), [AS_OF], sectors=[spec.sector_value])
        .collect()
        .filter(pl.col("uscc").is_in(firms))
    )
    assert rows.select("uscc", "as_of", "label").equals(predictions)
    assert rows.select(expected.columns).equals(expected)


def test_test_snapshots_missing_everywhere_name_the_firm(tmp_path: Path):
    world = build_world(tmp_path / "work", seed=3)
    spec = load_industries()["finance"]
    predictions = pl.DataFrame(
        {"uscc": ["91320594MA9999999Y"], "as_of": [AS_OF], "label": [1]},
        schema_overrides={"label": pl.Int8},
    )
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    with pytest.raises(ValueError, match="91320594MA9999999Y"):
        evaluation_rows(
            world.settings, world.settings.features / "history.parquet", predictions, spec, scratch
        )
