"""Text from outside, made safe to open in a spreadsheet: every CSV and Excel file EWS writes.

A cell that starts with ``=`` ``+`` ``-`` ``@``, a tab or a carriage return is read by Excel,
LibreOffice, WPS and Google Sheets as a formula, which can run commands or leak data when the
file is opened ("CSV injection"). Following OWASP's guidance such text gets a leading apostrophe:
the cell then shows the text instead of evaluating it. In Excel files the cells are also written
as explicit string cells, so a workbook never holds a formula (``<f>``) from data. Text that is a
plain number (``-12.5``) cannot run anything and is left as it is; number columns are numbers,
not text, and are never touched. Parquet keeps every value exactly as it arrived.

Every spreadsheet-like writer goes through here: ``write_csv`` / ``csv_text`` for CSV, and
``neutralise_formulas`` + ``append_row`` inside ``publish_io.write_xlsx`` for Excel. Reading a
returned workbook back, ``restore_text`` turns a neutralised cell into the value it stands for,
so a published cell compares equal whether or not an application kept the apostrophe.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import polars as pl

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
QUOTE = "'"
_FORMULA_START = r"^[=+\-@\t\r]"
# A number written as text: harmless in a spreadsheet and left alone (-3, +2.5, -1e-4, .5).
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER_TEXT = re.compile(_NUMBER)
# Characters XML 1.0 cannot hold: an Excel file with one cannot be written or opened.
_XML_ILLEGAL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
_XML_ILLEGAL_TEXT = re.compile(_XML_ILLEGAL)
REPLACEMENT = "\ufffd"


def needs_quote(value: str) -> bool:
    """True when a spreadsheet would read ``value`` as a formula."""
    return value.startswith(FORMULA_PREFIXES) and not _NUMBER_TEXT.fullmatch(value)


def neutralise_text(value: str) -> str:
    """``value`` as a spreadsheet shows it as text: a leading apostrophe before a formula."""
    return QUOTE + value if needs_quote(value) else value


def restore_text(value: Any) -> Any:
    """The value a neutralised cell stands for (the inverse of ``neutralise_text``); any other
    value unchanged."""
    if isinstance(value, str) and value.startswith(QUOTE) and needs_quote(value[1:]):
        return value[1:]
    return value


def xlsx_text(value: str) -> str:
    """A string as an Excel cell can hold it: neutralised, XML-illegal control characters
    replaced by U+FFFD (openpyxl refuses them, so one such name would stop a publication)."""
    return _XML_ILLEGAL_TEXT.sub(REPLACEMENT, neutralise_text(value))


def neutralise_formulas(frame: pl.DataFrame, *, for_xlsx: bool = False) -> pl.DataFrame:
    """``frame`` with every text cell and column name that could start a formula neutralised
    (and, ``for_xlsx``, control characters XML cannot hold replaced). Other columns unchanged."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    safe = frame.with_columns(_neutralised(pl.col(name), for_xlsx).alias(name) for name in text)
    rename = xlsx_text if for_xlsx else neutralise_text
    return safe.rename({name: rename(name) for name in frame.columns})


def _neutralised(column: pl.Expr, for_xlsx: bool) -> pl.Expr:
    formula = column.str.contains(_FORMULA_START) & ~column.str.contains(f"^{_NUMBER}$")
    safe = pl.when(formula).then(pl.concat_str(pl.lit(QUOTE), column)).otherwise(column)
    return safe.str.replace_all(_XML_ILLEGAL, REPLACEMENT) if for_xlsx else safe


def write_csv(
    frame: pl.DataFrame, path: Path, *, bom: bool = True, float_precision: int | None = None
) -> Path:
    """``frame`` as CSV with its text neutralised; UTF-8 with a byte-order mark by default, so
    Excel on Chinese Windows opens it without mojibake."""
    neutralise_formulas(frame).write_csv(path, include_bom=bom, float_precision=float_precision)
    return path


def csv_text(frame: pl.DataFrame) -> str:
    """``frame`` as CSV text with its text neutralised (for artifacts logged as text)."""
    return neutralise_formulas(frame).write_csv()


def append_row(worksheet, values: Iterable[Any]) -> None:
    """Append one row; every string becomes an explicit string cell (never a formula), made
    safe with ``xlsx_text`` (idempotent on values ``neutralise_formulas`` already made safe)."""
    row = [xlsx_text(v) if isinstance(v, str) else v for v in values]
    worksheet.append(row)
    number = worksheet.max_row
    for column, value in enumerate(row, start=1):
        if isinstance(value, str):
            worksheet.cell(number, column).data_type = "s"
