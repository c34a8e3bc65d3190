"""Drawing, writing and recording a month's double-random plan, one folder per department.

``inspection/<month>/<department>/`` holds everything needed to check the draw without the lake
or the case store: the plan and its strata (Parquet), the deferred mandatory firms, the inputs
the draw used (``inputs/``: the firms excluded as recently inspected or drawn and why, the
inspectors on duty, last time's inspectors, declared conflicts as pairs), the department's
workbook ``plan.xlsx`` (Chinese headers) and ``manifest.json`` (the seed, the tier snapshot with
its SHA-256, the capacity, the cut-off, the case store version, the policy's hash, warnings and
the SHA-256 of every file).

``draw_plans`` gathers the inputs and draws; nothing is written unless every department asked for
can be drawn. ``publish_plans`` then records the plan in the case store and puts each department's
folder in place whole. A plan already published for the month is replaced only on request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from data_contracts.departments import Department, Departments, load_departments
from data_contracts.feedback import load_feedback
from models.config import IndustryConfig, load_config
from models.inspection_plan import (
    DepartmentDraw,
    PlanInputError,
    PlanPolicy,
    draw_department,
    load_plan_policy,
)
from pipelines import audit, file_io, publish_io
from pipelines.cases import open_store
from pipelines.cases.plans import planned_values, record_plan
from pipelines.inspection.inputs import (
    CAPACITY,
    History,
    InputError,
    PlanMonth,
    TierSnapshotRef,
    department_history,
    find_tier_snapshot,
    plan_seed,
    read_capacity,
    read_conflicts,
    read_roster,
    store_version,
)
from pipelines.inspection.workbook import write_plan_workbook
from pipelines.settings import Settings

PLAN = "plan.parquet"
STRATA = "strata.parquet"
DEFERRED = "deferred.parquet"
WORKBOOK = "plan.xlsx"
INPUTS = "inputs"
EXCLUDED = f"{INPUTS}/excluded.parquet"
ROSTER_FILE = f"{INPUTS}/roster.parquet"
LAST = f"{INPUTS}/last_inspectors.parquet"
CONFLICTS = f"{INPUTS}/conflicts.parquet"
# The files that are the draw itself: a plan published again must reproduce them exactly.
DRAW_FILES = (PLAN, STRATA, DEFERRED)
SEED_RULE = (
    "seed = first 8 bytes (big-endian) of SHA-256('ews-double-random|<deployment seed>|<month>') "
    "shifted right by 1, unless given; each key = first 8 bytes (big-endian) of "
    "SHA-256('<seed>|<department>|<name>')"
)


class PlanError(RuntimeError):
    """The month's plan cannot be drawn or published (every problem named); nothing written."""


@dataclass(frozen=True)
class DepartmentInputs:
    department: Department
    capacity: int
    roster: pl.DataFrame  # inspector_id, name (masked), status: the department's roster
    on_duty: list[str]
    history: History
    conflicts: pl.DataFrame  # uscc, inspector_id


@dataclass
class MonthDraw:
    month: PlanMonth
    policy: PlanPolicy
    seed: int
    snapshot: TierSnapshotRef
    store_version: int
    roster_date: dt.date | None
    conflicts_meta: dict[str, Any]
    inputs: dict[str, DepartmentInputs] = field(default_factory=dict)
    draws: dict[str, DepartmentDraw] = field(default_factory=dict)


def policy_hashes() -> dict[str, str]:
    """SHA-256 of the shipped files that decide a plan besides its inputs."""
    files = {
        "models/inspection.yaml": resources.files("models") / "inspection.yaml",
        "data_contracts/departments.yaml": resources.files("data_contracts") / "departments.yaml",
    }
    return {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in files.items()}


def selected_departments(departments: Departments, only: str | None) -> list[Department]:
    if only is None:
        return list(departments.departments.values())
    if only not in departments.departments:
        raise PlanError(
            f"unknown department {only!r}; data_contracts/departments.yaml has "
            f"{list(departments.departments)}"
        )
    return [departments.departments[only]]


def draw_plans(
    settings: Settings,
    month: PlanMonth,
    *,
    department: str | None = None,
    seed: int | None = None,
    policy: PlanPolicy | None = None,
    config: IndustryConfig | None = None,
    departments: Departments | None = None,
) -> MonthDraw:
    """Gather every input as of the month's cut-off and draw each department asked for.

    Raises ``PlanError`` naming every department that cannot be drawn (and why)."""
    policy = policy or load_plan_policy()
    config = config or load_config()
    departments = departments or load_departments()
    chosen = selected_departments(departments, department)
    try:
        snapshot = find_tier_snapshot(settings.publish, month, policy.snapshot_max_age_days)
        roster = read_roster(settings.lake, month.as_of, departments)
        capacity = read_capacity(settings.lake, month, departments)
        conflicts, conflicts_meta = read_conflicts(settings.conflicts_file)
    except InputError as error:
        raise PlanError(f"plan {month}: {error}") from error
    seed = plan_seed(settings.seed, month) if seed is None else seed
    store = open_store(settings)
    try:
        version = store_version(store, month)
        histories = {
            d.key: department_history(
                store, version, month, d.key, policy, load_feedback(), config, departments
            )
            for d in chosen
        }
    finally:
        store.dispose()
    drawn = MonthDraw(
        month,
        policy,
        seed,
        snapshot,
        version,
        roster["snapshot_date"].max() if roster.height else None,
        conflicts_meta,
    )
    firms = snapshot.firms()
    problems = []
    for dept in chosen:
        if dept.key not in capacity:
            problems.append(
                f"department {dept.key} ({dept.name.zh}): no capacity declared for {month} in "
                f"source {CAPACITY} by {month.as_of}"
            )
            continue
        staff = roster.filter(pl.col("department") == dept.key).select(
            "inspector_id", "name", "status"
        )
        on_duty = staff.filter(pl.col("status").is_in(policy.on_duty))["inspector_id"].to_list()
        inputs = DepartmentInputs(
            dept,
            capacity[dept.key],
            staff,
            on_duty,
            histories[dept.key],
            conflicts.select("uscc", "inspector_id"),
        )
        try:
            drawn.draws[dept.key] = draw_department(
                firms,
                department=dept.key,
                industries=dept.industries,
                month=month.label,
                capacity=inputs.capacity,
                roster=on_duty,
                recent=inputs.history.recent["uscc"].to_list(),
                last_inspectors=inputs.history.last_inspectors,
                conflicts=inputs.conflicts,
                policy=policy,
                seed=seed,
            )
        except PlanInputError as error:
            problems.append(f"department {dept.key} ({dept.name.zh}): {error}")
            continue
        drawn.inputs[dept.key] = inputs
    if problems:
        raise PlanError(f"plan {month}: nothing was written: " + "; ".join(problems))
    return drawn


def write_department(folder: Path, drawn: MonthDraw, key: str, settings: Settings) -> Path:
    """Every file of one department's plan into ``folder`` (staged); returns its manifest."""
    draw, inputs = drawn.draws[key], drawn.inputs[key]
    (folder / INPUTS).mkdir()
    publish_io.write_parquet(draw.plan, folder / PLAN)
    publish_io.write_parquet(draw.strata, folder / STRATA)
    publish_io.write_parquet(draw.deferred, folder / DEFERRED)
    publish_io.write_parquet(inputs.history.recent.sort("uscc"), folder / EXCLUDED)
    publish_io.write_parquet(inputs.roster.sort("inspector_id"), folder / ROSTER_FILE)
    publish_io.write_parquet(inputs.history.last_inspectors, folder / LAST)
    publish_io.write_parquet(inputs.conflicts.sort("uscc", "inspector_id"), folder / CONFLICTS)
    write_plan_workbook(
        folder / WORKBOOK,
        drawn_summary(drawn, key),
        draw,
        inputs.roster,
        drawn.policy.exclude_inspected_months,
    )
    manifest = {
        **drawn_summary(drawn, key),
        "case_store": {"version": drawn.store_version},
        "conflicts": drawn.conflicts_meta,
        "policy_sha256": policy_hashes(),
        "code_version": audit.code_version(),
        "files": publish_io.file_hashes(folder),
    }
    return file_io.write_json(folder / publish_io.MANIFEST, manifest)


def drawn_summary(drawn: MonthDraw, key: str) -> dict[str, Any]:
    """What the plan's manifest, workbook and page say about one department's draw."""
    draw, inputs = drawn.draws[key], drawn.inputs[key]
    snapshot = drawn.snapshot
    return {
        "month": drawn.month.label,
        "department": {
            "key": key,
            "zh": inputs.department.name.zh,
            "en": inputs.department.name.en,
        },
        "industries": list(inputs.department.industries),
        "seed": str(drawn.seed),
        "seed_rule": SEED_RULE,
        "as_of": drawn.month.as_of.isoformat(),
        "cutoff": drawn.month.cutoff.isoformat(),
        "tier_snapshot": {
            "week": snapshot.week,
            "as_of": snapshot.as_of.isoformat(),
            "path": f"publish/{snapshot.week}/tiers/tiers.parquet",
            "sha256": snapshot.sha256,
        },
        "capacity": inputs.capacity,
        "roster": {
            "snapshot_date": None if drawn.roster_date is None else drawn.roster_date.isoformat(),
            "inspectors": inputs.roster.height,
            "on_duty": len(inputs.on_duty),
        },
        "counts": {
            "planned": draw.plan.height,
            "deferred": draw.deferred.height,
            "excluded": inputs.history.recent.height,
            "by_tier": {row["tier"]: row["drawn"] for row in draw.strata.iter_rows(named=True)},
        },
        "warnings": [w.as_dict() for w in draw.warnings],
    }


def _draw_hashes(folder: Path) -> dict[str, str]:
    return {
        name: file_io.file_sha256(folder / name) for name in DRAW_FILES if (folder / name).is_file()
    }


def publish_plans(settings: Settings, drawn: MonthDraw, *, replace: bool = False) -> dict[str, Any]:
    """Record each department's plan in the case store and put its folder in place.

    A department whose plan is already published with a different draw is refused (naming it)
    unless ``replace``; then nothing at all is written."""
    root = settings.inspection / drawn.month.label
    staged: dict[str, Path] = {}
    results: dict[str, Any] = {}
    try:
        conflicting = []
        for key in drawn.draws:
            target = root / key
            staged[key] = publish_io.begin(target)
            write_department(staged[key], drawn, key, settings)
            if (target / publish_io.MANIFEST).is_file():
                before, now = _draw_hashes(target), _draw_hashes(staged[key])
                if before != now and not replace:
                    conflicting.append(key)
        if conflicting:
            raise PlanError(
                f"plan {drawn.month}: already published for {', '.join(conflicting)} with a "
                "different draw (another seed, tier snapshot or inputs); nothing was written. "
                "Pass --replace to publish this draw instead (the earlier one stays in the audit "
                "log and in the case store's history)"
            )
        store = open_store(settings)
        try:
            for key, folder in staged.items():
                draw = drawn.draws[key]
                values = planned_values(draw.plan, draw.strata, drawn.seed, drawn.snapshot.week)
                results[key] = record_plan(
                    store,
                    month=drawn.month.label,
                    department=key,
                    values=values,
                    received_at=drawn.month.cutoff,
                    operator=settings.operator,
                    source=f"inspection/{drawn.month.label}/{key}/{PLAN}",
                    source_sha256=file_io.file_sha256(folder / PLAN),
                )
        finally:
            store.dispose()
    except BaseException:
        for folder in staged.values():
            publish_io.abandon(folder)
        raise
    for key, folder in staged.items():
        publish_io.commit(folder, root / key)
    return {
        "month": drawn.month.label,
        "seed": str(drawn.seed),
        "tier_snapshot": drawn.snapshot.week,
        "departments": {
            key: {
                "folder": str(root / key),
                "workbook": str(root / key / WORKBOOK),
                "planned": drawn.draws[key].plan.height,
                "deferred": drawn.draws[key].deferred.height,
                "warnings": [w.code for w in drawn.draws[key].warnings],
                "case_store": results[key],
            }
            for key in drawn.draws
        },
    }


def published_departments(
    settings: Settings, month: PlanMonth, only: str | None = None
) -> list[str]:
    """The departments with a published plan for ``month`` (one, when named)."""
    root = settings.inspection / month.label
    if not root.is_dir():
        return []
    found = sorted(
        p.name
        for p in root.iterdir()
        if (p / publish_io.MANIFEST).is_file() and not p.name.startswith(".")
    )
    return [k for k in found if only is None or k == only]


def plan_frames(
    settings: Settings, month: PlanMonth, keys: Sequence[str]
) -> dict[str, pl.DataFrame]:
    """Each published department's plan frame (for summaries and the site)."""
    root = settings.inspection / month.label
    return {key: pl.read_parquet(root / key / PLAN) for key in keys}
