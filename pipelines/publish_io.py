"""Writing a publication: byte-reproducible files, hashes, and atomic replacement of a folder.

Every writer here produces the same bytes for the same frame (no clocks, no random names inside
files), so the SHA-256s in a manifest prove that two publications are identical.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import json
import os
import shutil
import time
import uuid
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import psutil
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.writer.excel import ExcelWriter

from data_contracts.industries import declaration_path
from features import registry
from pipelines import datasets, spreadsheet_safety, workdir_lock
from pipelines.file_io import file_sha256

# The files of one published list, publish/<week>/<industry>/ (the site reads them back).
# Their names and what each holds are in the catalog (pipelines/datasets.py).
RISK_LIST_XLSX = datasets.RISK_LIST_XLSX.name
RISK_LIST_CSV = datasets.RISK_LIST_CSV.name
RISK_LIST_PARQUET = datasets.RISK_LIST_PARQUET.name
SCORES = datasets.SCORES.name
EXPLANATIONS = datasets.EXPLANATIONS.name
REASONS = datasets.REASONS.name
LEAVERS = datasets.LEAVERS.name
HISTORY = datasets.LIST_HISTORY.name
FIRMS = datasets.LIST_FIRMS.name
DECISIONS = datasets.DECISIONS.name
BEESWARM = datasets.BEESWARM.name
MANIFEST = datasets.MANIFEST


def waterfall_path(uscc: str) -> str:
    return str(datasets.WATERFALL.at(Path(), uscc=uscc))


PARTIAL_MARK = ".partial-"
RETIRED_MARK = ".retired-"
STALE_AFTER_S = 3600.0
# The earliest time a ZIP entry can carry: every xlsx member gets it, so the bytes never change.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
MIN_WIDTH, MAX_WIDTH = 6, 60


def write_parquet(frame: pl.DataFrame, path: Path) -> Path:
    frame.write_parquet(path, compression="zstd", statistics=True)
    return path


def write_csv(frame: pl.DataFrame, path: Path) -> Path:
    """UTF-8 with a byte-order mark, so Excel on Chinese Windows opens it without mojibake;
    text that could start a formula neutralised (``pipelines.spreadsheet_safety``)."""
    return spreadsheet_safety.write_csv(frame, path, float_precision=6)


@dataclass(frozen=True)
class InputColumn:
    """An empty column the reader fills in, after the published ones, with Excel's validation.

    ``kind``: ``date`` (on or after ``min_date``), ``choice`` (a drop-down of ``choices``) or
    ``text`` (at most ``max_length`` characters). ``prompt`` is shown when a cell is selected.
    """

    header: str
    kind: str
    prompt: str
    choices: tuple[str, ...] = ()
    min_date: date | None = None
    max_length: int | None = None
    width: float = 14.0


@dataclass(frozen=True)
class Sheet:
    """One worksheet: a frame whose column names are the (Chinese) headers.

    ``inputs`` are editable columns appended to the table; with ``protect`` every other cell is
    locked (the sheet can still be filtered), so only the inputs can be typed into.
    """

    title: str
    frame: pl.DataFrame
    number_formats: dict[str, str] = field(default_factory=dict)
    note: str | None = None  # a line above the table (e.g. why the sheet is empty)
    inputs: tuple[InputColumn, ...] = ()
    protect: bool = False


def write_xlsx(sheets: Sequence[Sheet], path: Path, stamp: datetime) -> Path:
    """An Excel workbook with a bold, frozen header row and widths that fit the content.

    Every text cell (headers and notes included) is neutralised and written as a string cell
    (``pipelines.spreadsheet_safety``): no value from data becomes a formula. ``stamp`` becomes
    the document's created/modified time (pass the list's as-of date) so the file does not
    change from one run to the next.
    """
    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet in sheets:
        _fill_sheet(workbook.create_sheet(sheet.title), sheet)
    workbook.properties.creator = "EWS"
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).write_data()
    path.write_bytes(_zip_without_clock(buffer.getvalue()))
    return path


def _fill_sheet(worksheet, sheet: Sheet) -> None:
    header_row = 1
    if sheet.note:
        spreadsheet_safety.append_row(worksheet, [sheet.note])
        worksheet.cell(row=1, column=1).font = Font(italic=True)
        header_row = 2
    frame = spreadsheet_safety.neutralise_formulas(sheet.frame, for_xlsx=True)
    headers = frame.columns
    spreadsheet_safety.append_row(worksheet, headers)
    fill = PatternFill("solid", start_color="DDE4EE")
    for index in range(1, len(headers) + 1):
        cell = worksheet.cell(row=header_row, column=index)
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center")
    for row in frame.iter_rows():
        spreadsheet_safety.append_row(worksheet, row)
    for index, (original, name) in enumerate(zip(sheet.frame.columns, headers, strict=True), 1):
        letter = get_column_letter(index)
        values = [name, *("" if v is None else str(v) for v in frame.get_column(name))]
        worksheet.column_dimensions[letter].width = _width(values)
        number_format = sheet.number_formats.get(original)
        if number_format:
            for (cell,) in worksheet.iter_rows(
                min_row=header_row + 1, min_col=index, max_col=index
            ):
                cell.number_format = number_format
    _add_inputs(worksheet, sheet, header_row)
    # Printed (or saved as PDF), a sheet is as wide as one landscape page and as long as needed.
    worksheet.page_setup.orientation = "landscape"
    worksheet.page_setup.paperSize = worksheet.PAPERSIZE_A4
    worksheet.sheet_properties.pageSetUpPr.fitToPage = True
    worksheet.page_setup.fitToWidth = 1
    worksheet.page_setup.fitToHeight = 0
    worksheet.freeze_panes = worksheet.cell(row=header_row + 1, column=1)
    width = len(headers) + len(sheet.inputs)
    if width and sheet.frame.height:
        worksheet.auto_filter.ref = (
            f"A{header_row}:{get_column_letter(width)}{header_row + sheet.frame.height}"
        )
    if sheet.protect:
        # Locked cells cannot be edited; filtering stays allowed (False = not protected).
        worksheet.protection.sheet = True
        worksheet.protection.autoFilter = False
        worksheet.protection.formatColumns = False


INPUT_FILL = "FFF4CC"  # the editable columns are pale yellow


def _add_inputs(worksheet, sheet: Sheet, header_row: int) -> None:
    """The editable columns: a header, unlocked empty cells, and Excel's data validation."""
    first_row, last_row = header_row + 1, header_row + sheet.frame.height
    for offset, column in enumerate(sheet.inputs, start=len(sheet.frame.columns) + 1):
        letter = get_column_letter(offset)
        header = worksheet.cell(
            row=header_row, column=offset, value=spreadsheet_safety.xlsx_text(column.header)
        )
        header.font = Font(bold=True)
        header.fill = PatternFill("solid", start_color="F2C94C")
        header.alignment = Alignment(horizontal="center", vertical="center")
        worksheet.column_dimensions[letter].width = column.width
        for row in range(first_row, last_row + 1):
            cell = worksheet.cell(row=row, column=offset)
            cell.protection = Protection(locked=False)
            cell.fill = PatternFill("solid", start_color=INPUT_FILL)
            if column.kind == "date":
                cell.number_format = "yyyy-mm-dd"
        if last_row >= first_row:
            validation = _validation(column)
            validation.add(f"{letter}{first_row}:{letter}{last_row}")
            worksheet.add_data_validation(validation)


def _validation(column: InputColumn) -> DataValidation:
    common = {
        "allow_blank": True,
        "showErrorMessage": True,
        "showInputMessage": True,
        "errorTitle": "输入无效",
        "promptTitle": column.header,
        "prompt": column.prompt,
    }
    if column.kind == "choice":
        return DataValidation(
            type="list",
            formula1='"' + ",".join(column.choices) + '"',
            error="请从下拉列表中选择",
            **common,
        )
    if column.kind == "date":
        day = column.min_date or date(2000, 1, 1)
        return DataValidation(
            type="date",
            operator="greaterThanOrEqual",
            formula1=f"DATE({day.year},{day.month},{day.day})",
            error=f"请填写{day.isoformat()}或之后的日期",
            **common,
        )
    if column.kind == "text":
        return DataValidation(
            type="textLength",
            operator="lessThanOrEqual",
            formula1=str(column.max_length or 1000),
            error=f"不超过{column.max_length or 1000}个字",
            **common,
        )
    raise ValueError(f"input column {column.header!r}: unknown kind {column.kind!r}")


def _width(values: Sequence[str]) -> float:
    """Column width in Excel character units; a CJK character is two units wide."""
    longest = max((sum(2 if ord(ch) > 0x2E80 else 1 for ch in v) for v in values), default=0)
    return float(min(max(longest + 2, MIN_WIDTH), MAX_WIDTH))


def _zip_without_clock(data: bytes) -> bytes:
    """The same archive with every member's timestamp fixed and members in name order."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        # [Content_Types].xml must stay first for some readers; the rest go in name order.
        names = source.namelist()
        ordered = [n for n in names if n == "[Content_Types].xml"]
        ordered += sorted(n for n in names if n != "[Content_Types].xml")
        for name in ordered:
            member = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            target.writestr(member, source.read(name))
    return out.getvalue()


def ledger_snapshot(ledger: Path) -> dict[str, Any]:
    """The lake as the list saw it: how many ledger lines existed and their SHA-256.

    The ledger is append-only, so an auditor re-hashes its first ``lines`` lines later and gets
    the same value as long as the lake the list was built from has not been rewritten.
    """
    if not ledger.is_file():
        return {"lines": 0, "sha256": hashlib.sha256(b"").hexdigest()}
    data = ledger.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]  # a line still being appended is not part of it
    return {"lines": complete.count(b"\n"), "sha256": hashlib.sha256(complete).hexdigest()}


def snapshot_ingest(ledger: Path, ingest_runs: Path) -> dict[str, Any]:
    """The ingest run that wrote the last line of the lake snapshot the list saw
    (``ledger_snapshot``), with its Great Expectations validation result ids.

    Tied to the data, not to the newest run: an ingest that found nothing new (a re-run, a quiet
    day, one that ran between a publication and its re-run) appends nothing to the ledger and so
    changes neither the lake nor the manifest, and the week re-derives byte for byte.
    """
    data = ledger.read_bytes() if ledger.is_file() else b""
    complete = data[: data.rfind(b"\n") + 1]
    if not complete:
        return {"run_id": None, "validation_result_ids": []}
    last = json.loads(complete.rstrip(b"\n").rsplit(b"\n", 1)[-1])
    run_id = last.get("run_id")
    # The ledger names the run; it names no path (a plain folder name or nothing is looked up).
    plain = (
        isinstance(run_id, str) and run_id not in {"", ".", ".."} and Path(run_id).name == run_id
    )
    summary_path = datasets.INGEST_SUMMARY.at(ingest_runs / run_id) if plain else None
    if summary_path is None or not summary_path.is_file():
        return {"run_id": run_id, "validation_result_ids": []}
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    return {
        "run_id": run_id,
        "validation_result_ids": sorted(summary.get("validation_result_ids", [])),
    }


def config_hash() -> str:
    """SHA-256 of what decides a list besides data and model: the industry declaration
    (models/industries.yaml, or EWS_INDUSTRIES's copy) and the registry (feature meanings,
    directions and reason templates)."""
    industries = declaration_path().read_bytes()
    features = json.dumps(
        [asdict(spec) for spec in registry.SPECS], ensure_ascii=False, sort_keys=True, default=str
    )
    digest = hashlib.sha256()
    digest.update(b"industries.yaml\0" + industries + b"\0registry\0" + features.encode("utf-8"))
    return digest.hexdigest()


def file_hashes(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` by relative POSIX path, sorted."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {p.relative_to(folder).as_posix(): file_sha256(p) for p in files}


@contextlib.contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield an empty folder beside ``target``; on success it replaces ``target`` in one step.

    On any error the partial folder is removed and ``target`` (the previous publication) is left
    exactly as it was. Leftovers of a process killed mid-write are cleared on the next call.
    """
    partial = begin(target)
    try:
        yield partial
    except BaseException:
        abandon(partial)
        raise
    commit(partial, target)


def begin(target: Path) -> Path:
    """A fresh hidden folder beside ``target`` to write a new version into, named after the
    writing process (``.<name>.partial-<pid>-<uuid>``) so that the next run can tell a dead
    writer's leftovers from a live one's work."""
    target.parent.mkdir(parents=True, exist_ok=True)
    clear_leftovers(target)
    partial = target.parent / f".{target.name}{PARTIAL_MARK}{_writer_tag()}"
    partial.mkdir()
    return partial


def commit(partial: Path, target: Path) -> Path:
    """Put the finished ``partial`` folder in place of ``target`` atomically."""
    _swap_into_place(partial, target)
    return target


def abandon(partial: Path) -> None:
    shutil.rmtree(partial, ignore_errors=True)


def clear_leftovers(target: Path, older_than_s: float = STALE_AFTER_S) -> None:
    """Remove partial or retired copies of ``target`` left by an interrupted publication.

    A copy whose writer has died goes at once when this process holds the lock of the workdir
    it is in (``pipelines.workdir_lock``): no other run is writing there, and the dead one will
    not come back for it. Otherwise only copies untouched for ``older_than_s`` go, so a run
    still writing its own copy next to this one is not pulled from under it (another host's or
    container's process looks dead from here); younger leftovers stay hidden (dot-named).
    """
    cutoff = time.time() - older_than_s
    locked = workdir_lock.held_over(target.parent)
    for mark in (PARTIAL_MARK, RETIRED_MARK):
        for leftover in target.parent.glob(f".{target.name}{mark}*"):
            writer = _writer_pid(leftover.name.removeprefix(f".{target.name}{mark}"))
            dead = locked and writer is not None and not _alive(writer)
            if dead or leftover.stat().st_mtime <= cutoff:
                shutil.rmtree(leftover, ignore_errors=True)


def _writer_tag() -> str:
    return f"{os.getpid()}-{uuid.uuid4().hex}"


def _writer_pid(tag: str) -> int | None:
    """The pid in a ``<pid>-<uuid>`` tag; None for another shape (copies named before the pid
    was, which wait out ``STALE_AFTER_S``)."""
    pid, _, rest = tag.partition("-")
    if pid.isdigit() and len(rest) == 32 and all(c in "0123456789abcdef" for c in rest):
        return int(pid)
    return None


def _alive(pid: int) -> bool:
    """A process that can still write: not gone, and not a zombie waiting to be reaped."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def _swap_into_place(ready: Path, target: Path) -> None:
    if not target.exists():
        os.rename(ready, target)
        return
    if _exchange(ready, target):
        shutil.rmtree(ready)  # now holds the previous publication
        return
    # No atomic exchange on this platform: two renames, the old copy kept until the new is in.
    retired = target.parent / f".{target.name}{RETIRED_MARK}{_writer_tag()}"
    os.rename(target, retired)
    os.rename(ready, target)
    shutil.rmtree(retired)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with Linux renameat2(RENAME_EXCHANGE); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    done = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if done == 0:
        return True
    errno = ctypes.get_errno()
    if errno in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: the filesystem cannot exchange
        return False
    raise OSError(errno, os.strerror(errno), str(b))
