"""The files of a consistency run, and the two files people hand in: a pilot list of firms and a
department's returned workbook.

consistency/<as_of>/<scope>/                   one run (scope: ``park`` or ``pilot-<8 hex>``)
  anomalies.parquet                            the anomaly list (every department)
  examined.parquet                             every period each rule looked at, violated or not
  evidence.parquet                             the rows behind each anomaly
  follow_up.parquet, precision.parquet         the case store's follow-ups and each rule's
                                               precision, as they stood after the run
  departments/<department>/anomalies.xlsx      one department's list: Chinese headers, the
                                               follow-up columns to fill in, notes, evidence
  departments/<department>/anomalies.parquet
  manifest.json                                inputs, counts per topic, rule and department,
                                               every file's SHA-256

Every frame is sorted on a unique key and every file written without clocks, so a run re-derived
from the same lake and store is byte-identical. Text cells of the workbooks are neutralised
against formula injection; Parquet keeps the values as they were.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
from openpyxl import load_workbook

from data_contracts.checksums import uscc_is_valid
from data_contracts.rules import Topics
from data_contracts.schema import USCC_PATTERN
from pipelines import datasets, file_io
from pipelines.publish_io import Sheet, write_parquet, write_xlsx
from pipelines.spreadsheet_safety import write_csv

ANOMALIES = "anomalies.parquet"
EXAMINED = "examined.parquet"
EVIDENCE = "evidence.parquet"
FOLLOW_UP = "follow_up.parquet"
PRECISION = "precision.parquet"
MANIFEST = datasets.MANIFEST
DEPARTMENTS = "departments"
WORKBOOK = "anomalies.xlsx"
LIST_SHEET = "异常清单"
NOTES_SHEET = "说明"
EVIDENCE_SHEET = "证据"
KEY_HEADER = "异常编号"
# The anomaly list's columns in a department's workbook, with their Chinese headers.
LIST_HEADERS = {
    "anomaly_key": KEY_HEADER,
    "uscc": "统一社会信用代码",
    "firm_name": "企业名称",
    "topic_zh": "主题",
    "rule_zh": "规则",
    "severity_zh": "严重程度",
    "period_zh": "期间",
    "text_zh": "异常情况",
    "left_label_zh": "值一",
    "left_value_zh": "值一内容",
    "left_source_zh": "值一来源",
    "left_date": "值一所属日期",
    "right_label_zh": "值二",
    "right_value_zh": "值二内容",
    "right_source_zh": "值二来源",
    "right_date": "值二所属日期",
    "measure_text": "差异",
    "sector": "监管行业",
    "district": "所属片区",
    "status": "登记状态",
    "first_found": "首次发现",
    "status_zh": "跟进状态",
}
# Filled in by the department and read back by ``read_returned_workbook``.
RESULT, DECIDED_ON, NOTE = "核查结果", "核查日期", "核查情况说明"
EVIDENCE_HEADERS = {
    "anomaly_key": KEY_HEADER,
    "source_zh": "来源",
    "date": "所属日期",
    "column_zh": "项目",
    "value": "内容",
}
NOTE_MAX_CHARS = 1000


class FirmListError(ValueError):
    """A pilot list that cannot be used (names the file and row)."""


class ReturnedWorkbookError(ValueError):
    """A returned workbook that cannot be read (names the file, sheet, row and column)."""


def scope_of(firms: Sequence[str] | None) -> str:
    """``park`` for the whole park, else ``pilot-`` and 8 hex digits of the sorted list."""
    if firms is None:
        return "park"
    digest = hashlib.sha256("\n".join(sorted(firms)).encode("utf-8")).hexdigest()
    return f"pilot-{digest[:8]}"


def read_firm_list(path: Path) -> list[str]:
    """The unified social credit codes of a pilot list (CSV, TXT or XLSX; the column
    统一社会信用代码 or ``uscc``, or the only column), in file order, repeats dropped."""
    if not path.is_file():
        raise FirmListError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            frame = _first_sheet(path)
        elif suffix == ".txt":
            lines = path.read_text(encoding="utf-8-sig").splitlines()
            frame = pl.DataFrame({"uscc": [line for line in lines if line.strip()]})
        else:
            frame = pl.read_csv(path, infer_schema=False, encoding="utf8-lossy")
    except Exception as error:  # an unreadable file: say which, and why
        raise FirmListError(f"{path}: cannot read it: {error}") from error
    names = [c for c in frame.columns if c.strip().lstrip("\ufeff") in ("统一社会信用代码", "uscc")]
    if not names and frame.width == 1:
        names = frame.columns
    if not names:
        raise FirmListError(
            f"{path}: no column 统一社会信用代码 or uscc (columns: {frame.columns})"
        )
    header = 0 if suffix == ".txt" else 1
    codes: list[str] = []
    for number, raw in enumerate(frame[names[0]].to_list(), start=header + 1):
        code = (raw or "").strip().upper()
        if not code:
            continue
        if not (pl.Series([code]).str.contains(USCC_PATTERN).item() and uscc_is_valid([code])[0]):
            raise FirmListError(
                f"{path}: row {number}, column {names[0]}: {raw!r} is not a valid unified "
                "social credit code"
            )
        codes.append(code)
    if not codes:
        raise FirmListError(f"{path}: no firm listed")
    return list(dict.fromkeys(codes))


def _first_sheet(path: Path) -> pl.DataFrame:
    """The first sheet of a workbook as text columns (first row: headers)."""
    book = load_workbook(path, read_only=True, data_only=True)
    rows = [
        r for r in book.worksheets[0].iter_rows(values_only=True) if any(c is not None for c in r)
    ]
    if not rows:
        return pl.DataFrame()
    headers = [str(c) if c is not None else f"column_{i}" for i, c in enumerate(rows[0])]
    columns = {
        h: [None if r[i] is None else str(r[i]) for r in rows[1:]] for i, h in enumerate(headers)
    }
    return pl.DataFrame(columns, schema=dict.fromkeys(headers, pl.String))


PILOT_HEADER = "统一社会信用代码"


def pilot_from_lists(manifests: Sequence[str | Path], size: int) -> list[str]:
    """A pilot of ``size`` firms from published lists: the listed firms, highest calibrated
    probability first, then the other scored firms the same way (ties by code)."""
    scores = pl.concat(
        [
            pl.read_parquet(datasets.SCORES.at(Path(m).parent)).select(
                "uscc", "listed", "probability"
            )
            for m in manifests
        ]
    )
    ranked = scores.sort(["listed", "probability", "uscc"], descending=[True, True, False])
    return ranked["uscc"].unique(maintain_order=True).head(size).to_list()


def write_firm_list(path: Path, firms: Sequence[str]) -> Path:
    """A pilot list as ``read_firm_list`` reads it (UTF-8 with BOM, for Excel)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_csv(pl.DataFrame({PILOT_HEADER: list(firms)}), path)


def department_sheets(
    anomalies: pl.DataFrame,
    evidence: pl.DataFrame,
    department: str,
    as_of: dt.date,
    scope: str,
    topics: Topics,
) -> list[Sheet]:
    """The workbook of one department: the list (with empty follow-up columns), notes, evidence."""
    rows = anomalies.filter(pl.col("department") == department)
    shown = rows.select(
        *[pl.col(name).alias(header) for name, header in LIST_HEADERS.items()],
        *[pl.lit(None, dtype=pl.String).alias(h) for h in (RESULT, DECIDED_ON, NOTE)],
    )
    facts = evidence.join(rows.select("anomaly_key"), on="anomaly_key", how="semi").select(
        pl.col(name).alias(header) for name, header in EVIDENCE_HEADERS.items()
    )
    name = topics.department(department).name
    choices = "、".join(s.name.zh for s in topics.statuses if s.key != "dispatched")
    counts = rows.group_by("topic_zh", maintain_order=True).len().rows() if rows.height else []
    notes = pl.DataFrame(
        {
            "项目": [
                "部门",
                "数据截至",
                "范围",
                "异常数",
                *[f"主题：{topic}" for topic, _ in counts],
                "填写说明",
            ],
            "说明": [
                f"{name.zh}（{name.en}）",
                as_of.isoformat(),
                "全园区" if scope == "park" else f"试点名单（{scope}）",
                str(rows.height),
                *[str(n) for _, n in counts],
                f"请在“{RESULT}”列填写：{choices}；“{DECIDED_ON}”填写 YYYY-MM-DD；"
                f"“{NOTE}”不超过 {NOTE_MAX_CHARS} 字。其他列请勿修改。",
            ],
        }
    )
    return [
        Sheet(LIST_SHEET, shown, note=None if rows.height else "本期无异常"),
        Sheet(NOTES_SHEET, notes),
        Sheet(EVIDENCE_SHEET, facts),
    ]


def write_department(
    folder: Path,
    anomalies: pl.DataFrame,
    evidence: pl.DataFrame,
    department: str,
    as_of: dt.date,
    scope: str,
    topics: Topics,
) -> list[Path]:
    target = folder / DEPARTMENTS / department
    target.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.combine(as_of, dt.time())
    sheets = department_sheets(anomalies, evidence, department, as_of, scope, topics)
    return [
        write_xlsx(sheets, target / WORKBOOK, stamp),
        write_parquet(anomalies.filter(pl.col("department") == department), target / ANOMALIES),
    ]


def manifest(folder: Path, payload: dict[str, Any]) -> Path:
    """The run's manifest: ``payload`` plus every file of the folder with its SHA-256."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != MANIFEST)
    hashed = {p.relative_to(folder).as_posix(): file_io.file_sha256(p) for p in files}
    return file_io.write_json(folder / MANIFEST, {**payload, "files": hashed})


def write_store_snapshot(root: Path, follow: pl.DataFrame, precision: pl.DataFrame) -> list[Path]:
    """The case store's follow-ups and per-rule precision as they stand now, at the root of the
    runs (the site shows these; each run folder keeps its own as of the run)."""
    root.mkdir(parents=True, exist_ok=True)
    return [write_parquet(follow, root / FOLLOW_UP), write_parquet(precision, root / PRECISION)]


def counts_by(anomalies: pl.DataFrame, column: str) -> dict[str, int]:
    return dict(sorted(anomalies.group_by(column).len().rows()))


def read_returned_workbook(path: Path, topics: Topics) -> list[dict[str, Any]]:
    """The follow-ups a department filled in: one ``{anomaly_key, status, decided_on, note}``
    per row whose 核查结果 is filled; raises naming the sheet, row and column of a bad cell."""
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:
        raise ReturnedWorkbookError(f"{path}: cannot open it as a workbook: {error}") from error
    if LIST_SHEET not in book.sheetnames:
        raise ReturnedWorkbookError(f"{path}: no sheet {LIST_SHEET!r} (sheets: {book.sheetnames})")
    rows = list(book[LIST_SHEET].iter_rows(values_only=True))
    header_row = next(
        (i for i, row in enumerate(rows) if row and KEY_HEADER in [str(c) for c in row]), None
    )
    if header_row is None:
        raise ReturnedWorkbookError(f"{path}: sheet {LIST_SHEET}: no header {KEY_HEADER!r}")
    headers = [str(c) if c is not None else "" for c in rows[header_row]]
    for needed in (RESULT, DECIDED_ON, NOTE):
        if needed not in headers:
            raise ReturnedWorkbookError(f"{path}: sheet {LIST_SHEET}: no column {needed!r}")
    by_name = {s.name.zh: s.key for s in topics.statuses if s.key != "dispatched"}
    index = {name: headers.index(name) for name in (KEY_HEADER, RESULT, DECIDED_ON, NOTE)}
    reports = []
    for number, row in enumerate(rows[header_row + 1 :], start=header_row + 2):
        where = f"{path}: sheet {LIST_SHEET}, row {number}"
        result = _cell(row, index[RESULT])
        if result is None:
            continue
        key = _cell(row, index[KEY_HEADER])
        if not key:
            raise ReturnedWorkbookError(f"{where}, column {KEY_HEADER}: empty")
        if str(result) not in by_name:
            raise ReturnedWorkbookError(
                f"{where}, column {RESULT}: {result!r} is not one of {sorted(by_name)}"
            )
        note = _cell(row, index[NOTE])
        if note is not None and len(str(note)) > NOTE_MAX_CHARS:
            raise ReturnedWorkbookError(
                f"{where}, column {NOTE}: longer than {NOTE_MAX_CHARS} characters"
            )
        reports.append(
            {
                "anomaly_key": str(key).lstrip("'"),
                "status": by_name[str(result)],
                "decided_on": _date(_cell(row, index[DECIDED_ON]), f"{where}, column {DECIDED_ON}"),
                "note": None if note is None else str(note),
            }
        )
    return reports


def _cell(row: tuple, position: int) -> Any:
    value = row[position] if position < len(row) else None
    if isinstance(value, str):
        value = value.strip() or None
    return value


def _date(value: Any, where: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as error:
        raise ReturnedWorkbookError(f"{where}: {value!r} is not a date YYYY-MM-DD") from error
