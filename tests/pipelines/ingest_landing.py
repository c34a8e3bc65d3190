"""Tiny landing deliveries built from the contracts themselves (raw headers, types, rules).

Values are valid by construction: allowed values cycle, numbers sit inside their range, keys are
distinct per row. Tests then spoil one cell or one file to show one defect.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl

from data_contracts.checksums import USCC_ALPHABET, uscc_check
from data_contracts.schema import USCC_PATTERN, Column, ColumnType, SourceContract
from pipelines import landing
from pipelines.ingest_policy import SourcePlan
from pipelines.ingest_source import plan_source
from pipelines.timeline import parse_ingest_time


def uscc(i: int) -> str:
    """A valid unified social credit code (right check character), distinct for each i."""
    tail = ""
    for _ in range(9):
        i, digit = divmod(i, len(USCC_ALPHABET))
        tail = USCC_ALPHABET[digit] + tail
    body = f"91320594{tail}"
    return body + str(uscc_check([body])[0])


def valid_value(column: Column, i: int, day: dt.date) -> str:
    kind = ColumnType(column.type)
    if kind == ColumnType.string:
        if column.allowed:
            return column.allowed[i % len(column.allowed)]
        if column.pattern == USCC_PATTERN:
            return uscc(i)
        if column.pattern:
            raise ValueError(f"no example value for pattern {column.pattern!r}")
        return f"{column.name}-{i}"
    if kind in (ColumnType.int, ColumnType.float):
        low = column.min if column.min is not None else 0.0
        high = column.max if column.max is not None else low + 1_000_000
        value = low + (i % max(int(high - low), 1))
        return str(int(value)) if kind == ColumnType.int else f"{value + 0.5:.2f}"
    if kind == ColumnType.bool:
        return "true" if i % 2 else "false"
    if kind == ColumnType.date:
        return (day - dt.timedelta(days=i)).isoformat()
    moment = dt.datetime.combine(day, dt.time(8)) + dt.timedelta(seconds=i)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def valid_rows(contract: SourceContract, n: int, *, day: dt.date, start: int = 0) -> pl.DataFrame:
    """``n`` valid rows as delivered text, canonical column names."""
    return pl.DataFrame(
        {
            c.name: [valid_value(c, i, day) for i in range(start, start + n)]
            for c in contract.columns
        },
        schema={c.name: pl.String for c in contract.columns},
    )


def raw_headers(frame: pl.DataFrame, contract: SourceContract) -> pl.DataFrame:
    """Canonical names -> the headers the department uses (unknown columns kept)."""
    mapping = {c.name: c.raw for c in contract.columns if c.name in frame.columns}
    return frame.rename(mapping)


def csv_bytes(frame: pl.DataFrame, encoding: str) -> bytes:
    return frame.write_csv().encode(encoding)


def land(
    landing: Path,
    contract: SourceContract,
    delivery_id: str,
    frame: pl.DataFrame,
    *,
    encoding: str | None = None,
) -> Path:
    """Write ``frame`` (canonical names) as the department would: raw headers, declared format."""
    folder = landing / contract.id
    folder.mkdir(parents=True, exist_ok=True)
    delivered = raw_headers(frame, contract)
    fmt = contract.delivery.format.value
    path = folder / f"{delivery_id}.{fmt}"
    if fmt == "parquet":
        delivered.write_parquet(path)
    else:
        path.write_bytes(csv_bytes(delivered, encoding or contract.delivery.encoding))
    return path


def land_bytes(landing: Path, contract: SourceContract, name: str, data: bytes) -> Path:
    folder = landing / contract.id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def plan_landed(
    workdir: Path,
    contract: SourceContract,
    *,
    as_of: dt.datetime,
    ledger: dict | None = None,
    run_id: str = "r",
) -> SourcePlan:
    """The plan for one source's files in ``workdir/landing``; lake, quarantine, GX under it."""
    survey = landing.survey_landing(workdir / "landing", {contract.id})
    return plan_source(
        contract,
        survey.deliveries.get(contract.id, []),
        ledger or {},
        run_id=run_id,
        as_of=as_of,
        lake_dir=workdir / "lake",
        quarantine_dir=workdir / "quarantine",
        gx_root=workdir,
        set_aside=survey.set_aside_in(contract.id),
    )


def ingest_steps(workdir: Path, as_of: str, run_id: str = "r") -> dict:
    """The ingest flow's steps (discover, ingest every source, summarize) called directly,
    without Prefect, the Data Docs or the audit log; returns the summary."""
    from pipelines.flows import ingest as flow

    moment = parse_ingest_time(as_of)
    plans = flow.discover_task.fn(str(workdir), moment, run_id)
    reports = [flow._ingest_planned(p) for p in plans["busy"] + plans["idle"]]
    summary = flow.summarize_task.fn(str(workdir / "ingest" / run_id), reports)
    return json.loads(Path(summary).read_text(encoding="utf-8"))
