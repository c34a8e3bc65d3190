"""Reading a user's table (CSV/TSV, Excel .xlsx, Parquet or ARFF) into a typed polars frame.

Text files are decoded (encoding given, or detected: a byte-order mark, then UTF-8, then the
best guess of charset-normalizer), their separator and decimal mark are detected unless given,
and every record is checked to have the header's number of fields before polars parses them.
Columns of a text file or an Excel sheet arrive as text and are typed by ``pipelines.table_text``
(numbers with the decimal mark, true/false, ISO dates; a few placeholder words such as ``n.a.``
in a numeric column read as missing and are reported).

Every failure raises ``TableReadError`` with one line that names the file, the line (or sheet
row) and what the file looks like, so the analyst can fix the command rather than the file.
Reading writes nothing.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy.io import arff

from pipelines.table_text import TextColumnNote, type_text_columns

TEXT_SUFFIXES = {".csv", ".tsv", ".txt"}
PARQUET_SUFFIXES = {".parquet", ".pq"}
EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
READERS = sorted(TEXT_SUFFIXES | PARQUET_SUFFIXES | EXCEL_SUFFIXES | {".arff"})
SEPARATORS = (",", ";", "\t", "|")
SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
DECIMALS = (".", ",")
# Records inspected to detect the separator and the decimal mark.
SNIFF_RECORDS = 200
# Byte-order marks, longest first (UTF-32 LE starts with the UTF-16 LE mark).
BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
SHOWN_CHARS = 60


class TableReadError(ValueError):
    """A table that cannot be read as given; the message is one line naming file and place."""


@dataclass(frozen=True)
class ReadOptions:
    """How to read a text or Excel table; None means detect (or, for the sheet, the first)."""

    separator: str | None = None
    decimal: str | None = None
    encoding: str | None = None
    sheet: str | None = None

    def __post_init__(self) -> None:
        if self.separator is not None and len(_unescape(self.separator)) != 1:
            raise TableReadError(
                f"--separator must be one character (or \\t), got {self.separator!r}"
            )
        if self.decimal is not None and self.decimal not in DECIMALS:
            raise TableReadError(f"--decimal must be '.' or ',', got {self.decimal!r}")

    @property
    def separator_char(self) -> str | None:
        return None if self.separator is None else _unescape(self.separator)


@dataclass(frozen=True)
class TableRead:
    """A table as read, and how: the frame plus what a data report should say about reading."""

    frame: pl.DataFrame
    path: Path
    format: str
    sha256: str
    encoding: str | None = None
    encoding_detected: bool = False
    separator: str | None = None
    decimal: str | None = None
    sheet: str | None = None
    notes: tuple[TextColumnNote, ...] = field(default_factory=tuple)

    def describe(self) -> dict[str, Any]:
        """JSON-ready: file, SHA-256, format and the options used (detected ones marked)."""
        return {
            "file": self.path.name,
            "sha256": self.sha256,
            "format": self.format,
            "encoding": self.encoding,
            "encoding_detected": self.encoding_detected,
            "separator": self.separator,
            "decimal": self.decimal,
            "sheet": self.sheet,
            "rows": self.frame.height,
            "columns": self.frame.width,
            "notes": [note.to_dict() for note in self.notes],
        }


def read_table(path: str | Path, options: ReadOptions | None = None) -> TableRead:
    """The table at ``path``; the format follows the file suffix."""
    path = Path(path)
    options = options or ReadOptions()
    if not path.is_file():
        raise TableReadError(f"table {path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".xls":
        raise TableReadError(
            f"table {path}: the old Excel format (.xls) is not read; save it as .xlsx or CSV"
        )
    if suffix not in READERS:
        raise TableReadError(f"table {path}: unsupported format {suffix!r}; use one of {READERS}")
    data = path.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    if not data.strip():
        raise TableReadError(f"table {path}: the file is empty")
    if suffix in TEXT_SUFFIXES:
        return _read_text(path, data, sha256, options)
    if suffix in EXCEL_SUFFIXES:
        return _read_excel(path, data, sha256, options)
    if suffix in PARQUET_SUFFIXES:
        try:
            frame = pl.read_parquet(io.BytesIO(data))
        except Exception as error:  # polars raises several types for a damaged file
            raise TableReadError(f"table {path}: not a readable Parquet file ({error})") from None
        return TableRead(frame=frame, path=path, format="parquet", sha256=sha256)
    return TableRead(frame=read_arff(path), path=path, format="arff", sha256=sha256)


# --------------------------------------------------------------------------- text files


def _read_text(path: Path, data: bytes, sha256: str, options: ReadOptions) -> TableRead:
    text, encoding, detected = decode(path, data, options.encoding)
    separator = options.separator_char or detect_separator(path, text)
    records = _check_records(path, text, separator)
    decimal = options.decimal or detect_decimal(records.sample, separator)
    if separator == decimal:
        raise TableReadError(
            f"table {path}: the separator and the decimal mark are both {decimal!r}; "
            "pass --separator ';' (or another) with --decimal ','"
        )
    try:
        raw = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            separator=separator,
            infer_schema=False,
            quote_char='"',
            new_columns=records.header,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as error:
        # The records were checked above, so this is unexpected; still say where and what.
        first = str(error).splitlines()[0]
        raise TableReadError(
            f"table {path}: cannot be parsed with separator {_shown(separator)} ({first})"
        ) from None
    if raw.height != records.count:
        raise TableReadError(
            f"table {path}: {records.count} records by the line check but {raw.height} parsed; "
            "check quoting (a field with a stray '\"')"
        )
    if records.blank:
        keep = np.ones(raw.height, dtype=bool)
        keep[records.blank] = False
        raw = raw.filter(pl.Series(keep))
    frame, notes = type_text_columns(raw, decimal)
    return TableRead(
        frame=frame,
        path=path,
        format="text",
        sha256=sha256,
        encoding=encoding,
        encoding_detected=detected,
        separator=separator,
        decimal=decimal,
        notes=tuple(notes),
    )


def decode(path: Path, data: bytes, encoding: str | None) -> tuple[str, str, bool]:
    """(text, encoding, detected): decode ``data`` strictly, with ``encoding`` or a detected one.

    Detection: a byte-order mark; else UTF-8 if every byte sequence is valid UTF-8; else the
    best guess of charset-normalizer (GB18030 exports, Windows code pages, ...).
    """
    if encoding:
        try:
            codec = _codec(encoding)
            return data.decode(codec), encoding, False
        except LookupError:
            raise TableReadError(f"table {path}: unknown encoding {encoding!r}") from None
        except UnicodeDecodeError as error:
            raise TableReadError(
                f"table {path} line {_line_of(data, error.start)}: byte(s) "
                f"{_bytes_shown(data, error)} are not valid {encoding}{_looks_like(data)}"
            ) from None
    for mark, codec in BOMS:
        if data.startswith(mark):
            try:
                return data.decode(codec), codec, True
            except UnicodeDecodeError as error:
                raise TableReadError(
                    f"table {path} line {_line_of(data, error.start)}: the file starts with a "
                    f"{codec} byte-order mark but byte(s) {_bytes_shown(data, error)} are not "
                    f"valid {codec}"
                ) from None
    try:
        return data.decode("utf-8"), "utf-8", True
    except UnicodeDecodeError as utf8_error:
        damaged = _damaged_utf8(data)
        if damaged:
            raise TableReadError(
                f"table {path} line {_line_of(data, utf8_error.start)}: byte(s) "
                f"{_bytes_shown(data, utf8_error)} are not valid UTF-8, yet the file looks like "
                f"UTF-8 ({damaged}); it is probably damaged there: repair the file, or pass "
                "--encoding with its real encoding"
            ) from None
        guess = _guess_encoding(data)
        if guess is None:
            raise TableReadError(
                f"table {path} line {_line_of(data, utf8_error.start)}: byte(s) "
                f"{_bytes_shown(data, utf8_error)} are not UTF-8 and no other encoding fits the "
                "whole file; pass --encoding (e.g. gb18030, cp1252, latin-1)"
            ) from None
        return data.decode(guess), guess, True


def _damaged_utf8(data: bytes) -> str:
    """A description when the bytes are mostly valid UTF-8 text with a few broken sequences
    (a damaged UTF-8 file, which a single-byte code page would silently turn into mojibake)."""
    text = data.decode("utf-8", errors="replace")
    broken = text.count("\ufffd")
    valid = sum(1 for ch in text if ord(ch) > 0x7F) - broken
    if valid >= 20 and valid >= 20 * broken:
        return f"{valid} valid multi-byte characters against {broken} broken sequence(s)"
    return ""


def _guess_encoding(data: bytes) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None:
        return None
    codec = best.encoding
    try:
        data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None
    return codec


def _looks_like(data: bytes) -> str:
    guess = _guess_encoding(data)
    return f"; the file looks like {guess} (try --encoding {guess})" if guess else ""


def _codec(encoding: str) -> str:
    return codecs.lookup(encoding).name


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _bytes_shown(data: bytes, error: UnicodeDecodeError) -> str:
    return repr(data[error.start : max(error.end, error.start + 1)])


def detect_separator(path: Path, text: str) -> str:
    """The one of , ; tab | that splits the header into more than one field and most of the
    first lines into as many (a ragged line is left for the record check to name); ties go to
    more fields, then to the order above. An error if none does."""
    head = _head_lines(text, SNIFF_RECORDS)
    scores = {}
    for separator in SEPARATORS:
        widths = [len(fields) for fields in csv.reader(head, delimiter=separator) if fields]
        if widths and widths[0] > 1:
            agreeing = sum(width == widths[0] for width in widths) / len(widths)
            if agreeing >= 0.5:
                scores[separator] = (agreeing, widths[0], -SEPARATORS.index(separator))
    if scores:
        return max(scores, key=scores.__getitem__)
    header = head[0] if head else ""
    if not any(separator in header for separator in SEPARATORS):
        raise TableReadError(
            f"table {path} line 1: the header {_shown(header)} holds none of , ; tab |; "
            "a table needs at least two columns (pass --separator if it uses another one)"
        )
    raise TableReadError(
        f"table {path}: no separator among , ; tab | splits most of the first {len(head)} "
        f"lines like the header; line 1 looks like {_shown(header)} (pass --separator)"
    )


def detect_decimal(sample: list[list[str]], separator: str | None) -> str:
    """',' when numbers in the sample are written with a decimal comma and none with a point.

    With a comma separator a decimal comma is impossible (unquoted), so '.'; ``separator`` is
    None for the text cells of a workbook.
    """
    if separator == ",":
        return "."
    comma = point = 0
    for fields in sample:
        for value in fields:
            value = value.strip()
            if _DECIMAL_COMMA.fullmatch(value):
                comma += 1
            elif _DECIMAL_POINT.fullmatch(value):
                point += 1
    return "," if comma > 0 and point == 0 else "."


_DECIMAL_COMMA = re.compile(r"[+-]?\d{1,3}(\.\d{3})*,\d+|[+-]?\d+,\d+([eE][+-]?\d+)?")
_DECIMAL_POINT = re.compile(r"[+-]?\d*\.\d+([eE][+-]?\d+)?")


@dataclass
class _Records:
    header: list[str]
    count: int  # data records, blank ones included (polars reads those as empty rows)
    blank: list[int]  # positions of blank records among them
    sample: list[list[str]]


def _check_records(path: Path, text: str, separator: str) -> _Records:
    """Every record has the header's number of fields; the header's names are usable."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, quotechar='"')
    try:
        header = next(reader)
    except StopIteration:
        raise TableReadError(f"table {path}: the file is empty") from None
    except csv.Error as error:
        raise TableReadError(f"table {path} line 1: {error}") from None
    names = [name.strip() for name in header]
    if len(names) < 2:
        raise TableReadError(
            f"table {path} line 1: with separator {_shown(separator)} the header "
            f"{_shown(separator.join(header))} is a single column; a table needs at least two"
            f"{_other_separator_hint(header, separator)}"
        )
    _check_header(path, names)
    count, blank, sample = 0, [], []
    record_start = reader.line_num + 1
    try:
        for fields in reader:
            if not fields:
                blank.append(count)
            elif len(fields) != len(names):
                raise TableReadError(
                    f"table {path} line {record_start}: {len(fields)} fields where the header "
                    f"has {len(names)} (separator {_shown(separator)}); the line looks like "
                    f"{_shown(separator.join(fields))}"
                    f"{_other_separator_hint(fields, separator, len(names))}"
                )
            elif len(sample) < SNIFF_RECORDS:
                sample.append(fields)
            count += 1
            record_start = reader.line_num + 1
    except csv.Error as error:
        raise TableReadError(f"table {path} line {record_start}: {error}") from None
    # Blank records (trailing or in between) are not rows; polars reads them as empty rows.
    return _Records(header=names, count=count, blank=blank, sample=sample)


def _check_header(path: Path, names: list[str]) -> None:
    for position, name in enumerate(names, start=1):
        if not name:
            raise TableReadError(
                f"table {path} line 1: column {position} has no name; every column needs a header"
            )
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name in seen:
            raise TableReadError(
                f"table {path} line 1: column name {name!r} appears twice (columns {seen[name]} "
                f"and {position})"
            )
        seen[name] = position


def _other_separator_hint(fields: list[str], separator: str, expected: int | None = None) -> str:
    """A hint naming another separator that would split the line into ``expected`` fields (or,
    without ``expected``, into more than one)."""
    joined = separator.join(fields)
    others = []
    for other in SEPARATORS:
        if other == separator or other not in joined:
            continue
        width = len(next(csv.reader([joined], delimiter=other)))
        if width == expected or (expected is None and width > 1):
            others.append(other)
    if not others:
        return ""
    names = " or ".join(f"{SEPARATOR_NAMES[s]} {_shown(s)}" for s in others)
    return f"; split by {names} it would fit: is that the separator?"


def _head_lines(text: str, count: int) -> list[str]:
    lines: list[str] = []
    for line in io.StringIO(text, newline=""):
        if line.strip():
            lines.append(line.rstrip("\r\n"))
        if len(lines) >= count:
            break
    return lines


def _shown(value: str) -> str:
    value = value.replace("\t", "\\t")
    return repr(value if len(value) <= SHOWN_CHARS else value[: SHOWN_CHARS - 1] + "…")


def _unescape(separator: str) -> str:
    return {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(separator, separator)


# --------------------------------------------------------------------------- Excel


def _read_excel(path: Path, data: bytes, sha256: str, options: ReadOptions) -> TableRead:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError) as error:
        raise TableReadError(f"table {path}: not a readable .xlsx workbook ({error})") from None
    try:
        names = workbook.sheetnames
        if options.sheet is not None and options.sheet not in names:
            raise TableReadError(
                f"table {path}: no sheet {options.sheet!r}; the sheets are {names}"
            )
        sheet = options.sheet or names[0]
        rows = _sheet_rows(workbook[sheet])
        header_row, header = next(rows, (0, None))
        if header is None:
            raise TableReadError(f"table {path} sheet {sheet!r}: the sheet is empty")
        names_ = _excel_header(path, sheet, header_row, header)
        width = len(names_)
        columns: list[list[Any]] = [[] for _ in range(width)]
        for row_number, values in rows:
            extra = [v for v in values[width:] if v is not None]
            if extra:
                raise TableReadError(
                    f"table {path} sheet {sheet!r} row {row_number}: a value "
                    f"({_shown(str(extra[0]))}) lies beyond the last named column; every "
                    "column needs a header"
                )
            for index in range(width):
                columns[index].append(values[index] if index < len(values) else None)
    finally:
        workbook.close()
    raw = pl.DataFrame(
        {name: _excel_column(values) for name, values in zip(names_, columns, strict=True)}
    )
    text_columns = [name for name, dtype in raw.schema.items() if dtype == pl.String]
    sample = raw.select(text_columns).head(SNIFF_RECORDS).rows()
    decimal = options.decimal or detect_decimal([[v or "" for v in row] for row in sample], None)
    frame, notes = type_text_columns(raw, decimal, columns=text_columns)
    return TableRead(
        frame=frame,
        path=path,
        format="xlsx",
        sha256=sha256,
        decimal=decimal,
        sheet=sheet,
        notes=tuple(notes),
    )


def _sheet_rows(worksheet) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(Excel row number, values) of every non-empty row, trailing empty cells cut."""
    for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
        values = tuple(values)
        while values and (values[-1] is None or values[-1] == ""):
            values = values[:-1]
        if values:
            yield number, values


def _excel_header(path: Path, sheet: str, row: int, header: tuple[Any, ...]) -> list[str]:
    names = ["" if value is None else str(value).strip() for value in header]
    try:
        _check_header(path, names)
    except TableReadError as error:
        raise TableReadError(
            str(error).replace(f"table {path} line 1:", f"table {path} sheet {sheet!r} row {row}:")
        ) from None
    return names


def _excel_column(values: list[Any]) -> pl.Series:
    """One column of cells: numbers, booleans, dates kept as such when the column is all of one
    kind; anything mixed becomes text (typed afterwards like a CSV column)."""
    present = [v for v in values if v is not None and v != ""]
    cleaned = [None if v == "" else v for v in values]
    if present and all(isinstance(v, bool) for v in present):
        return pl.Series(cleaned, dtype=pl.Boolean)
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        if all(isinstance(v, int) for v in present):
            return pl.Series(cleaned, dtype=pl.Int64)
        return pl.Series([None if v is None else float(v) for v in cleaned], dtype=pl.Float64)
    if present and all(isinstance(v, datetime) for v in present):
        if all(v.time() == time(0) for v in present):
            return pl.Series([None if v is None else v.date() for v in cleaned], dtype=pl.Date)
        return pl.Series(cleaned, dtype=pl.Datetime("us"))
    if present and all(isinstance(v, date) and not isinstance(v, datetime) for v in present):
        return pl.Series(cleaned, dtype=pl.Date)
    return pl.Series([None if v is None else _cell_text(v) for v in cleaned], dtype=pl.String)


def _cell_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


# --------------------------------------------------------------------------- ARFF


def read_arff(path: str | Path) -> pl.DataFrame:
    """ARFF through scipy.io.arff: numeric attributes Float64, nominal ones text, '?' null."""
    try:
        data, meta = arff.loadarff(str(path))
    except (arff.ArffError, ValueError, NotImplementedError) as error:
        raise TableReadError(f"table {path}: cannot parse ARFF: {error}") from None
    columns = {}
    for name, kind in zip(meta.names(), meta.types(), strict=True):
        values = data[name]
        if kind == "nominal":
            text = [value.decode("utf-8") for value in values]
            columns[name] = pl.Series(name, [None if v == "?" else v for v in text], pl.String)
        elif kind == "numeric":
            columns[name] = pl.Series(name, values.astype(np.float64)).fill_nan(None)
        else:
            raise TableReadError(f"table {path}: attribute {name!r} has unsupported type {kind}")
    return pl.DataFrame(columns)
