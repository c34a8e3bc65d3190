"""The auditors' page of objections and overrides: ``site/objections/index.html``.

Every objection's current state (deadlines, overdue flags as of the day the site is built,
reviewer, decision and its reason) and every override (in force or lapsed, revoked), from the
case store. Text from firms and analysts is escaped by the templates.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from jinja2 import Environment

from models.objections import ACTION_ZH, STATUS_ZH, SUBJECT_ZH, in_force
from pipelines import datasets
from pipelines.cases import case_store_exists, open_store
from pipelines.cases import objections as store_ops
from pipelines.settings import Settings
from pipelines.timeline import PARK_TZ

FOLDER = "objections"


def _cases(settings: Settings, today: dt.date) -> tuple[list[dict], list[dict]]:
    if not case_store_exists(settings):
        return [], []
    store = open_store(settings)
    try:
        objections = store_ops.objections(store, at=today)
        overrides = store_ops.overrides(store).with_columns(in_force=in_force(today))
    finally:
        store.dispose()
    cases = [
        {
            **row,
            "status_zh": STATUS_ZH[row["status"]],
            "subject_zh": SUBJECT_ZH[row["subject"]],
        }
        for row in objections.to_dicts()
    ]
    pins = [{**row, "action_zh": ACTION_ZH[row["action"]]} for row in overrides.to_dicts()]
    return cases, pins


def render_objections_page(
    settings: Settings, site_dir: Path, environment: Environment, today: dt.date | None = None
) -> dict[str, Any]:
    """Write the page; returns the index's summary (counts, overdue)."""
    day = today or dt.datetime.now(PARK_TZ).date()
    cases, pins = _cases(settings, day)
    summary = {
        "href": f"{FOLDER}/index.html",
        "objections": len(cases),
        "open": sum(c["status"] in ("received", "under_review") for c in cases),
        "overdue": sum(c["acknowledgement_overdue"] or c["decision_overdue"] for c in cases),
        "upheld": sum(c["status"] in ("upheld", "partly_upheld") for c in cases),
        "overrides_in_force": sum(p["in_force"] for p in pins),
    }
    target = Path(site_dir) / FOLDER
    target.mkdir(parents=True, exist_ok=True)
    page = environment.get_template("site_objections.html.j2").render(
        root="../", today=day.isoformat(), cases=cases, pins=pins, summary=summary
    )
    (target / datasets.INDEX_PAGE).write_text(page, encoding="utf-8")
    return summary
