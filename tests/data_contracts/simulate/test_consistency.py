"""The planted inconsistencies: known truth the rule engine must find exactly.

On the tiny park, with planting rates raised so that every rule gets several plants: the truth
is deterministic, nothing contradicts that was not planted (reconciliation works), and the engine
at the end date flags exactly the planted contradictions that it examines and never a near miss.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from data_contracts.rules import CompareRule, load_rules
from data_contracts.simulate.consistency import (
    NEAR_MISS,
    TRUTH_SCHEMA,
    VIOLATION,
    plant,
    planting_order,
    planting_sources,
)
from data_contracts.simulate.sources import simulate_source
from data_contracts.simulate.world import build_world
from features.rules import examine

END = dt.date(2026, 11, 20)
KEYS = ["rule_id", "uscc", "period"]


def boosted(factor: float = 8.0, near: float = 4.0) -> dict:
    """The shipped rules with planting rates raised (the tiny park has 200 entities)."""
    out = {}
    for rule_id, rule in load_rules().items():
        sim = rule.simulation
        faster = sim.model_copy(
            update={
                "rate": min(1.0, sim.rate * factor),
                "near_miss_rate": min(1.0, sim.near_miss_rate * near),
            }
        )
        out[rule_id] = rule.model_copy(update={"simulation": faster})
    return out


def planted(seed: int, rules: dict, contracts) -> tuple[dict, pl.DataFrame, object]:
    world = build_world("tiny", seed, END)
    canonical = {s: simulate_source(world, contracts[s]) for s in planting_sources(rules)}
    frames, truth = plant(world, rules, canonical, contracts)
    frames["reg_enterprise_master"] = simulate_source(world, contracts["reg_enterprise_master"])
    return frames, truth, world


@pytest.fixture(scope="module")
def park(contracts):
    rules = boosted()
    frames, truth, _ = planted(7, rules, contracts)
    lazy = {k: v.lazy() for k, v in frames.items()}
    examination = examine(rules, lazy, END, contracts=contracts)
    return rules, frames, truth, examination


def test_the_shipped_rates_plant_on_the_tiny_park(contracts):
    """At the shipped (low) rates some rules plant nothing on 200 entities: that must work."""
    _, truth, _ = planted(7, load_rules(), contracts)
    assert truth.filter(pl.col("origin") == "unplanned").is_empty()
    assert truth.height > 0


def test_the_truth_is_the_same_for_the_same_seed_and_differs_for_another(contracts):
    rules = boosted()
    _, first, _ = planted(7, rules, contracts)
    _, again, _ = planted(7, rules, contracts)
    _, other, _ = planted(8, rules, contracts)
    assert first.equals(again)
    assert not first.equals(other)


def test_every_contradiction_in_the_data_was_planted_by_some_rule(park):
    rules, _, truth, _ = park
    assert truth.schema == pl.Schema(TRUTH_SCHEMA)
    assert set(truth["kind"].unique()) <= {VIOLATION, NEAR_MISS}
    assert truth.filter(pl.col("origin") == "unplanned").is_empty()
    assert set(truth["origin"].unique()) <= set(rules)
    assert not truth.select(KEYS).is_duplicated().any()
    planted_rules = set(truth.filter(pl.col("kind") == VIOLATION)["rule_id"])
    assert len(planted_rules) >= 25, sorted(set(rules) - planted_rules)


def test_the_engine_flags_exactly_the_planted_contradictions_it_examines(park):
    _, _, truth, examination = park
    current = truth.filter(
        (pl.col("kind") == VIOLATION)
        & (pl.col("visible_from") <= END)
        & pl.col("corrected_at").is_null()
    ).select(KEYS)
    flagged = examination.anomalies.select(KEYS)
    examined = examination.examined.select(KEYS)
    false_alarms = flagged.join(current, on=KEYS, how="anti")
    missed = current.join(examined, on=KEYS).join(flagged, on=KEYS, how="anti")
    assert false_alarms.is_empty(), false_alarms
    assert missed.is_empty(), missed
    assert flagged.height >= 50


def test_no_near_miss_and_no_corrected_contradiction_is_flagged(park):
    _, _, truth, examination = park
    innocent = truth.filter(
        (pl.col("kind") == NEAR_MISS) | pl.col("corrected_at").is_not_null()
    ).select(KEYS)
    assert innocent.height >= 20
    assert examination.anomalies.select(KEYS).join(innocent, on=KEYS).is_empty()


def test_without_plants_the_reconciled_park_has_no_anomaly(contracts):
    quiet = {
        rule_id: rule.model_copy(
            update={
                "simulation": rule.simulation.model_copy(
                    update={"rate": 0.0, "near_miss_rate": 0.0}
                )
            }
        )
        for rule_id, rule in load_rules().items()
    }
    frames, truth, _ = planted(7, quiet, contracts)
    assert truth.is_empty()
    lazy = {k: v.lazy() for k, v in frames.items()}
    examination = examine(quiet, lazy, END, contracts=contracts)
    assert examination.examined.height > 1000
    assert examination.anomalies.is_empty(), examination.anomalies


def test_a_corrected_row_is_delivered_again_with_the_consistent_value(park):
    _, frames, truth, _ = park
    corrected = truth.filter(pl.col("corrected_at").is_not_null())
    assert not corrected.is_empty()
    rule_id, uscc, period = corrected.row(0)[:3]
    rule = load_rules()[rule_id]
    assert isinstance(rule, CompareRule)
    side = rule.side(rule.simulation.derive)
    rows = frames[side.source].filter(
        (pl.col("uscc") == uscc) & (pl.col("report_year").dt.year() == int(period))
    )
    assert rows.height == 2, "the original and its correction"
    assert rows[side.column].n_unique() == 2
    assert rows["arrived_at"].max() == corrected["corrected_at"][0]


def test_a_rule_is_planted_after_every_rule_that_rewrites_what_it_compares():
    rules = load_rules()
    order = planting_order(rules)
    position = {rule_id: i for i, rule_id in enumerate(order)}
    # Annual-report revenue is rewritten from VAT sales, which two energy rules plant first;
    # main-business revenue is then rewritten from annual-report revenue.
    assert position["energy_power_without_sales"] < position["rev_report_vs_vat"]
    assert position["rev_report_vs_vat"] < position["rev_main_business_vs_total"]
    assert position["tax_vat_paid_vs_collected"] < position["tax_report_vs_collected"]
    assert sorted(order) == sorted(rules)


def test_activity_stops_after_every_exit_not_only_those_planted_on(contracts):
    """An exit in the last months (too recent to plant a lapse on) is reconciled too: past its
    month and the grace, only planted rows show activity. (Seed 38: a tiny park where a firm
    cancelled too recently to be planted on went on paying.)"""
    frames, truth, world = planted(38, load_rules(), contracts)
    rule = load_rules()["status_closed_paying_si"]
    exits = world.firms.select("uscc", "exit_status", "status_date").filter(
        pl.col("exit_status").is_in(rule.state.statuses) & (pl.col("status_date") <= END)
    )
    recent = exits.filter(pl.col("status_date") > END - dt.timedelta(days=31 * 5))
    assert recent.height > 0, "the tiny park has recent exits to reconcile"
    month = pl.col("period").dt.year() * 12 + pl.col("period").dt.month()
    last = pl.col("status_date").dt.year() * 12 + pl.col("status_date").dt.month()
    after = (
        frames["si_pension"]
        .join(exits, on="uscc")
        .filter((month > last + rule.grace_months) & (pl.col("amount_paid") > 0))
    )
    planted_firms = truth.filter(pl.col("rule_id") == rule.id)["uscc"]
    assert after.filter(~pl.col("uscc").is_in(planted_firms.implode())).is_empty()
