"""A record withdrawn by an upheld objection to a fact: it stops counting in the features from
the decision day and still counts before (so the history stays as the platform saw it), and the
fact behind a reason is traced back to its record."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from features.credit_repair import REPAIRED_FROM, REPAIRED_RECORD, REPAIRED_SOURCE
from features.facts import fact_records, facts_for
from tests.features.test_credit_repair import PENALTY_DAY, penalty, repair
from tests.features.tiny_lake import build, frames, master, value

DECIDED = date(2024, 5, 20)


def withdrawn(record: str = "P-1", day: date = DECIDED, source: str = "penalty_tax"):
    return pl.DataFrame(
        {
            "uscc": ["F1"],
            REPAIRED_SOURCE: [source],
            REPAIRED_RECORD: [record],
            REPAIRED_FROM: [day],
        }
    )


def test_a_withdrawn_record_counts_before_the_decision_and_not_from_its_day_on():
    records = [master(), penalty(), penalty("P-2", PENALTY_DAY + timedelta(days=3))]
    dates = [DECIDED - timedelta(days=1), DECIDED, date(2024, 9, 1)]
    table = build(records, dates, corrections=withdrawn())
    assert value(table, "penalty_count_365d", DECIDED - timedelta(days=1)) == 2
    assert value(table, "penalty_count_365d", DECIDED) == 1  # P-2 still counts
    assert value(table, "penalty_fine_amount_365d", date(2024, 9, 1)) == 5000.0
    untouched = build(records, dates)
    assert value(untouched, "penalty_count_365d", DECIDED) == 2


def test_a_correction_and_a_repair_of_one_record_count_from_the_earlier():
    records = [master(), penalty(), repair(day=date(2024, 7, 1))]
    table = build(records, [date(2024, 6, 1)], corrections=withdrawn())
    assert value(table, "penalty_count_365d", date(2024, 6, 1)) == 0
    later = withdrawn(day=date(2024, 8, 1))
    table = build(records, [date(2024, 7, 15)], corrections=later)
    assert value(table, "penalty_count_365d", date(2024, 7, 15)) == 0  # the repair came first


def test_another_firms_record_of_the_same_number_is_not_withdrawn():
    records = [master(), master("F2"), penalty(), penalty(uscc="F2")]
    table = build(records, [date(2024, 6, 1)], corrections=withdrawn())
    assert value(table, "penalty_count_365d", date(2024, 6, 1)) == 0
    assert value(table, "penalty_count_365d", date(2024, 6, 1), uscc="F2") == 1


def test_a_panel_source_cannot_have_one_record_withdrawn():
    with pytest.raises(ValueError, match="only a source of records keyed by one column"):
        build([master()], [date(2024, 6, 1)], corrections=withdrawn(source="si_pension_monthly"))


def test_the_fact_shown_is_traced_to_its_record():
    records = [master(), penalty(), penalty("P-2", PENALTY_DAY + timedelta(days=3))]
    as_of = date(2024, 5, 1)
    shown = facts_for(frames(records), ["F1"], as_of, ["penalty_count_365d"])
    traced = fact_records(frames(records), ["F1"], as_of, ["penalty_count_365d"])
    assert set(traced["fact_zh"]) == set(shown["fact_zh"])
    by_text = dict(zip(traced["fact_zh"], traced["record"], strict=True))
    assert sorted(by_text.values()) == ["P-1", "P-2"]
    assert set(traced["source"]) == {"penalty_tax"}
    assert next(t for t, r in by_text.items() if r == "P-2").startswith("2024-03-04")
