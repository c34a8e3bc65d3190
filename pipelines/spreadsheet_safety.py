"""Text from outside, made safe to open in a spreadsheet (CSV and Excel).

A cell that starts with = + - @ (or a tab or carriage return) is read by Excel, LibreOffice and
Google Sheets as a formula, which can run commands or leak data when the file is opened
("CSV injection"). Such text gets a leading apostrophe, the usual neutralisation: the cell then
shows the text instead of evaluating it. Numbers are not text and are left alone; Parquet keeps
the values exactly as they were.
"""

from __future__ import annotations

import polars as pl

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every text cell and column name that could start a formula neutralised."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    safe = frame.with_columns(
        pl.when(pl.col(name).str.contains(r"^[=+\-@\t\r]"))
        .then(pl.concat_str(pl.lit("'"), pl.col(name)))
        .otherwise(pl.col(name))
        .alias(name)
        for name in text
    )
    return safe.rename({name: neutralise_text(name) for name in frame.columns})
