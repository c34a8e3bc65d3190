"""File IO of ingestion: landed files, raw reads, the lake, its ledger, quarantine, JSON.

Layout (docs/ARCHITECTURE.md): ``landing/<source>/<delivery_id>.<csv|parquet>`` in,
``lake/<source>/delivery=<delivery_id>/part-0.parquet`` and ``lake/_ledger.jsonl`` out, rejected
rows to ``quarantine/<source>/<delivery_id>.parquet``; a file that cannot be read at all is kept
whole as ``quarantine/<source>/<delivery_id>.raw`` next to ``<delivery_id>.reason.json``.
What is in landing/ at all (deliveries, and everything set aside with why) is
``pipelines.landing``.

A quarantine parquet holds ``_row`` and the delivered columns as text, then one record per failed
check: ``_column``, ``_expectation``, ``_reason``. A row failing two checks appears twice; counts
of quarantined rows count distinct ``_row`` values.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from data_contracts import catalog
from data_contracts.coerce import ROW
from data_contracts.schema import FileFormat, SourceContract
from data_contracts.to_polars import DATETIME, polars_schema
from pipelines import datasets

# One SHA-256 and one JSON writer for every writer (pipelines/file_io.py), used here by name.
from pipelines.file_io import file_sha256 as file_sha256
from pipelines.file_io import held_exclusively, replaced_on_success
from pipelines.file_io import read_json as read_json
from pipelines.file_io import write_json as write_json

DELIVERY_ID = "_delivery_id"
INGESTED_AT = "_ingested_at"
LEDGER_NAME = datasets.LAKE_LEDGER.name
PART_NAME = datasets.LAKE_PART.file_name

DELIVERY_ID_PATTERN = re.compile(r"^(backfill-)?(\d{4}-\d{2}-\d{2})$")


def is_weekly_delivery(delivery_id: str) -> bool:
    """A dated weekly delivery (``YYYY-MM-DD``), not a backfill or an id off the rule."""
    match = DELIVERY_ID_PATTERN.match(delivery_id)
    return match is not None and match.group(1) is None


# Encodings a department might have used instead of the declared one (for a clearer reason).
CANDIDATE_ENCODINGS = ("utf-8", "gb18030")


# ---------------------------------------------------------------- landing


@dataclass(frozen=True)
class LandedFile:
    """One delivery as it sits in landing/<source_id>/."""

    source_id: str
    delivery_id: str
    path: Path

    @property
    def suffix(self) -> str:
        return self.path.suffix.lstrip(".").lower()

    @property
    def delivered_on(self) -> date | None:
        """The delivery date encoded in the id, or None when the id does not follow the rule."""
        match = DELIVERY_ID_PATTERN.match(self.delivery_id)
        if not match:
            return None
        try:
            return date.fromisoformat(match.group(2))
        except ValueError:
            return None


def delivery_order(landed: LandedFile) -> tuple[int, date, str]:
    day = landed.delivered_on
    return (0, day, landed.delivery_id) if day else (1, date.min, landed.delivery_id)


# ---------------------------------------------------------------- raw reads


class DeliveryRejected(Exception):
    """A whole delivery cannot be used. ``kind`` is a short label, ``rows_in`` what was counted
    (None: not counted yet, or not countable)."""

    def __init__(self, reason: str, *, kind: str, rows_in: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.rows_in = rows_in


def read_delivery(landed: LandedFile, contract: SourceContract) -> pl.DataFrame:
    """The delivery with its headers as delivered, every value a string, plus ``_row``.

    A header without rows is a nil return where the contract allows them (no rows come back),
    an empty file otherwise.

    ``_row`` is the 1-based data row in the file (the header is not a data row). Raises
    ``DeliveryRejected`` with a reason naming the source, the file and, where it helps, the
    column or row.
    """
    where = f"{contract.id} file {landed.path.name}"
    declared = FileFormat(contract.delivery.format)
    if landed.suffix != declared.value:
        raise DeliveryRejected(
            f"{where}: delivered as .{landed.suffix} but the contract declares {declared.value}",
            kind="wrong_format",
        )
    if declared == FileFormat.parquet:
        frame = _read_parquet(landed.path, where)
    else:
        frame = _read_csv(landed.path, contract, where)
    if frame.height == 0 and not contract.delivery.nil_returns:
        raise DeliveryRejected(
            f"{where}: empty file (a header but no data rows)", kind="empty", rows_in=0
        )
    return frame.with_row_index(ROW, offset=1).with_columns(pl.col(ROW).cast(pl.Int64))


def _read_csv(path: Path, contract: SourceContract, where: str) -> pl.DataFrame:
    data = path.read_bytes()
    if not data or data.isspace():
        raise DeliveryRejected(f"{where}: empty file (no header, no rows)", kind="empty", rows_in=0)
    encoding = contract.delivery.encoding
    header_end = data.find(b"\n")
    header_bytes = data if header_end < 0 else data[:header_end]
    headers = _csv_headers(_decode(header_bytes, encoding, where, whole=data))
    _reject_misdecoded(header_bytes, headers, contract, where, whole=data)
    _reject_other_delimiter(headers, contract, where, whole=data)
    repeated = sorted({h for h in headers if headers.count(h) > 1})
    if repeated:
        raise DeliveryRejected(
            f"{where}: column {repeated[0]!r} appears more than once in the header",
            kind="unreadable",
            rows_in=_count_data_lines(data),
        )
    # polars reads utf-8 only and checks it on the way; other encodings are decoded here.
    utf8 = data if encoding == "utf-8" else _decode(data, encoding, where).encode("utf-8")
    try:
        return pl.read_csv(
            io.BytesIO(utf8),
            infer_schema=False,
            raise_if_empty=False,
            new_columns=headers,
            encoding="utf8",
        )
    except pl.exceptions.PolarsError as error:
        if "utf-8" in str(error).lower():
            _decode(data, encoding, where)  # raises with the byte offset and row
        first_line = str(error).strip().splitlines()[0]
        raise DeliveryRejected(
            f"{where}: unreadable csv ({first_line})",
            kind="unreadable",
            rows_in=_count_data_lines(data),
        ) from error


def _decode(data: bytes, encoding: str, where: str, *, whole: bytes | None = None) -> str:
    """Decode as declared, or reject naming the byte offset and the row it falls in.

    ``whole`` is the complete file when ``data`` is only its start (for counting and hints).
    """
    try:
        return data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as error:
        whole = data if whole is None else whole
        line = data.count(b"\n", 0, error.start)
        place = "the header" if line == 0 else f"data row {line}"
        hint = _other_encoding_hint(whole, encoding)
        raise DeliveryRejected(
            f"{where}: not valid {encoding} as the contract declares: byte offset {error.start} "
            f"({place}) cannot be decoded{hint}",
            kind="encoding",
            rows_in=_count_data_lines(whole),
        ) from error


def _other_encoding_hint(data: bytes, declared: str) -> str:
    for candidate in CANDIDATE_ENCODINGS:
        if candidate == declared:
            continue
        try:
            data.decode(candidate)
        except UnicodeDecodeError:
            continue
        return f"; the file reads cleanly as {candidate}"
    return ""


def _reject_misdecoded(
    header: bytes, headers: list[str], contract: SourceContract, where: str, *, whole: bytes
) -> None:
    """A header that decodes but only makes sense in another encoding means a wrong encoding."""
    expected = {c.raw for c in contract.columns}
    if expected & set(headers):
        return
    for candidate in CANDIDATE_ENCODINGS:
        if candidate == contract.delivery.encoding:
            continue
        try:
            other = _csv_headers(header.decode("utf-8-sig" if candidate == "utf-8" else candidate))
        except UnicodeDecodeError:
            continue
        if expected & set(other):
            raise DeliveryRejected(
                f"{where}: encoded as {candidate}, but the contract declares "
                f"{contract.delivery.encoding} (no header matches until decoded as {candidate})",
                kind="encoding",
                rows_in=_count_data_lines(whole),
            )


# Separators a spreadsheet export may use instead of the comma (a locale's list separator, TSV).
OTHER_DELIMITERS = {";": "';' (semicolon)", "\t": "tab", "|": "'|' (pipe)"}


def _reject_other_delimiter(
    headers: list[str], contract: SourceContract, where: str, *, whole: bytes
) -> None:
    """A header with none of the contract's columns that names them once split at another
    separator: say so, rather than report every required column missing."""
    expected = {c.raw for c in contract.columns}
    if expected & set(headers):
        return
    line = ",".join(headers)
    for delimiter, name in OTHER_DELIMITERS.items():
        found = expected & {h.strip() for h in line.split(delimiter)}
        if found:
            raise DeliveryRejected(
                f"{where}: looks delimited by {name}, not by commas as CSV deliveries are: split "
                f"there, its header names {len(found)} of the contract's {len(expected)} "
                f"columns; split at commas, none",
                kind="delimiter",
                rows_in=_count_data_lines(whole),
            )


def _csv_headers(text: str) -> list[str]:
    first = text.split("\n", 1)[0].rstrip("\r")
    return [h.strip() for h in next(csv.reader([first]), [])]


def _count_data_lines(data: bytes) -> int:
    """Non-blank lines after the header: what can be counted in a file that cannot be parsed."""
    lines = [line for line in data.split(b"\n") if line.strip()]
    return max(len(lines) - 1, 0)


def _read_parquet(path: Path, where: str) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path)
        # Whole seconds without a ".000000" tail: the form the coercion parses fastest.
        return frame.select(
            pl.col(name).dt.to_string("%Y-%m-%d %H:%M:%S%.f")
            if isinstance(dtype, pl.Datetime)
            else pl.col(name).cast(pl.String)
            for name, dtype in frame.schema.items()
        )
    except Exception as error:  # a corrupt file raises from polars, pyarrow or the OS
        first_line = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise DeliveryRejected(
            f"{where}: unreadable parquet ({first_line})",
            kind="unreadable",
            rows_in=_parquet_row_count(path),
        ) from error


def _parquet_row_count(path: Path) -> int | None:
    try:
        return int(pl.scan_parquet(path).select(pl.len()).collect().item())
    except Exception:  # the footer itself is damaged: nothing can be counted
        return None


# ---------------------------------------------------------------- lake


def lake_schema(contract: SourceContract) -> pl.Schema:
    """Canonical typed columns plus the delivery id and ingestion time."""
    schema = dict(polars_schema(contract))
    schema[DELIVERY_ID] = pl.String()
    schema[INGESTED_AT] = DATETIME
    return pl.Schema(schema)


def partition_dir(lake_dir: Path, source_id: str, delivery_id: str) -> Path:
    return datasets.LAKE_PART.at(lake_dir, source=source_id, delivery=delivery_id).parent


def write_partition(lake_dir: Path, source_id: str, delivery_id: str, frame: pl.DataFrame) -> Path:
    """Write (or atomically replace) one delivery's accepted rows."""
    target = partition_dir(lake_dir, source_id, delivery_id) / PART_NAME
    _write_parquet_atomic(frame, target)
    return target


def drop_partition(lake_dir: Path, source_id: str, delivery_id: str) -> None:
    shutil.rmtree(partition_dir(lake_dir, source_id, delivery_id), ignore_errors=True)


def place_partition(staging: Path, lake_dir: Path, source_id: str, delivery_id: str) -> None:
    """Put a delivery's partition staged under ``staging`` (laid out like the lake) in place of
    the lake's, atomically; with nothing staged (no accepted row), drop the lake's."""
    staged = partition_dir(staging, source_id, delivery_id) / PART_NAME
    if not staged.is_file():
        drop_partition(lake_dir, source_id, delivery_id)
        return
    target = partition_dir(lake_dir, source_id, delivery_id)
    target.mkdir(parents=True, exist_ok=True)
    os.replace(staged, target / PART_NAME)


def lake_files(lake_dir: Path, source_id: str) -> list[Path]:
    folder = lake_dir / source_id
    if not folder.is_dir():
        return []
    return sorted(lake_dir.glob(datasets.LAKE_PART.wildcard(source=source_id)))


def lake_sources(lake_dir: Path) -> dict[str, pl.LazyFrame]:
    """Every contracted source about firms that has data in the lake, scanned lazily (the
    sources about the regulators themselves feed the inspection plan, not features)."""
    return {
        source_id: scan_source(lake_dir, source_id)
        for source_id, contract in catalog.load_all().items()
        if contract.about_firms and lake_files(lake_dir, source_id)
    }


def scan_source(lake_dir: Path | str, source_id: str) -> pl.LazyFrame:
    """Every accepted row of a source, typed as its contract says (empty if nothing landed).

    Partitions written before a column was added to the contract read that column as null.
    """
    schema = lake_schema(catalog.get(source_id))
    files = lake_files(Path(lake_dir), source_id)
    if not files:
        return pl.LazyFrame(schema=schema)
    return pl.scan_parquet(
        files,
        schema=schema,
        hive_partitioning=False,
        missing_columns="insert",
        extra_columns="ignore",
    )


# ---------------------------------------------------------------- ledger


def ledger_path(lake_dir: Path) -> Path:
    return lake_dir / LEDGER_NAME


def read_ledger(lake_dir: Path) -> list[dict[str, Any]]:
    path = ledger_path(lake_dir)
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def latest_deliveries(lake_dir: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """The newest ledger entry of every (source, delivery id)."""
    return {(e["source"], e["delivery_id"]): e for e in read_ledger(lake_dir)}


def append_ledger(lake_dir: Path, entries: Iterable[dict[str, Any]]) -> None:
    lines = "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in entries)
    if not lines:
        return
    # sources ingested in parallel (ews ingest --runner dask) append from several processes:
    # one writer at a time, so no line is interleaved with another
    with held_exclusively(ledger_path(lake_dir)) as handle:
        handle.write(lines)
        handle.flush()
        os.fsync(handle.fileno())


# ---------------------------------------------------------------- quarantine


def quarantine_rows_path(quarantine_dir: Path, source_id: str, delivery_id: str) -> Path:
    return quarantine_dir / source_id / f"{delivery_id}.parquet"


def quarantine_raw_path(quarantine_dir: Path, source_id: str, delivery_id: str) -> Path:
    return quarantine_dir / source_id / f"{delivery_id}.raw"


def quarantine_reason_path(quarantine_dir: Path, source_id: str, delivery_id: str) -> Path:
    return quarantine_dir / source_id / f"{delivery_id}.reason.json"


def clear_quarantine(quarantine_dir: Path, source_id: str, delivery_id: str) -> None:
    """Forget what an earlier version of this delivery left in quarantine."""
    for path in (
        quarantine_rows_path(quarantine_dir, source_id, delivery_id),
        quarantine_raw_path(quarantine_dir, source_id, delivery_id),
        quarantine_reason_path(quarantine_dir, source_id, delivery_id),
    ):
        path.unlink(missing_ok=True)


def write_quarantine_rows(
    quarantine_dir: Path, source_id: str, delivery_id: str, frame: pl.DataFrame
) -> Path:
    target = quarantine_rows_path(quarantine_dir, source_id, delivery_id)
    _write_parquet_atomic(frame, target)
    return target


def quarantine_whole_file(
    quarantine_dir: Path, landed: LandedFile, record: dict[str, Any]
) -> tuple[Path, Path]:
    """Keep an unusable delivery byte for byte, with a JSON record of why."""
    raw = quarantine_raw_path(quarantine_dir, landed.source_id, landed.delivery_id)
    raw.parent.mkdir(parents=True, exist_ok=True)
    # O_NOFOLLOW: a file swapped for a link after discovery is refused, its target never copied.
    source = os.open(landed.path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(source, "rb") as handle, raw.open("wb") as copy:
        shutil.copyfileobj(handle, copy)
    reason = quarantine_reason_path(quarantine_dir, landed.source_id, landed.delivery_id)
    write_json(reason, record)
    return raw, reason


# ---------------------------------------------------------------- small helpers


def _write_parquet_atomic(frame: pl.DataFrame, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with replaced_on_success(target) as tmp:
        frame.write_parquet(tmp)
