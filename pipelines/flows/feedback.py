"""`ews feedback import|sync|report`: inspection outcomes into the case store, and the lists'
accuracy out of it.

import: a returned risk_list.xlsx -> checked against the contract (pipelines.feedback.workbook)
        -> the week's listing made sure of -> one store write -> an archived copy -> audit record.
        A refused file changes nothing and is audit-logged with its problems.
sync:   the department inspection sources in the lake -> the store (pipelines.feedback.sources).
report: accuracy per industry and week and rolling, from the store now -> feedback/accuracy.json.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

from prefect import flow

from data_contracts.feedback import load_feedback
from models.config import load_industries
from pipelines import audit, datasets, file_io
from pipelines.cases import NOW, open_store
from pipelines.cases.inspections import Report, record_reports
from pipelines.cases.listings import record_publication
from pipelines.cases.store import healthcheck
from pipelines.cases.tables import WORKBOOK, Inspection
from pipelines.feedback.report import store_accuracy
from pipelines.feedback.sources import sync_department_sources
from pipelines.feedback.workbook import ReturnedList, WorkbookRejected, read_returned
from pipelines.settings import Settings
from pipelines.timeline import Week, park_today, parse_day, parse_park_moment, parse_week
from pipelines.workdir_lock import holds_workdir

ACCURACY_FILE = datasets.FEEDBACK_ACCURACY.name
CHANNEL = "workbook"


def workbook_reports(returned: ReturnedList, received_at: dt.datetime) -> list[Report]:
    return [
        Report(
            report_key=f"{CHANNEL}/{returned.week}/{returned.industry}/{row.uscc}",
            channel=CHANNEL,
            uscc=row.uscc,
            industry=returned.industry,
            week=returned.week,
            inspection_date=row.inspection_date,
            method=row.method,
            outcome=row.outcome,
            note=row.note,
            origin=f"风险名单!R{row.row}",
            received_at=received_at,
        )
        for row in returned.rows
    ]


@flow(name="feedback-import")
@holds_workdir("feedback-import")
def import_workbook_flow(
    workdir: str,
    path: str,
    week: Week | str | None = None,
    industry: str | None = None,
    received_at: dt.datetime | str | None = None,
) -> dict[str, Any]:
    """Record a returned weekly workbook; raises ``WorkbookRejected`` (nothing recorded).
    ``week``: refuse the file unless it is this week's; ``received_at``: when it reached the
    platform (default now; a time without a zone is the park's)."""
    settings = Settings(workdir=Path(workdir))
    file = Path(path).expanduser().resolve()
    expected_week = None if week is None else parse_week(week).label
    received = parse_park_moment(received_at, "received_at")
    contract = load_feedback()
    sha256 = file_io.file_sha256(file) if file.is_file() else None
    try:
        if sha256 is None:
            raise FileNotFoundError(f"{file}: no such file")
        returned = read_returned(
            file,
            contract=contract,
            specs=load_industries(),
            publish_root=settings.publish,
            today=park_today(received),
            expected_week=expected_week,
            expected_industry=industry,
        )
    except (WorkbookRejected, FileNotFoundError) as error:
        problems = [str(p) for p in getattr(error, "problems", [])] or [str(error)]
        audit.record(
            settings,
            "feedback",
            inputs=[file],
            details={"action": "import", "status": "refused", "problems": problems},
        )
        raise
    store = open_store(settings)
    try:
        folder = settings.publish / returned.week / returned.industry
        shown = folder.relative_to(settings.workdir).as_posix()
        record_publication(store, folder, settings.operator, f"{shown}/manifest.json")
        with store.write(
            WORKBOOK,
            settings.operator,
            file.name,
            source_sha256=sha256,
            details={"week": returned.week, "industry": returned.industry},
        ) as change:
            counts = record_reports(
                change,
                workbook_reports(returned, received),
                Inspection.channel == CHANNEL,
                Inspection.week == returned.week,
                Inspection.industry == returned.industry,
            )
            batch = change.batch.id if change.added else None
    finally:
        store.dispose()
    archived = settings.feedback / datasets.RETURNED / returned.week / returned.industry
    archived.mkdir(parents=True, exist_ok=True)
    copy = archived / f"{sha256[:16]}.xlsx"
    if not copy.exists():
        shutil.copyfile(file, copy)
    summary = {
        "file": str(file),
        "sha256": sha256,
        "week": returned.week,
        "industry": returned.industry,
        "regulator": returned.regulator,
        "firms": returned.firms,
        "reported": len(returned.rows),
        "received_at": received.isoformat(),
        "status": "recorded" if batch else "unchanged",
        "batch": batch,
        "archived": str(copy),
        **counts,
    }
    audit.record(
        settings,
        "feedback",
        inputs=[file],
        outputs=[copy],
        details={"action": "import", **{k: v for k, v in summary.items() if k != "file"}},
    )
    return summary


@flow(name="feedback-sync")
@holds_workdir("feedback-sync")
def sync_sources_flow(workdir: str) -> dict[str, Any]:
    """Record the department inspection sources' new or changed rows."""
    settings = Settings(workdir=Path(workdir))
    store = open_store(settings)
    try:
        counts = sync_department_sources(
            store, settings.lake, load_feedback(), load_industries(), settings.operator
        )
    finally:
        store.dispose()
    audit.record(settings, "feedback", details={"action": "sync", "sources": counts})
    return counts


@flow(name="feedback-report")
@holds_workdir("feedback-report")
def report_flow(workdir: str, at: dt.date | str | None = None) -> dict[str, Any]:
    """The lists' accuracy from the store now (inspections dated up to ``at``, a date or
    ``YYYY-MM-DD``; default the park's today), written to ``feedback/accuracy.json``."""
    settings = Settings(workdir=Path(workdir))
    day = parse_day(at, "at")
    store = open_store(settings)
    try:
        report = store_accuracy(
            store, load_feedback(), as_of=NOW, at=day, industries=list(load_industries())
        )
        report["case_store"] = healthcheck(store)
    finally:
        store.dispose()
    settings.feedback.mkdir(parents=True, exist_ok=True)
    path = file_io.write_json(settings.feedback / ACCURACY_FILE, report)
    audit.record(settings, "feedback", outputs=[path], details={"action": "report", "at": str(day)})
    return {"report": str(path), **report}
