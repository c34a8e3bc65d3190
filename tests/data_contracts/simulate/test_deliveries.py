from __future__ import annotations

import datetime as dt
import io

import polars as pl

from data_contracts.schema import FileFormat
from data_contracts.simulate.defects import DefectPlan
from data_contracts.simulate.deliveries import render, split_deliveries
from data_contracts.simulate.park import source_deliveries

NO_DEFECTS = DefectPlan(rate=0.0, guaranteed={})


def _read(contract, content: bytes) -> pl.DataFrame:
    if contract.delivery.format == FileFormat.parquet:
        return pl.read_parquet(io.BytesIO(content))
    text = content.decode(contract.delivery.encoding)
    return pl.read_csv(io.StringIO(text), infer_schema=False)


def test_history_arrives_in_one_backfill_then_weekly(contracts, tiny_sources, tiny_world):
    contract = contracts["complaint_12345"]
    deliveries = split_deliveries(contract, tiny_sources["complaint_12345"], tiny_world.calendar)
    calendar = tiny_world.calendar
    assert deliveries[0].delivery_id == f"backfill-{calendar.backfill_date}"
    assert {d.delivery_id for d in deliveries[1:]} <= {str(d) for d in calendar.weekly_dates}
    assert sum(d.rows for d in deliveries) == tiny_sources["complaint_12345"].height


def test_rows_go_to_the_delivery_of_their_arrival_week(contracts, tiny_sources, tiny_world):
    contract = contracts["si_pension"]
    calendar = tiny_world.calendar
    for delivery in split_deliveries(contract, tiny_sources["si_pension"], calendar):
        arrived = delivery.frame[contract.column("arrived_at").raw].dt.date()
        if delivery.delivery_id.startswith("backfill-"):
            assert arrived.max() <= calendar.backfill_date.astype(object)
        else:
            day = dt.date.fromisoformat(delivery.delivery_id)
            assert arrived.max() <= day
            assert arrived.min() > day - dt.timedelta(days=7)


def test_snapshot_sources_deliver_every_week(contracts, tiny_sources, tiny_world):
    contract = contracts["reg_enterprise_master"]
    deliveries = split_deliveries(
        contract, tiny_sources["reg_enterprise_master"], tiny_world.calendar
    )
    assert [d.delivery_id for d in deliveries] == tiny_world.calendar.delivery_ids


def test_nil_return_sources_send_a_header_only_file_for_a_quiet_week(
    contracts, tiny_sources, tiny_world
):
    contract = contracts["court_bankruptcy"]
    assert contract.delivery.nil_returns
    calendar = tiny_world.calendar
    history = tiny_sources["court_bankruptcy"]
    before_weeks = history.filter(  # no case arrives in the weekly deliveries' weeks
        pl.col(contract.arrival_time).dt.date() <= calendar.backfill_date.astype(object)
    )
    deliveries = split_deliveries(contract, before_weeks, calendar)
    assert [d.delivery_id for d in deliveries] == calendar.delivery_ids
    for quiet in deliveries[1:]:
        assert quiet.rows == 0
        assert render(quiet).decode().splitlines() == [",".join(c.raw for c in contract.columns)]


def test_other_sources_send_nothing_in_a_quiet_week(contracts, tiny_sources, tiny_world):
    contract = contracts["si_pension"]
    assert not contract.delivery.nil_returns
    calendar = tiny_world.calendar
    history = tiny_sources["si_pension"]
    before_weeks = history.filter(
        pl.col(contract.arrival_time).dt.date() <= calendar.backfill_date.astype(object)
    )
    deliveries = split_deliveries(contract, before_weeks, calendar)
    assert [d.delivery_id for d in deliveries] == calendar.delivery_ids[:1]


def test_csv_files_carry_raw_headers_in_the_declared_encoding(contracts, tiny_world):
    contract = contracts["si_pension"]
    assert contract.delivery.encoding == "gb18030"
    result = source_deliveries(tiny_world, contract, NO_DEFECTS)
    content = render(result.deliveries[0])
    header = content.decode("gb18030").split("\n", 1)[0]
    assert header.split(",") == [c.raw for c in contract.columns]
    frame = _read(contract, content)
    assert frame.height == result.deliveries[0].rows
    assert frame[contract.column("period").raw].str.contains(r"^\d{4}-\d{2}-01$").all()
    assert (
        frame[contract.column("arrived_at").raw]
        .str.contains(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
        .all()
    )


def test_parquet_files_are_typed_with_raw_headers(contracts, tiny_world):
    contract = next(c for c in contracts.values() if c.delivery.format == FileFormat.parquet)
    result = source_deliveries(tiny_world, contract, NO_DEFECTS)
    frame = _read(contract, render(result.deliveries[0]))
    assert frame.columns == [c.raw for c in contract.columns]
    assert frame.schema[contract.column(contract.arrival_time).raw] == pl.Datetime("us")


def test_rendering_is_byte_identical_for_the_same_seed(contracts, tiny_world):
    for source_id in ("complaint_12345", "si_medical", "reg_enterprise_master"):
        first = source_deliveries(tiny_world, contracts[source_id], NO_DEFECTS)
        second = source_deliveries(tiny_world, contracts[source_id], NO_DEFECTS)
        assert [render(d) for d in first.deliveries] == [render(d) for d in second.deliveries]
