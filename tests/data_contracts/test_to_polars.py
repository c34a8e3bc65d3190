"""The polars schema is derived from every contract, column for column."""

from __future__ import annotations

import polars as pl
import pytest

from data_contracts import catalog
from data_contracts.schema import ColumnType
from data_contracts.to_polars import empty_frame, polars_schema, polars_type, raw_string_schema

CONTRACTS = sorted(catalog.load_all())

EXPECTED = {
    ColumnType.string: pl.String,
    ColumnType.int: pl.Int64,
    ColumnType.float: pl.Float64,
    ColumnType.bool: pl.Boolean,
    ColumnType.date: pl.Date,
    ColumnType.datetime: pl.Datetime("us"),
}


@pytest.mark.parametrize("column_type", list(ColumnType))
def test_every_contract_type_has_a_polars_type(column_type):
    assert polars_type(column_type) == EXPECTED[column_type]


@pytest.mark.parametrize("source_id", CONTRACTS)
def test_schema_follows_contract_order_names_and_types(source_id):
    contract = catalog.get(source_id)
    schema = polars_schema(contract)
    assert list(schema) == contract.column_names
    for column in contract.columns:
        assert schema[column.name] == EXPECTED[column.type]


def test_raw_schema_uses_delivered_headers_all_as_text():
    contract = catalog.get("si_pension")
    schema = raw_string_schema(contract)
    assert list(schema) == [c.raw for c in contract.columns]
    assert set(schema.values()) == {pl.String}


def test_empty_frame_has_no_rows_and_the_canonical_schema():
    contract = catalog.get("reg_enterprise_master")
    frame = empty_frame(contract)
    assert frame.height == 0
    assert frame.schema == polars_schema(contract)
