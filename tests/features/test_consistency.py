"""The consistency features: per topic, the rules of data_contracts/consistency a firm contradicts
at T, read through the rule engine on tiny hand-built lakes (and, on the tiny planted park,
exactly what the anomaly list at T holds)."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime

import polars as pl
import pytest

from data_contracts.rules import load_rules, load_topics
from features import consistency
from features.consistency import feature_name
from features.registry import spec
from tests.features.tiny_lake import arrival_after, build, master, months, rec, value

T = date(2024, 8, 1)
HEADCOUNT = feature_name("headcount")
LOCATION = feature_name("location")
LICENCES = feature_name("licence_validity")


def report(employees: int, arrived: datetime = datetime(2024, 5, 1)) -> object:
    return rec(
        "annual_report_basic", report_year=date(2023, 1, 1), employees=employees, arrived_at=arrived
    )


def pension(period: date, insured: int, paid: float = 1.0, arrived: datetime | None = None):
    return rec(
        "si_pension",
        period=period,
        insured_count=insured,
        amount_due=paid,
        amount_paid=paid,
        arrears_amount=0.0,
        arrived_at=arrived or arrival_after(period, 20),
    )


def meter(source_id: str, period: date, district: str, uscc: str = "F1") -> object:
    return rec(
        source_id,
        uscc=uscc,
        period=period,
        consumption=10.0,
        meter_district=district,
        arrived_at=arrival_after(period, 35),
    )


def test_one_feature_per_topic_with_the_rules_texts_sources_and_evidence():
    topics = [t.key for t in load_topics().topics]
    assert [s.name for s in consistency.SPECS] == [feature_name(t) for t in topics]
    headcount = spec(HEADCOUNT)
    rule = load_rules()["hc_report_vs_pension"]
    assert rule.title.zh in headcount.description.zh and rule.title.en in headcount.description.en
    assert {"annual_report_basic", "si_pension"} <= set(headcount.sources)
    shown = {(e.family.ids, e.shown) for e in headcount.evidence}
    assert (("annual_report_basic",), ("employees",)) in shown
    assert headcount.reason(1.0, "en") == "1 cross-source check on headcount contradicted"
    assert headcount.reason(3.0, "zh") == "3 条用工人数跨部门核对规则不一致"


def test_report_employees_far_above_the_december_insured_headcount_violate_one_rule():
    records = [master(), report(100), pension(date(2023, 12, 1), 25)]
    assert value(build(records, [T]), HEADCOUNT, T) == 1.0


def test_a_gap_exactly_at_the_tolerance_is_no_contradiction():
    """hc_report_vs_pension tolerates a 30% gap: 100 against 70 is on the boundary."""
    records = [master(), report(100), pension(date(2023, 12, 1), 70)]
    assert value(build(records, [T]), HEADCOUNT, T) == 0.0


def test_only_what_had_arrived_by_t_counts():
    """December's pension row arrives after T: the year cannot be compared yet."""
    late = pension(date(2023, 12, 1), 25, arrived=datetime(2024, 9, 1))
    table = build([master(), report(100), late], [T, date(2024, 9, 2)])
    assert value(table, HEADCOUNT, T) == 0.0
    assert value(table, HEADCOUNT, date(2024, 9, 2)) == 1.0


def test_meters_in_another_district_count_each_rule_once():
    """Two meters (electricity, water) elsewhere: two rules of the topic; three months of the
    same meter still one rule."""
    records = [master(district="湖西")]
    for p in months(date(2024, 4, 1), 3):
        records.append(meter("energy_electricity", p, "湖东"))
        records.append(meter("energy_water", p, "湖东"))
    records.append(master("F2", district="湖西"))
    records.append(meter("energy_electricity", date(2024, 6, 1), "湖西", uscc="F2"))
    table = build(records, [T])
    assert value(table, LOCATION, T) == 2.0
    assert value(table, LOCATION, T, uscc="F2") == 0.0


def licence(no: str, valid_to: date, status: str = "有效") -> object:
    return rec(
        "licence_food_business",
        licence_no=no,
        issue_date=date(2020, 1, 1),
        valid_to=valid_to,
        status=status,
        arrived_at=datetime(2020, 1, 2),
    )


def test_a_lapsed_licence_while_still_paying_social_insurance():
    """Lapsed on 2024-03-01; one grace month (April), then May and June paid: two months, the
    rule's minimum. Before the lapse nothing; a renewal cures it."""
    paid = [pension(p, 5, paid=10.0) for p in months(date(2024, 2, 1), 5)]
    records = [master(), licence("a", date(2024, 3, 1)), *paid]
    table = build(records, [T, date(2024, 2, 15)])
    assert value(table, LICENCES, T) == 1.0
    assert value(table, LICENCES, date(2024, 2, 15)) == 0.0
    renewed = build([*records, licence("b", date(2027, 3, 1))], [T])
    assert value(renewed, LICENCES, T) == 0.0


def test_a_present_source_without_the_firm_counts_zero_an_absent_one_is_unknown():
    with_sources = build(
        [master(), master("F2"), licence("a", date(2024, 3, 1)), pension(date(2024, 6, 1), 5)], [T]
    )
    assert value(with_sources, LICENCES, T, uscc="F2") == 0.0
    only_master = build([master()], [T])
    assert all(value(only_master, s.name, T) is None for s in consistency.SPECS)


@pytest.mark.slow
def test_the_features_count_what_the_anomaly_list_holds_on_the_planted_park():
    from data_contracts.catalog import load_all
    from data_contracts.simulate.consistency import plant, planting_sources
    from data_contracts.simulate.sources import simulate_source
    from data_contracts.simulate.world import build_world
    from features.build import build_feature_table
    from features.rules import examine

    end = dt.date(2026, 11, 20)
    contracts, rules = load_all(), load_rules()
    world = build_world("tiny", 7, end)
    canonical = {s: simulate_source(world, contracts[s]) for s in planting_sources(rules)}
    frames, _ = plant(world, rules, canonical, contracts)
    frames["reg_enterprise_master"] = simulate_source(world, contracts["reg_enterprise_master"])
    lazy = {k: v.lazy() for k, v in frames.items()}
    table = build_feature_table(lazy, [end], contracts=contracts).collect()
    anomalies = examine(rules, lazy, end, contracts=contracts).anomalies
    topic = pl.col("rule_id").replace_strict({r: rules[r].topic for r in rules})
    expected = (
        anomalies.with_columns(topic.alias("topic"))
        .group_by("uscc", "topic")
        .agg(pl.col("rule_id").n_unique().cast(pl.Float64).alias("n"))
    )
    long = table.unpivot(
        index="uscc",
        on=[s.name for s in consistency.SPECS],
        variable_name="feature",
        value_name="n",
    ).filter(pl.col("n") > 0)
    got = long.with_columns(
        pl.col("feature")
        .str.strip_prefix("consistency_")
        .str.strip_suffix("_rules_violated")
        .alias("topic")
    ).select("uscc", "topic", "n")
    active = expected.join(table.select("uscc"), on="uscc", how="semi")
    assert got.height > 10
    assert got.sort("uscc", "topic").equals(active.select(got.columns).sort("uscc", "topic"))
