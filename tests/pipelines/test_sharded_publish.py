"""Sharded by firm on Dask, exactly: the tiny park published once in one process and once in 4
shards on a 2-worker LocalCluster through prefect-dask's DaskTaskRunner gives the same scoring
table, scores, explanations and lists, byte for byte.

The lake is the simulator's tiny park written straight into lake partitions (no ingest: this is
about what comes after it), the champions are small boosters over every model input. The
DaskTaskRunner runs against the session's Prefect test server (never ephemeral mode: each
worker would start a server of its own).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import polars as pl
import pytest
from distributed import LocalCluster
from prefect_dask import DaskTaskRunner

from data_contracts.catalog import load_all
from data_contracts.simulate.sources import simulate_source
from data_contracts.simulate.world import build_world
from features import registry
from features.shards import deal
from models.config import IndustryConfig, load_config
from pipelines import io, tracking
from pipelines.flows import publish as publish_module
from pipelines.flows.publish import publish_flow
from pipelines.settings import Settings
from pipelines.sharding import RunnerError, task_runner
from tests.pipelines.publish_world import _champions
from tests.pipelines.test_publish_flow import _tree_hashes as tree

pytestmark = pytest.mark.slow

WEEK = "2026-W48"  # as of Sunday 2026-11-22
END = dt.date(2026, 11, 22)
DELIVERY = "backfill-2026-11-22"
SHARDS = 4
CAPACITY = 5  # a short list per industry: the SHAP charts of the listed firms take the time


def short_lists() -> IndustryConfig:
    config = load_config()
    return config.model_copy(
        update={
            "industries": {
                key: spec.model_copy(update={"capacity_k": CAPACITY})
                for key, spec in config.industries.items()
            }
        }
    )


def write_tiny_lake(workdir: Path) -> Settings:
    """Every source of the tiny park (seed 7) as one accepted delivery, with its ledger line."""
    settings = Settings(workdir=workdir, operator="shard-test")
    world = build_world("tiny", 7, END)
    ledger = []
    for source_id, contract in sorted(load_all().items()):
        frame = simulate_source(world, contract)
        if frame.height == 0:
            continue
        frame = frame.with_columns(pl.lit(DELIVERY).alias(io.DELIVERY_ID))
        io.write_partition(settings.lake, source_id, DELIVERY, frame)
        ledger.append(
            {"source": source_id, "delivery_id": DELIVERY, "sha256": "0" * 64, "rows": frame.height}
        )
    io.append_ledger(settings.lake, ledger)
    return settings


@pytest.fixture(scope="module")
def runs(prefect_harness, tmp_path_factory):
    single = tmp_path_factory.mktemp("single")
    write_tiny_lake(single)
    sharded = tmp_path_factory.mktemp("sharded")
    shutil.copytree(single / "lake", sharded / "lake")
    champions = _champions(registry.feature_names(), seed=3)
    # One cluster for the publish flow and the features flow it starts, reached by its address
    # as a production cluster is (docs/scaling.md).
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    runner = DaskTaskRunner(address=cluster.scheduler_address)
    with cluster, pytest.MonkeyPatch.context() as patch:
        patch.setattr(tracking, "tracker_for", lambda settings: champions)
        patch.setattr(publish_module, "load_config", short_lists)
        one = publish_flow(workdir=str(single), week=WEEK)
        many = publish_flow.with_options(task_runner=runner)(
            workdir=str(sharded), week=WEEK, shards=SHARDS
        )
        workers = set(cluster.scheduler_info["workers"])
    return {"single": (single, one), "sharded": (sharded, many), "workers": workers}


def test_the_sharded_scoring_table_is_the_single_process_one_byte_for_byte(runs):
    (single, _), (sharded, _) = runs["single"], runs["sharded"]
    name = f"as_of={END.isoformat()}.parquet"
    one, many = single / "features" / name, sharded / "features" / name
    assert pl.read_parquet(one).height > 100
    assert one.read_bytes() == many.read_bytes()
    history = "features/history.parquet"
    assert (single / history).read_bytes() == (sharded / history).read_bytes()


def test_scores_explanations_and_lists_are_the_same_files(runs):
    (single, one), (sharded, many) = runs["single"], runs["sharded"]
    assert set(one["lists"]) == set(many["lists"]) == {"finance", "manufacturing", "education"}
    for industry in one["lists"]:
        folder = Path("publish") / WEEK / industry
        expected, got = tree(single / folder), tree(sharded / folder)
        for name in ("scores.parquet", "explanations.parquet", "reasons.parquet"):
            assert got[name] == expected[name], f"{industry}/{name}"
        for name in ("risk_list.csv", "risk_list.parquet", "risk_list.xlsx"):
            assert got[name] == expected[name], f"{industry}/{name}"
        # and every other file of the publication, the manifest included
        assert got == expected, industry
    assert tree(single / "publish" / WEEK / "tiers") == tree(sharded / "publish" / WEEK / "tiers")


def test_every_shard_ran_as_a_task_on_a_dask_worker(runs):
    _, many = runs["sharded"]
    placed = many["shards"]
    tables = placed["features"]
    assert [s["shard"] for s in tables["feature_table"]] == list(range(SHARDS))
    scoring = [
        s for industry in ("finance", "manufacturing", "education") for s in placed[industry]
    ]
    workers = {s["worker"] for s in [*tables["feature_table"], *scoring]}
    assert workers <= runs["workers"] and len(runs["workers"]) == 2, workers
    firms = pl.read_parquet(runs["single"][0] / "features" / f"as_of={END.isoformat()}.parquet")
    assert sum(s["rows"] for s in tables["feature_table"]) == firms.height
    # what crosses from the workers, counted for the scaling benchmark: every part and result
    assert all(s["bytes"] > 0 for s in [*tables["feature_table"], *scoring])


def test_shards_deal_every_firm_once_and_by_its_code_alone():
    codes = pl.Series("uscc", [f"91320594MA{i:07d}Y" for i in range(500)])
    dealt = deal(codes, 4)
    together = pl.concat(dealt)["uscc"]
    assert together.sort().to_list() == codes.sort().to_list()
    assert all(part.height > 60 for part in dealt)  # no shard is starved
    again = deal(codes.reverse().append(codes.head(7)), 4)  # order and repeats do not matter
    assert [p["uscc"].to_list() for p in again] == [p["uscc"].to_list() for p in dealt]


def test_the_dask_runner_refuses_ephemeral_prefect(tmp_path):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with (
        temporary_settings(updates={PREFECT_API_URL: None}),
        pytest.raises(RunnerError, match="needs a Prefect server"),
    ):
        task_runner(Settings(workdir=tmp_path, runner="dask"))
    assert task_runner(Settings(workdir=tmp_path)) is None


def test_ews_publish_on_dask_without_a_prefect_server_exits_2_naming_the_variable(tmp_path):
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from typer.testing import CliRunner

    from pipelines.cli import app

    with temporary_settings(updates={PREFECT_API_URL: None}):
        result = CliRunner().invoke(
            app, ["publish", "--workdir", str(tmp_path), "--runner", "dask", "--shards", "2"]
        )
    assert result.exit_code == 2, result.output
    assert "PREFECT_API_URL" in result.output
    bad = CliRunner().invoke(app, ["publish", "--workdir", str(tmp_path), "--runner", "spark"])
    assert bad.exit_code == 2 and "runner" in bad.output
