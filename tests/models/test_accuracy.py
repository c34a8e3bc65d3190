"""The list's accuracy from tiny hand-built listings and reports, one edge case per test."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.accuracy import follow_up, rolling, summarise, wilson_interval

MONDAY = dt.date(2026, 11, 2)
INSPECTED = ["risk_confirmed", "rectification_ordered", "no_risk_found", "closed_or_unreachable"]
CONFIRMING = ["risk_confirmed", "closed_or_unreachable"]


def listed(*firms: str, week: str = "2026-W45", monday: dt.date = MONDAY) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "week": [week] * len(firms),
            "industry": ["finance"] * len(firms),
            "uscc": list(firms),
            "published_on": [monday] * len(firms),
        }
    )


def reports(*rows: tuple[str, dt.date | None, str | None, str]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "uscc": pl.String,
            "inspection_date": pl.Date,
            "method": pl.String,
            "outcome": pl.String,
        },
        orient="row",
    )


def follow(listings: pl.DataFrame, found: pl.DataFrame, at=MONDAY + dt.timedelta(days=30)):
    return follow_up(
        listings, found, at=at, window_days=90, inspected=INSPECTED, confirming=CONFIRMING
    )


def day(n: int) -> dt.date:
    return MONDAY + dt.timedelta(days=n)


def test_statuses_inspected_reported_not_inspected_and_awaiting() -> None:
    out = follow(
        listed("A", "B", "C"),
        reports(("A", day(3), "targeted", "risk_confirmed"), ("B", None, None, "not_inspected")),
    )
    assert out.select("uscc", "status", "confirmed", "days_to_inspection").rows() == [
        ("A", "inspected", True, 3),
        ("B", "reported_not_inspected", False, None),
        ("C", "awaiting", False, None),
    ]


def test_an_inspection_before_the_list_went_out_does_not_answer_it() -> None:
    out = follow(listed("A"), reports(("A", day(-1), "targeted", "risk_confirmed")))
    assert out["status"].to_list() == ["awaiting"]


def test_an_inspection_on_the_monday_itself_counts_with_zero_days() -> None:
    out = follow(listed("A"), reports(("A", day(0), "joint", "no_risk_found")))
    assert out.select("status", "confirmed", "days_to_inspection").row(0) == (
        "inspected",
        False,
        0,
    )


def test_an_inspection_after_the_report_date_or_the_window_is_not_yet_counted() -> None:
    late = reports(("A", day(40), "targeted", "risk_confirmed"))
    assert follow(listed("A"), late, at=day(30))["status"].to_list() == ["awaiting"]
    assert follow(listed("A"), late, at=day(60))["status"].to_list() == ["inspected"]
    beyond = reports(("A", day(91), "targeted", "risk_confirmed"))
    assert follow(listed("A"), beyond, at=day(200))["status"].to_list() == ["awaiting"]


def test_a_later_confirmation_wins_but_time_counts_from_the_first_visit() -> None:
    out = follow(
        listed("A"),
        reports(
            ("A", day(2), "targeted", "no_risk_found"),
            ("A", day(9), "double_random", "closed_or_unreachable"),
        ),
    )
    assert out.select("confirmed", "outcome", "days_to_inspection", "first_method").row(0) == (
        True,
        "closed_or_unreachable",
        2,
        "targeted",
    )


def test_another_firms_report_never_answers_a_listing() -> None:
    out = follow(listed("A"), reports(("B", day(2), "targeted", "risk_confirmed")))
    assert out["status"].to_list() == ["awaiting"]


def test_summary_counts_share_and_interval() -> None:
    out = follow(
        listed("A", "B", "C", "D"),
        reports(
            ("A", day(2), "targeted", "risk_confirmed"),
            ("B", day(4), "targeted", "no_risk_found"),
            ("C", day(10), "joint", "closed_or_unreachable"),
        ),
    )
    row = summarise(out, ["industry", "week"]).row(0, named=True)
    assert (row["listed"], row["inspected"], row["confirmed"], row["awaiting"]) == (4, 3, 2, 1)
    assert row["confirmed_share"] == pytest.approx(2 / 3)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(wilson_interval(2, 3))
    assert row["median_days_to_inspection"] == 4
    assert row["max_days_to_inspection"] == 10


def test_nothing_inspected_has_no_share_rather_than_zero() -> None:
    row = summarise(follow(listed("A"), reports()), ["industry"]).row(0, named=True)
    assert (row["inspected"], row["confirmed_share"], row["ci_low"]) == (0, None, None)


def test_rolling_counts_a_firm_listed_two_weeks_once_from_its_first_listing() -> None:
    both = pl.concat(
        [
            listed("A", "B", week="2026-W45"),
            listed("A", week="2026-W46", monday=MONDAY + dt.timedelta(days=7)),
        ]
    )
    out = follow(both, reports(("A", day(8), "targeted", "risk_confirmed")))
    assert out.filter(pl.col("uscc") == "A")["days_to_inspection"].to_list() == [8, 1]
    window = rolling(out, ["2026-W45", "2026-W46"])
    assert window.select("uscc", "week", "days_to_inspection").rows() == [
        ("A", "2026-W45", 8),
        ("B", "2026-W45", None),
    ]


def test_wilson_interval_known_values() -> None:
    low, high = wilson_interval(9, 14)
    assert (round(low, 3), round(high, 3)) == (0.388, 0.837)
    assert wilson_interval(0, 10)[0] == 0.0
    assert all(math.isnan(v) for v in wilson_interval(0, 0))
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


@given(st.integers(0, 500), st.integers(1, 500))
def test_wilson_interval_contains_the_share(k: int, n: int) -> None:
    k = min(k, n)
    low, high = wilson_interval(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0
