"""Double-random plans in the case store: each firm a department's monthly plan drew.

A planned inspection is received at the plan's cut-off (the first instant of its month in the
park), whenever it is recorded, like a listing at its week's. Recording is idempotent; a plan
published again with a different draw corrects the changed firms and withdraws the ones no longer
in it (the earlier draw stays as history).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from pipelines.cases.history import NOW, AsOf, current
from pipelines.cases.store import CaseStore
from pipelines.cases.tables import INSPECTION_PLAN, PlannedInspection


def planned_values(
    plan: pl.DataFrame, strata: pl.DataFrame, seed: int, snapshot_week: str
) -> list[dict[str, Any]]:
    """The store rows of one department's plan (its ``plan`` and ``strata`` frames)."""
    design = {
        row["tier"]: (row["design"], row["inclusion"]) for row in strata.iter_rows(named=True)
    }
    inspector_columns = sorted(c for c in plan.columns if c.startswith("inspector_"))
    values = []
    for row in plan.iter_rows(named=True):
        how, inclusion = design[row["tier"]]
        values.append(
            {
                "month": row["month"],
                "department": row["department"],
                "uscc": row["uscc"],
                "firm_name": row["name"],
                "industry": row["industry"],
                "tier": row["tier"],
                "basis": row["basis"],
                "probability": row["probability"],
                "selection": row["selection"],
                "design": how,
                "inclusion": float(inclusion),
                "inspectors": ",".join(row[c] for c in inspector_columns if row[c]),
                "seed": str(seed),
                "snapshot_week": snapshot_week,
            }
        )
    return values


def record_plan(
    store: CaseStore,
    *,
    month: str,
    department: str,
    values: list[dict[str, Any]],
    received_at: dt.datetime,
    operator: str,
    source: str,
    source_sha256: str,
) -> dict[str, Any]:
    """Record one department's plan for ``month``; returns the counts and the batch."""
    counts = {"added": 0, "corrected": 0, "unchanged": 0, "withdrawn": 0}
    scope = (PlannedInspection.month == month, PlannedInspection.department == department)
    with store.write(
        INSPECTION_PLAN,
        operator,
        source,
        source_sha256=source_sha256,
        details={"month": month, "department": department},
    ) as change:
        counts |= change.put_many(PlannedInspection, [(v, received_at) for v in values], *scope)
        kept = {v["uscc"] for v in values}
        query = current(PlannedInspection, NOW).where(*scope, PlannedInspection.uscc.not_in(kept))
        for old in change.session.scalars(query).all():
            change.withdraw(old, received_at)
            counts["withdrawn"] += 1
        batch = change.batch.id if change.added else None
    return {"month": month, "department": department, "batch": batch, **counts}


def planned(store: CaseStore, as_of: AsOf = NOW, department: str | None = None) -> pl.DataFrame:
    """Current planned inspections at ``as_of`` (one department's or all), by month and firm."""
    where = [] if department is None else [PlannedInspection.department == department]
    return store.frame(PlannedInspection, as_of, *where).sort("month", "department", "uscc")
