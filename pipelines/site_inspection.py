"""The double-random plan pages of the static site, from ``inspection/<month>/<department>/``.

``inspection/<month>/index.html``: per department, the seed, the tier snapshot, the capacity,
each class's firms, exclusions, rate and draw, the warnings, and the planned firms with their
inspectors (certificate number and masked name), with the department's workbook and manifest to
download; rendered from the published folders only. ``inspection/index.html`` lists the months
and publishes what the plans found (一公开): per month, department and class, the firms planned,
inspected and confirmed at risk, with the confirmed share's 95% interval, from the case store
(``models.inspection_results``; counts only, no firm named).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import polars as pl
from jinja2 import Environment

from data_contracts.departments import load_departments
from data_contracts.feedback import load_feedback
from models.config import TIER_ORDER, IndustryConfig
from models.inspection_results import RESULT_SCHEMA, planned_outcomes, results_by_tier
from pipelines import datasets, io, publish_io
from pipelines.cases import case_store_exists, open_store, plans
from pipelines.cases.inspections import inspections as stored_inspections
from pipelines.inspection.plan import PLAN, ROSTER_FILE, STRATA, WORKBOOK
from pipelines.inspection.workbook import DESIGN, SELECTION
from pipelines.settings import Settings
from pipelines.site_tiers import BASIS_NAMES
from pipelines.tiers import industry_names

FOLDER = "inspection"


def plan_months(inspection_root: Path) -> list[Path]:
    """Month folders with at least one published department, newest first."""
    if not inspection_root.is_dir():
        return []
    months = [
        p
        for p in inspection_root.iterdir()
        if p.is_dir()
        and not p.name.startswith(".")
        and any((d / publish_io.MANIFEST).is_file() for d in p.iterdir() if d.is_dir())
    ]
    return sorted(months, key=lambda p: p.name, reverse=True)


def stored_results(settings: Settings) -> pl.DataFrame:
    """What the plans recorded in the case store found, per month, department and class
    (``models.inspection_results``); empty without a store."""
    if not case_store_exists(settings):
        return pl.DataFrame(schema=RESULT_SCHEMA)
    store = open_store(settings)
    try:
        planned = plans.planned(store)
        reports = stored_inspections(store)
    finally:
        store.dispose()
    if planned.height == 0:
        return pl.DataFrame(schema=RESULT_SCHEMA)
    contract = load_feedback()
    outcomes = planned_outcomes(planned, reports, contract.inspected(), contract.confirming())
    return results_by_tier(outcomes)


def _result_rows(results: pl.DataFrame) -> list[dict[str, Any]]:
    """The results by month (newest first), each department's classes (D first)."""
    names = {key: (d.name.zh, d.name.en) for key, d in load_departments().departments.items()}
    months = []
    for month in sorted(set(results["month"].to_list()), reverse=True):
        rows = results.filter(pl.col("month") == month).sort(
            "department", "tier", descending=[False, True]
        )
        departments = []
        for key in sorted(set(rows["department"].to_list())):
            zh, en = names.get(key, (key, key))
            mine = rows.filter(pl.col("department") == key)
            departments.append(
                {
                    "key": key,
                    "zh": zh,
                    "en": en,
                    "tiers": [
                        {**r, "design_zh": DESIGN.get(r["design"], r["design"])}
                        for r in mine.to_dicts()
                    ],
                }
            )
        months.append({"month": month, "departments": departments})
    return months


def render_plan_pages(
    inspection_root: Path,
    out: Path,
    environment: Environment,
    config: IndustryConfig,
    results: pl.DataFrame | None = None,
) -> list[dict[str, Any]]:
    """Write ``<out>/inspection/``; returns each month's summary for the index. ``results``
    (``stored_results``) are published on the plans' index in aggregate, no firm named."""
    months = plan_months(inspection_root)
    if not months:
        return []
    target = out / FOLDER
    target.mkdir()
    names = {k: v[0] for k, v in industry_names(config).items()}
    summaries = []
    for month_dir in months:
        page_dir = target / month_dir.name
        page_dir.mkdir()
        departments = []
        for folder in sorted(month_dir.iterdir()):
            if not (folder / publish_io.MANIFEST).is_file() or folder.name.startswith("."):
                continue
            departments.append(_department(folder, page_dir, names))
        page = environment.get_template("site_plan.html.j2").render(
            root="../../", month=month_dir.name, departments=departments, tiers=list(TIER_ORDER)
        )
        (page_dir / datasets.INDEX_PAGE).write_text(page, encoding="utf-8")
        summaries.append(
            {
                "month": month_dir.name,
                "href": f"{FOLDER}/{month_dir.name}/index.html",
                "departments": len(departments),
                "planned": sum(d["planned"] for d in departments),
                "warnings": sum(len(d["warnings"]) for d in departments),
            }
        )
    shown = _result_rows(results) if results is not None and results.height else []
    index = environment.get_template("site_plans.html.j2").render(
        root="../", months=summaries, results=shown
    )
    (target / datasets.INDEX_PAGE).write_text(index, encoding="utf-8")
    return summaries


def _department(folder: Path, page_dir: Path, names: dict[str, str]) -> dict[str, Any]:
    manifest = io.read_json(folder / publish_io.MANIFEST)
    key = folder.name
    shutil.copyfile(folder / WORKBOOK, page_dir / f"{key}.xlsx")
    shutil.copyfile(folder / publish_io.MANIFEST, page_dir / f"{key}.manifest.json")
    roster = pl.read_parquet(folder / ROSTER_FILE)
    who = {r["inspector_id"]: f"{r['name']}（{r['inspector_id']}）" for r in roster.to_dicts()}
    plan = pl.read_parquet(folder / PLAN)
    columns = sorted(c for c in plan.columns if c.startswith("inspector_"))
    firms = [
        {
            **row,
            "industry_zh": names.get(row["industry"], row["industry"]),
            "basis_zh": BASIS_NAMES.get(row["basis"], (row["basis"], ""))[0],
            "selection_zh": SELECTION.get(row["selection"], row["selection"]),
            "inspectors": [who.get(row[c], row[c]) for c in columns if row[c]],
        }
        for row in plan.to_dicts()
    ]
    strata = [
        {**row, "design_zh": DESIGN.get(row["design"], row["design"])}
        for row in pl.read_parquet(folder / STRATA).sort("tier", descending=True).to_dicts()
    ]
    return {
        "key": key,
        "zh": manifest["department"]["zh"],
        "en": manifest["department"]["en"],
        "industries": "、".join(names.get(i, i) for i in manifest["industries"]),
        "seed": manifest["seed"],
        "snapshot": manifest["tier_snapshot"],
        "capacity": manifest["capacity"],
        "on_duty": manifest["roster"]["on_duty"],
        "planned": plan.height,
        "deferred": manifest["counts"]["deferred"],
        "excluded": manifest["counts"]["excluded"],
        "warnings": manifest["warnings"],
        "strata": strata,
        "firms": firms,
        "workbook": f"{key}.xlsx",
        "manifest": f"{key}.manifest.json",
    }
