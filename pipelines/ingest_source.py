"""Ingest one source: plan its deliveries, then read, coerce, validate, split, write, account.

Planning compares landing with the ledger: a delivery whose file hash is already recorded is
skipped, a known delivery id with a new hash is a re-delivery that replaces its partition, and a
delivery dated after the ingest time is not due yet. Ingesting reads every planned delivery,
coerces it, validates all of the source's new rows in one GX run, and writes each delivery's
accepted rows to the lake and its failing rows to quarantine. Every delivered row ends up in
exactly one of the two: ``rows_in == rows_accepted + rows_quarantined`` is checked in code.

A header-only file from a source whose contract allows nil returns is an empty week, accepted
with no rows, unless the source's recent weekly deliveries usually carry rows: then it is more
likely a broken export and is rejected like any empty file.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from data_contracts.check_characters import check_character_failures
from data_contracts.coerce import COLUMN, EXPECTATION, REASON, ROW, coerce
from data_contracts.plausibility import implausible
from data_contracts.schema import SourceContract
from pipelines import gx_context, io, landing
from pipelines.io import DELIVERY_ID, INGESTED_AT, DeliveryRejected, LandedFile

MISSING_COLUMN = "expect_column_to_exist"
# A nil return is believed unless the source's recent weekly deliveries (at least
# USUAL_MIN_WEEKS of the last USUAL_WEEKS) carried a median of NIL_RETURN_MAX_USUAL_ROWS or more.
NIL_RETURN_MAX_USUAL_ROWS = 5
USUAL_WEEKS = 8
USUAL_MIN_WEEKS = 3


# ---------------------------------------------------------------- plan


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
    as_of: str  # ISO date-time; the ingest time
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
    newest_delivery: str | None = None  # newest delivery date due by the ingest time
    # rows delivered by the weekly deliveries already in the ledger: how busy a week usually is
    weekly_rows: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SourcePlan:
        planned = [PlannedDelivery(**d) for d in data.get("to_process", [])]
        return cls(**{**data, "to_process": planned})


def plan_source(
    contract: SourceContract,
    landed: list[LandedFile],
    ledger: dict[tuple[str, str], dict[str, Any]],
    *,
    run_id: str,
    as_of: dt.datetime,
    lake_dir: Path,
    quarantine_dir: Path,
    gx_root: Path,
    set_aside: Sequence[landing.LandingEntry] = (),
) -> SourcePlan:
    """Decide per landed file: process, skip (same file already in the ledger) or wait.
    ``set_aside`` are the source folder's other entries (``landing.survey_landing``)."""
    source_id = contract.id
    kept, ignored = _one_file_per_delivery(landed, contract.delivery.format.value)
    second_files = [
        landing.LandingEntry(
            f"{source_id}/{item.path.name}",
            source_id,
            landing.IGNORED,
            "second_file",
            f"{source_id} file {item.path.name}: a second file for delivery {item.delivery_id} "
            f"(the declared {contract.delivery.format.value} is read); ignored ({rows_text})",
            rows,
        )
        for item in landed
        if item.path.name in ignored
        for rows in [landing.count_rows(item.path, contract.delivery.encoding)]
        for rows_text in [landing.rows_text(rows)]
    ]
    to_process: list[PlannedDelivery] = []
    skipped: list[str] = []
    not_due: list[str] = []
    unread: list[dict[str, Any]] = []
    due_dates: list[dt.date] = []
    for item in kept:
        day = item.delivered_on
        where = f"{source_id} file {item.path.name}"
        if day is not None and day > as_of.date():
            not_due.append(item.delivery_id)
            unread.append(
                _unread(item, "not_due", f"{where}: dated after the ingest time; waits", None)
            )
            continue
        if day is not None:
            due_dates.append(day)
        sha = io.file_sha256(item.path, follow_links=False)
        previous = ledger.get((source_id, item.delivery_id))
        if previous is not None and previous["sha256"] == sha:
            skipped.append(item.delivery_id)
            unread.append(
                _unread(
                    item,
                    "unchanged",
                    f"{where}: unchanged since ingest run {previous.get('run_id')} "
                    f"({previous.get('status')}, {previous.get('rows_in')} rows)",
                    previous.get("rows_in"),
                )
            )
            continue
        to_process.append(
            PlannedDelivery(
                delivery_id=item.delivery_id,
                path=str(item.path),
                sha256=sha,
                previous_sha256=previous["sha256"] if previous else None,
            )
        )
    return SourcePlan(
        source=source_id,
        run_id=run_id,
        as_of=as_of.isoformat(),
        lake_dir=str(lake_dir),
        quarantine_dir=str(quarantine_dir),
        gx_root=str(gx_root),
        landed=len(landed),
        to_process=to_process,
        skipped=skipped,
        not_due=not_due,
        ignored=ignored,
        set_aside=[e.to_dict() for e in sorted([*set_aside, *second_files], key=lambda e: e.path)],
        unread=unread,
        newest_delivery=max(due_dates).isoformat() if due_dates else None,
        weekly_rows={
            delivery_id: int(entry["rows_in"])
            for (entry_source, delivery_id), entry in ledger.items()
            if entry_source == source_id and io.is_weekly_delivery(delivery_id)
        },
    )


def _unread(item: LandedFile, status: str, reason: str, rows: int | None) -> dict[str, Any]:
    return {
        "path": f"{item.source_id}/{item.path.name}",
        "source": item.source_id,
        "status": status,
        "rows": rows,
        "reason": reason,
    }


def _one_file_per_delivery(
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


# ---------------------------------------------------------------- report


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
    validation_result_id: str | None = None
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


def failed_report(plan: SourcePlan, error: BaseException) -> SourceReport:
    """The report of a source whose ingestion broke: nothing written, retried next run."""
    return SourceReport(
        source=plan.source,
        status="failed",
        reason=f"{plan.source}: ingestion stopped ({type(error).__name__}: {error}); "
        f"nothing from this run was written and its deliveries will be retried",
        deliveries_skipped=len(plan.skipped),
        deliveries_not_due=len(plan.not_due),
        newest_delivery=plan.newest_delivery,
        set_aside=plan.set_aside,
        unread=plan.unread,
    )


# ---------------------------------------------------------------- ingest


class _MissingColumns(Exception):
    """A readable delivery without a required column."""

    def __init__(self, raw: pl.DataFrame, missing: list[str], reason: str) -> None:
        super().__init__(reason)
        self.raw = raw
        self.missing = missing
        self.reason = reason


@dataclass
class _Readable:
    """A delivery that could be read and coerced, waiting for validation."""

    planned: PlannedDelivery
    raw: pl.DataFrame  # delivered headers, strings, plus _row
    text: pl.DataFrame  # canonical names, values as delivered, plus _row and _delivery_id
    typed: pl.DataFrame  # canonical typed, plus _row and _delivery_id
    failures: pl.DataFrame  # coercion failures with _delivery_id
    warnings: list[str]


def ingest_source(contract: SourceContract, plan: SourcePlan) -> SourceReport:
    """Ingest the planned deliveries of one source and report what happened."""
    as_of = dt.datetime.fromisoformat(plan.as_of)
    lake_dir, quarantine_dir = Path(plan.lake_dir), Path(plan.quarantine_dir)
    outcomes: list[DeliveryOutcome] = []
    readable: list[_Readable] = []
    for planned in plan.to_process:
        try:
            readable.append(_read_and_coerce(contract, planned))
        except DeliveryRejected as rejected:
            outcomes.append(
                _reject_whole_file(quarantine_dir, planned, rejected, contract.delivery.encoding)
            )
        except _MissingColumns as missing:
            outcomes.append(_reject_missing_columns(quarantine_dir, contract, planned, missing))
    weekly_rows = {
        **plan.weekly_rows,
        **{o.delivery_id: o.rows_in for o in outcomes},
        **{r.planned.delivery_id: r.raw.height for r in readable},
    }
    nil_returns = [r for r in readable if r.raw.height == 0]
    readable = [r for r in readable if r.raw.height > 0]
    for item in nil_returns:
        outcomes.append(_nil_return(contract, item, weekly_rows, lake_dir, quarantine_dir))

    result_id = None
    if readable:
        validation, failures = _validate(contract, readable, plan)
        result_id = validation.result_id
        for item in readable:
            mine = failures.filter(pl.col(DELIVERY_ID) == item.planned.delivery_id)
            outcome = _write_delivery(contract, item, mine, lake_dir, quarantine_dir, as_of)
            outcome.validation_result_id = result_id
            outcomes.append(outcome)

    order = {p.delivery_id: i for i, p in enumerate(plan.to_process)}
    outcomes.sort(key=lambda o: order[o.delivery_id])
    io.append_ledger(lake_dir, (_ledger_entry(plan, o) for o in outcomes))
    return _report(contract, plan, outcomes, result_id)


def _read_and_coerce(contract: SourceContract, planned: PlannedDelivery) -> _Readable:
    landed = planned.landed
    if landed.delivered_on is None:
        raise DeliveryRejected(
            f"{contract.id} file {landed.path.name}: delivery id {landed.delivery_id!r} is "
            f"neither YYYY-MM-DD nor backfill-YYYY-MM-DD",
            kind="delivery_id",
        )  # its rows are counted when it is quarantined
    raw = io.read_delivery(landed, contract)
    headers = [c for c in raw.columns if c != ROW]
    where = f"{contract.id} file {landed.path.name}"
    missing = [c for c in contract.columns if c.raw not in headers]
    required = set(contract.required_columns)
    missing_required = [c for c in missing if c.name in required]
    if missing_required:
        names = ", ".join(f"{c.name} (delivered as '{c.raw}')" for c in missing_required)
        raise _MissingColumns(
            raw, [c.name for c in missing_required], f"{where}: required column {names} missing"
        )
    warnings = [
        f"{where}: optional column {c.name} (delivered as '{c.raw}') is missing; read as empty"
        for c in missing
    ]
    known = {c.raw for c in contract.columns}
    extra = [h for h in headers if h not in known]
    if extra:
        warnings.append(
            f"{where}: unknown column{'s' if len(extra) > 1 else ''} "
            f"{', '.join(repr(h) for h in extra)} not in the contract; ignored"
        )
    text = raw.select(
        ROW,
        *(
            pl.col(c.raw).alias(c.name)
            if c.raw in headers
            else pl.lit(None, pl.String).alias(c.name)
            for c in contract.columns
        ),
    )
    coerced = coerce(text, contract, where=where)
    mistyped_codes = check_character_failures(text, contract, where)
    failures = pl.concat([coerced.failures, mistyped_codes], how="vertical")
    delivery = pl.lit(planned.delivery_id).alias(DELIVERY_ID)
    return _Readable(
        planned=planned,
        raw=raw,
        text=text.with_columns(delivery),
        typed=coerced.frame.with_columns(delivery),
        failures=failures.with_columns(delivery),
        warnings=warnings,
    )


def _validate(
    contract: SourceContract, readable: list[_Readable], plan: SourcePlan
) -> tuple[gx_context.Validation, pl.DataFrame]:
    """One GX run over all new rows of the source; every failure with its reason."""
    typed = pl.concat([r.typed for r in readable], how="vertical")
    text = pl.concat([r.text for r in readable], how="vertical")
    context = gx_context.open_context(plan.gx_root)
    validation = gx_context.validate(
        context,
        contract,
        typed,
        run_name=plan.run_id,
        run_time=dt.datetime.now(dt.UTC),
    )
    coercion = pl.concat([r.failures for r in readable], how="vertical")
    located = validation.failures.join(
        text.select(ROW, DELIVERY_ID)
        .with_row_index(gx_context.POSITION)
        .with_columns(pl.col(gx_context.POSITION).cast(pl.Int64)),
        on=gx_context.POSITION,
        how="left",
    )
    # A value that did not parse is null in the typed frame; its parse failure already says why.
    located = located.join(coercion, on=[DELIVERY_ID, ROW, COLUMN], how="anti")
    files = {
        r.planned.delivery_id: f"{contract.id} file {r.planned.landed.path.name}" for r in readable
    }
    reasoned = _gx_reasons(contract, located, text, typed, files)
    failures = pl.concat(
        [coercion.select(DELIVERY_ID, ROW, COLUMN, EXPECTATION, REASON), reasoned],
        how="vertical",
    )
    return validation, failures


def _write_delivery(
    contract: SourceContract,
    item: _Readable,
    failures: pl.DataFrame,
    lake_dir: Path,
    quarantine_dir: Path,
    as_of: dt.datetime,
) -> DeliveryOutcome:
    planned = item.planned
    failures = failures.sort(ROW, COLUMN, maintain_order=True)
    failing_rows = failures.select(ROW).unique()
    kept = item.typed.join(failing_rows, on=ROW, how="anti").sort(ROW)
    delivered_on = planned.landed.delivered_on or as_of.date()
    findings = implausible(kept, contract, delivered_on)
    where = f"{contract.id} file {Path(planned.path).name}"
    accepted = kept.select(
        *contract.column_names,
        pl.col(DELIVERY_ID),
        pl.lit(as_of).cast(io.lake_schema(contract)[INGESTED_AT]).alias(INGESTED_AT),
    )
    io.clear_quarantine(quarantine_dir, contract.id, planned.delivery_id)
    quarantine: list[str] = []
    if failures.height:
        rows = item.raw.join(failures.drop(DELIVERY_ID), on=ROW, how="inner").sort(
            ROW, COLUMN, maintain_order=True
        )
        path = io.write_quarantine_rows(quarantine_dir, contract.id, planned.delivery_id, rows)
        quarantine.append(str(path))
    if accepted.height:
        io.write_partition(lake_dir, contract.id, planned.delivery_id, accepted)
    else:
        io.drop_partition(lake_dir, contract.id, planned.delivery_id)
    rows_in = item.raw.height
    n_quarantined = failing_rows.height
    counts = Counter(failures.get_column(EXPECTATION).to_list())
    if n_quarantined:
        status = "partial" if accepted.height else "rejected"
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
        reason = (
            f"{contract.id} delivery {planned.delivery_id}: {n_quarantined} of {rows_in} rows "
            f"quarantined ({kinds})"
        )
    else:
        status = "accepted"
        reason = f"{contract.id} delivery {planned.delivery_id}: all {rows_in} rows accepted"
    return DeliveryOutcome(
        delivery_id=planned.delivery_id,
        file=Path(planned.path).name,
        sha256=planned.sha256,
        status=status,
        rows_in=rows_in,
        rows_accepted=accepted.height,
        rows_quarantined=n_quarantined,
        reason=reason,
        redelivery=planned.previous_sha256 is not None,
        quarantined_by_expectation=dict(sorted(counts.items())),
        quarantine=quarantine,
        warnings=[*item.warnings, *(f.sentence(where) for f in findings)],
        implausible=[asdict(f) for f in findings],
    )


def usual_weekly_rows(weekly_rows: dict[str, int], delivery_id: str) -> float | None:
    """Median rows of the source's latest weekly deliveries other than ``delivery_id``, or None
    when too few are known to say what a usual week is."""
    others = [
        rows
        for other, rows in sorted(weekly_rows.items())
        if other != delivery_id and io.is_weekly_delivery(other)
    ]
    recent = others[-USUAL_WEEKS:]
    return statistics.median(recent) if len(recent) >= USUAL_MIN_WEEKS else None


def _nil_return(
    contract: SourceContract,
    item: _Readable,
    weekly_rows: dict[str, int],
    lake_dir: Path,
    quarantine_dir: Path,
) -> DeliveryOutcome:
    """A header-only delivery of a source that may send nil returns: an empty week, unless
    the source's weeks usually carry rows."""
    planned = item.planned
    usual = usual_weekly_rows(weekly_rows, planned.delivery_id)
    where = f"{contract.id} file {Path(planned.path).name}"
    if usual is not None and usual >= NIL_RETURN_MAX_USUAL_ROWS:
        reason = (
            f"{where}: empty file (a header but no data rows) where the source's recent weekly "
            f"deliveries carried a median of {usual:g} rows; treated as a broken export, "
            f"not a nil return"
        )
        return _reject_whole_file(
            quarantine_dir,
            planned,
            DeliveryRejected(reason, kind="empty", rows_in=0),
            contract.delivery.encoding,
        )
    io.clear_quarantine(quarantine_dir, contract.id, planned.delivery_id)
    io.drop_partition(lake_dir, contract.id, planned.delivery_id)
    return DeliveryOutcome(
        delivery_id=planned.delivery_id,
        file=Path(planned.path).name,
        sha256=planned.sha256,
        status="accepted",
        rows_in=0,
        rows_accepted=0,
        rows_quarantined=0,
        reason=f"{contract.id} delivery {planned.delivery_id}: nil return (no records this week)",
        redelivery=planned.previous_sha256 is not None,
        warnings=item.warnings,
    )


def _reject_whole_file(
    quarantine_dir: Path, planned: PlannedDelivery, rejected: DeliveryRejected, encoding: str
) -> DeliveryOutcome:
    landed = planned.landed
    io.clear_quarantine(quarantine_dir, landed.source_id, landed.delivery_id)
    if rejected.rows_in is None:  # rejected before reading: count what can be counted
        counted = landing.count_rows(landed.path, encoding)
        reason = rejected.reason if counted is not None else f"{rejected.reason}; rows not counted"
        rejected = DeliveryRejected(reason, kind=rejected.kind, rows_in=counted or 0)
    record = {
        "source": landed.source_id,
        "delivery_id": landed.delivery_id,
        "file": landed.path.name,
        "sha256": planned.sha256,
        "kind": rejected.kind,
        "reason": rejected.reason,
        "rows_in": rejected.rows_in,
    }
    raw, why = io.quarantine_whole_file(quarantine_dir, landed, record)
    return _rejected_outright(
        planned, rejected.rows_in, rejected.reason, f"file_{rejected.kind}", [raw, why]
    )


def _reject_missing_columns(
    quarantine_dir: Path,
    contract: SourceContract,
    planned: PlannedDelivery,
    missing: _MissingColumns,
) -> DeliveryOutcome:
    """Without a required column no row can be used; every row goes to quarantine."""
    landed = planned.landed
    io.clear_quarantine(quarantine_dir, contract.id, landed.delivery_id)
    rows = missing.raw.with_columns(
        pl.lit(", ".join(missing.missing)).alias(COLUMN),
        pl.lit(MISSING_COLUMN).alias(EXPECTATION),
        pl.format("{} (row {} cannot be used)", pl.lit(missing.reason), pl.col(ROW)).alias(REASON),
    )
    path = io.write_quarantine_rows(quarantine_dir, contract.id, landed.delivery_id, rows)
    return _rejected_outright(planned, rows.height, missing.reason, MISSING_COLUMN, [path])


def _rejected_outright(
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


# ---------------------------------------------------------------- reasons


def _gx_reasons(
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


# ---------------------------------------------------------------- accounting


def _ledger_entry(plan: SourcePlan, outcome: DeliveryOutcome) -> dict[str, Any]:
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
        "ingested_at": plan.as_of,
        "run_id": plan.run_id,
        "validation_result_id": outcome.validation_result_id,
    }


def _report(
    contract: SourceContract,
    plan: SourcePlan,
    outcomes: list[DeliveryOutcome],
    result_id: str | None,
) -> SourceReport:
    as_of = dt.datetime.fromisoformat(plan.as_of)
    by_kind: Counter[str] = Counter()
    by_check: Counter[str] = Counter()
    for outcome in outcomes:
        by_kind.update(outcome.quarantined_by_expectation)
        for finding in outcome.implausible:
            by_check[finding["check"]] += finding["count"]
    rows_in = sum(o.rows_in for o in outcomes)
    accepted = sum(o.rows_accepted for o in outcomes)
    status, sentences, late = _status(contract, plan, outcomes, as_of)
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
        newest_delivery=plan.newest_delivery,
        late=late,
        validation_result_id=result_id,
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


def _status(
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
    age = (
        (as_of.date() - dt.date.fromisoformat(plan.newest_delivery)).days
        if (plan.newest_delivery)
        else None
    )
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
