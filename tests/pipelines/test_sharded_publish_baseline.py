"""A logistic baseline served as champion (the promotion gate's fallback) publishes in shards as
it does in one process: the champion's bytes sent to every shard are read back as whatever kind
of scorer they are, not as a booster only.

The tiny publish world, its finance champion replaced by a baseline (a registered version of its
own, as the gate registers it), published once in one process and once in 2 firm shards on the
flow's own task runner.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime

import polars as pl
import pytest

from models.baseline import KIND as BASELINE_KIND
from models.baseline import LogisticBaseline, fit_baseline
from models.promotion import Decision
from pipelines import tracking
from pipelines.flows import publish as publish_module
from pipelines.flows.publish import publish_flow
from pipelines.tracking import RunRecord
from pipelines.weekly_list import industry_rows
from tests.pipelines.publish_world import WEEK, build_world, world_config
from tests.pipelines.test_publish_flow import _tree_hashes as tree

pytestmark = pytest.mark.slow  # Prefect harness and two publications with SHAP charts

SHARDS = 2


def serve_a_baseline(world) -> LogisticBaseline:
    """Register a baseline fitted on the finance history and make it finance's champion."""
    champion, _ = world.tracker.load_model("finance")
    history = pl.read_parquet(world.settings.features / "history.parquet")
    rows = industry_rows(history, world_config().industries["finance"])
    labelled = rows.with_columns(label=(pl.int_range(pl.len()) % 3 == 0).cast(pl.Int8))
    baseline = fit_baseline(labelled, champion.feature_names)
    record = RunRecord(
        industry="finance",
        model=baseline,
        metrics={"model": {"pr_auc": {"value": 0.3, "ci_low": 0.2, "ci_high": 0.4}}},
        params={"C": baseline.metadata["C"]},
        calibration=pl.DataFrame({"mean_predicted": [0.1], "observed_rate": [0.1]}),
        sample_input=labelled.select(baseline.feature_names).head(2),
        snapshot_hash="e" * 64,
        trained_at=datetime(2026, 11, 8, 3),
        test_period="2026-01-01/2026-05-01",
        code_version="test",
    )
    version = world.tracker.register(world.tracker.log_run(record))
    world.tracker.assign(
        "finance", version, Decision(True, "the candidate lost; the baseline serves")
    )
    return baseline


@pytest.fixture(scope="module")
def runs(tmp_path_factory, prefect_harness):
    world = build_world(tmp_path_factory.mktemp("single"), seed=11)
    baseline = serve_a_baseline(world)
    single = world.settings.workdir
    sharded = tmp_path_factory.mktemp("sharded") / "workdir"
    shutil.copytree(single, sharded)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tracking, "tracker_for", lambda settings: world.tracker)
        patch.setattr(publish_module, "load_config", world_config)
        one = publish_flow(workdir=str(single), week=WEEK)
        many = publish_flow(workdir=str(sharded), week=WEEK, shards=SHARDS)
    return {"baseline": baseline, "single": (single, one), "sharded": (sharded, many)}


def test_a_baseline_champion_is_published_in_shards_as_in_one_process(runs):
    (single, one), (sharded, many) = runs["single"], runs["sharded"]
    assert set(many["lists"]) == set(one["lists"]) == set(world_config().industries)
    assert [s["shard"] for s in many["shards"]["finance"]] == list(range(SHARDS))
    folder = f"publish/{WEEK}/finance"
    manifest = json.loads((sharded / folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model"]["kind"] == BASELINE_KIND
    assert manifest["model"]["version"] == 2
    # every file of the list, scores, explanations and manifest included, byte for byte
    assert tree(sharded / folder) == tree(single / folder)


def test_the_sharded_baseline_scores_are_the_baseline_s_probabilities(runs):
    sharded, _ = runs["sharded"]
    scores = pl.read_parquet(sharded / "publish" / WEEK / "finance" / "scores.parquet")
    table = pl.read_parquet(sharded / "features" / "as_of=2026-11-15.parquet")
    rows = industry_rows(table, world_config().industries["finance"])
    assert scores.height == rows.height
    # the insufficient-data firms are shown apart, unscored; every other firm has its baseline
    # probability
    assert set(scores.filter(pl.col("probability").is_null())["uscc"]) == set(
        rows.filter(pl.col("insufficient_data"))["uscc"]
    )
    scored = rows.filter(~pl.col("insufficient_data"))
    expected = runs["baseline"].predict_proba(scored).tolist()
    got = scores.filter(pl.col("probability").is_not_null()).sort("uscc")
    assert got["uscc"].to_list() == scored["uscc"].to_list()
    assert got["probability"].to_list() == pytest.approx(expected)
