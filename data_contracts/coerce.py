"""Raw string frame -> typed canonical frame, plus one failure record per value that will not parse.

Departments deliver every value as text. Each column is parsed to its contract type; a value that
is present but does not parse becomes null in the typed frame and a row-level failure such as
``si_pension row 17 column amount_due: 'N/A' is not a number``. Surrounding whitespace is not
data: values are stripped first, and a blank value counts as missing (the contract's not-null
expectation judges it, not the parser).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from data_contracts.schema import Column, ColumnType, SourceContract
from data_contracts.to_polars import DATETIME, polars_type

ROW = "_row"
COLUMN = "_column"
EXPECTATION = "_expectation"
REASON = "_reason"

FAILURE_SCHEMA = pl.Schema(
    {ROW: pl.Int64(), COLUMN: pl.String(), EXPECTATION: pl.String(), REASON: pl.String()}
)

DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d")
# %.f also accepts a missing fraction; a bare date means midnight.
DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y/%m/%d %H:%M:%S%.f",
    "%Y%m%d %H:%M:%S%.f",
    "%Y%m%d%H%M%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
)
TRUE_WORDS = ("true", "t", "yes", "y", "1", "是")
FALSE_WORDS = ("false", "f", "no", "n", "0", "否")

NOT_PARSED = {
    ColumnType.int: "is not a whole number",
    ColumnType.float: "is not a number",
    ColumnType.bool: "is not a yes/no value (true/false, 1/0, 是/否)",
    ColumnType.date: "is not a date (YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)",
    ColumnType.datetime: (
        "is not a date-time (YYYY-MM-DD HH:MM:SS, YYYY/MM/DD HH:MM:SS, YYYYMMDDHHMMSS or a date)"
    ),
}


@dataclass(frozen=True)
class Coerced:
    """The typed frame (same rows, same order) and the values that failed to parse."""

    frame: pl.DataFrame
    failures: pl.DataFrame


def clean_text(name: str) -> pl.Expr:
    """Stripped text; blank becomes null."""
    stripped = pl.col(name).str.strip_chars()
    return pl.when(stripped.str.len_chars() > 0).then(stripped).otherwise(None)


def parse_expr(column: Column) -> pl.Expr:
    """Expression turning the cleaned text of ``column`` into its contract type (null if not)."""
    text = clean_text(column.name)
    kind = ColumnType(column.type)
    if kind == ColumnType.string:
        parsed = text
    elif kind == ColumnType.float:
        number = text.cast(pl.Float64, strict=False)
        parsed = pl.when(number.is_finite()).then(number).otherwise(None)
    elif kind == ColumnType.int:
        # Spreadsheet exports write whole numbers as "12.0"; accept those, not "12.5".
        number = text.cast(pl.Float64, strict=False)
        whole = number.is_finite() & (number == number.round(0)) & (number.abs() < 2.0**63)
        parsed = pl.coalesce(
            text.str.to_integer(strict=False),
            pl.when(whole).then(number).otherwise(None).cast(pl.Int64, strict=False),
        )
    elif kind == ColumnType.bool:
        word = text.str.to_lowercase()
        parsed = (
            pl.when(word.is_in(TRUE_WORDS))
            .then(True)
            .when(word.is_in(FALSE_WORDS))
            .then(False)
            .otherwise(None)
        )
    elif kind == ColumnType.date:
        parsed = pl.coalesce(text.str.to_date(f, strict=False) for f in DATE_FORMATS)
    else:
        parsed = pl.coalesce(
            *(text.str.to_datetime(f, strict=False, time_unit="us") for f in DATETIME_FORMATS),
            *(text.str.to_date(f, strict=False).cast(DATETIME) for f in DATE_FORMATS),
        )
    return parsed.cast(polars_type(column.type)).alias(column.name)


def coerce(raw: pl.DataFrame, contract: SourceContract, *, row_column: str = ROW) -> Coerced:
    """Parse every contract column of ``raw`` (canonical names, all String) to its type.

    ``raw`` must hold ``row_column`` (the 1-based data row in the delivered file); columns that
    are not in the contract pass through unchanged.
    """
    _check_input(raw, contract, row_column)
    frame = raw.with_columns(parse_expr(c) for c in contract.columns)
    failures = [
        _failures_of(raw, frame, contract, column, row_column)
        for column in contract.columns
        if column.type != ColumnType.string
    ]
    failure_frame = pl.concat([FAILURE_SCHEMA.to_frame(), *failures], how="vertical")
    return Coerced(frame=frame, failures=failure_frame.sort(ROW, COLUMN, maintain_order=True))


def _failures_of(
    raw: pl.DataFrame,
    typed: pl.DataFrame,
    contract: SourceContract,
    column: Column,
    row_column: str,
) -> pl.DataFrame:
    text = raw.select(pl.col(row_column), clean_text(column.name).alias("value"))
    failed = text.filter(pl.col("value").is_not_null() & typed[column.name].is_null())
    return failed.select(
        pl.col(row_column).cast(pl.Int64).alias(ROW),
        pl.lit(column.name).alias(COLUMN),
        pl.lit(f"coerce_to_{column.type}").alias(EXPECTATION),
        pl.format(
            "{} row {} column {}: '{}' {}",
            pl.lit(contract.id),
            pl.col(row_column),
            pl.lit(column.name),
            pl.col("value"),
            pl.lit(NOT_PARSED[ColumnType(column.type)]),
        ).alias(REASON),
    )


def _check_input(raw: pl.DataFrame, contract: SourceContract, row_column: str) -> None:
    if row_column not in raw.columns:
        raise ValueError(f"{contract.id}: frame to coerce has no row number column {row_column!r}")
    for column in contract.columns:
        if column.name not in raw.columns:
            raise ValueError(f"{contract.id}: frame to coerce has no column {column.name!r}")
        dtype = raw.schema[column.name]
        if dtype != pl.String:
            raise ValueError(
                f"{contract.id}: column {column.name!r} must arrive as text to be coerced, "
                f"got {dtype}"
            )
