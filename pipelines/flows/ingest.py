"""`ews ingest`: every landing delivery validated against its contract, into lake or quarantine.

discover (plan each source against the ledger) -> ingest each source -> summarize -> Data Docs.
Tasks hand each other file paths under ``ingest/<run_id>/``. A source that is missing, late or
unreadable is reported and the others carry on.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.exceptions import MissingContextError

from data_contracts import catalog
from pipelines import audit, datasets, gx_context, io, landing
from pipelines.ingest_policy import SourcePlan, failed_report
from pipelines.ingest_source import clear_dead_runs_staging, ingest_source, plan_source
from pipelines.progress import track
from pipelines.retries import TRANSIENT_RETRIES
from pipelines.settings import Settings
from pipelines.timeline import parse_ingest_time
from pipelines.workdir_lock import holds_workdir

STATUSES = ("ok", "degraded", "missing", "failed")
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def new_run_id(as_of: dt.datetime) -> str:
    return f"{as_of:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def check_run_id(run_id: str) -> str:
    """A run id names a folder and part of GX result ids: letters, digits, '.', '_', '-'."""
    if not RUN_ID.fullmatch(run_id):
        raise ValueError(f"run_id {run_id!r} may only hold letters, digits, '.', '_' and '-'")
    return run_id


@task(name="discover-deliveries", cache_policy=NO_CACHE, **TRANSIENT_RETRIES)
def discover_task(workdir: str, as_of: dt.datetime, run_id: str) -> dict[str, list[str]]:
    """Plan every contracted source against landing and the ledger at the ingest time
    ``as_of`` (naive UTC).

    Returns the plan paths split into ``busy`` (deliveries to ingest) and ``idle`` (nothing new:
    only a status to report), so a quiet week costs one task rather than one per source.
    """
    settings = Settings(workdir=Path(workdir))
    run_dir = datasets.INGEST_RUN.directory(settings.workdir, run_id=run_id)
    # A run killed mid-source (its worker died) left that source's accepted rows staged.
    if removed := clear_dead_runs_staging(settings.lake, run_id):
        get_run_logger().info("removed the lake staging of ingest runs that died: %s", removed)
    ledger = io.latest_deliveries(settings.lake)
    contracts = catalog.load_all()
    survey = landing.survey_landing(settings.landing, set(contracts))
    paths: dict[str, list[str]] = {"busy": [], "idle": []}
    for source_id, contract in contracts.items():
        plan = plan_source(
            contract,
            survey.deliveries.get(source_id, []),
            ledger,
            run_id=run_id,
            as_of=as_of,
            lake_dir=settings.lake,
            quarantine_dir=settings.quarantine,
            gx_root=settings.workdir,
            set_aside=survey.set_aside_in(source_id),
        )
        path = io.write_json(datasets.INGEST_PLAN.at(run_dir, source=source_id), plan.to_dict())
        paths["busy" if plan.to_process else "idle"].append(str(path))
    io.write_json(
        datasets.INGEST_RUN.at(run_dir),
        {
            "run_id": run_id,
            "as_of": as_of.isoformat(),
            "workdir": str(settings.workdir),
            "sources": len(contracts),
            "unknown_landing_folders": sorted(
                {e.path.split("/", 1)[0] for e in survey.outside_sources if "/" in e.path}
            ),
            "outside_sources": [e.to_dict() for e in survey.outside_sources],
            "removed_dead_runs_staging": removed,
        },
    )
    return paths


def _ingest_planned(plan_path: str) -> str:
    """Ingest one planned source and write its report; a failure becomes the report."""
    plan = SourcePlan.from_dict(io.read_json(Path(plan_path)))
    try:
        report = ingest_source(catalog.get(plan.source), plan)
    except Exception as error:  # one broken source must not stop the others
        # The traceback for the operator; the report keeps only where it broke. Steps called
        # outside a run (the tests' ingest_steps) log to the module's logger.
        try:
            logger = get_run_logger()
        except MissingContextError:
            logger = logging.getLogger(__name__)
        logger.exception("%s: ingestion stopped", plan.source)
        report = failed_report(plan, error)
    target = datasets.INGEST_REPORT.at(Path(plan_path).parent.parent, source=plan.source)
    return str(io.write_json(target, report.to_dict()))


@task(name="ingest-source", task_run_name="ingest-{source_id}", cache_policy=NO_CACHE)
def ingest_source_task(source_id: str, plan_path: str) -> str:
    """Ingest one source with new deliveries; returns its report path."""
    return _ingest_planned(plan_path)


@task(name="report-idle-sources", cache_policy=NO_CACHE)
def idle_sources_task(plan_paths: list[str]) -> list[str]:
    """Status of every source with nothing new (missing, late or up to date)."""
    return [_ingest_planned(p) for p in plan_paths]


def landing_inventory(
    reports: list[dict[str, Any]], outside_sources: list[dict[str, Any]]
) -> dict[str, Any]:
    """Every landing file, with its status, rows and reason: deliveries read this run (accepted,
    partial, rejected), deliveries not read (unchanged since an earlier run: its status and rows
    then; not_due) and files set aside (rejected or ignored, never read as deliveries)."""
    set_aside = [*outside_sources, *(e for r in reports for e in r.get("set_aside", []))]
    files = [
        {
            "path": f"{r['source']}/{o['file']}",
            "source": r["source"],
            "status": o["status"],
            "rows": o["rows_in"],
            "reason": o["reason"],
        }
        for r in reports
        for o in r["deliveries"]
    ]
    files += [{k: e[k] for k in ("path", "source", "status", "rows", "reason")} for e in set_aside]
    files += [e for r in reports for e in r.get("unread", [])]
    files.sort(key=lambda f: (f["path"], f["status"]))
    return {
        "files": len(files),
        "by_status": dict(sorted(Counter(f["status"] for f in files).items())),
        # rows of files not read as deliveries (hidden, misplaced, of unknown sources)
        "rows_set_aside": sum(e["rows"] or 0 for e in set_aside),
        "set_aside_uncounted": sum(e["rows"] is None for e in set_aside),
        # the set-aside files by status (paths): a scheduler's short list
        "rejected": sorted(e["path"] for e in set_aside if e["status"] == landing.REJECTED),
        "ignored": sorted(e["path"] for e in set_aside if e["status"] == landing.IGNORED),
        "entries": files,
    }


@task(name="summarize-ingest", cache_policy=NO_CACHE)
def summarize_task(run_dir: str, report_paths: list[str]) -> str:
    """ingest_summary.json: per source counts, status and reason; run totals; GX result ids."""
    run = io.read_json(datasets.INGEST_RUN.at(Path(run_dir)))
    reports = sorted((io.read_json(Path(p)) for p in report_paths), key=lambda r: r["source"])
    sources = {
        r["source"]: {k: v for k, v in r.items() if k not in ("source", "deliveries", "unread")}
        for r in reports
    }
    totals = {
        key: sum(r[key] for r in reports)
        for key in (
            "rows_in",
            "rows_accepted",
            "rows_quarantined",
            "deliveries_processed",
            "deliveries_skipped",
            "deliveries_not_due",
        )
    }
    if totals["rows_in"] != totals["rows_accepted"] + totals["rows_quarantined"]:
        raise AssertionError(f"ingest run {run['run_id']}: rows do not add up: {totals}")
    totals["sources"] = len(reports)
    totals["implausible_values"] = sum(sum(r["implausible_values"].values()) for r in reports)
    totals.update({status: sum(r["status"] == status for r in reports) for status in STATUSES})
    summary = {
        "run_id": run["run_id"],
        "as_of": run["as_of"],
        "totals": totals,
        "validation_result_ids": sorted(i for r in reports for i in r["validation_result_ids"]),
        "unknown_landing_folders": run["unknown_landing_folders"],
        "landing": landing_inventory(reports, run["outside_sources"]),
        "sources": sources,
        "deliveries": {r["source"]: r["deliveries"] for r in reports if r["deliveries"]},
    }
    return str(io.write_json(datasets.INGEST_SUMMARY.at(Path(run_dir)), summary))


@task(name="build-data-docs", cache_policy=NO_CACHE, **TRANSIENT_RETRIES)
def data_docs_task(workdir: str, summary_path: str) -> str:
    """GX Data Docs of this run's validation results, under ingest/<run_id>/data_docs/."""
    summary = io.read_json(Path(summary_path))
    context = gx_context.open_context(str(Settings(workdir=Path(workdir)).workdir))
    site = datasets.INGEST_DATA_DOCS.at(Path(summary_path).parent)
    return str(gx_context.build_data_docs(context, summary["validation_result_ids"], site))


@flow(name="ingest")
@holds_workdir("ingest")
def ingest_flow(
    workdir: str,
    as_of: dt.datetime | dt.date | str | None = None,
    run_id: str | None = None,
    parallel: bool = False,
) -> dict[str, Any]:
    """Ingest every contracted source; returns the paths of the summary and the Data Docs.

    ``as_of``, the ingest time (``timeline.parse_ingest_time``): a date-time (one with an offset
    is converted to UTC, a naive one is UTC), a date (its last second) or their ISO text; default
    now.

    ``parallel``: the sources with new deliveries are submitted to the flow's task runner at
    once (with ``ews ingest --runner dask``, tasks on a Dask cluster: each worker process opens
    the GX context once and keeps it for every source it ingests), instead of one after the
    other. Each source's ingest is the same, so every report, and the row accounting, is too."""
    moment = parse_ingest_time(as_of)
    run = check_run_id(run_id) if run_id else new_run_id(moment)
    run_dir = datasets.INGEST_RUN.directory(Path(workdir), run_id=run)
    plans = discover_task(workdir, moment, run)
    busy = plans["busy"]
    if parallel:
        futures = [ingest_source_task.submit(Path(plan).stem, plan) for plan in busy]
        reports = [future.result() for future in futures]
    else:
        reports = [
            ingest_source_task(Path(plan).stem, plan)
            for plan in track(busy, "ingest sources", total=len(busy))
        ]
    reports += idle_sources_task(plans["idle"])
    summary = summarize_task(str(run_dir), reports)
    docs = data_docs_task(workdir, summary)
    audit.record_run(workdir, "ingest", outputs=[summary, Path(docs).parent])
    return {"ingest_summary": summary, "data_docs": docs}
