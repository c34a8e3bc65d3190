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
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from data_contracts import catalog
from models.config import load_models
from pipelines import publish_io, workdir_lock
from pipelines.ingest_source import STAGING
from tests.production.stack import Stack, running_stack

pytestmark = [pytest.mark.production, pytest.mark.slow]

SEED = 7
END = "2026-11-20"  # the simulated park's last day; ingested as of its end
WEEK = "2026-W47"  # published with the data as of Sunday 2026-11-15
AS_OF = "2026-11-15"
INDUSTRIES = ("finance", "manufacturing", "education")
# Every registered model: the industries' and the general one behind the other firms' classes.
MODELS = tuple(load_models())
HEARTBEAT_S = "30"  # the shortest Prefect allows; prefect_automations.yaml crashes after 90 s
ZOMBIE_TIMEOUT_S = 300


class Park:
    """The running stack and what was fired on it."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.ingest_run = None
        self.publish_run = None
        self.published: dict[str, str] = {}  # the first publication's files and digests
        self.killed_run = None  # the publish-weekly run whose worker was killed
        self.killed_state = ""  # its state on the server just after the kill
        self.staged_at_kill: list[str] = []  # the half-written copies it left in the workdir
        self.dropped_connections = 0
        self.after_restart: list = []  # ingest-daily and publish-weekly fired at once after
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
        stack.start_worker(PREFECT_FLOWS_HEARTBEAT_FREQUENCY=HEARTBEAT_S)
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
        park.published = _digests(park.workdir / "publish" / WEEK)
        with park.timed("worker_killed_mid_publish"):
            park.killed_run = stack.trigger("publish/publish-weekly", week=WEEK)
            _wait_for_a_completed_task(stack, park.killed_run)
            stack.services["worker-1"].kill()
            park.killed_state = _state(stack.flow_run(park.killed_run))
            park.staged_at_kill = _staging(park.workdir)
        with park.timed("postgres_restarted"):
            # MLflow's and the case store's server restarted; the Prefect server's clients cut.
            stack.cluster.restart()
            park.dropped_connections = stack.drop_connections(stack.prefect_db)
        stack.start_worker(PREFECT_FLOWS_HEARTBEAT_FREQUENCY=HEARTBEAT_S)
        with park.timed("ingest_and_publish_at_once"):
            # The publish first, and the ingest only once the publish is running (a task done):
            # the publish runs for tens of seconds, so the ingest starts while it runs. Fired
            # together, the worker can start the ingest first, and an ingest with nothing new to
            # read finished before the publish started (it did twice, once by 0.1 s and once by
            # 0.5 s with the publish fired first): the two would not have run at once at all.
            publish = stack.trigger("publish/publish-weekly", week=WEEK)
            _wait_for_a_completed_task(stack, publish)
            ingest = stack.trigger("ingest/ingest-daily", as_of=END)
            park.after_restart = [stack.wait(ingest), stack.wait(publish)]
        with park.timed("zombie_run_marked_crashed"):
            park.killed_run = stack.wait(park.killed_run, timeout_s=ZOMBIE_TIMEOUT_S)
        yield park
        print(f"\nproduction stack seconds: {park.seconds}")


def _state(run) -> str:
    return run.state.type.value


def _digests(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _staging(workdir: Path) -> list[str]:
    """The hidden copies a writer stages beside its target (publish_io.begin) and the lake
    staging of an ingest run, in the workdir: what a run killed mid-write leaves."""
    marks = (publish_io.PARTIAL_MARK, publish_io.RETIRED_MARK)
    copies = [p for p in workdir.rglob("*") if p.is_dir() and any(m in p.name for m in marks)]
    lake = workdir / "lake" / STAGING
    staged = [*copies, *(lake.iterdir() if lake.is_dir() else [])]
    return sorted(p.relative_to(workdir).as_posix() for p in staged)


def _wait_for_a_completed_task(stack: Stack, run_id, timeout_s: float = 600) -> None:
    """Until the flow run is RUNNING with one task run completed at least: mid-run."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = _state(stack.flow_run(run_id)) if stack.flow_run(run_id).state else ""
        assert state in ("SCHEDULED", "PENDING", "RUNNING"), (state, stack.logs())
        if state == "RUNNING":
            done = [t for t in stack.task_runs(run_id) if t.state.type.value == "COMPLETED"]
            if done:
                return
        time.sleep(0.5)
    raise TimeoutError(f"flow run {run_id} never got going:\n{stack.logs()}")


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
    # The first ingest-daily run (the one fired after the restart found nothing new).
    run_dir = min((park.workdir / "ingest").iterdir(), key=lambda p: p.stat().st_mtime)
    summary = json.loads((run_dir / "ingest_summary.json").read_text(encoding="utf-8"))
    totals = summary["totals"]
    assert totals["sources"] == len(catalog.load_all())
    assert totals["rows_in"] == totals["rows_accepted"] + totals["rows_quarantined"] > 0
    assert totals["failed"] == 0
    assert (park.workdir / "lake" / "_ledger.jsonl").is_file()


def test_training_registered_versions_and_aliases_over_http_in_postgres(park):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=park.stack.tracking_uri)
    assert set(INDUSTRIES) < set(MODELS)
    for industry in MODELS:
        champion = client.get_model_version_by_alias(f"ews-{industry}", "champion")
        # The first candidate, or, when the gate found it not better than its logistic
        # baseline, that baseline registered beside it as version 2.
        kind = champion.tags["model_kind"]
        assert (champion.version, kind) in {("1", "gradient_boosting"), ("2", "logistic_baseline")}
        assert champion.tags["promotion_decision"] == "champion"
    registered = _rows(park.stack.mlflow_db, "SELECT name FROM registered_models ORDER BY name")
    assert [r[0] for r in registered] == sorted(f"ews-{i}" for i in MODELS)
    aliases = _rows(park.stack.mlflow_db, "SELECT name, alias FROM registered_model_aliases")
    assert {(f"ews-{i}", "champion") for i in MODELS} <= set(aliases)
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


def test_a_worker_killed_mid_run_leaves_a_run_the_server_reports_crashed(park):
    """The machine running the flow dies: nothing reports the run, which stays RUNNING until
    its heartbeats stop for 90 s and the zombie automation (prefect_automations.yaml) marks
    it CRASHED; the killed process held the workdir lock, which its death released."""
    assert park.killed_state == "RUNNING", "the run finished before its worker was killed"
    assert _state(park.killed_run) == "CRASHED", park.killed_run.state
    assert "No heartbeat" in (park.killed_run.state.message or "")
    holders = [h["holder"] for h in workdir_lock.history(park.workdir)]
    assert holders.count("publish") == 2, holders  # the killed run never recorded a release


def test_the_re_run_after_the_kill_and_the_restart_publishes_the_same_files(park):
    assert [_state(run) for run in park.after_restart] == ["COMPLETED", "COMPLETED"], (
        [run.state.message for run in park.after_restart],
        park.stack.logs(),
    )
    assert _digests(park.workdir / "publish" / WEEK) == park.published


def test_the_re_run_removes_what_the_killed_run_left_half_written(park):
    """The killed run was writing a list into a hidden copy beside it; the re-run, holding the
    workdir lock, found the copy's writer dead and removed it (publish_io.clear_leftovers)."""
    assert any(WEEK in path for path in park.staged_at_kill), park.staged_at_kill
    assert _staging(park.workdir) == []


def test_the_services_survive_postgresql_restarting_between_two_runs(park):
    """The MLflow and case-store server was restarted and the Prefect server's connections
    were cut between the runs: the next runs completed (the champions loaded over HTTP from
    MLflow, the listings written to the case store) and the servers still answer."""
    assert park.dropped_connections > 0  # the Prefect server had connections to lose
    assert _state(park.after_restart[1]) == "COMPLETED"
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=park.stack.tracking_uri)
    assert client.get_model_version_by_alias("ews-finance", "champion").version in ("1", "2")
    listed = _rows(park.stack.cases_db, "SELECT count(DISTINCT week) FROM listings")
    assert listed[0][0] == 1


def test_ingest_and_publish_fired_at_once_take_turns_on_the_workdir(park):
    """Both ran at once on the server (their runs overlap in time); their writes did not: the
    workdir lock's history shows one holder after the other."""
    ingest, publish = park.after_restart
    assert ingest.start_time < publish.end_time and publish.start_time < ingest.end_time
    holds = workdir_lock.history(park.workdir)[-2:]
    assert {h["holder"] for h in holds} == {"ingest", "publish"}
    first, second = sorted(holds, key=lambda h: h["acquired"])
    assert first["released"] <= second["acquired"]


@pytest.fixture(scope="module")
def browser():
    from tests.browser import chromium

    with chromium() as launched:
        yield launched


# What MLflow 3.17's UI writes to the browser's localStorage once a user has closed its
# first-visit greetings: the "new Model Registry UI" dialog (useLocalStorage's ``<key>_v<version>``,
# a JSON value) and the assistant panel it opens over the page. A fresh browser, like the test's,
# gets both over the registered models; set before the page loads, the page shows the list.
MLFLOW_UI_GREETINGS_CLOSED = {
    "_mlflow_model_registry_promo_modal_dismissed_v1": "true",
    "mlflow.assistant.fab.autoOpenedOnFirstLoad_v1": "true",
    "mlflow.assistant.panelOpen_v1": "false",
}


def _screenshot(
    browser, url: str, shows: tuple[str, ...], path: Path, local_storage: dict | None = None
) -> None:
    """``url`` rendered at 1280x800 once every text of ``shows`` is visible and no dialog covers
    the page (``local_storage`` set before it loads), saved to ``path`` (and to docs/img/ when
    EWS_DOC_SCREENSHOTS names that folder: how the docs' pictures are made)."""
    import json
    import os
    import shutil

    from tests.browser import assert_shows_something

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    try:
        context.add_init_script(
            f"for (const [key, value] of Object.entries({json.dumps(local_storage or {})}))"
            " window.localStorage.setItem(key, value);"
        )
        page = context.new_page()
        page.goto(url)
        for text in shows:
            page.get_by_text(text).first.wait_for(timeout=90_000)
        # Both UIs poll their API for ever (no network idle): a moment for the page to settle.
        page.wait_for_timeout(3_000)
        dialogs = [d.inner_text()[:200] for d in page.get_by_role("dialog").all() if d.is_visible()]
        assert not dialogs, f"a dialog covers the page at {url}: {dialogs}"
        page.screenshot(path=str(path))
    finally:
        context.close()
    assert_shows_something(path)
    if folder := os.environ.get("EWS_DOC_SCREENSHOTS"):
        shutil.copyfile(path, Path(folder) / path.name)


def test_the_prefect_ui_shows_the_runs_of_the_deployments(park, browser, tmp_path):
    url = f"{park.stack.prefect_ui}/runs/flow-run/{park.publish_run.id}"
    _screenshot(browser, url, (park.publish_run.name,), tmp_path / "prefect_ui_flow_run.png")


def test_the_mlflow_ui_shows_the_registered_champions(park, browser, tmp_path):
    """The models page lists ews-<industry> with each one's aliased version (the alias of the
    highest version first: the champion, which is the candidate or the baseline after it)."""
    url = f"{park.stack.tracking_uri}/#/models"
    shows = (*(f"ews-{industry}" for industry in INDUSTRIES), "champion")
    path = tmp_path / "mlflow_ui_models.png"
    _screenshot(browser, url, shows, path, local_storage=MLFLOW_UI_GREETINGS_CLOSED)
