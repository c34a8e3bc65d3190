"""What a month's double-random plan is drawn from, read as it stood at the plan's cut-off.

The plan for month M is drawn from what was known at the end of the day before M (its as-of
date; the cut-off is M's first instant in the park), whenever it is actually run, so a plan
drawn again later, or by someone else, sees the same inputs:

* the tier snapshot: the newest published ``publish/<week>/tiers/`` whose as-of date is on or
  before the plan's, and no older than the policy allows;
* the inspector roster: the newest roster snapshot usable at the as-of date (arrived by then);
* each department's capacity: its newest declaration for M usable at the as-of date;
* recent inspections: the case store as of the cut-off (its version then): what the department
  reported inspecting, and the firms its earlier plans drew, in the N months before M, and who
  inspected each firm last time;
* declared conflicts of interest: the conflicts file (``Settings.inspection_conflicts``).

Every problem is an ``InputError`` naming the source, the file or the department.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from data_contracts import catalog
from data_contracts.departments import Departments
from data_contracts.feedback import FeedbackContract
from data_contracts.schema import USCC_PATTERN
from features.point_in_time import EVENT_DATE, USCC, valid_at, versions
from features.point_in_time import Timing as SourceTiming
from models.config import IndustryConfig
from models.inspection_plan import FIRM_COLUMNS, PlanPolicy
from pipelines import file_io, io, publish_io
from pipelines.cases.history import AsOf
from pipelines.cases.inspections import inspections
from pipelines.cases.plans import planned
from pipelines.cases.store import CaseStore
from pipelines.masking import mask_name
from pipelines.tiers import FOLDER as TIERS_FOLDER
from pipelines.tiers import TIERS_FILE
from pipelines.timeline import PARK_TZ, is_week_label, stored_day

ROSTER = "inspection_inspector_roster"
CAPACITY = "inspection_monthly_capacity"
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
PLAN_CHANNEL = "plan_workbook"  # inspections reported on a returned plan workbook
PAIR_SCHEMA = {"uscc": pl.String, "inspector_id": pl.String}


class InputError(ValueError):
    """A plan input that is missing or cannot be used (names what and where)."""


@dataclass(frozen=True, order=True)
class PlanMonth:
    """A calendar month of plans: ``2026-12``."""

    first_day: dt.date

    @classmethod
    def parse(cls, text: str) -> PlanMonth:
        match = MONTH.match(str(text).strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise InputError(f"month {text!r} is not a month like 2026-12")
        return cls(dt.date(int(match.group(1)), int(match.group(2)), 1))

    @classmethod
    def following(cls, day: dt.date) -> PlanMonth:
        """The first month starting on or after ``day``."""
        if day.day == 1:
            return cls(day)
        return cls(day.replace(day=1)).shift(1)

    @property
    def label(self) -> str:
        return f"{self.first_day.year:04d}-{self.first_day.month:02d}"

    @property
    def as_of(self) -> dt.date:
        """The last day whose data the plan may use."""
        return self.first_day - dt.timedelta(days=1)

    @property
    def cutoff(self) -> dt.datetime:
        """The plan's first instant in the park: what the store may know."""
        return dt.datetime.combine(self.first_day, dt.time(), tzinfo=PARK_TZ)

    @property
    def last_day(self) -> dt.date:
        return self.shift(1).first_day - dt.timedelta(days=1)

    def shift(self, months: int) -> PlanMonth:
        index = self.first_day.year * 12 + self.first_day.month - 1 + months
        return PlanMonth(dt.date(index // 12, index % 12 + 1, 1))

    def __str__(self) -> str:
        return self.label


def plan_seed(base_seed: int, month: PlanMonth) -> int:
    """The month's seed when none is given: from the deployment's seed and the month, so it is
    fixed before any snapshot exists (first 63 bits of a SHA-256)."""
    digest = hashlib.sha256(f"ews-double-random|{base_seed}|{month.label}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


# ---------------------------------------------------------------- the tier snapshot


@dataclass(frozen=True)
class TierSnapshotRef:
    week: str
    as_of: dt.date
    path: Path  # tiers.parquet
    sha256: str

    def firms(self) -> pl.DataFrame:
        return pl.read_parquet(self.path, columns=list(FIRM_COLUMNS))


def find_tier_snapshot(publish_root: Path, month: PlanMonth, max_age_days: int) -> TierSnapshotRef:
    """The newest tier snapshot whose as-of date is on or before the plan's."""
    found = []
    if publish_root.is_dir():
        for week_dir in publish_root.iterdir():
            manifest = week_dir / TIERS_FOLDER / publish_io.MANIFEST
            if is_week_label(week_dir.name) and manifest.is_file():
                as_of = stored_day(io.read_json(manifest)["as_of"], f"{manifest} as_of")
                found.append((as_of, week_dir.name))
    usable = sorted(f for f in found if f[0] <= month.as_of)
    if not usable:
        newest = max(found)[1] if found else "none"
        raise InputError(
            f"no tier snapshot for {month}: none published with data as of {month.as_of} or "
            f"earlier under {publish_root} (newest: {newest}); publish a week first"
        )
    as_of, week = usable[-1]
    if (month.as_of - as_of).days > max_age_days:
        raise InputError(
            f"no tier snapshot for {month}: the newest usable one ({week}, as of {as_of}) is "
            f"{(month.as_of - as_of).days} days older than the plan's data ({month.as_of}); "
            f"the policy allows {max_age_days}"
        )
    path = publish_root / week / TIERS_FOLDER / TIERS_FILE
    manifest = io.read_json(publish_root / week / TIERS_FOLDER / publish_io.MANIFEST)
    recorded = manifest.get("files", {}).get(TIERS_FILE)
    actual = file_io.file_sha256(path)
    if recorded != actual:
        raise InputError(
            f"tier snapshot {path}: sha256 {actual} is not the {recorded} its manifest records"
        )
    return TierSnapshotRef(week, as_of, path, actual)


# ---------------------------------------------------------------- lake sources


def _usable(lake: Path, source_id: str, columns: list[str], as_of: dt.date) -> pl.DataFrame:
    """The versions of a source's rows that win their key at ``as_of`` (point in time)."""
    if not io.lake_files(lake, source_id):
        raise InputError(f"source {source_id} has no data in the lake at {lake}")
    contract = catalog.get(source_id)
    frame = io.scan_source(lake, source_id)
    return (
        versions(frame, SourceTiming.of(contract), columns)
        .filter(valid_at(pl.lit(as_of)))
        .collect()
    )


def read_roster(lake: Path, as_of: dt.date, departments: Departments) -> pl.DataFrame:
    """inspector_id, name (masked: 张**), department (key), status, snapshot_date: the newest
    roster snapshot usable at ``as_of``."""
    # The entity key (the inspector's id) comes back in the ``uscc`` column of versions.
    rows = _usable(lake, ROSTER, ["inspector_name", "department", "status"], as_of)
    if rows.height == 0:
        raise InputError(f"source {ROSTER}: no roster snapshot had arrived by {as_of}")
    newest = rows[EVENT_DATE].max()
    keys = {d.name.zh: d.key for d in departments.departments.values()}
    return (
        rows.filter(pl.col(EVENT_DATE) == newest)
        .select(
            pl.col(USCC).alias("inspector_id"),
            pl.col("inspector_name").map_elements(mask_name, return_dtype=pl.String).alias("name"),
            pl.col("department").replace_strict(keys, default=None),
            "status",
            pl.col(EVENT_DATE).alias("snapshot_date"),
        )
        .filter(pl.col("department").is_not_null())
        .sort("department", "inspector_id")
    )


def read_capacity(lake: Path, month: PlanMonth, departments: Departments) -> dict[str, int]:
    """Each department's declared capacity for the month, as declared by the as-of date."""
    # The entity key (the department's name) comes back in the ``uscc`` column of versions.
    rows = _usable(lake, CAPACITY, ["period", "capacity"], month.as_of)
    keys = {d.name.zh: d.key for d in departments.departments.values()}
    declared = rows.filter(pl.col("period") == month.first_day).sort(EVENT_DATE)
    return {
        keys[name]: int(capacity)
        for name, capacity in declared.select(USCC, "capacity").iter_rows()
        if name in keys
    }


# ---------------------------------------------------------------- the case store


def department_of_channel(
    channel: str, report_key: str, industry: str, config: IndustryConfig, departments: Departments
) -> str | None:
    """Which department an inspection report speaks for: a plan workbook's own department,
    the department of a lake source, or the regulator of a returned list's industry."""
    names = {d.name.zh: d.key for d in departments.departments.values()}
    if channel == PLAN_CHANNEL:
        parts = report_key.split("/")
        return parts[2] if len(parts) >= 4 else None
    if channel == "workbook":
        spec = config.industries.get(industry)
        return names.get(spec.regulator.zh) if spec else None
    contracts = catalog.load_all()
    return names.get(contracts[channel].department.zh) if channel in contracts else None


@dataclass(frozen=True)
class History:
    """What the store says about a department's recent work, as of a plan's cut-off."""

    recent: pl.DataFrame  # uscc, why (inspected / drawn), date: excluded from the draw
    last_inspectors: pl.DataFrame  # uscc, inspector_id: who inspected each firm last time


def store_version(store: CaseStore, month: PlanMonth) -> int:
    return store.version(before=month.cutoff)


def department_history(
    store: CaseStore,
    version: int,
    month: PlanMonth,
    department: str,
    policy: PlanPolicy,
    feedback: FeedbackContract,
    config: IndustryConfig,
    departments: Departments,
) -> History:
    """The firms the department inspected or drew in the N months before ``month`` and who
    inspected each firm last (from its plans), as the store stood at the cut-off."""
    as_of = AsOf(version=version, before=month.cutoff)
    since = month.shift(-policy.exclude_inspected_months)
    reports = inspections(store, as_of)
    if reports.height:
        reports = reports.filter(
            pl.col("outcome").is_in(feedback.inspected())
            & pl.col("inspection_date").is_between(since.first_day, month.as_of)
        )
        mine = [
            department_of_channel(r["channel"], r["report_key"], r["industry"], config, departments)
            == department
            for r in reports.select("channel", "report_key", "industry").iter_rows(named=True)
        ]
        reports = reports.filter(pl.Series(mine, dtype=pl.Boolean))
    inspected = (
        reports.select("uscc", why=pl.lit("inspected"), date=pl.col("inspection_date"))
        if reports.height
        else pl.DataFrame(schema={"uscc": pl.String, "why": pl.String, "date": pl.Date})
    )
    plans = planned(store, as_of, department)
    earlier = plans.filter((pl.col("month") >= since.label) & (pl.col("month") < month.label))
    drawn = earlier.select(
        "uscc",
        why=pl.lit("drawn"),
        date=pl.col("month").str.to_date("%Y-%m"),
    )
    recent = (
        pl.concat([inspected, drawn])
        .sort("uscc", "date", "why")
        .unique("uscc", keep="last", maintain_order=True)
    )
    before = plans.filter(pl.col("month") < month.label).sort("uscc", "month")
    last = (
        before.group_by("uscc", maintain_order=True)
        .last()
        .select("uscc", inspector_id=pl.col("inspectors").str.split(","))
        .explode("inspector_id")
        .filter(pl.col("inspector_id").is_not_null() & (pl.col("inspector_id") != ""))
        .sort("uscc", "inspector_id")
    )
    return History(
        recent, last.cast(PAIR_SCHEMA) if last.height else pl.DataFrame(schema=PAIR_SCHEMA)
    )


# ---------------------------------------------------------------- conflicts of interest


def read_conflicts(path: Path) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Declared conflicts (inspector_id, uscc, reason) and what the manifest says about the
    file; an absent file declares none."""
    if not path.is_file():
        return pl.DataFrame(schema={**PAIR_SCHEMA, "reason": pl.String}), {
            "file": str(path),
            "present": False,
            "pairs": 0,
        }
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise InputError(f"conflicts file {path}: not readable YAML ({error})") from error
    entries = data.get("conflicts") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise InputError(f"conflicts file {path}: needs a list under 'conflicts'")
    rows = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise InputError(f"conflicts file {path}: entry {number} is not a mapping")
        inspector, uscc, reason = (
            str(entry.get(k) or "").strip() for k in ("inspector_id", "uscc", "reason")
        )
        if not inspector or not reason:
            raise InputError(
                f"conflicts file {path}: entry {number} needs inspector_id, uscc and reason"
            )
        if not re.match(USCC_PATTERN, uscc):
            raise InputError(
                f"conflicts file {path}: entry {number}: uscc {uscc!r} is not a credit code"
            )
        rows.append({"inspector_id": inspector, "uscc": uscc, "reason": reason})
    frame = pl.DataFrame(rows, schema={**PAIR_SCHEMA, "reason": pl.String}).unique(
        ["inspector_id", "uscc"], keep="first", maintain_order=True
    )
    return frame.sort("uscc", "inspector_id"), {
        "file": str(path),
        "present": True,
        "sha256": file_io.file_sha256(path),
        "pairs": frame.height,
    }
