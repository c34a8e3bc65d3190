"""The assembled table: who is in it, its columns, coverage and bad input."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from features.build import active_firm_count, build_feature_table
from features.point_in_time import SourceDataError
from features.registry import SPECS, column_names
from tests.features.tiny_lake import arrival_after, build, frames, master, rec, value

T = date(2024, 6, 30)


def test_columns_are_the_keys_then_every_registry_column_in_order_with_their_types():
    table = build([master()], [T])
    assert table.columns == ["uscc", "as_of", *column_names()]
    types = dict(table.schema)
    assert types["as_of"] == pl.Date
    assert types["insufficient_data"] == pl.Boolean
    assert types["n_sources_known"] == pl.Int32
    assert all(types[c] == pl.String for c in ("sector", "district", "ownership_type", "size_band"))
    numeric = [s.name for s in SPECS if s.model_input and s.name != "n_sources_known"]
    assert all(types[n] == pl.Float64 for n in numeric)


def test_one_row_per_active_firm_per_as_of_sorted_by_date_then_firm():
    later = date(2024, 7, 7)
    table = build([master("F2"), master("F1")], [later, T])
    assert table.select("as_of", "uscc").rows() == [
        (T, "F1"),
        (T, "F2"),
        (later, "F1"),
        (later, "F2"),
    ]


def test_firm_whose_latest_snapshot_says_deregistered_is_not_in_the_table():
    records = [master(), master(snapshot=date(2024, 5, 1), status="注销")]
    table = build(records, [date(2024, 4, 1), T])
    assert table["as_of"].to_list() == [date(2024, 4, 1)]


def test_snapshot_delivered_after_t_does_not_apply_at_t():
    late = master(snapshot=date(2024, 6, 1), status="吊销", arrived_at=datetime(2024, 7, 2, 8))
    table = build([master(), late], [T, date(2024, 7, 2)])
    assert table["as_of"].to_list() == [T]


def test_snapshot_describes_the_firm_as_it_stood_at_t():
    moved = master(snapshot=date(2024, 6, 1), district="湖东", registered_capital=10.0)
    table = build([master(), moved], [date(2024, 5, 1), T])
    assert value(table, "district", date(2024, 5, 1)) == "湖西"
    assert value(table, "district", T) == "湖东"
    assert value(table, "registered_capital", T) == 10.0
    assert value(table, "firm_age_years", T) == pytest.approx((T - date(2015, 6, 1)).days / 365.25)


def distress_event(uscc: str = "F1", industry: str = "manufacturing") -> object:
    """A distress event on 1 March 2024, known two weeks later."""
    return rec(
        "outcome_distress_event",
        uscc=uscc,
        event_date=date(2024, 3, 1),
        event_type="经营困难",
        industry=industry,
        arrived_at=arrival_after(date(2024, 3, 1), 14),
    )


def test_firm_already_in_a_distress_event_at_t_is_left_out():
    event = distress_event()
    table = build([master(), master("F2"), event], [date(2024, 3, 10), T])
    assert table.filter(pl.col("as_of") == T)["uscc"].to_list() == ["F2"]
    assert table.filter(pl.col("as_of") == date(2024, 3, 10)).height == 2


def test_active_firm_count_is_the_table_height_leaving_out_failed_firms_and_other_sectors():
    event = distress_event("F3", industry="finance")
    records = [master("F1"), master("F2", sector="金融"), master("F3", sector="金融"), event]
    assert active_firm_count(frames(records), T) == build(records, [T]).height == 2
    assert active_firm_count(frames(records), T, sectors=["金融"]) == 1


def test_sectors_keep_only_firms_of_those_sectors():
    table = build([master("F1"), master("F2", sector="金融")], [T], sectors=["金融"])
    assert table["uscc"].to_list() == ["F2"]


def test_firm_unknown_to_every_other_source_is_insufficient():
    records = [
        master(),
        master("F2"),
        rec(
            "si_pension",
            uscc="F2",
            period=date(2024, 5, 1),
            insured_count=3,
            amount_due=1.0,
            amount_paid=1.0,
            arrears_amount=0.0,
        ),
        rec("complaint_12345", uscc="F2", received_date=date(2024, 1, 1), category="其他"),
    ]
    table = build(records, [T])
    assert value(table, "n_sources_known", T) == 1
    assert value(table, "insufficient_data", T) is True
    assert value(table, "n_sources_known", T, uscc="F2") == 3
    assert value(table, "insufficient_data", T, uscc="F2") is False


def test_sources_known_only_once_their_rows_are_usable():
    records = [master(), rec("complaint_12345", received_date=date(2024, 7, 1), category="其他")]
    table = build(records, [T, date(2024, 7, 2)])
    assert value(table, "n_sources_known", T) == 1
    assert value(table, "n_sources_known", date(2024, 7, 2)) == 2


def test_without_a_monthly_panel_the_firm_is_insufficient_however_many_sources_know_it():
    records = [master()] + [
        rec(s, **{e: date(2024, 1, 1)})
        for s, e in (
            ("reg_scope_change", "change_date"),
            ("reg_address_change", "change_date"),
            ("complaint_12345", "received_date"),
        )
    ]
    table = build(records, [T])
    assert value(table, "n_sources_known", T) == 4
    assert value(table, "insufficient_data", T) is True


def test_missing_event_time_names_the_source_column_and_row():
    lake = frames([master(), rec("complaint_12345", received_date=date(2024, 1, 1))])
    lake["complaint_12345"] = pl.concat(
        [
            lake["complaint_12345"],
            lake["complaint_12345"].with_columns(
                pl.lit(None, dtype=pl.Date).alias("received_date")
            ),
        ]
    )
    with pytest.raises(SourceDataError, match=r"complaint_12345.*received_date.*row 1"):
        build_feature_table(lake, [T])


def test_missing_canonical_column_names_the_source_and_column():
    lake = frames([master(), rec("complaint_12345", received_date=date(2024, 1, 1))])
    lake["complaint_12345"] = lake["complaint_12345"].drop("category")
    with pytest.raises(SourceDataError, match=r"complaint_12345.*'category'"):
        build_feature_table(lake, [T]).collect()


def test_master_is_required():
    lake = frames([rec("complaint_12345", received_date=date(2024, 1, 1))])
    with pytest.raises(KeyError, match="reg_enterprise_master"):
        build_feature_table(lake, [T])


def test_empty_as_of_list_is_an_error():
    with pytest.raises(ValueError, match="as_of_dates"):
        build_feature_table(frames([master()]), [])
