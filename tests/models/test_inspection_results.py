"""What the "double random" plans found, per class: only inspections in the plan's month count,
the first of two, and a class taken by score is not called a random estimate."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from models.inspection_results import planned_outcomes, results_by_tier

INSPECTED = ["risk_confirmed", "rectification_ordered", "no_risk_found", "closed_or_unreachable"]
CONFIRMING = ["risk_confirmed", "closed_or_unreachable"]


def planned(*rows: tuple[str, str, str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"month": "2026-12", "department": d, "uscc": u, "tier": t, "design": how}
            for d, u, t, how in rows
        ]
    )


def reports(*rows: tuple[str, str, date, str]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"report_key": k, "uscc": u, "inspection_date": day, "outcome": o}
            for k, u, day, o in rows
        ],
        schema={
            "report_key": pl.String,
            "uscc": pl.String,
            "inspection_date": pl.Date,
            "outcome": pl.String,
        },
    )


def test_only_an_inspection_in_the_plans_month_counts_and_the_first_of_two():
    plan = planned(
        ("market", "F1", "C", "random_sample"),
        ("market", "F2", "C", "random_sample"),
        ("market", "F3", "C", "random_sample"),
        ("market", "F4", "C", "random_sample"),
    )
    found = reports(
        ("r1", "F1", date(2026, 12, 3), "risk_confirmed"),
        ("r2", "F1", date(2026, 12, 20), "no_risk_found"),  # later: not this month's count
        ("r3", "F2", date(2026, 11, 30), "risk_confirmed"),  # before the month
        ("r4", "F3", date(2027, 1, 1), "risk_confirmed"),  # after it
        ("r5", "F4", date(2026, 12, 31), "not_inspected"),  # reported, not inspected
    )
    outcomes = planned_outcomes(plan, found, INSPECTED, CONFIRMING)
    assert outcomes.select("uscc", "outcome", "confirmed").rows() == [
        ("F1", "risk_confirmed", True),
        ("F2", None, False),
        ("F3", None, False),
        ("F4", None, False),
    ]
    [row] = results_by_tier(outcomes).to_dicts()
    assert (row["planned"], row["inspected"], row["confirmed"]) == (4, 1, 1)
    assert row["confirmed_share"] == 1.0 and row["random"]
    assert row["ci_low"] == pytest.approx(0.2065, abs=1e-4) and row["ci_high"] == 1.0


def test_each_department_and_class_apart_and_a_class_by_score_is_not_random():
    plan = planned(
        ("market", "F1", "D", "by_score"),
        ("market", "F2", "A", "random_sample"),
        ("finance", "F1", "D", "census"),
    )
    found = reports(("r1", "F1", date(2026, 12, 8), "no_risk_found"))
    results = results_by_tier(planned_outcomes(plan, found, INSPECTED, CONFIRMING))
    assert results.select("department", "tier", "planned", "inspected", "random").rows() == [
        ("finance", "D", 1, 1, True),
        ("market", "A", 1, 0, True),
        ("market", "D", 1, 1, False),
    ]
    no_inspection = results.filter(pl.col("tier") == "A").row(0, named=True)
    assert no_inspection["confirmed_share"] is None and no_inspection["ci_low"] is None
