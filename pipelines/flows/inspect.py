"""`ews inspect plan` and `ews inspect verify-plan`: the month's "double random" plan.

plan:        inputs as of the month's cut-off -> each department's draw -> case store and
             ``inspection/<month>/<department>/`` (all or nothing) -> site -> audit record.
verify-plan: each published department re-drawn and its inputs re-read -> report, audit record.

A refused plan (bad input, or a different draw over a published one) writes nothing but is still
audit-logged with its reason: who tried to draw what, and why it was refused, stays on record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from models.config import load_config
from pipelines import audit, datasets
from pipelines.inspection.inputs import PlanMonth
from pipelines.inspection.plan import (
    PlanError,
    draw_plans,
    publish_plans,
    published_departments,
)
from pipelines.inspection.verify import verify_department
from pipelines.settings import Settings
from pipelines.site import build_site
from pipelines.workdir_lock import holds_workdir


@task(name="draw-and-publish-plan", cache_policy=NO_CACHE)
def plan_task(
    workdir: str, month: str, department: str | None, seed: int | None, replace: bool
) -> dict[str, Any]:
    settings = Settings(workdir=Path(workdir))
    drawn = draw_plans(settings, PlanMonth.parse(month), department=department, seed=seed)
    return publish_plans(settings, drawn, replace=replace)


@task(name="verify-department-plan", cache_policy=NO_CACHE)
def verify_task(workdir: str, month: str, department: str) -> dict[str, Any]:
    settings = Settings(workdir=Path(workdir))
    return verify_department(settings, PlanMonth.parse(month), department)


@flow(name="inspection-plan")
@holds_workdir("inspection-plan")
def plan_flow(
    workdir: str,
    month: str,
    department: str | None = None,
    seed: int | None = None,
    replace: bool = False,
) -> dict[str, Any]:
    """Draw and publish ``month``'s plan (every department, or one); returns each department's
    folder, workbook, counts and warnings, the seed and the site index."""
    settings = Settings(workdir=Path(workdir))
    parsed = PlanMonth.parse(month)
    asked = {"month": parsed.label, "department": department, "seed": seed, "replace": replace}
    try:
        result = plan_task(workdir, parsed.label, department, seed, replace)
    except PlanError as error:
        audit.record(
            settings, "inspection_plan", details={**asked, "ok": False, "error": str(error)}
        )
        raise
    folders = [d["folder"] for d in result["departments"].values()]
    audit.record(
        settings,
        "inspection_plan",
        inputs=[
            settings.publish / result["tier_snapshot"] / "tiers",
            datasets.LAKE_LEDGER.path(settings.workdir),
        ],
        outputs=folders,
        details={
            **asked,
            "ok": True,
            "seed": result["seed"],
            "departments": {
                k: {key: v[key] for key in ("planned", "deferred", "warnings")}
                for k, v in result["departments"].items()
            },
        },
    )
    result["site"] = str(build_site(settings, load_config()))
    return result


@flow(name="verify-plan")
def verify_plan_flow(workdir: str, month: str, department: str | None = None) -> dict[str, Any]:
    """Re-draw every published department's plan of ``month`` (or one) and compare."""
    settings = Settings(workdir=Path(workdir))
    parsed = PlanMonth.parse(month)
    keys = published_departments(settings, parsed, department)
    if not keys:
        report = {
            "month": parsed.label,
            "ok": False,
            "problems": [
                f"no published plan for {parsed.label}"
                + (f" of department {department}" if department else "")
            ],
            "departments": {},
        }
    else:
        checks = {key: verify_task(workdir, parsed.label, key) for key in keys}
        problems = [p for check in checks.values() for p in check["problems"]]
        report = {
            "month": parsed.label,
            "ok": not problems,
            "problems": problems,
            "departments": checks,
        }
    audit.record(
        settings,
        "verify_plan",
        inputs=[settings.inspection / parsed.label / k for k in keys],
        details={
            "month": parsed.label,
            "department": department,
            "ok": report["ok"],
            "problems": report["problems"][:20],
        },
    )
    return report
