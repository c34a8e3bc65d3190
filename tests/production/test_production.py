"""EWS the way a park runs it: a Prefect server on PostgreSQL with the work pool and the
deployments of prefect.yaml, a process worker, and MLflow's tracking server on PostgreSQL.

A simulated tiny park lands; ``ingest-daily`` is fired through the API and files it; an analyst
builds features and trains from the CLI (registering versions and aliases over HTTP on the
MLflow server); ``publish-weekly`` is fired and loads each champion from that server. Both runs
are awaited through the API and their outputs, task runs and the databases behind the servers
are checked. Everything the module starts is stopped when it ends, also on failure.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from data_contracts import catalog
from tests.production.stack import Stack, running_stack

pytestmark = [pytest.mark.production, pytest.mark.slow]

SEED = 7
END = "2026-11-20"  # the simulated park's last day; ingested as of its end
WEEK = "2026-W47"  # published with the data as of Sunday 2026-11-15
AS_OF = "2026-11-15"
INDUSTRIES = ("finance", "manufacturing", "education")


class Park:
    """The running stack and what was fired on it."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.ingest_run = None
        self.publish_run = None
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.seconds[stage] = round(time.perf_counter() - started, 1)

    @property
    def workdir(self) -> Path:
        return self.stack.workdir

    def ews(self, *argv: str) -> None:
        self.stack.run_cli("ews", *argv, "--workdir", str(self.workdir))


@pytest.fixture(scope="module")
def park(postgres_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("production")
    started = time.perf_counter()
    with running_stack(root, postgres_server) as stack:
        park = Park(stack)
        park.seconds["start_and_deploy"] = round(time.perf_counter() - started, 1)
        stack.start_worker()
        with park.timed("simulate"):
            park.ews("simulate", "--scale", "tiny", "--seed", str(SEED), "--end-date", END)
        with park.timed("ingest_daily"):
            park.ingest_run = stack.wait(stack.trigger("ingest/ingest-daily", as_of=END))
        # The analyst's part: features as of the week's Sunday, then training on the server.
        with park.timed("features_and_train"):
            park.ews("features", "--as-of", AS_OF)
            park.ews("train")
        with park.timed("publish_weekly"):
            park.publish_run = stack.wait(stack.trigger("publish/publish-weekly", week=WEEK))
        yield park
        print(f"\nproduction stack seconds: {park.seconds}")


def _state(run) -> str:
    return run.state.type.value


def _rows(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url) as connection:
        return connection.execute(query).fetchall()


def test_ingest_and_publish_runs_complete_on_the_server(park):
    stack = park.stack
    for run, deployment in (
        (park.ingest_run, "ingest-daily"),
        (park.publish_run, "publish-weekly"),
    ):
        assert _state(run) == "COMPLETED", (run.state.message, stack.logs())
        with stack.client() as client:
            assert client.read_deployment(run.deployment_id).name == deployment
        assert run.work_pool_name == "ews-process"
        tasks = stack.task_runs(run.id)
        assert tasks and {t.state.type.value for t in tasks} == {"COMPLETED"}
    assert park.publish_run.parameters == {"workdir": str(park.workdir), "week": WEEK}


def test_the_prefect_server_keeps_deployments_and_runs_in_postgres(park):
    names = {row[0] for row in _rows(park.stack.prefect_db, "SELECT name FROM deployment")}
    assert names == {"ingest-daily", "publish-weekly", "retrain-monthly"}
    runs = dict(_rows(park.stack.prefect_db, "SELECT id::text, state_type FROM flow_run"))
    assert runs[str(park.ingest_run.id)] == "COMPLETED"
    assert runs[str(park.publish_run.id)] == "COMPLETED"


def test_schedules_are_in_shanghai_time_and_the_scheduler_creates_their_runs(park):
    stack = park.stack
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowRunFilter,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )

    with stack.client() as client:
        for name in ("ingest/ingest-daily", "publish/publish-weekly", "train/retrain-monthly"):
            deployment = client.read_deployment_by_name(name)
            (schedule,) = deployment.schedules
            assert schedule.schedule.timezone == "Asia/Shanghai" and schedule.active
        scheduled = client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["publish-weekly"])),
            flow_run_filter=FlowRunFilter(
                state=FlowRunFilterState(type=FlowRunFilterStateType(any_=["SCHEDULED"]))
            ),
        )
    # Monday 07:00 in Shanghai is Sunday 23:00 UTC.
    assert scheduled, "the server's scheduler created no run of publish-weekly"
    assert {(r.expected_start_time.weekday(), r.expected_start_time.hour) for r in scheduled} == {
        (6, 23)
    }


def test_ingest_filed_every_source_and_accounted_for_every_row(park):
    (run_dir,) = (park.workdir / "ingest").iterdir()
    summary = json.loads((run_dir / "ingest_summary.json").read_text(encoding="utf-8"))
    totals = summary["totals"]
    assert totals["sources"] == len(catalog.load_all())
    assert totals["rows_in"] == totals["rows_accepted"] + totals["rows_quarantined"] > 0
    assert totals["failed"] == 0
    assert (park.workdir / "lake" / "_ledger.jsonl").is_file()


def test_training_registered_versions_and_aliases_over_http_in_postgres(park):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=park.stack.tracking_uri)
    for industry in INDUSTRIES:
        champion = client.get_model_version_by_alias(f"ews-{industry}", "champion")
        # The first candidate, or, when the gate found it not better than its logistic
        # baseline, that baseline registered beside it as version 2.
        kind = champion.tags["model_kind"]
        assert (champion.version, kind) in {("1", "gradient_boosting"), ("2", "logistic_baseline")}
        assert champion.tags["promotion_decision"] == "champion"
    registered = _rows(park.stack.mlflow_db, "SELECT name FROM registered_models ORDER BY name")
    assert [r[0] for r in registered] == sorted(f"ews-{i}" for i in INDUSTRIES)
    aliases = _rows(park.stack.mlflow_db, "SELECT name, alias FROM registered_model_aliases")
    assert {(f"ews-{i}", "champion") for i in INDUSTRIES} <= set(aliases)
    # The server keeps the artifacts (proxied), not the workdir.
    assert not (park.workdir / "mlartifacts").exists()
    assert any((park.stack.root / "mlartifacts").rglob("risk_model.json"))


def test_publish_scored_with_the_champion_from_the_server(park):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=park.stack.tracking_uri)
    for industry in INDUSTRIES:
        folder = park.workdir / "publish" / WEEK / industry
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        champion = client.get_model_version_by_alias(f"ews-{industry}", "champion")
        assert manifest["model"]["name"] == f"ews-{industry}"
        assert str(manifest["model"]["version"]) == champion.version
        assert manifest["model"]["run_id"] == champion.run_id
        assert (folder / "risk_list.xlsx").is_file()
    assert (park.workdir / "site" / "index.html").is_file()
    # The lists reached the case store on PostgreSQL.
    listed = _rows(park.stack.cases_db, "SELECT count(*) FROM listings")
    assert listed[0][0] > 0
