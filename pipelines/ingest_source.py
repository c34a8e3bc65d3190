"""Ingest one source: plan its deliveries, then read, coerce, validate, split, write, account.

This module does the IO (hashing landed files, reading, validating with GX, writing the lake,
quarantine and ledger); what to decide and how to report it is ``pipelines.ingest_policy``.

Planning compares landing with the ledger: a delivery whose file hash is already recorded is
skipped, a known delivery id with a new hash is a re-delivery that replaces its partition, and a
delivery dated after the ingest time is not due yet. Ingesting reads the planned deliveries one
after the other, coerces them, validates them in batches of whole deliveries (one GX run per
batch of about ``BATCH_ROWS`` rows: usually one for a week's deliveries, the backfill alone), and
writes each delivery's accepted rows to the lake and its failing rows to quarantine before the
next batch is read. Every delivered row ends up in
exactly one of the two: ``rows_in == rows_accepted + rows_quarantined`` is checked in code.

A header-only file from a source whose contract allows nil returns is an empty week, accepted
with no rows, unless the source's recent weekly deliveries usually carry rows: then it is more
likely a broken export and is rejected like any empty file.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import polars as pl

from data_contracts.check_characters import check_character_failures
from data_contracts.coerce import COLUMN, EXPECTATION, REASON, ROW, coerce
from data_contracts.plausibility import implausible
from data_contracts.schema import SourceContract
from pipelines import gx_context, io, landing, workdir_lock
from pipelines.ingest_policy import (
    MISSING_COLUMN,
    DeliveryOutcome,
    PlannedDelivery,
    SourcePlan,
    SourceReport,
    gx_reasons,
    ledger_entry,
    nil_return_outcome,
    nil_return_refusal,
    one_file_per_delivery,
    rejected_outright,
    source_report,
    unread_entry,
)
from pipelines.io import DELIVERY_ID, INGESTED_AT, DeliveryRejected, LandedFile

# Rows validated per GX run: whole deliveries up to this many (a larger delivery alone). A run
# costs a set-up of its own, so a week's small deliveries share one; the bound keeps a source's
# history (at sip scale the registration master's 6.8M rows) from being held all at once.
BATCH_ROWS = 1_000_000
STAGING = ".staging"  # lake/.staging/<run>-<source>/: a source's accepted rows until all passed

# ---------------------------------------------------------------- plan


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
    kept, ignored = one_file_per_delivery(landed, contract.delivery.format.value)
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
                unread_entry(item, "not_due", f"{where}: dated after the ingest time; waits", None)
            )
            continue
        if day is not None:
            due_dates.append(day)
        sha = io.file_sha256(item.path, follow_links=False)
        previous = ledger.get((source_id, item.delivery_id))
        if previous is not None and previous["sha256"] == sha:
            skipped.append(item.delivery_id)
            unread.append(
                unread_entry(
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
        as_of=as_of,
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
        newest_delivery=max(due_dates) if due_dates else None,
        weekly_rows={
            delivery_id: int(entry["rows_in"])
            for (entry_source, delivery_id), entry in ledger.items()
            if entry_source == source_id and io.is_weekly_delivery(delivery_id)
        },
    )


# ---------------------------------------------------------------- report


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


def clear_dead_runs_staging(lake_dir: Path, run_id: str) -> list[str]:
    """Remove what ingest runs that died mid-source left under ``lake/.staging/`` (a run that
    ends, also by an error, removes its own); returns the names removed.

    Only while this process holds the workdir's lock (``pipelines.workdir_lock``; the ingest
    flow does for its whole run): every ingest run holds it, so no other is staging rows, and
    every folder not of ``run_id`` is a dead run's. Without the lock nothing is touched."""
    staging = Path(lake_dir) / STAGING
    if not staging.is_dir() or not workdir_lock.held_over(staging):
        return []
    dead = sorted(p for p in staging.iterdir() if not p.name.startswith(f"{run_id}-"))
    for folder in dead:
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
        else:
            folder.unlink(missing_ok=True)
    return [p.name for p in dead]


def ingest_source(contract: SourceContract, plan: SourcePlan) -> SourceReport:
    """Ingest the planned deliveries of one source and report what happened.

    Deliveries are read one after the other and validated in batches of whole deliveries of
    about ``BATCH_ROWS`` rows (one GX run per batch; a larger delivery is a batch of its own),
    each batch written before the next is read: memory holds one batch, not the source's whole
    history. Accepted rows are staged and put in the lake only once every batch has passed, so a
    source that breaks half-way leaves the lake as it was. Nil returns are judged last, against
    every delivery's rows."""
    staging = Path(plan.lake_dir) / STAGING / f"{plan.run_id}-{contract.id}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        return _ingest_staged(contract, plan, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _ingest_staged(contract: SourceContract, plan: SourcePlan, staging: Path) -> SourceReport:
    as_of = plan.as_of
    lake_dir, quarantine_dir = Path(plan.lake_dir), Path(plan.quarantine_dir)
    outcomes: list[DeliveryOutcome] = []
    result_ids: list[str] = []
    weekly_rows = dict(plan.weekly_rows)
    nil_returns: list[_Readable] = []
    batch: list[_Readable] = []
    validated: list[str] = []  # deliveries whose accepted rows are staged

    def write_batch() -> None:
        validation, failures = _validate(contract, batch, plan)
        result_ids.append(validation.result_id)
        for item in batch:
            mine = failures.filter(pl.col(DELIVERY_ID) == item.planned.delivery_id)
            outcome = _write_delivery(contract, item, mine, staging, quarantine_dir, as_of)
            outcome.validation_result_id = validation.result_id
            outcomes.append(outcome)
            validated.append(item.planned.delivery_id)
        batch.clear()

    for planned in plan.to_process:
        try:
            raw, warnings = _read(contract, planned)
        except DeliveryRejected as rejected:
            outcomes.append(
                _reject_whole_file(quarantine_dir, planned, rejected, contract.delivery.encoding)
            )
            weekly_rows[planned.delivery_id] = outcomes[-1].rows_in
            continue
        except _MissingColumns as missing:
            outcomes.append(_reject_missing_columns(quarantine_dir, contract, planned, missing))
            weekly_rows[planned.delivery_id] = outcomes[-1].rows_in
            continue
        weekly_rows[planned.delivery_id] = raw.height
        if raw.height > BATCH_ROWS:  # a backfill: in slices, alone
            if batch:
                write_batch()
            holder = [raw]
            del raw  # the slices release it once done
            outcome, ids = _ingest_sliced(contract, plan, planned, holder, warnings, staging, as_of)
            outcomes.append(outcome)
            result_ids.extend(ids)
            validated.append(planned.delivery_id)
            continue
        item = _coerce(contract, planned, raw, warnings)
        del raw
        if item.raw.height == 0:
            nil_returns.append(item)
            continue
        if batch and sum(r.raw.height for r in batch) + item.raw.height > BATCH_ROWS:
            write_batch()
        batch.append(item)
        if sum(r.raw.height for r in batch) >= BATCH_ROWS:
            write_batch()
    if batch:
        write_batch()
    for delivery_id in validated:
        io.place_partition(staging, lake_dir, contract.id, delivery_id)
    for item in nil_returns:
        outcomes.append(_nil_return(contract, item, weekly_rows, lake_dir, quarantine_dir))

    order = {p.delivery_id: i for i, p in enumerate(plan.to_process)}
    outcomes.sort(key=lambda o: order[o.delivery_id])
    io.append_ledger(lake_dir, (ledger_entry(plan, o) for o in outcomes))
    return source_report(contract, plan, outcomes, result_ids)


def _read_and_coerce(contract: SourceContract, planned: PlannedDelivery) -> _Readable:
    raw, warnings = _read(contract, planned)
    return _coerce(contract, planned, raw, warnings)


def _read(contract: SourceContract, planned: PlannedDelivery) -> tuple[pl.DataFrame, list[str]]:
    """The delivery as delivered (strings, ``_row``) and the warnings about its columns; raises
    when it cannot be read or lacks a required column."""
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
    return raw, warnings


def _coerce(
    contract: SourceContract, planned: PlannedDelivery, raw: pl.DataFrame, warnings: list[str]
) -> _Readable:
    """Canonical names, typed values and the rows that failed typing (raw may be a slice)."""
    headers = [c for c in raw.columns if c != ROW]
    where = f"{contract.id} file {planned.landed.path.name}"
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
    """One GX run over a batch of the source's deliveries; every failure with its reason."""
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
    reasoned = gx_reasons(contract, located, text, typed, files)
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
    failures = failures.sort(ROW, COLUMN, maintain_order=True)
    kept = item.typed.join(failures.select(ROW).unique(), on=ROW, how="anti").sort(ROW)
    rows = item.raw.join(failures.drop(DELIVERY_ID), on=ROW, how="inner").sort(
        ROW, COLUMN, maintain_order=True
    )
    return _account(
        contract, item.planned, item.warnings, item.raw.height, kept, failures, rows,
        lake_dir, quarantine_dir, as_of,
    )  # fmt: skip


def _account(
    contract: SourceContract,
    planned: PlannedDelivery,
    warnings: list[str],
    rows_in: int,
    kept: pl.DataFrame,
    failures: pl.DataFrame,
    quarantined: pl.DataFrame,
    lake_dir: Path,
    quarantine_dir: Path,
    as_of: dt.datetime,
) -> DeliveryOutcome:
    """Write a delivery's accepted rows (``kept``: typed, by row) and its quarantined rows (raw,
    with the failures' columns) and say what happened to it."""
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
        path = io.write_quarantine_rows(
            quarantine_dir, contract.id, planned.delivery_id, quarantined
        )
        quarantine.append(str(path))
    if accepted.height:  # into staging; io.place_partition puts it in the lake (or drops it)
        io.write_partition(lake_dir, contract.id, planned.delivery_id, accepted)
    n_quarantined = failures.select(ROW).n_unique() if failures.height else 0
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
        warnings=[*warnings, *(f.sentence(where) for f in findings)],
        implausible=[asdict(f) for f in findings],
    )


def _ingest_sliced(
    contract: SourceContract,
    plan: SourcePlan,
    planned: PlannedDelivery,
    holder: list[pl.DataFrame],
    warnings: list[str],
    staging: Path,
    as_of: dt.datetime,
) -> tuple[DeliveryOutcome, list[str]]:
    """A delivery of more than ``BATCH_ROWS`` rows (a backfill), coerced and validated
    ``BATCH_ROWS`` rows at a time, each slice's accepted rows staged on disk; then the delivery
    written whole. A key shared by rows of different slices is a duplicate in the delivery as
    GX would find it in one run: every row of such a key fails uniqueness, with the delivery's
    count (missing key values compare equal, as in GX's pandas run). ``holder`` holds the raw
    frame, released once the slices are done. Returns the
    outcome and the GX runs."""
    raw = holder.pop()
    rows_in = raw.height
    starts = list(range(0, rows_in, BATCH_ROWS))
    across = _duplicates_across_slices(contract, planned, raw, warnings, starts)
    pieces = staging / ".slices" / planned.delivery_id
    pieces.mkdir(parents=True, exist_ok=True)
    result_ids: list[str] = []
    parts: list[Path] = []
    failures_all: list[pl.DataFrame] = []
    quarantined_all: list[pl.DataFrame] = []
    keys = [ROW, COLUMN, EXPECTATION]
    for number, start in enumerate(starts):
        item = _coerce(contract, planned, raw.slice(start, BATCH_ROWS), warnings)
        validation, failures = _validate(contract, [item], plan)
        result_ids.append(validation.result_id)
        mine = across.filter(pl.col(ROW).is_in(item.raw[ROW].implode())).join(
            item.failures.select(DELIVERY_ID, ROW, COLUMN),  # a value that did not parse
            on=[DELIVERY_ID, ROW, COLUMN],
            how="anti",
        )
        failures = pl.concat(
            [failures.join(mine.select(keys), on=keys, how="anti"), mine], how="vertical"
        ).sort(ROW, COLUMN, maintain_order=True)
        kept = item.typed.join(failures.select(ROW).unique(), on=ROW, how="anti").sort(ROW)
        part = pieces / f"part-{number:04d}.parquet"
        kept.write_parquet(part)
        parts.append(part)
        failures_all.append(failures)
        quarantined_all.append(
            item.raw.join(failures.drop(DELIVERY_ID), on=ROW, how="inner").sort(
                ROW, COLUMN, maintain_order=True
            )
        )
        del item, kept
    del raw
    kept = pl.read_parquet(parts)
    outcome = _account(
        contract, planned, warnings, rows_in, kept, pl.concat(failures_all),
        pl.concat(quarantined_all, how="diagonal_relaxed"), staging, Path(plan.quarantine_dir),
        as_of,
    )  # fmt: skip
    outcome.validation_result_id = result_ids[0]
    return outcome, result_ids


def _duplicates_across_slices(
    contract: SourceContract,
    planned: PlannedDelivery,
    raw: pl.DataFrame,
    warnings: list[str],
    starts: list[int],
) -> pl.DataFrame:
    """The uniqueness failures (with their reasons) of keys whose rows lie in different slices:
    every row of such a key, counted over the whole delivery."""
    key_sets = [list(contract.unique_key)] if contract.unique_key else []
    key_sets += [[c.name] for c in contract.columns if c.unique and [c.name] not in key_sets]
    columns = sorted({k for keys in key_sets for k in keys})
    empty = pl.DataFrame(
        schema={
            DELIVERY_ID: pl.String(),
            ROW: pl.Int64(),
            COLUMN: pl.String(),
            EXPECTATION: pl.String(),
            REASON: pl.String(),
        }
    )
    if not key_sets:
        return empty
    typed_parts, text_parts = [], []
    for number, start in enumerate(starts):
        item = _coerce(contract, planned, raw.slice(start, BATCH_ROWS), warnings)
        typed_parts.append(
            item.typed.select(ROW, DELIVERY_ID, *columns).with_columns(
                pl.lit(number).alias("_slice")
            )
        )
        text_parts.append(item.text.select(ROW, DELIVERY_ID, *columns))
        del item
    typed = pl.concat(typed_parts)
    text = pl.concat(text_parts)
    found = []
    for keys in key_sets:  # as the suite checks them: compound with the delivery (to_gx.py)
        spread = pl.col("_slice").n_unique().over(keys) > 1
        rows = (
            typed.with_row_index(gx_context.POSITION)
            .filter(spread)
            .select(
                pl.col(gx_context.POSITION).cast(pl.Int64),
                ROW,
                DELIVERY_ID,
                pl.lit(", ".join(keys)).alias(COLUMN),
                pl.lit("expect_compound_columns_to_be_unique").alias(EXPECTATION),
            )
        )
        found.append(rows)
    located = pl.concat(found)
    if located.height == 0:
        return empty
    files = {planned.delivery_id: f"{contract.id} file {planned.landed.path.name}"}
    return gx_reasons(contract, located, text, typed.drop("_slice"), files)


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
    refusal = nil_return_refusal(contract.id, planned, weekly_rows)
    if refusal is not None:
        return _reject_whole_file(
            quarantine_dir,
            planned,
            DeliveryRejected(refusal, kind="empty", rows_in=0),
            contract.delivery.encoding,
        )
    io.clear_quarantine(quarantine_dir, contract.id, planned.delivery_id)
    io.drop_partition(lake_dir, contract.id, planned.delivery_id)
    return nil_return_outcome(contract.id, planned, item.warnings)


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
    return rejected_outright(
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
    return rejected_outright(planned, rows.height, missing.reason, MISSING_COLUMN, [path])


# ---------------------------------------------------------------- reasons


# ---------------------------------------------------------------- accounting
