"""Ingest policy, apart from IO: what a run decides and how it accounts for it.

Pure functions and records: a source's plan (process, skip, wait; one file per delivery), a
delivery's outcome and a source's report (statuses ok / degraded / missing / failed, lateness,
the sentences that explain them), when a header-only file is a nil return, the reason sentence
of every failed check, and the ledger line of a delivery. ``pipelines.ingest_source`` does the
reading, hashing, validating and writing and asks this module what to make of it.
"""

from __future__ import annotations

import datetime as dt
import statistics
import traceback
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from data_contracts.coerce import COLUMN, EXPECTATION, REASON, ROW
from data_contracts.schema import SourceContract
from pipelines import gx_context, landing
from pipelines.io import DELIVERY_ID, LandedFile, is_weekly_delivery
from pipelines.timeline import parse_day, parse_moment

MISSING_COLUMN = "expect_column_to_exist"


# A nil return is believed unless the source's recent weekly deliveries (at least
# USUAL_MIN_WEEKS of the last USUAL_WEEKS) carried a median of NIL_RETURN_MAX_USUAL_ROWS or more.
NIL_RETURN_MAX_USUAL_ROWS = 5


USUAL_WEEKS = 8


USUAL_MIN_WEEKS = 3


@dataclass(frozen=True)
class PlannedDelivery:
    delivery_id: str
    path: str
    sha256: str
    previous_sha256: str | None = None  # set for a re-delivery

    @property
    def landed(self) -> LandedFile:
        path = Path(self.path)
        return LandedFile(path.parent.name, self.delivery_id, path)


@dataclass(frozen=True)
class SourcePlan:
    """What one run does with one source, decided from landing and the ledger."""

    source: str
    run_id: str
    as_of: dt.datetime  # the ingest time, naive UTC (timeline.parse_ingest_time)
    lake_dir: str
    quarantine_dir: str
    gx_root: str
    landed: int = 0
    to_process: list[PlannedDelivery] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already ingested, same file
    not_due: list[str] = field(default_factory=list)  # dated after the ingest time
    ignored: list[str] = field(default_factory=list)  # a second file for one delivery id
    # files of this source's folder that are not deliveries (landing.LandingEntry dicts):
    # hidden and second files (ignored), links, nested, unopenable files (rejected)
    set_aside: list[dict[str, Any]] = field(default_factory=list)
    # deliveries not read this run (already ingested unchanged, not due yet), as landing entries
    # (path, source, status, rows, reason): the summary lists every landing file every run
    unread: list[dict[str, Any]] = field(default_factory=list)
    newest_delivery: dt.date | None = None  # newest delivery date due by the ingest time
    # rows delivered by the weekly deliveries already in the ledger: how busy a week usually is
    weekly_rows: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """As the plan file holds it (JSON: times as ISO text)."""
        return {
            **asdict(self),
            "as_of": self.as_of.isoformat(),
            "newest_delivery": _iso(self.newest_delivery),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourcePlan:
        """A plan read back from its file: the times parsed once, here."""
        planned = [PlannedDelivery(**d) for d in data.get("to_process", [])]
        newest = data.get("newest_delivery")
        return cls(
            **{
                **data,
                "to_process": planned,
                "as_of": parse_moment(data["as_of"], "ingest plan as_of"),
                "newest_delivery": None
                if newest is None
                else parse_day(newest, "ingest plan newest_delivery"),
            }
        )


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def unread_entry(item: LandedFile, status: str, reason: str, rows: int | None) -> dict[str, Any]:
    return {
        "path": f"{item.source_id}/{item.path.name}",
        "source": item.source_id,
        "status": status,
        "rows": rows,
        "reason": reason,
    }


def one_file_per_delivery(
    landed: list[LandedFile], declared_format: str
) -> tuple[list[LandedFile], list[str]]:
    """One file per delivery id (the declared format first); the names of the others."""
    chosen: dict[str, LandedFile] = {}
    ignored: list[str] = []
    for item in sorted(landed, key=lambda f: (f.suffix != declared_format, f.path.name)):
        if item.delivery_id in chosen:
            ignored.append(item.path.name)
        else:
            chosen[item.delivery_id] = item
    return [f for f in landed if chosen.get(f.delivery_id) is f], ignored


@dataclass
class DeliveryOutcome:
    delivery_id: str
    file: str
    sha256: str
    status: str  # accepted | partial | rejected
    rows_in: int
    rows_accepted: int
    rows_quarantined: int
    reason: str
    redelivery: bool = False
    validation_result_id: str | None = None  # None when the file never reached validation
    quarantined_by_expectation: dict[str, int] = field(default_factory=dict)
    quarantine: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # accepted values no firm can have (data_contracts/plausibility.py): column, check, count, rows
    implausible: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.rows_in != self.rows_accepted + self.rows_quarantined:
            raise AssertionError(
                f"delivery {self.delivery_id} ({self.file}): rows_in {self.rows_in} != "
                f"accepted {self.rows_accepted} + quarantined {self.rows_quarantined}"
            )


@dataclass
class SourceReport:
    source: str
    status: str  # ok | degraded | missing | failed
    reason: str
    rows_in: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    deliveries_processed: int = 0
    deliveries_skipped: int = 0
    deliveries_not_due: int = 0
    newest_delivery: str | None = None
    late: bool = False
    # the source's GX runs this ingest (one per batch of deliveries; none if nothing was read)
    validation_result_ids: list[str] = field(default_factory=list)
    quarantined_by_expectation: dict[str, int] = field(default_factory=dict)
    implausible_values: dict[str, int] = field(default_factory=dict)  # by check, accepted rows
    warnings: list[str] = field(default_factory=list)
    deliveries: list[DeliveryOutcome] = field(default_factory=list)
    set_aside: list[dict[str, Any]] = field(default_factory=list)  # see SourcePlan.set_aside
    unread: list[dict[str, Any]] = field(default_factory=list)  # see SourcePlan.unread

    def __post_init__(self) -> None:
        if self.rows_in != self.rows_accepted + self.rows_quarantined:
            raise AssertionError(
                f"{self.source}: rows_in {self.rows_in} != accepted {self.rows_accepted} "
                f"+ quarantined {self.rows_quarantined}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def broke_at(error: BaseException) -> str:
    """`` at <file>:<line> in <function>`` of the innermost frame of ``error``'s traceback."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return ""
    last = frames[-1]
    return f" at {Path(last.filename).name}:{last.lineno} in {last.name}"


def failed_report(plan: SourcePlan, error: BaseException) -> SourceReport:
    """The report of a source whose ingestion broke: nothing written, retried next run. The
    reason names where it broke (the innermost frame), so an operator can tell a damaged
    delivery from a fault in EWS without the worker's log."""
    return SourceReport(
        source=plan.source,
        status="failed",
        reason=f"{plan.source}: ingestion stopped ({type(error).__name__}: {error}"
        f"{broke_at(error)}); nothing from this run was written and its deliveries will be "
        "retried",
        deliveries_skipped=len(plan.skipped),
        deliveries_not_due=len(plan.not_due),
        newest_delivery=_iso(plan.newest_delivery),
        set_aside=plan.set_aside,
        unread=plan.unread,
    )


def usual_weekly_rows(weekly_rows: dict[str, int], delivery_id: str) -> float | None:
    """Median rows of the source's latest weekly deliveries other than ``delivery_id``, or None
    when too few are known to say what a usual week is."""
    others = [
        rows
        for other, rows in sorted(weekly_rows.items())
        if other != delivery_id and is_weekly_delivery(other)
    ]
    recent = others[-USUAL_WEEKS:]
    return statistics.median(recent) if len(recent) >= USUAL_MIN_WEEKS else None


def nil_return_refusal(
    source_id: str, planned: PlannedDelivery, weekly_rows: dict[str, int]
) -> str | None:
    """Why a header-only delivery is not believed as a nil return (the source's weeks usually
    carry rows: more likely a broken export), or None when it is an empty week."""
    usual = usual_weekly_rows(weekly_rows, planned.delivery_id)
    if usual is None or usual < NIL_RETURN_MAX_USUAL_ROWS:
        return None
    return (
        f"{source_id} file {Path(planned.path).name}: empty file (a header but no data rows) "
        f"where the source's recent weekly deliveries carried a median of {usual:g} rows; "
        f"treated as a broken export, not a nil return"
    )


def nil_return_outcome(
    source_id: str, planned: PlannedDelivery, warnings: list[str]
) -> DeliveryOutcome:
    """An empty week: accepted with no rows."""
    return DeliveryOutcome(
        delivery_id=planned.delivery_id,
        file=Path(planned.path).name,
        sha256=planned.sha256,
        status="accepted",
        rows_in=0,
        rows_accepted=0,
        rows_quarantined=0,
        reason=f"{source_id} delivery {planned.delivery_id}: nil return (no records this week)",
        redelivery=planned.previous_sha256 is not None,
        warnings=warnings,
    )


def rejected_outright(
    planned: PlannedDelivery, rows_in: int, reason: str, expectation: str, quarantine: list[Path]
) -> DeliveryOutcome:
    """A delivery none of whose rows can be used: all of them counted under one expectation."""
    landed = planned.landed
    return DeliveryOutcome(
        delivery_id=landed.delivery_id,
        file=landed.path.name,
        sha256=planned.sha256,
        status="rejected",
        rows_in=rows_in,
        rows_accepted=0,
        rows_quarantined=rows_in,
        reason=reason,
        redelivery=planned.previous_sha256 is not None,
        quarantined_by_expectation={expectation: rows_in},
        quarantine=[str(p) for p in quarantine],
    )


def gx_reasons(
    contract: SourceContract,
    failures: pl.DataFrame,
    text: pl.DataFrame,
    typed: pl.DataFrame,
    files: dict[str, str],
) -> pl.DataFrame:
    """Attach a sentence naming source, file, row, column and the offending value to each
    failure. ``files``: delivery id -> "<source> file <name>"."""
    schema = {
        DELIVERY_ID: pl.String(),
        ROW: pl.Int64(),
        COLUMN: pl.String(),
        EXPECTATION: pl.String(),
        REASON: pl.String(),
    }
    parts = [pl.DataFrame(schema=schema)]
    for (kind, column), group in failures.group_by([EXPECTATION, COLUMN], maintain_order=True):
        positions = group.get_column(gx_context.POSITION)
        reasons = _reasons_for(
            contract, str(kind), str(column), positions, group, text, typed, files
        )
        parts.append(
            group.select(DELIVERY_ID, ROW, COLUMN, EXPECTATION).with_columns(
                pl.Series(REASON, reasons, dtype=pl.String)
            )
        )
    return pl.concat(parts, how="vertical")


def _reasons_for(
    contract: SourceContract,
    kind: str,
    column: str,
    positions: pl.Series,
    group: pl.DataFrame,
    text: pl.DataFrame,
    typed: pl.DataFrame,
    files: dict[str, str],
) -> list[str]:
    """Reason sentences: values as delivered, duplicate counts as GX compared them (typed)."""
    rows = group.get_column(ROW).to_list()
    deliveries = group.get_column(DELIVERY_ID).to_list()
    where = [files[d] for d in deliveries]
    keys = [c.strip() for c in column.split(",")]
    if kind in ("expect_compound_columns_to_be_unique", "expect_column_values_to_be_unique"):
        counts = typed.select(pl.len().over([*keys, DELIVERY_ID]).alias("n"))["n"].gather(positions)
        values = {k: text.get_column(k).gather(positions).to_list() for k in keys}
        out = []
        for i, (row, delivery, n) in enumerate(zip(rows, deliveries, counts, strict=True)):
            if len(keys) > 1:
                key = ", ".join(f"{k}={values[k][i]!r}" for k in keys)
                out.append(
                    f"{where[i]} row {row}: duplicate key ({key}) is shared by {n} rows "
                    f"of delivery {delivery}"
                )
            else:
                out.append(
                    f"{where[i]} row {row} column {column}: value {values[column][i]!r} "
                    f"appears in {n} rows of delivery {delivery}"
                )
        return out
    if kind == "expect_column_values_to_not_be_null":
        return [
            f"{w} row {r} column {column}: value is missing but the contract requires one"
            for w, r in zip(where, rows, strict=True)
        ]
    values = text.get_column(column).gather(positions).to_list()
    spec = contract.column(column)
    if kind == "expect_column_values_to_be_between":
        bound = _range_text(spec.min, spec.max)
        detail = f"is not {bound}"
    elif kind == "expect_column_values_to_be_in_set":
        detail = f"is not an allowed value ({', '.join(spec.allowed or [])})"
    elif kind == "expect_column_values_to_match_regex":
        detail = f"does not match the pattern {spec.pattern}"
    else:
        detail = f"fails {kind}"
    return [
        f"{w} row {r} column {column}: {v!r} {detail}"
        for w, r, v in zip(where, rows, values, strict=True)
    ]


def _range_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"between {_number(low)} and {_number(high)}"
    if low is not None:
        return f"at least {_number(low)}"
    return f"at most {_number(high)}"


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def ledger_entry(plan: SourcePlan, outcome: DeliveryOutcome) -> dict[str, Any]:
    previous = {p.delivery_id: p.previous_sha256 for p in plan.to_process}
    return {
        "source": plan.source,
        "delivery_id": outcome.delivery_id,
        "file": outcome.file,
        "sha256": outcome.sha256,
        "status": outcome.status,
        "rows_in": outcome.rows_in,
        "rows_accepted": outcome.rows_accepted,
        "rows_quarantined": outcome.rows_quarantined,
        "reason": outcome.reason,
        "redelivery": outcome.redelivery,
        "replaced_sha256": previous.get(outcome.delivery_id),
        "ingested_at": plan.as_of.isoformat(),
        "run_id": plan.run_id,
        "validation_result_id": outcome.validation_result_id,
    }


def source_report(
    contract: SourceContract,
    plan: SourcePlan,
    outcomes: list[DeliveryOutcome],
    result_ids: list[str],
) -> SourceReport:
    as_of = plan.as_of
    by_kind: Counter[str] = Counter()
    by_check: Counter[str] = Counter()
    for outcome in outcomes:
        by_kind.update(outcome.quarantined_by_expectation)
        for finding in outcome.implausible:
            by_check[finding["check"]] += finding["count"]
    rows_in = sum(o.rows_in for o in outcomes)
    accepted = sum(o.rows_accepted for o in outcomes)
    status, sentences, late = source_status(contract, plan, outcomes, as_of)
    return SourceReport(
        source=contract.id,
        status=status,
        reason="; ".join(sentences),
        rows_in=rows_in,
        rows_accepted=accepted,
        rows_quarantined=sum(o.rows_quarantined for o in outcomes),
        deliveries_processed=len(outcomes),
        deliveries_skipped=len(plan.skipped),
        deliveries_not_due=len(plan.not_due),
        newest_delivery=_iso(plan.newest_delivery),
        late=late,
        validation_result_ids=list(result_ids),
        quarantined_by_expectation=dict(sorted(by_kind.items())),
        implausible_values=dict(sorted(by_check.items())),
        warnings=[
            *(entry["reason"] for entry in plan.set_aside),
            *(w for o in outcomes for w in o.warnings),
        ],
        deliveries=outcomes,
        set_aside=plan.set_aside,
        unread=plan.unread,
    )


def source_status(
    contract: SourceContract,
    plan: SourcePlan,
    outcomes: list[DeliveryOutcome],
    as_of: dt.datetime,
) -> tuple[str, list[str], bool]:
    """ok / degraded / missing / failed, the sentences that explain it, and lateness."""
    refused = [e["reason"] for e in plan.set_aside if e["status"] == landing.REJECTED]
    if plan.landed - len(plan.not_due) == 0 and refused:
        return "failed", [f"{contract.id}: no delivery could be read", *refused], False
    if plan.landed - len(plan.not_due) == 0:
        due = f" due by {as_of.date()}" if plan.not_due else ""
        return "missing", [f"{contract.id}: no delivery{due} in landing/{contract.id}/"], False
    freshness = contract.delivery.freshness_days
    age = (as_of.date() - plan.newest_delivery).days if plan.newest_delivery is not None else None
    late = age is not None and age > freshness
    rejected = [o for o in outcomes if o.status == "rejected"]
    partial = [o for o in outcomes if o.status == "partial"]
    if outcomes and len(rejected) == len(outcomes):
        status = "failed"
    elif rejected or partial or late or refused:
        status = "degraded"
    else:
        status = "ok"
    if outcomes:
        nil = sum(o.status == "accepted" and o.rows_in == 0 for o in outcomes)
        sentences = [
            f"{contract.id}: {len(outcomes) - len(rejected)} of {len(outcomes)} new deliveries "
            f"ingested{f' ({nil} of them nil returns)' if nil else ''}, "
            f"{sum(o.rows_accepted for o in outcomes)} of "
            f"{sum(o.rows_in for o in outcomes)} rows accepted"
        ]
    else:
        sentences = [f"{contract.id}: no new deliveries ({len(plan.skipped)} already ingested)"]
    sentences.extend(o.reason for o in rejected + partial)
    sentences.extend(refused)
    if late:
        sentences.append(
            f"late: newest delivery {plan.newest_delivery} is {age} days old at {as_of.date()}, "
            f"more than the {freshness} days the contract allows"
        )
    return status, sentences, late
