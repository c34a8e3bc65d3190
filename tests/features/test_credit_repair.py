"""Credit repair, point in time: a repaired record stops counting in features and facts from the
day its repair is in effect and known, and still counts for every as-of date before."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from data_contracts.catalog import load_all
from features.credit_repair import (
    REPAIRED_FROM,
    repairable_sources,
    repairs,
    repairs_in_force,
    unresolved_repairs,
)
from features.facts import facts_for
from tests.features.tiny_lake import arrival_after, build, frames, master, rec, value

PENALTY_DAY = date(2024, 3, 1)
REPAIR_DAY = date(2024, 6, 10)


def penalty(number: str = "P-1", day: date = PENALTY_DAY, **kw) -> object:
    return rec(
        "penalty_tax",
        decision_no=number,
        decision_date=day,
        penalty_type="罚款",
        severity="较重",
        fine_amount=5000.0,
        violation_type="未按期申报",
        **kw,
    )


def repair(
    record: str = "P-1",
    day: date = REPAIR_DAY,
    source: str = "penalty_tax",
    arrived: datetime | None = None,
    kind: str = "行政处罚",
    **kw,
) -> object:
    return rec(
        "credit_repair",
        repaired_date=day,
        repaired_record=kind,
        original_source=source,
        original_record_no=record,
        arrived_at=arrived or arrival_after(day, 0),
        **kw,
    )


def count(records, as_of: date) -> float:
    return value(build(records, [as_of]), "penalty_count_365d", as_of)


def test_repaired_penalty_counts_before_its_repair_and_not_from_the_repair_day_on():
    records = [master(), penalty(), repair()]
    table = build(records, [REPAIR_DAY - timedelta(days=1), REPAIR_DAY, date(2024, 9, 1)])
    assert value(table, "penalty_count_365d", REPAIR_DAY - timedelta(days=1)) == 1
    assert value(table, "penalty_count_365d", REPAIR_DAY) == 0  # repair on the as-of day
    assert value(table, "penalty_count_365d", date(2024, 9, 1)) == 0
    assert value(table, "penalty_fine_amount_365d", date(2024, 9, 1)) == 0
    assert value(table, "penalty_major_count_365d", date(2024, 9, 1)) == 0


def test_repair_known_later_than_effective_counts_from_its_arrival():
    arrived = datetime(2024, 7, 1, 8, 0)
    records = [master(), penalty(), repair(arrived=arrived)]
    assert count(records, date(2024, 6, 30)) == 1  # effective, not yet known
    assert count(records, date(2024, 7, 1)) == 0


def test_repair_of_an_unknown_record_changes_nothing_and_is_listed():
    records = [master(), penalty(), repair(record="P-404")]
    assert count(records, date(2024, 9, 1)) == 1
    unresolved = unresolved_repairs(frames(records), load_all())
    assert unresolved["repaired_record"].to_list() == ["P-404"]
    reason = unresolved["reason"][0]
    assert "credit_repair" in reason and "original_record_no" in reason and "P-404" in reason


def test_repair_naming_another_firms_record_does_not_repair_it():
    records = [master(), master("F2"), penalty(), repair(uscc="F2")]
    assert count(records, date(2024, 9, 1)) == 1
    assert unresolved_repairs(frames(records), load_all()).height == 1


def test_two_repairs_of_one_record_count_from_the_earlier():
    records = [master(), penalty(), repair(day=date(2024, 8, 1)), repair()]
    found = repairs(frames(records), load_all())
    assert found[REPAIRED_FROM].to_list() == [REPAIR_DAY]
    assert count(records, REPAIR_DAY) == 0


def test_repair_before_its_record_arrives_means_the_record_never_counts():
    late = penalty(arrived_at=datetime(2024, 8, 1, 9, 0))
    records = [master(), late, repair()]
    assert count(records, date(2024, 5, 1)) == 0  # not arrived yet
    assert count(records, date(2024, 9, 1)) == 0  # arrived after its repair
    assert unresolved_repairs(frames(records), load_all()).height == 0


def test_only_the_repaired_record_stops_counting():
    records = [master(), penalty(), penalty("P-2", date(2024, 4, 1)), repair()]
    assert count(records, date(2024, 9, 1)) == 1


def test_repaired_black_list_listing_stops_counting():
    listing = rec(
        "credit_black_list", record_no="B-1", listed_date=PENALTY_DAY, list_type="失信被执行人"
    )
    records = [
        master(),
        listing,
        repair(record="B-1", source="credit_black_list", kind="严重失信主体名单"),
    ]
    table = build(records, [date(2024, 5, 1), date(2024, 9, 1)])
    assert value(table, "black_list_count", date(2024, 5, 1)) == 1
    assert value(table, "black_list_count", date(2024, 9, 1)) == 0


def commitment(kind: str, fulfilment: str, record: str = "P-1") -> object:
    return rec(
        "credit_commitment",
        signed_date=REPAIR_DAY,
        commitment_type=kind,
        fulfilment=fulfilment,
        original_source="penalty_tax",
        original_record_no=record,
    )


def test_only_a_fulfilled_repair_commitment_repairs():
    after = date(2024, 9, 1)
    assert count([master(), penalty(), commitment("信用修复型", "履约")], after) == 0
    assert count([master(), penalty(), commitment("信用修复型", "履约中")], after) == 1
    assert count([master(), penalty(), commitment("主动型", "履约")], after) == 1


def test_repaired_penalty_leaves_the_facts_from_its_repair_on():
    records = [master(), penalty(), repair()]

    def shown(as_of: date) -> int:
        return facts_for(frames(records), ["F1"], as_of, ["penalty_count_365d"]).height

    assert shown(REPAIR_DAY - timedelta(days=1)) == 1
    assert shown(REPAIR_DAY) == 0


def test_repairable_sources_are_every_penalty_and_the_dishonesty_lists():
    contracts = load_all()
    named = repairable_sources(contracts)
    assert {s for s in contracts if s.startswith("penalty_")} <= named
    assert {"credit_black_list", "credit_serious_dishonest", "credit_abnormal_operation"} <= named
    for source_id in named:
        assert len(contracts[source_id].unique_key) == 1, source_id
        assert contracts[source_id].grain.value == "event", source_id


# Dates as day offsets from the penalty. A repair's effect must follow from its own dates alone:
# at every as-of date the penalty counts exactly when no repair was both in effect and known.
@settings(max_examples=40, deadline=None)
@given(
    repair_offsets=st.lists(
        st.tuples(st.integers(-30, 300), st.integers(0, 120)), min_size=0, max_size=3
    ),
    penalty_delay=st.integers(0, 60),
)
def test_no_as_of_date_sees_a_repair_before_it_happened(repair_offsets, penalty_delay):
    arrived = datetime.combine(PENALTY_DAY + timedelta(days=penalty_delay), datetime.min.time())
    records = [master(), penalty(arrived_at=arrived)]
    known_from = []
    for effective, delay in repair_offsets:
        day = PENALTY_DAY + timedelta(days=effective)
        records.append(
            repair(
                day=day,
                arrived=datetime.combine(day, datetime.min.time())
                + timedelta(days=delay, hours=10),
            )
        )
        known_from.append(day + timedelta(days=delay))
    dates = [PENALTY_DAY + timedelta(days=d) for d in range(-10, 420, 7)]
    table = build(records, dates).sort("as_of")
    for as_of, got in zip(table["as_of"], table["penalty_count_365d"], strict=True):
        usable = PENALTY_DAY + timedelta(days=penalty_delay) <= as_of
        in_window = as_of < PENALTY_DAY + timedelta(days=365)
        repaired = any(known <= as_of for known in known_from)
        expected = 1 if usable and in_window and not repaired else 0
        assert got == expected, (as_of, repair_offsets, penalty_delay)


def test_repairs_frame_is_sorted_and_typed():
    records = [
        master(),
        master("F2"),
        penalty(),
        penalty("P-2", uscc="F2"),
        repair(),
        repair(record="P-2", uscc="F2"),
    ]
    found = repairs(frames(records), load_all())
    assert found.schema[REPAIRED_FROM] == pl.Date
    assert found["uscc"].to_list() == ["F1", "F2"]


def test_repairs_in_force_list_only_those_known_by_the_date_with_a_stable_hash():
    late = datetime(2024, 7, 1, 8, 0)
    records = [master(), penalty(), penalty("P-2"), repair(), repair(record="P-2", arrived=late)]
    before = repairs_in_force(frames(records), load_all(), date(2024, 6, 30))
    after = repairs_in_force(frames(records), load_all(), date(2024, 7, 1))
    assert before["repaired_record"].to_list() == ["P-1"]
    assert sorted(after["repaired_record"].to_list()) == ["P-1", "P-2"]
    assert before["sha256"][0] == after.filter(pl.col("repaired_record") == "P-1")["sha256"][0]
    assert after["sha256"].n_unique() == 2
