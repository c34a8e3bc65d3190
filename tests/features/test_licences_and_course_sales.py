"""The last stress-carrying sources that fed nothing (issue 22), on tiny hand-built lakes: the
licence sources (a status change re-delivers the licence, dated by its arrival) and the
training schools' monthly course sales. Each test names its edge case."""

from __future__ import annotations

from datetime import date

from features import licences, prepaid
from features.facts import facts_for
from tests.features.tiny_lake import arrival_after, build, frames, master, months, rec, value

T = date(2024, 6, 30)
LOST = licences.LOST_COUNT.name
REVOKED = licences.REVOKED_COUNT.name


def licence(
    number: str,
    status: str,
    arrived: date,
    source: str = "licence_school_running",
    issued: date = date(2020, 3, 1),
    uscc: str = "F1",
) -> object:
    return rec(
        source,
        uscc=uscc,
        licence_no=number,
        issue_date=issued,
        valid_to=date(2025, 3, 1),
        status=status,
        arrived_at=arrival_after(arrived),
    )


def test_a_licence_issued_years_ago_and_revoked_last_month_counts_for_last_month():
    records = [
        master(),
        licence("L-1", "有效", arrived=date(2020, 3, 2)),
        licence("L-1", "吊销", arrived=date(2024, 5, 20)),
    ]
    table = build(records, [date(2024, 5, 1), T])
    # before the revocation arrived nothing is lost, though the issue date is four years back
    assert value(table, LOST, date(2024, 5, 1)) == 0
    assert value(table, REVOKED, date(2024, 5, 1)) == 0
    assert value(table, LOST, T) == 1
    assert value(table, REVOKED, T) == 1


def test_losses_from_several_licence_sources_add_up_and_only_revocations_count_as_revoked():
    records = [
        master(),
        licence("L-1", "过期", arrived=date(2024, 1, 10)),
        licence("F-9", "注销", arrived=date(2024, 3, 10), source="licence_food_business"),
        licence("F-9", "有效", arrived=date(2020, 3, 2), source="licence_food_business"),
        licence("H-3", "有效", arrived=date(2021, 3, 2), source="licence_hazardous_chemicals"),
    ]
    table = build(records, [T])
    assert value(table, LOST, T) == 2
    assert value(table, REVOKED, T) == 0


def test_a_loss_leaves_the_one_year_count_before_the_two_year_count():
    records = [master(), licence("L-1", "吊销", arrived=date(2023, 3, 1))]
    table = build(records, [T, date(2025, 2, 1), date(2025, 3, 5)])
    assert (value(table, LOST, T), value(table, REVOKED, T)) == (0, 1)
    assert value(table, REVOKED, date(2025, 2, 1)) == 1
    assert value(table, REVOKED, date(2025, 3, 5)) == 0


def test_a_firm_holding_no_licence_has_lost_none_and_without_licence_sources_it_is_unknown():
    records = [master(), master("F2"), licence("L-1", "吊销", arrived=date(2024, 5, 20))]
    table = build(records, [T])
    assert value(table, LOST, T, uscc="F2") == 0
    without = build([master()], [T])
    assert value(without, LOST, T) is None
    assert value(without, REVOKED, T) is None


def test_the_facts_of_a_revocation_are_dated_by_its_arrival_and_leave_out_the_valid_rows():
    records = [
        master(),
        licence("L-1", "有效", arrived=date(2020, 3, 2)),
        licence("L-1", "吊销", arrived=date(2024, 5, 20)),
        licence("L-2", "吊销", arrived=date(2024, 7, 1)),  # after T: not shown
    ]
    facts = facts_for(frames(records), ["F1"], T, [REVOKED])
    assert facts.height == 1
    assert facts["fact_zh"][0].startswith("2024-05-21")  # the day it arrived, not 2020-03-01
    assert "L-1" in facts["fact_en"][0] and "吊销" in facts["fact_en"][0]


def sales(month: date, amount: float, long_packages: float, uscc: str = "F1") -> object:
    return rec(
        "prepaid_fee_course_sales",
        uscc=uscc,
        period=month,
        courses_sold=10,
        new_students=5,
        sales_amount=amount,
        long_package_amount=long_packages,
    )


def test_the_long_package_share_and_its_trend_over_the_last_three_reported_months():
    first_six = months(date(2023, 12, 1), 6)  # Dec 2023 .. May 2024, all usable at T
    records = [
        master(),
        *[sales(m, 100.0, 10.0) for m in first_six[:3]],
        *[sales(m, 100.0, 40.0) for m in first_six[3:]],
    ]
    table = build(records, [T])
    assert value(table, prepaid.LONG_PACKAGE_SHARE.name, T) == 0.4
    assert value(table, prepaid.LONG_PACKAGE_TREND.name, T) == 3.0


def test_no_sales_gives_no_share_and_no_earlier_long_packages_gives_no_trend():
    records = [
        master(),
        *[sales(m, 0.0, 0.0) for m in months(date(2024, 3, 1), 3)],
        *[sales(m, 50.0, 5.0, uscc="F2") for m in months(date(2024, 3, 1), 3)],
        master("F2"),
    ]
    table = build(records, [T])
    assert value(table, prepaid.LONG_PACKAGE_SHARE.name, T) is None
    assert value(table, prepaid.LONG_PACKAGE_TREND.name, T) is None
    assert value(table, prepaid.LONG_PACKAGE_SHARE.name, T, uscc="F2") == 0.1
    # three months only: nothing before them to compare with
    assert value(table, prepaid.LONG_PACKAGE_TREND.name, T, uscc="F2") is None
