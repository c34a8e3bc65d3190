"""`ews consistency run`: the cross-source consistency checks at one as-of date, as a product.

Every rule of ``data_contracts/consistency`` is evaluated point in time (only what had arrived by
the as-of date) over the whole park or a pilot list of firms. The run writes its folder
(``pipelines/consistency_io.py``: the anomaly list per department as Excel and Parquet, every
examined period, the evidence, a manifest), records the anomalies in the case store (a new one is
dispatched, a persisting one keeps its identity, an open one whose data was corrected at its
source is closed), renders the site's consistency pages and appends one audit record.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from data_contracts.catalog import load_all
from data_contracts.rules import load_rules, load_topics
from features.point_in_time import USCC
from features.rules import examine
from features.rules.evaluate import REVISIT_COLUMNS
from features.rules.evidence import evidence
from features.rules.examined import VIOLATED
from features.rules.render import anomaly_list, describe
from pipelines import audit, io
from pipelines import consistency_io as files
from pipelines.cases import open_store
from pipelines.cases.anomalies import (
    follow_up_table,
    open_anomalies,
    record_follow_up,
    record_run,
    rule_precision,
)
from pipelines.io import lake_sources
from pipelines.publish_io import atomic_directory, ledger_snapshot, write_parquet
from pipelines.settings import Settings
from pipelines.site_consistency import render_consistency_pages
from pipelines.timeline import parse_day
from pipelines.workdir_lock import holds_workdir


@task(name="consistency-run", cache_policy=NO_CACHE)
def run_task(
    workdir: str, as_of: dt.date, firms: list[str] | None, started: dt.datetime
) -> dict[str, Any]:
    """Examine, render, record in the case store and write the run's folder; returns the run's
    summary."""
    settings = Settings(workdir=Path(workdir))
    rules, topics, contracts = load_rules(), load_topics(), load_all()
    sources = lake_sources(settings.lake)
    scope = files.scope_of(firms)
    store = open_store(settings)
    try:
        revisit = open_anomalies(store, topics)
        if firms is not None:
            revisit = revisit.filter(pl.col(USCC).is_in(firms))
        examination = examine(
            rules,
            sources,
            as_of,
            contracts=contracts,
            firms=firms,
            revisit=revisit.select(REVISIT_COLUMNS),
        )
        anomalies = anomaly_list(examination.examined, rules, topics, contracts)
        again = examination.examined.join(
            revisit.select("rule_id", USCC, "period"), on=["rule_id", USCC, "period"]
        ).filter(~pl.col(VIOLATED))
        revisited = describe(again, rules, topics, contracts)
        facts = evidence(anomalies, rules, sources, as_of, contracts=contracts)
        folder = settings.consistency / as_of.isoformat() / scope
        with atomic_directory(folder) as out:
            write_parquet(anomalies, out / files.ANOMALIES)
            write_parquet(examination.examined, out / files.EXAMINED)
            write_parquet(facts, out / files.EVIDENCE)
            stored = record_run(
                store,
                anomalies,
                revisited,
                as_of=as_of,
                rules=rules,
                topics=topics,
                operator=settings.operator,
                source=folder.relative_to(settings.workdir).as_posix(),
                received_at=started,
                details={"scope": scope, "anomalies": anomalies.height},
            )
            follow = follow_up_table(store, topics)
            precision = rule_precision(store, sorted(rules), topics)
            write_parquet(follow, out / files.FOLLOW_UP)
            write_parquet(precision, out / files.PRECISION)
            files.write_store_snapshot(settings.consistency, follow, precision)
            listed = anomalies.join(
                follow.select("anomaly_key", "first_found", "status_zh"),
                on="anomaly_key",
                how="left",
            )
            for department in [d.key for d in topics.departments]:
                files.write_department(out, listed, facts, department, as_of, scope, topics)
            unknown = sorted(set(firms or []) - set(examination.grid[USCC].to_list()))
            summary = {
                "as_of": as_of.isoformat(),
                "scope": scope,
                "firms": examination.grid.height,
                "firms_listed": None if firms is None else len(firms),
                "unknown_firms": unknown,
                "examined": examination.examined.height,
                "anomalies": anomalies.height,
                "firms_with_anomalies": anomalies[USCC].n_unique(),
                "by_topic": files.counts_by(anomalies, "topic"),
                "by_rule": files.counts_by(anomalies, "rule_id"),
                "by_department": files.counts_by(anomalies, "department"),
                "skipped_rules": examination.skipped,
                "case_store": stored,
                "lake": ledger_snapshot(io.ledger_path(settings.lake)),
            }
            files.manifest(out, summary)
    finally:
        store.dispose()
    return {**summary, "folder": str(folder)}


@flow(name="consistency")
@holds_workdir("consistency")
def consistency_flow(
    workdir: str, as_of: str | dt.date | None = None, firms_file: str | None = None
) -> dict[str, Any]:
    """Run every consistency rule at ``as_of`` (default today) over the park or the firms listed
    in ``firms_file``; returns the run's summary with its folder and the site page."""
    clock = time.perf_counter()
    settings = Settings(workdir=Path(workdir))
    day = parse_day(as_of)
    if not io.lake_files(settings.lake, "reg_enterprise_master"):
        raise FileNotFoundError(
            f"no registration master in the lake at {settings.lake}: run `ews ingest` first"
        )
    firms = files.read_firm_list(Path(firms_file)) if firms_file else None
    started = dt.datetime.now(dt.UTC)
    summary = run_task(str(settings.workdir), day, firms, started)
    pages = render_consistency_pages(settings, settings.site)
    folder = Path(summary["folder"])
    audit.record(
        settings,
        "consistency",
        inputs=[io.ledger_path(settings.lake), *([firms_file] if firms_file else [])],
        outputs=[folder],
        details={
            k: summary[k]
            for k in ("as_of", "scope", "firms", "anomalies", "by_topic", "case_store")
        },
    )
    return {
        **summary,
        "manifest": str(folder / files.MANIFEST),
        "site": str(pages[0]) if pages else None,
        "seconds": round(time.perf_counter() - clock, 2),
    }


def _record_reports(
    settings: Settings, reports: list[dict[str, Any]], source: str
) -> dict[str, Any]:
    topics, rules = load_topics(), load_rules()
    parsed = [
        {**r, "decided_on": parse_day(r["decided_on"]) if r.get("decided_on") else None}
        for r in reports
    ]
    store = open_store(settings)
    try:
        counts = record_follow_up(
            store,
            parsed,
            topics=topics,
            operator=settings.operator,
            source=source,
            received_at=dt.datetime.now(dt.UTC),
        )
        follow = follow_up_table(store, topics)
        precision = rule_precision(store, sorted(rules), topics)
    finally:
        store.dispose()
    snapshot = files.write_store_snapshot(settings.consistency, follow, precision)
    render_consistency_pages(settings, settings.site)
    audit.record(
        settings, "consistency", inputs=[source], outputs=snapshot, details={"follow_up": counts}
    )
    closed = precision.filter(pl.col("closed") > 0)
    return {
        **counts,
        "precision": {r["rule_id"]: r["precision"] for r in closed.iter_rows(named=True)},
    }


@flow(name="consistency-follow-up")
@holds_workdir("consistency-follow-up")
def follow_up_flow(workdir: str, reports: list[dict[str, Any]], source: str) -> dict[str, Any]:
    """Record departments' follow-ups (anomaly key, status, date, note) in the case store."""
    return _record_reports(Settings(workdir=Path(workdir)), reports, source)


@flow(name="consistency-returns")
@holds_workdir("consistency-returns")
def returns_flow(workdir: str, workbook: str) -> dict[str, Any]:
    """Record the follow-ups filled in a department's returned anomalies.xlsx."""
    path = Path(workbook)
    reports = files.read_returned_workbook(path, load_topics())
    return {"file": workbook, **_record_reports(Settings(workdir=Path(workdir)), reports, workbook)}
