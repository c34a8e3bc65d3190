"""Re-drawing a published plan and comparing ("一公开": anyone can check the draw).

For one ``inspection/<month>/<department>/`` folder:

1. every file against the SHA-256 its manifest records;
2. the tier snapshot the plan names is the published one (its SHA-256);
3. the draw repeated from the published seed, the snapshot and the folder's own inputs, with
   the same rules (the policy files' hashes must match), gives the same plan, strata and
   deferred firms byte for byte;
4. the inputs re-read from the lake and the case store as of the plan's cut-off (and the
   conflicts file) are the ones the folder holds, and the capacity is the one declared.

Checks 1-3 need nothing but the published files; check 4 needs the workdir's lake and store.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import polars as pl

from data_contracts.departments import Departments, load_departments
from data_contracts.feedback import load_feedback
from models.config import IndustryConfig, load_config
from models.inspection_plan import PlanPolicy, draw_department, load_plan_policy
from pipelines import file_io, io, publish_io
from pipelines.cases import open_store
from pipelines.inspection.inputs import (
    InputError,
    PlanMonth,
    department_history,
    read_capacity,
    read_conflicts,
    read_roster,
)
from pipelines.inspection.plan import (
    CONFLICTS,
    DEFERRED,
    EXCLUDED,
    LAST,
    PLAN,
    ROSTER_FILE,
    STRATA,
    policy_hashes,
)
from pipelines.settings import Settings


def verify_department(
    settings: Settings,
    month: PlanMonth,
    key: str,
    *,
    policy: PlanPolicy | None = None,
    config: IndustryConfig | None = None,
    departments: Departments | None = None,
) -> dict[str, Any]:
    """The checks of one department's published plan; ``ok`` is True when nothing differs."""
    policy = policy or load_plan_policy()
    config = config or load_config()
    departments = departments or load_departments()
    folder = settings.inspection / month.label / key
    problems: list[str] = []
    manifest = io.read_json(folder / publish_io.MANIFEST)
    where = f"inspection/{month.label}/{key}"
    recorded = manifest.get("files", {})
    actual = {n: d for n, d in publish_io.file_hashes(folder).items() if n != publish_io.MANIFEST}
    for name in sorted({*recorded, *actual}):
        if name not in actual:
            problems.append(f"{where}/{name}: missing (the manifest records {recorded[name]})")
        elif name not in recorded:
            problems.append(f"{where}/{name}: not in the manifest (sha256 {actual[name]})")
        elif recorded[name] != actual[name]:
            problems.append(
                f"{where}/{name}: sha256 {actual[name]}, the manifest records {recorded[name]}"
            )
    snapshot = manifest["tier_snapshot"]
    snapshot_path = settings.workdir / snapshot["path"]
    if not snapshot_path.is_file():
        problems.append(f"{snapshot['path']}: the tier snapshot the plan used is missing")
        return {"department": key, "ok": False, "problems": problems}
    if file_io.file_sha256(snapshot_path) != snapshot["sha256"]:
        problems.append(
            f"{snapshot['path']}: sha256 {file_io.file_sha256(snapshot_path)}, the plan used "
            f"{snapshot['sha256']}"
        )
    if manifest.get("policy_sha256") != policy_hashes():
        then, now = manifest.get("policy_sha256"), policy_hashes()
        problems.append(
            f"{where}: the plan was drawn under other rules (policy files {then}, now {now}): "
            "it cannot be re-drawn with the same rules"
        )
        return {"department": key, "ok": False, "problems": problems}
    problems += _redraw(folder, manifest, snapshot_path, policy, departments, key, where)
    problems += _inputs_again(
        settings, month, folder, manifest, policy, config, departments, key, where
    )
    return {"department": key, "ok": not problems, "problems": problems}


def _redraw(
    folder: Path,
    manifest: dict[str, Any],
    snapshot_path: Path,
    policy: PlanPolicy,
    departments: Departments,
    key: str,
    where: str,
) -> list[str]:
    department = departments.departments[key]
    roster = pl.read_parquet(folder / ROSTER_FILE)
    on_duty = roster.filter(pl.col("status").is_in(policy.on_duty))["inspector_id"].to_list()
    draw = draw_department(
        pl.read_parquet(snapshot_path),
        department=key,
        industries=department.industries,
        month=manifest["month"],
        capacity=int(manifest["capacity"]),
        roster=on_duty,
        recent=pl.read_parquet(folder / EXCLUDED)["uscc"].to_list(),
        last_inspectors=pl.read_parquet(folder / LAST),
        conflicts=pl.read_parquet(folder / CONFLICTS),
        policy=policy,
        seed=int(manifest["seed"]),
    )
    problems = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, frame in ((PLAN, draw.plan), (STRATA, draw.strata), (DEFERRED, draw.deferred)):
            again = file_io.file_sha256(publish_io.write_parquet(frame, Path(scratch) / name))
            recorded = manifest["files"].get(name)
            if again != recorded:
                problems.append(
                    f"{where}/{name}: the re-draw from seed {manifest['seed']} gives sha256 "
                    f"{again}, the plan records {recorded}"
                )
    return problems


def _inputs_again(
    settings: Settings,
    month: PlanMonth,
    folder: Path,
    manifest: dict[str, Any],
    policy: PlanPolicy,
    config: IndustryConfig,
    departments: Departments,
    key: str,
    where: str,
) -> list[str]:
    problems = []
    try:
        roster = read_roster(settings.lake, month.as_of, departments)
        capacity = read_capacity(settings.lake, month, departments)
        conflicts, _ = read_conflicts(settings.conflicts_file)
    except InputError as error:
        return [f"{where}: the inputs cannot be read again: {error}"]
    if capacity.get(key) != int(manifest["capacity"]):
        problems.append(
            f"{where}: the lake declares capacity {capacity.get(key)} for {month}, the plan "
            f"used {manifest['capacity']}"
        )
    store = open_store(settings)
    try:
        history = department_history(
            store,
            int(manifest["case_store"]["version"]),
            month,
            key,
            policy,
            load_feedback(),
            config,
            departments,
        )
    finally:
        store.dispose()
    again = {
        ROSTER_FILE: roster.filter(pl.col("department") == key)
        .select("inspector_id", "name", "status")
        .sort("inspector_id"),
        EXCLUDED: history.recent.sort("uscc"),
        LAST: history.last_inspectors,
        CONFLICTS: conflicts.select("uscc", "inspector_id").sort("uscc", "inspector_id"),
    }
    for name, frame in again.items():
        published = pl.read_parquet(folder / name)
        if not frame.equals(published):
            problems.append(
                f"{where}/{name}: re-read from the lake, the case store (version "
                f"{manifest['case_store']['version']}) and the conflicts file as of "
                f"{manifest['cutoff']}, it has {frame.height} rows; the plan used "
                f"{published.height} different ones"
            )
    return problems
