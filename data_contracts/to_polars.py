"""The polars schema of a source, derived from its contract (never written by hand)."""

from __future__ import annotations

import polars as pl

from data_contracts.schema import ColumnType, SourceContract

# Microseconds: the unit pandas, pyarrow and parquet all round-trip without loss.
DATETIME = pl.Datetime("us")

POLARS_TYPES: dict[ColumnType, pl.DataType] = {
    ColumnType.string: pl.String(),
    ColumnType.int: pl.Int64(),
    ColumnType.float: pl.Float64(),
    ColumnType.bool: pl.Boolean(),
    ColumnType.date: pl.Date(),
    ColumnType.datetime: DATETIME,
}


def polars_type(column_type: ColumnType) -> pl.DataType:
    return POLARS_TYPES[ColumnType(column_type)]


def polars_schema(contract: SourceContract) -> pl.Schema:
    """Canonical column name -> polars dtype, in contract order."""
    return pl.Schema({c.name: polars_type(c.type) for c in contract.columns})


def raw_string_schema(contract: SourceContract) -> pl.Schema:
    """Raw header -> String: how a delivery is read before any coercion."""
    return pl.Schema({c.raw: pl.String() for c in contract.columns})


def empty_frame(contract: SourceContract) -> pl.DataFrame:
    """A frame with no rows and the canonical typed columns."""
    return pl.DataFrame(schema=polars_schema(contract))
