"""Each defect kind is injected as recorded, and would be caught by reading the file."""

from __future__ import annotations

import io
import re

import polars as pl
import pytest

from data_contracts.checksums import uscc_is_valid
from data_contracts.coerce import coerce
from data_contracts.schema import USCC_PATTERN, FileFormat
from data_contracts.simulate.defects import (
    DEFECT_KINDS,
    FILE_KINDS,
    ROW_KINDS,
    DefectPlan,
    applicable,
    plan_defects,
)
from data_contracts.simulate.deliveries import render
from data_contracts.simulate.park import source_deliveries


def _plan_for(kind: str, source_id: str) -> DefectPlan:
    # A tiny rate: only the sure defect shows.
    return DefectPlan(rate=1e-12, guaranteed={kind: source_id})


def _source_for(kind: str, contracts, tiny_sources) -> str:
    """A source the kind applies to, with rows in its weekly deliveries."""
    for source_id in (
        "si_pension",
        "complaint_12345",
        "reg_enterprise_master",
        "tax_vat_declaration",
        "energy_electricity",
    ):
        if applicable(kind, contracts[source_id]):
            return source_id
    raise AssertionError(kind)


def _text_frame(contract, content: bytes) -> pl.DataFrame:
    """The file read as the department delivered it: every value text, canonical names."""
    if contract.delivery.format == FileFormat.parquet:
        frame = pl.read_parquet(io.BytesIO(content)).cast(pl.String)
    else:
        text = content.decode(contract.delivery.encoding)
        frame = pl.read_csv(io.StringIO(text), infer_schema=False)
    return frame.rename(contract.raw_to_canonical(), strict=False)


def _injected(kind, contracts, tiny_sources, tiny_world):
    source_id = _source_for(kind, contracts, tiny_sources)
    contract = contracts[source_id]
    result = source_deliveries(tiny_world, contract, _plan_for(kind, source_id))
    assert [r.kind for r in result.defects] == [kind]
    record = result.defects[0]
    delivery = next((d for d in result.deliveries if d.delivery_id == record.delivery), None)
    return contract, record, delivery, result


def test_the_plan_guarantees_every_kind_once_the_rate_is_positive(contracts):
    plan = plan_defects(contracts, seed=7, rate=0.02)
    assert set(plan.guaranteed) == set(DEFECT_KINDS)
    assert len(set(plan.guaranteed.values())) == len(DEFECT_KINDS)
    for kind, source_id in plan.guaranteed.items():
        assert applicable(kind, contracts[source_id])
    assert plan_defects(contracts, seed=7, rate=0.0).guaranteed == {}
    assert plan_defects(contracts, seed=7, rate=0.02) == plan


def test_no_defects_at_rate_zero(contracts, tiny_world):
    plan = plan_defects(contracts, seed=7, rate=0.0)
    for source_id in ("si_pension", "complaint_12345"):
        assert source_deliveries(tiny_world, contracts[source_id], plan).defects == []


@pytest.mark.parametrize("kind", ["wrong_type", "out_of_range", "unknown_code"])
def test_row_defects_sit_in_the_recorded_rows_and_column(kind, contracts, tiny_sources, tiny_world):
    contract, record, delivery, _ = _injected(kind, contracts, tiny_sources, tiny_world)
    frame = _text_frame(contract, render(delivery)).with_row_index("_row", offset=1)
    frame = frame.with_columns(pl.col("_row").cast(pl.Int64))
    column = contract.column(record.column)
    assert column.raw == record.raw_column and record.rows
    typed = coerce(frame, contract)
    at = pl.col("_row").is_in(record.rows)
    if kind == "wrong_type":
        assert (
            sorted(typed.failures.filter(pl.col("_column") == column.name)["_row"]) == record.rows
        )
    elif kind == "out_of_range":
        values = typed.frame.filter(at)[column.name]
        low = column.min if column.min is not None else float("-inf")
        high = column.max if column.max is not None else float("inf")
        assert ((values < low) | (values > high)).all()
    else:
        assert not typed.frame.filter(at)[column.name].is_in(column.allowed).any()
    # Every other row is still clean.
    others = typed.frame.filter(~at)
    assert typed.failures.filter(~pl.col("_row").is_in(record.rows)).height == 0
    if column.allowed:
        assert others[column.name].drop_nulls().is_in(column.allowed).all()


def test_duplicate_keys_repeat_recorded_rows(contracts, tiny_sources, tiny_world):
    contract, record, delivery, _ = _injected("duplicate_keys", contracts, tiny_sources, tiny_world)
    frame = _text_frame(contract, render(delivery))
    keys = frame.select(contract.unique_key).with_row_index("_row", offset=1)
    for copy, original in zip(record.rows, record.detail["duplicates_of"], strict=True):
        assert keys.row(copy - 1)[1:] == keys.row(original - 1)[1:]
    duplicated = keys.filter(pl.struct(contract.unique_key).is_duplicated())["_row"].to_list()
    assert sorted(duplicated) == sorted(record.rows + record.detail["duplicates_of"])


def test_a_missing_column_is_absent_from_the_header(contracts, tiny_sources, tiny_world):
    contract, record, delivery, _ = _injected("missing_column", contracts, tiny_sources, tiny_world)
    frame = _text_frame(contract, render(delivery))
    assert record.column in contract.required_columns
    assert record.column not in frame.columns
    assert len(frame.columns) == len(contract.columns) - 1


def test_an_empty_file_has_no_rows(contracts, tiny_sources, tiny_world):
    contract, record, delivery, _ = _injected("empty_file", contracts, tiny_sources, tiny_world)
    content = render(delivery)
    if record.detail["variant"] == "zero_bytes":
        assert content == b""
    else:
        assert _text_frame(contract, content).height == 0
        assert content.strip().count(b"\n") == 0


def test_an_empty_file_is_zero_bytes_where_a_header_only_file_would_be_a_nil_return(
    contracts, tiny_world
):
    contract = contracts["complaint_12345"]
    assert contract.delivery.nil_returns
    result = source_deliveries(tiny_world, contract, _plan_for("empty_file", contract.id))
    (record,) = result.defects
    assert record.detail["variant"] == "zero_bytes"
    assert record.detail["rows_withheld"] > 0
    delivery = next(d for d in result.deliveries if d.delivery_id == record.delivery)
    assert render(delivery) == b""


def test_nil_returns_take_no_random_defect(contracts, tiny_world):
    contract = contracts["court_bankruptcy"]
    result = source_deliveries(tiny_world, contract, DefectPlan(rate=1.0, guaranteed={}))
    spoiled = {record.delivery for record in result.defects}
    quiet = {d.delivery_id for d in result.deliveries if d.rows == 0 and not d.zero_bytes}
    assert spoiled and quiet  # the tiny park has both kinds of week for this source
    assert not spoiled & quiet


def test_wrong_encoding_does_not_read_as_declared(contracts, tiny_sources, tiny_world):
    contract, record, delivery, _ = _injected("wrong_encoding", contracts, tiny_sources, tiny_world)
    content = render(delivery)
    written = record.detail["written"]
    assert written != contract.delivery.encoding
    assert content.decode(written).split("\n", 1)[0].split(",")[0] == contract.columns[0].raw
    try:
        header = content.decode(contract.delivery.encoding).split("\n", 1)[0]
    except UnicodeDecodeError:
        return
    assert not set(header.split(",")) & {c.raw for c in contract.columns}


def test_a_late_source_has_no_weekly_delivery(contracts, tiny_sources, tiny_world):
    _contract, record, delivery, result = _injected(
        "missing_delivery", contracts, tiny_sources, tiny_world
    )
    assert delivery is None and record.delivery is None
    assert [d.delivery_id for d in result.deliveries] == [tiny_world.calendar.backfill_id]
    assert record.detail["not_delivered"]


def test_whole_file_defects_never_hit_the_backfill(contracts, tiny_world):
    plan = DefectPlan(rate=1.0, guaranteed={})
    for source_id in ("si_pension", "complaint_12345", "reg_enterprise_master"):
        result = source_deliveries(tiny_world, contracts[source_id], plan)
        assert len(result.defects) == len(result.deliveries)
        for record in result.defects:
            if record.delivery.startswith("backfill-"):
                assert record.kind in ROW_KINDS
            else:
                assert record.kind in ROW_KINDS + FILE_KINDS


def test_defects_are_deterministic(contracts, tiny_world):
    plan = DefectPlan(rate=0.5, guaranteed={})
    first = source_deliveries(tiny_world, contracts["complaint_12345"], plan)
    second = source_deliveries(tiny_world, contracts["complaint_12345"], plan)
    assert first.defects == second.defects
    assert [render(d) for d in first.deliveries] == [render(d) for d in second.deliveries]


def test_a_bad_check_digit_keeps_the_pattern_but_fails_gb_32100(
    contracts, tiny_sources, tiny_world
):
    contract, record, delivery, _ = _injected(
        "bad_check_digit", contracts, tiny_sources, tiny_world
    )
    column = contract.column(record.column)
    assert column.check_character == "uscc" and record.rows
    frame = _text_frame(contract, render(delivery)).with_row_index("_row", offset=1)
    codes = frame.filter(pl.col("_row").is_in(record.rows))[column.name].to_list()
    assert codes == record.detail["values"]
    assert all(re.fullmatch(USCC_PATTERN, code) for code in codes)
    assert not uscc_is_valid(codes).any()
    assert [c[:17] for c in codes] == [c[:17] for c in record.detail["originals"]]
    others = frame.filter(~pl.col("_row").is_in(record.rows))[column.name].drop_nulls()
    assert uscc_is_valid(others.to_numpy().astype(str)).all()
