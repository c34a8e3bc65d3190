"""Every contract gets a generator, and its generated rows conform to the contract."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from data_contracts.catalog import load_all
from data_contracts.checksums import uscc_is_valid
from data_contracts.schema import ColumnType, SourceContract
from data_contracts.simulate.generators import GENERATORS
from data_contracts.to_polars import polars_schema

from .conftest import END_DATE

SOURCE_IDS = sorted(load_all())
FIRM_SOURCE_IDS = sorted(sid for sid, contract in load_all().items() if contract.about_firms)


def test_every_generator_kind_of_the_schema_has_an_algorithm(contracts):
    kinds = {c.simulation.generator for c in contracts.values()}
    assert kinds <= set(GENERATORS)


@pytest.mark.parametrize("source_id", SOURCE_IDS)
def test_generated_rows_conform_to_the_contract(source_id, contracts, tiny_sources):
    contract: SourceContract = contracts[source_id]
    frame = tiny_sources[source_id]
    assert frame.schema == polars_schema(contract)
    for column in contract.columns:
        values = frame[column.name].drop_nulls()
        if not column.nullable:
            assert frame[column.name].null_count() == 0, column.name
        if column.min is not None and len(values):
            assert values.min() >= column.min, column.name
        if column.max is not None and len(values):
            assert values.max() <= column.max, column.name
        if column.allowed:
            assert values.is_in(column.allowed).all(), column.name
        if column.pattern:
            assert values.str.contains(column.pattern).all(), column.name
        if column.unique:
            assert values.is_unique().all(), column.name
    assert not frame.select(pl.struct(contract.unique_key).is_duplicated().any()).item()


@pytest.mark.parametrize("source_id", SOURCE_IDS)
def test_rows_arrive_after_they_happen_and_by_the_end_date(source_id, contracts, tiny_sources):
    contract = contracts[source_id]
    frame = tiny_sources[source_id]
    if frame.height == 0:
        return
    arrived = frame[contract.arrival_time]
    happened = frame[contract.event_time].cast(pl.Datetime("us"))
    assert (arrived >= happened).all()
    assert arrived.dt.date().max() <= END_DATE


@pytest.mark.parametrize("source_id", FIRM_SOURCE_IDS)
def test_entity_codes_are_valid_credit_codes_of_the_park(
    source_id, contracts, tiny_sources, tiny_world
):
    frame = tiny_sources[source_id]
    codes = frame[contracts[source_id].entity_key].unique().to_numpy().astype(str)
    assert uscc_is_valid(codes).all()
    assert set(codes) <= set(tiny_world.firms["uscc"].to_list())


def test_busy_sources_have_rows_even_in_the_tiny_park(contracts, tiny_sources):
    for source_id, contract in contracts.items():
        if contract.simulation.generator in ("entity_snapshot", "monthly_panel", "annual"):
            assert tiny_sources[source_id].height > 0, source_id


def test_the_registry_delivers_monthly_snapshots_then_weekly(tiny_sources, tiny_world):
    master = tiny_sources["reg_enterprise_master"]
    days = master["snapshot_date"].unique().sort()
    history = days.filter(days <= tiny_world.calendar.backfill_date.astype(object))
    assert len(history) >= 30
    weekly = days.filter(days > tiny_world.calendar.backfill_date.astype(object))
    assert weekly.diff().drop_nulls().dt.total_days().to_list() == [7] * (len(weekly) - 1)


def test_registry_status_changes_when_firms_are_revoked_or_cancelled(tiny_sources, tiny_world):
    master = tiny_sources["reg_enterprise_master"]
    latest = master.filter(pl.col("snapshot_date") == pl.col("snapshot_date").max())
    statuses = set(latest["status"].to_list())
    assert "存续" in statuses and statuses & {"吊销", "注销"}


def test_monthly_panels_stop_some_months_after_distress(tiny_sources, tiny_world):
    firms = tiny_world.firms.filter(
        pl.col("vanish_date").is_not_null() & (pl.col("vanish_date") < END_DATE)
    ).select("uscc", "vanish_date")
    pension = tiny_sources["si_pension"].join(firms, on="uscc")
    assert pension.height > 0
    assert (pension["period"] <= pension["vanish_date"]).all()


def test_paid_and_arrears_add_up_to_the_amount_due(contracts, tiny_sources):
    for source_id, contract in contracts.items():
        roles = {c.sim.role: c.name for c in contract.columns if c.sim}
        if not {"due", "paid", "arrears"} <= set(roles):
            continue
        frame = tiny_sources[source_id].drop_nulls([roles["due"], roles["paid"], roles["arrears"]])
        gap = frame[roles["due"]] - frame[roles["paid"]] - frame[roles["arrears"]]
        assert gap.abs().max() < 0.011, source_id


def test_columns_without_a_role_follow_their_type_and_pii(contracts, tiny_sources):
    complaints = tiny_sources["complaint_12345"].drop_nulls("caller_phone")
    assert complaints["caller_phone"].str.contains(r"^1[3-9]\d{9}$").all()
    licences = tiny_sources["licence_school_running"]
    assert (licences["valid_to"] > licences["issue_date"]).all()


def test_licences_come_back_with_a_new_status(tiny_sources, contracts):
    changes = 0
    for source_id, contract in contracts.items():
        if contract.simulation.generator != "licences":
            continue
        issued = contract.column("status").allowed[0]
        counts = (
            tiny_sources[source_id]
            .group_by("licence_no")
            .agg(pl.len(), (pl.col("status") == issued).sum().alias("issued"))
        )
        # One row when issued; at most one more when its status changed, arriving after it
        # (else the issue row, the latest to arrive, would undo the change).
        assert (counts["issued"] <= 1).all() and (counts["len"] <= 2).all(), source_id
        changes += int((counts["len"] == 2).sum())
        order = (
            tiny_sources[source_id]
            .group_by("licence_no")
            .agg(
                pl.col(contract.arrival_time).filter(pl.col("status") == issued).min().alias("i"),
                pl.col(contract.arrival_time).filter(pl.col("status") != issued).min().alias("c"),
            )
            .drop_nulls()
        )
        assert (order["c"] > order["i"]).all(), source_id
    assert changes > 0


def test_linked_firms_report_the_real_status_of_the_linked_entity(tiny_sources, tiny_world):
    links = tiny_sources["reg_legal_rep_other_firms"]
    closed = links.filter(pl.col("linked_status") != "存续")
    assert closed.height > 0
    truth = tiny_world.firms.select(
        pl.col("uscc").alias("linked_uscc"), "exit_status", "status_date"
    )
    joined = closed.join(truth, on="linked_uscc")
    assert (joined["linked_status"] == joined["exit_status"]).all()
    assert (joined["status_date"] == joined["status_date_right"]).all()


def test_outcomes_are_the_worlds_distress_events_of_the_three_industries(tiny_sources, tiny_world):
    outcomes = tiny_sources["outcome_distress_event"]
    truth = tiny_world.firms.filter(pl.col("distress_date") <= END_DATE)
    joined = outcomes.join(truth.select("uscc", "distress_date", "industry"), on="uscc")
    assert joined.height == outcomes.height > 0
    assert (joined["event_date"] == joined["distress_date"]).all()
    assert set(outcomes["industry"].to_list()) <= {"finance", "manufacturing", "education"}
    kinds = {"finance": "金融风险事件", "manufacturing": "经营困难", "education": "停业跑路"}
    assert all(kinds[i] == t for i, t in outcomes.select("industry", "event_type").iter_rows())


def test_some_rows_arrive_months_late(contracts, tiny_sources):
    delays = []
    for source_id, contract in contracts.items():
        if contract.simulation.generator != "events":
            continue
        frame = tiny_sources[source_id]
        lag = frame[contract.arrival_time].dt.date() - frame[contract.event_time]
        delays.append(lag.dt.total_days().to_numpy())
    days = np.concatenate(delays)
    assert np.quantile(days, 0.5) < 15
    assert (days > 60).mean() > 0.005


def test_event_counts_per_firm_are_overdispersed(tiny_sources):
    complaints = tiny_sources["complaint_12345"].group_by("uscc").len()["len"].to_numpy()
    assert complaints.var() > complaints.mean()


def test_float_money_has_at_most_two_decimals(contracts, tiny_sources):
    for source_id, contract in contracts.items():
        for column in contract.columns:
            if column.type == ColumnType.float and tiny_sources[source_id].height:
                values = tiny_sources[source_id][column.name].drop_nulls().to_numpy()
                assert np.allclose(values, np.round(values, 2)), (source_id, column.name)
