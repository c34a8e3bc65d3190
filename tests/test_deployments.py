"""prefect.yaml: every deployment runs a real flow that the CLI also exposes, on the intended
schedule, with shared pool and schedule settings defined once."""

from __future__ import annotations

import ast
import asyncio
import datetime as dt
import importlib
import inspect
import itertools
from pathlib import Path

import pytest
import yaml
from prefect import Flow
from prefect.server.schemas.schedules import CronSchedule

ROOT = Path(__file__).resolve().parents[1]
PREFECT_YAML = ROOT / "prefect.yaml"
CLI = ROOT / "pipelines" / "cli.py"
SHANGHAI = "Asia/Shanghai"
EXPECTED = {
    "ingest-daily": "ingest",
    "publish-weekly": "publish",
    "retrain-monthly": "train",
}


def _config() -> dict:
    return yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))


def _deployments() -> dict[str, dict]:
    return {d["name"]: d for d in _config()["deployments"]}


def _cli_commands() -> dict[tuple[str, str], str]:
    """(flow module, flow name) -> CLI command, read from the imports inside each command."""
    tree = ast.parse(CLI.read_text(encoding="utf-8"))
    commands: dict[tuple[str, str], str] = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if not (
                isinstance(decorator, ast.Call)
                and isinstance(decorator.func, ast.Attribute)
                and decorator.func.attr == "command"
            ):
                continue
            named = [a.value for a in decorator.args if isinstance(a, ast.Constant)]
            command = named[0] if named else node.name.replace("_", "-")
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and inner.module.startswith("pipelines.flows"):
                    for alias in inner.names:
                        commands[(inner.module, alias.name)] = command
    return commands


def _flow(entrypoint: str) -> Flow:
    module, name = entrypoint.split(":")
    return getattr(importlib.import_module(module), name)


def test_the_three_scheduled_deployments_exist():
    assert set(_deployments()) == set(EXPECTED)


def test_prefect_deploy_accepts_the_file():
    # The model `prefect deploy` validates prefect.yaml with (it skips a file that fails).
    from prefect.cli.deploy._models import PrefectYamlModel

    model = PrefectYamlModel.model_validate(_config())
    assert sorted(d.name for d in model.deployments) == sorted(EXPECTED)
    assert all(d.work_pool.name == "ews-process" for d in model.deployments)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_entrypoint_is_a_flow_that_the_cli_runs_too(name):
    entrypoint = _deployments()[name]["entrypoint"]
    # A module path, not a file: a flow file loaded as a script puts pipelines/flows/ first on
    # sys.path, where flows/features.py shadows the features package (the run crashes).
    module, function = entrypoint.split(":")
    assert not module.endswith(".py") and "/" not in module
    assert (ROOT / (module.replace(".", "/") + ".py")).is_file()
    flow = _flow(entrypoint)
    assert isinstance(flow, Flow)
    assert _cli_commands().get((module, function)) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_parameters_fit_the_flow_signature(name):
    deployment = _deployments()[name]
    signature = inspect.signature(_flow(deployment["entrypoint"]).fn)
    given = set(deployment.get("parameters") or {})
    assert given <= set(signature.parameters)
    required = {
        p.name for p in signature.parameters.values() if p.default is inspect.Parameter.empty
    }
    assert required <= given


def _next_runs(schedule: dict, count: int = 3) -> list[dt.datetime]:
    cron = CronSchedule(cron=schedule["cron"], timezone=schedule["timezone"])
    start = dt.datetime(2026, 11, 21, tzinfo=dt.UTC)
    return asyncio.run(cron.get_dates(n=count, start=start))


def test_publish_runs_every_monday_at_seven_in_shanghai():
    (schedule,) = _deployments()["publish-weekly"]["schedules"]
    assert schedule["timezone"] == SHANGHAI
    runs = _next_runs(schedule)
    assert all(r.weekday() == 0 and (r.hour, r.minute) == (7, 0) for r in runs)
    assert [(b - a).days for a, b in itertools.pairwise(runs)] == [7, 7]


def test_ingest_runs_daily_and_retrain_monthly_in_shanghai_time():
    (daily,) = _deployments()["ingest-daily"]["schedules"]
    (monthly,) = _deployments()["retrain-monthly"]["schedules"]
    assert daily["timezone"] == monthly["timezone"] == SHANGHAI
    days = _next_runs(daily)
    assert [(b - a).days for a, b in itertools.pairwise(days)] == [1, 1]
    assert all(r.day == 1 for r in _next_runs(monthly))


def test_pool_and_workdir_are_defined_once_and_shared():
    text = PREFECT_YAML.read_text(encoding="utf-8")
    assert "&ews_process_pool" in text and text.count("*ews_process_pool") == len(EXPECTED)
    config = _config()
    pools = [d["work_pool"] for d in config["deployments"]]
    assert all(pool == config["definitions"]["work_pools"]["ews_process_pool"] for pool in pools)
    assert all(d["parameters"] == {"workdir": "{{ $EWS_WORKDIR }}"} for d in config["deployments"])


def test_readme_names_every_deployment():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in EXPECTED:
        assert f"`{name}`" in readme


def test_the_zombie_automation_crashes_runs_whose_heartbeats_stop():
    """prefect_automations.yaml is what `prefect automation create --from-file` accepts; it
    waits longer than the heartbeat period the docs set on the worker, so a live run is never
    crashed between two beats."""
    from prefect.events.schemas.automations import AutomationCore, Posture

    data = yaml.safe_load((ROOT / "prefect_automations.yaml").read_text(encoding="utf-8"))
    (automation,) = [AutomationCore.model_validate(a) for a in data["automations"]]
    trigger = automation.trigger
    assert trigger.posture == Posture.Proactive
    assert trigger.after == {"prefect.flow-run.heartbeat"}
    assert {"prefect.flow-run.Completed", "prefect.flow-run.Crashed"} <= trigger.expect
    (action,) = automation.actions
    assert action.type == "change-flow-run-state" and action.state.value == "CRASHED"
    docs = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    assert "PREFECT_FLOWS_HEARTBEAT_FREQUENCY=30" in docs
    assert trigger.within.total_seconds() >= 3 * 30
