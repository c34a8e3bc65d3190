"""Typing the text columns of a CSV or Excel table: numbers, true/false, ISO dates, or text.

The rule, applied to each column after trimming spaces:
- Empty cells and the missing-value words in ``MISSING_WORDS`` (NA, N/A, NaN, null, ?, #N/A,
  Excel's error values, ...) are missing.
- Numbers are read with the table's decimal mark. With a decimal comma, '.' may group thousands
  (1.234,5); with a decimal point no grouping mark is accepted (a ',' would be ambiguous).
  A column whose values are all numbers becomes Int64 (all whole, written without a decimal
  mark) or Float64.
- A column that is numeric except for a few placeholder words (at most ``PLACEHOLDER_SHARE`` of
  its non-empty cells and ``PLACEHOLDER_WORDS`` distinct words, e.g. "n.a." or "-") is numeric;
  those cells become missing and a note says which words, how many and the first row.
- true/false (any case) is Boolean; ISO dates (2024-03-31) Date, ISO date-times Datetime.
- Anything else stays text (a categorical column, an id, free text: the data report decides).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

MISSING_WORDS = (
    "",
    "NA",
    "N/A",
    "n/a",
    "NaN",
    "nan",
    "null",
    "NULL",
    "None",
    "?",
    "#N/A",
    "#NA",
    "#DIV/0!",
    "#VALUE!",
    "#REF!",
    "#NUM!",
    "#NAME?",
    "#NULL!",
)
PLACEHOLDER_SHARE = 0.01
PLACEHOLDER_WORDS = 5
_GROUPED_DECIMAL_COMMA = r"^[+-]?\d{1,3}(\.\d{3})+(,\d*)?$"
_ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
_ISO_DATETIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$"


@dataclass(frozen=True)
class TextColumnNote:
    """What typing did to one column that the data report should mention."""

    column: str
    note: str
    cells: int
    first_row: int

    def to_dict(self) -> dict[str, object]:
        return {
            "column": self.column,
            "note": self.note,
            "cells": self.cells,
            "first_row": self.first_row,
        }


def type_text_columns(
    frame: pl.DataFrame, decimal: str, columns: Sequence[str] | None = None
) -> tuple[pl.DataFrame, list[TextColumnNote]]:
    """``frame`` with each text column in ``columns`` (default: all) typed by the rule above."""
    notes: list[TextColumnNote] = []
    typed = []
    names = set(frame.columns if columns is None else columns)
    for name in frame.columns:
        series = frame.get_column(name)
        if name in names and series.dtype == pl.String:
            series, note = type_text_column(series, decimal)
            if note is not None:
                notes.append(note)
        typed.append(series)
    return pl.DataFrame(typed), notes


def type_text_column(values: pl.Series, decimal: str) -> tuple[pl.Series, TextColumnNote | None]:
    text = values.str.strip_chars()
    text = pl.Series(values.name, text).set(text.is_in(MISSING_WORDS).fill_null(False), None)
    present = text.is_not_null()
    if not present.any():
        return text.cast(pl.Float64), None
    numbers = _numbers(text, decimal)
    failed = present & numbers.is_null()
    n_failed = int(failed.sum())
    if n_failed == 0:
        return _narrow(numbers, text, decimal), None
    words = text.filter(failed)
    if n_failed <= PLACEHOLDER_SHARE * int(present.sum()) and words.n_unique() <= PLACEHOLDER_WORDS:
        shown = ", ".join(repr(w) for w in words.unique().sort().to_list())
        note = TextColumnNote(
            column=values.name,
            note=f"numeric; {n_failed} cell(s) holding {shown} read as missing",
            cells=n_failed,
            first_row=int(failed.arg_true()[0]) + 1,
        )
        return _narrow(numbers, text.set(failed, None), decimal), note
    lowered = text.str.to_lowercase()
    if lowered.filter(present).is_in(["true", "false"]).all():
        return (lowered == "true").alias(values.name), None
    present_text = text.filter(present)
    if present_text.str.contains(_ISO_DATE).all():
        parsed = text.str.to_date("%Y-%m-%d", strict=False)
        if parsed.null_count() == text.null_count():
            return parsed, None
    if present_text.str.contains(_ISO_DATETIME).all():
        parsed = text.str.to_datetime(strict=False, time_unit="us")
        if parsed.null_count() == text.null_count():
            return parsed, None
    return text, None


def _numbers(text: pl.Series, decimal: str) -> pl.Series:
    """Each cell as a number, or null where it is not one in this table's notation."""
    cell = pl.col(text.name)
    if decimal == ",":
        # 1.234.567,89: the points group thousands; any other point makes the cell not a number.
        ungrouped = (
            pl.when(cell.str.contains(_GROUPED_DECIMAL_COMMA))
            .then(cell.str.replace_all(".", "", literal=True))
            .otherwise(cell)
        )
        number = (
            pl.when(ungrouped.str.contains(".", literal=True))
            .then(None)
            .otherwise(ungrouped.str.replace(",", ".", literal=True))
        )
    else:
        number = pl.when(cell.str.contains(",", literal=True)).then(None).otherwise(cell)
    # A code written with leading zeros (00123) is text, not the number 123.
    number = pl.when(cell.str.contains(r"^[+-]?0\d")).then(None).otherwise(number)
    number = (
        pl.when(cell.str.contains(r"(?i)^[+-]?(inf|infinity|nan)$")).then(None).otherwise(number)
    )
    frame = text.to_frame()
    return frame.select(number.cast(pl.Float64, strict=False).alias(text.name)).to_series()


def _narrow(numbers: pl.Series, text: pl.Series, decimal: str) -> pl.Series:
    """Int64 when every number is whole and written without a decimal mark or exponent."""
    present = text.drop_nulls()
    mark = re.escape(decimal)
    written_whole = not present.str.contains(rf"{mark}|[eE]").any()
    if written_whole and numbers.drop_nulls().abs().max() < 2**53:
        return numbers.cast(pl.Int64)
    return numbers
