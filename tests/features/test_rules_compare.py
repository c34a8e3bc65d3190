"""Compare rules on tiny hand-built rows: every shipped rule at its tolerance boundary, below its
floor, with a period missing or late on one side; then the named edge cases of each test."""

from __future__ import annotations

import math
from datetime import date

import polars as pl
import pytest

from data_contracts.rules import (
    Aggregate,
    BothCheck,
    CompareRule,
    DiffersCheck,
    GapCheck,
    Period,
    load_rules,
)
from features.rules.examined import PERIOD_KEY, PERIOD_START, RULE_ID, VIOLATED
from tests.features.rule_cases import (
    examine_records,
    period_end,
    satisfying,
    shifted,
    side_records,
)
from tests.features.tiny_lake import FIRM, arrival_after, rec

RULES = load_rules()
GAP = sorted(
    r
    for r, rule in RULES.items()
    if isinstance(rule, CompareRule) and isinstance(rule.check, GapCheck)
)
BOTH = sorted(
    r
    for r, rule in RULES.items()
    if isinstance(rule, CompareRule) and isinstance(rule.check, BothCheck)
)
DIFFERS = sorted(
    r
    for r, rule in RULES.items()
    if isinstance(rule, CompareRule) and isinstance(rule.check, DiffersCheck)
)
START = {
    Period.year: date(2024, 1, 1),
    Period.quarter: date(2025, 4, 1),
    Period.month: date(2025, 3, 1),
}


def as_of_after(rule: CompareRule, start: date, days: int = 60) -> date:
    return date.fromordinal(period_end(rule.period, start).toordinal() + days)


def scale_of(check: GapCheck) -> float:
    """A round value at least twice the floor: the boundary values are then whole numbers."""
    return 100.0 * 10 ** max(0, math.ceil(math.log10(max(check.floor * 2, 100) / 100)))


def gap_values(rule: CompareRule, past: float = 0.0) -> tuple[float, float]:
    """(left, right) whose gap is the tolerance (plus ``past`` of the larger value)."""
    check = rule.check
    assert isinstance(check, GapCheck)
    big = scale_of(check)
    small = big * (1 - check.tolerance) - big * past
    return (small, big) if check.direction == "left_below" else (big, small)


def records(rule: CompareRule, left, right, start: date, **kwargs):
    return [
        *side_records(rule, "left", left, start, **kwargs),
        *side_records(rule, "right", right, start, **kwargs),
    ]


def one(examined: pl.DataFrame) -> dict:
    assert examined.height == 1, examined
    return examined.row(0, named=True)


@pytest.mark.parametrize("rule_id", GAP)
def test_a_gap_equal_to_the_tolerance_is_within_it(rule_id):
    rule = RULES[rule_id]
    start = START[rule.period]
    left, right = gap_values(rule)
    row = one(examine_records(rule, records(rule, left, right, start), as_of_after(rule, start)))
    assert row[VIOLATED] is False
    assert row["measure"] == pytest.approx(rule.check.tolerance)
    assert row[PERIOD_START] == start


@pytest.mark.parametrize("rule_id", GAP)
def test_a_gap_just_past_the_tolerance_is_an_anomaly_with_both_values(rule_id):
    rule = RULES[rule_id]
    start = START[rule.period]
    left, right = gap_values(rule, past=0.01)
    row = one(examine_records(rule, records(rule, left, right, start), as_of_after(rule, start)))
    assert row[VIOLATED] is True
    assert row["left_number"] == pytest.approx(left)
    assert row["right_number"] == pytest.approx(right)
    assert (row["left_source"], row["right_source"]) == (rule.left.source, rule.right.source)
    assert row["left_arrived"] is not None and row["right_arrived"] is not None


@pytest.mark.parametrize("rule_id", [r for r in GAP if RULES[r].check.floor > 0])
def test_a_wide_gap_between_values_below_the_floor_is_not_an_anomaly(rule_id):
    rule = RULES[rule_id]
    start = START[rule.period]
    floor = rule.check.floor
    small = (floor * 0.8, floor * 0.1)
    left, right = small if rule.check.direction != "left_below" else small[::-1]
    row = one(examine_records(rule, records(rule, left, right, start), as_of_after(rule, start)))
    assert row[VIOLATED] is False


@pytest.mark.parametrize("rule_id", GAP)
def test_a_period_with_no_value_on_the_other_side_is_not_examined(rule_id):
    rule = RULES[rule_id]
    start = START[rule.period]
    left, _ = gap_values(rule, past=0.5)
    only = side_records(rule, "left", left, start)
    assert examine_records(rule, only, as_of_after(rule, start)).is_empty()


@pytest.mark.parametrize("rule_id", GAP)
def test_a_late_row_counts_only_from_the_day_it_arrived(rule_id):
    rule = RULES[rule_id]
    start = START[rule.period]
    left, right = gap_values(rule, past=0.2)
    t1 = as_of_after(rule, start)
    late = [
        *side_records(rule, "left", left, start),
        *side_records(rule, "right", right, start, arrival_days=200),
    ]
    assert examine_records(rule, late, t1).is_empty()
    t2 = as_of_after(rule, start, days=230)
    assert one(examine_records(rule, late, t2))[VIOLATED] is True


@pytest.mark.parametrize(
    "rule_id",
    [r for r in GAP if Aggregate.sum in (RULES[r].left.aggregate, RULES[r].right.aggregate)],
)
def test_a_sum_with_a_month_missing_is_not_compared_as_a_smaller_sum(rule_id):
    """Eleven months of sales are not a year's sales: the year is not examined at all."""
    rule = RULES[rule_id]
    start = START[rule.period]
    left, right = gap_values(rule)
    summed = "left" if rule.left.aggregate == Aggregate.sum else "right"
    rows = records(rule, left, right, start)
    source = rule.side(summed).source
    december = [r for r in rows if r.source_id == source][-1]
    rows = [r for r in rows if r is not december]
    assert examine_records(rule, rows, as_of_after(rule, start)).is_empty()


def test_a_correction_delivered_later_clears_the_anomaly_from_its_arrival():
    rule = RULES["hc_report_vs_pension"]
    start = date(2024, 1, 1)
    rows = records(rule, 100.0, 50.0, start)
    corrected = rec(
        "annual_report_basic",
        report_year=start,
        employees=52,
        arrived_at=arrival_after(date(2025, 9, 1)),
    )
    before = one(examine_records(rule, [*rows, corrected], date(2025, 8, 1)))
    after = one(examine_records(rule, [*rows, corrected], date(2025, 10, 1)))
    assert (before[VIOLATED], before["left_number"]) == (True, 100.0)
    assert (after[VIOLATED], after["left_number"]) == (False, 52.0)


def test_only_the_latest_lookback_periods_are_examined_unless_an_anomaly_is_revisited():
    rule = RULES["hc_payroll_tax_vs_pension"]  # monthly, lookback 3
    first = date(2025, 1, 1)
    rows = []
    for k in range(6):
        month = shifted(Period.month, first, k)
        rows += records(rule, 100.0, 40.0 if k == 0 else 100.0, month)
    as_of = date(2025, 8, 15)
    examined = examine_records(rule, rows, as_of)
    assert examined[PERIOD_KEY].to_list() == ["2025-04", "2025-05", "2025-06"]
    revisit = pl.DataFrame(
        {RULE_ID: [rule.id], "uscc": [FIRM], PERIOD_KEY: ["2025-01"], PERIOD_START: [first]}
    )
    again = examine_records(rule, rows, as_of, revisit=revisit)
    assert again.filter(pl.col(PERIOD_KEY) == "2025-01")[VIOLATED].to_list() == [True]


def test_a_firm_whose_data_stopped_long_ago_has_no_current_period():
    rule = RULES["hc_report_vs_pension"]
    rows = records(rule, 100.0, 40.0, date(2020, 1, 1))
    assert examine_records(rule, rows, date(2025, 6, 1)).is_empty()
    assert one(examine_records(rule, rows, date(2021, 6, 1)))[VIOLATED] is True


@pytest.mark.parametrize("rule_id", BOTH)
@pytest.mark.parametrize(
    ("left_holds", "right_holds"), [(True, True), (True, False), (False, True)]
)
def test_a_both_rule_fires_only_when_both_conditions_hold(rule_id, left_holds, right_holds):
    rule = RULES[rule_id]
    check = rule.check
    start = START[rule.period]
    left = satisfying(rule, "left", check.left, left_holds)
    right = satisfying(rule, "right", check.right, right_holds)
    rows = records(rule, left, right, start)
    examined = examine_records(rule, rows, as_of_after(rule, start))
    if examined.is_empty():
        # A count side with no rows is 0, never missing: only a value side can be absent.
        assert not right_holds and rule.right.aggregate not in (Aggregate.count, Aggregate.exists)
        return
    assert one(examined)[VIOLATED] is (left_holds and right_holds)


def test_grade_a_in_the_year_before_an_arrears_notice_is_not_a_contradiction():
    rule = RULES["tax_rating_a_with_arrears"]
    rating = side_records(rule, "left", "A", date(2024, 1, 1))
    notice = side_records(rule, "right", 1, date(2025, 1, 1))
    rows = examine_records(rule, [*rating, *notice], date(2026, 6, 1))
    assert rows.filter(pl.col(PERIOD_KEY) == "2024")[VIOLATED].to_list() == [False]


def test_a_count_side_without_rows_counts_zero():
    rule = RULES["tax_rating_a_with_arrears"]
    row = one(
        examine_records(rule, side_records(rule, "left", "A", date(2024, 1, 1)), date(2025, 8, 1))
    )
    assert (row[VIOLATED], row["right_number"]) == (False, 0.0)


def test_a_year_on_year_drop_at_the_threshold_counts_and_one_just_above_does_not():
    rule = RULES["energy_sales_drop_power_flat"]
    start = START[Period.quarter]
    as_of = as_of_after(rule, start)
    at = records(rule, -0.5, 0.0, start)
    above = records(rule, -0.49, 0.0, start)
    assert one(examine_records(rule, at, as_of).filter(pl.col(PERIOD_START) == start))[VIOLATED]
    row = one(examine_records(rule, above, as_of).filter(pl.col(PERIOD_START) == start))
    assert row[VIOLATED] is False
    assert row["left_number"] == pytest.approx(-0.49)


def test_a_change_without_the_year_before_is_not_examined():
    rule = RULES["energy_sales_drop_power_flat"]
    start = START[Period.quarter]
    base = rule.model_copy(update={"left": rule.left.model_copy(update={"change": None})})
    rows = [*side_records(base, "left", 10.0, start), *side_records(rule, "right", 0.0, start)]
    examined = examine_records(rule, rows, as_of_after(rule, start))
    assert examined.filter(pl.col(PERIOD_START) == start).is_empty()


@pytest.mark.parametrize("rule_id", DIFFERS)
def test_a_meter_in_another_district_in_a_recent_month_is_an_anomaly(rule_id):
    rule = RULES[rule_id]
    source = rule.right.source
    months = [shifted(Period.month, date(2025, 1, 1), k) for k in range(5)]
    rows = [
        rec(source, period=m, meter_district="湖西" if k < 4 else "唯亭", consumption=10.0)
        for k, m in enumerate(months)
    ]
    examined = examine_records(rule, rows, date(2025, 7, 1))  # master: 湖西
    assert examined[PERIOD_KEY].to_list() == ["2025-03", "2025-04", "2025-05"]
    assert examined[VIOLATED].to_list() == [False, False, True]
    last = examined.row(2, named=True)
    assert (last["left_text"], last["right_text"]) == ("湖西", "唯亭")


@pytest.mark.parametrize("rule_id", DIFFERS)
def test_a_meter_that_was_elsewhere_only_before_the_examined_months_is_not_an_anomaly(rule_id):
    rule = RULES[rule_id]
    source = rule.right.source
    months = [shifted(Period.month, date(2025, 1, 1), k) for k in range(5)]
    rows = [
        rec(source, period=m, meter_district="唯亭" if k == 0 else "湖西", consumption=10.0)
        for k, m in enumerate(months)
    ]
    assert not examine_records(rule, rows, date(2025, 7, 1))[VIOLATED].any()


def test_the_evidence_of_a_compare_anomaly_is_its_period_rows_newest_first():
    from data_contracts.catalog import load_all
    from data_contracts.rules import load_topics
    from features.rules.evidence import evidence
    from features.rules.render import anomaly_list
    from tests.features.rule_cases import lake_of

    rule = RULES["hc_report_vs_pension"]
    start = date(2024, 1, 1)
    rows = records(rule, 100.0, 40.0, start)
    rows += [
        rec("si_pension", period=m, insured_count=41) for m in (date(2024, 3, 1), date(2025, 1, 1))
    ]
    as_of = as_of_after(rule, start)
    anomalies = anomaly_list(examine_records(rule, rows, as_of), RULES, load_topics(), load_all())
    facts = evidence(anomalies, RULES, lake_of(rule, rows), as_of, contracts=load_all())
    report = facts.filter(pl.col("source") == "annual_report_basic")
    assert report.select("date", "value").rows() == [(start, "100")]
    insured = facts.filter(pl.col("source") == "si_pension")
    assert insured["date"].to_list() == [date(2024, 12, 1), date(2024, 3, 1)], (
        "2025 is another year"
    )
    assert insured["column_zh"].unique().to_list() == ["当月参保职工人数"]  # the contract's label
