"""Raw string frame -> typed canonical frame, plus one failure record per value that will not parse.

Departments deliver every value as text. Each column is parsed to its contract type; a value that
is present but does not parse becomes null in the typed frame and a row-level failure such as
``si_pension row 17 column amount_due: 'N/A' is not a number``. Surrounding whitespace is not
data: values are stripped first, and a blank value counts as missing (the contract's not-null
expectation judges it, not the parser).
"""

from __future__ import annotations

from collections.abc import Callable
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
# The common form first (polars parses it fastest); %.f also accepts a missing fraction; a bare
# date means midnight.
DATETIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
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


Parser = Callable[[pl.Series], pl.Series]


def _finite_float(text: pl.Series) -> pl.Series:
    number = text.cast(pl.Float64, strict=False)
    return number.set(~number.is_finite().fill_null(False), None)


def _whole_float(text: pl.Series) -> pl.Series:
    # Spreadsheet exports write whole numbers as "12.0"; accept those, not "12.5".
    number = _finite_float(text)
    whole = (number == number.round(0)) & (number.abs() < 2.0**63)
    return number.set(~whole.fill_null(False), None).cast(pl.Int64)


def _yes_no(text: pl.Series) -> pl.Series:
    word = text.str.to_lowercase()
    return (
        pl.select(
            pl.when(word.is_in(TRUE_WORDS)).then(True).when(word.is_in(FALSE_WORDS)).then(False)
        )
        .to_series()
        .alias(text.name)
    )


def _date(fmt: str) -> Parser:
    return lambda text: text.str.to_date(fmt, strict=False)


def _datetime(fmt: str) -> Parser:
    return lambda text: text.str.to_datetime(fmt, strict=False, time_unit="us")


def _midnight(fmt: str) -> Parser:
    return lambda text: text.str.to_date(fmt, strict=False).cast(DATETIME)


PARSERS: dict[ColumnType, tuple[Parser, ...]] = {
    ColumnType.string: (lambda text: text,),
    ColumnType.int: (lambda text: text.str.to_integer(strict=False), _whole_float),
    ColumnType.float: (_finite_float,),
    ColumnType.bool: (_yes_no,),
    ColumnType.date: tuple(_date(f) for f in DATE_FORMATS),
    ColumnType.datetime: (
        *(_datetime(f) for f in DATETIME_FORMATS),
        *(_midnight(f) for f in DATE_FORMATS),
    ),
}


def parse_series(column: Column, text: pl.Series) -> pl.Series:
    """Cleaned text of ``column`` -> its contract type; null where no accepted format fits.

    Formats are tried in order on the values still unparsed, so a file in one format (the
    usual case) costs a single pass.
    """
    kind = ColumnType(column.type)
    dtype = polars_type(kind)
    parsers = PARSERS[kind]
    parsed = parsers[0](text).cast(dtype)
    for parser in parsers[1:]:
        pending = (text.is_not_null() & parsed.is_null()).arg_true()
        if pending.len() == 0:
            break
        parsed = parsed.scatter(pending, parser(text.gather(pending)).cast(dtype))
    return parsed.alias(column.name)


def coerce(
    raw: pl.DataFrame,
    contract: SourceContract,
    *,
    row_column: str = ROW,
    where: str | None = None,
) -> Coerced:
    """Parse every contract column of ``raw`` (canonical names, all String) to its type.

    ``raw`` must hold ``row_column`` (the 1-based data row in the delivered file); columns that
    are not in the contract pass through unchanged. Reasons start with ``where`` (source and
    file, e.g. ``si_pension file 2026-11-02.csv``), the source id when it is not given.
    """
    _check_input(raw, contract, row_column)
    text = raw.select(clean_text(c.name) for c in contract.columns)
    typed = [parse_series(c, text.get_column(c.name)) for c in contract.columns]
    frame = raw.with_columns(typed)
    failures = [
        _failures_of(
            raw.get_column(row_column), text.get_column(c.name), parsed, where or contract.id, c
        )
        for c, parsed in zip(contract.columns, typed, strict=True)
        if c.type != ColumnType.string
    ]
    failure_frame = pl.concat([FAILURE_SCHEMA.to_frame(), *failures], how="vertical")
    return Coerced(frame=frame, failures=failure_frame.sort(ROW, COLUMN, maintain_order=True))


def _failures_of(
    rows: pl.Series,
    text: pl.Series,
    parsed: pl.Series,
    where: str,
    column: Column,
) -> pl.DataFrame:
    failed = (text.is_not_null() & parsed.is_null()).arg_true()
    values = text.gather(failed).to_list()
    numbers = rows.gather(failed).to_list()
    problem = NOT_PARSED[ColumnType(column.type)]
    return pl.DataFrame(
        {
            ROW: numbers,
            COLUMN: [column.name] * len(values),
            EXPECTATION: [f"coerce_to_{column.type}"] * len(values),
            REASON: [
                f"{where} row {row} column {column.name}: '{value}' {problem}"
                for row, value in zip(numbers, values, strict=True)
            ],
        },
        schema=FAILURE_SCHEMA,
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
