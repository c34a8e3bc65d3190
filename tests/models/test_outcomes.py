"""Outcomes as labels, and the event rate estimated without the list's selection bias."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from models.config import load_industries
from models.labels import label_snapshots
from models.outcomes import evaluation_sample, inspection_events, rates

INSPECTED = ["risk_confirmed", "rectification_ordered", "no_risk_found", "closed_or_unreachable"]
CONFIRMING = ["risk_confirmed", "closed_or_unreachable"]
FINANCE = load_industries()["finance"]
START = dt.date(2026, 1, 4)  # a Sunday


def _reports(rows: list[dict]) -> pl.DataFrame:
    schema = {
        "uscc": pl.String,
        "industry": pl.String,
        "channel": pl.String,
        "week": pl.String,
        "inspection_date": pl.Date,
        "method": pl.String,
        "outcome": pl.String,
        "received_at": pl.Datetime("us", "UTC"),
    }
    return pl.DataFrame(rows, schema=schema)


def test_a_confirmed_inspection_is_an_event_that_moves_the_label_earlier() -> None:
    reports = _reports(
        [
            {
                "uscc": "A",
                "industry": "finance",
                "channel": "workbook",
                "week": "2026-W10",
                "inspection_date": dt.date(2026, 3, 5),
                "method": "targeted",
                "outcome": "risk_confirmed",
                "received_at": dt.datetime(2026, 3, 6, 2, 0, tzinfo=dt.UTC),
            },
            {  # found nothing: not an event
                "uscc": "B",
                "industry": "finance",
                "channel": "workbook",
                "week": "2026-W10",
                "inspection_date": dt.date(2026, 3, 5),
                "method": "targeted",
                "outcome": "no_risk_found",
                "received_at": dt.datetime(2026, 3, 6, 2, 0, tzinfo=dt.UTC),
            },
            {  # another industry's firm
                "uscc": "C",
                "industry": "education",
                "channel": "inspection_random_check",
                "week": None,
                "inspection_date": dt.date(2026, 3, 5),
                "method": "double_random",
                "outcome": "closed_or_unreachable",
                "received_at": dt.datetime(2026, 3, 6, 2, 0, tzinfo=dt.UTC),
            },
        ]
    )
    events = inspection_events(reports, FINANCE, CONFIRMING)
    assert events.rows() == [
        ("A", dt.date(2026, 3, 5), FINANCE.event_type, dt.datetime(2026, 3, 6, 10, 0))
    ]
    outcomes = pl.DataFrame(
        {
            "uscc": ["A"],
            "event_date": [dt.date(2026, 9, 1)],
            "event_type": [FINANCE.event_type],
            "arrived_at": [dt.datetime(2026, 9, 10)],
        }
    )
    history = pl.DataFrame(
        {"uscc": ["A", "B"], "as_of": [dt.date(2026, 1, 4)] * 2, "sector": ["金融"] * 2}
    )
    known = dt.date(2026, 7, 10)  # the horizon of the January snapshot is over
    without = label_snapshots(history, outcomes, FINANCE, known)
    with_inspections = label_snapshots(
        history, pl.concat([outcomes, events]), FINANCE, known_until=known
    )
    # The label source's event had not arrived by July; the inspection had.
    assert without.sort("uscc")["label"].to_list() == [0, 0]
    assert with_inspections.sort("uscc")["label"].to_list() == [1, 0]


def _simulated_park(seed: int, weeks: int = 30, firms: int = 4000, k: int = 60, draw=0.02):
    """Firms with a known event probability (the calibrated model is right), a list of the top
    k by a noisy score each week, targeted visits of most listed firms and a small random
    draw of everyone; outcomes drawn from the truth."""
    rng = np.random.default_rng(seed)
    risk = rng.beta(0.6, 14.0, firms)
    snapshots, reports, listings = [], [], []
    week_of = {}
    for w in range(weeks):
        as_of = START + dt.timedelta(weeks=w)
        week = f"2026-W{w + 2:02d}"
        week_of[as_of] = week
        p = np.clip(risk * rng.lognormal(0, 0.2, firms), 0, 0.95)
        tier = np.select([p >= 0.15, p >= 0.06, p >= 0.02], ["D", "C", "B"], "A")
        uscc = [f"F{i:05d}" for i in range(firms)]
        snapshots.append(
            pl.DataFrame({"uscc": uscc, "as_of": [as_of] * firms, "probability": p, "tier": tier})
        )
        score = np.log(p) + rng.normal(0, 0.3, firms)
        top = np.argsort(-score)[:k]
        listings.append(pl.DataFrame({"week": [week] * k, "uscc": [uscc[i] for i in top]}))
        event = rng.random(firms) < p
        visited = np.zeros(firms, bool)
        visited[top] = rng.random(k) < 0.8
        drawn = rng.random(firms) < draw
        for i in np.flatnonzero(visited | drawn):
            day = as_of + dt.timedelta(days=int(rng.integers(1, 8)))
            outcome = "risk_confirmed" if event[i] else "no_risk_found"
            if visited[i]:
                reports.append((uscc[i], "workbook", week, day, "targeted", outcome))
            if drawn[i]:
                reports.append(
                    (uscc[i], "inspection_random_check", None, day, "double_random", outcome)
                )
    frame = pl.DataFrame(
        reports,
        schema=["uscc", "channel", "week", "inspection_date", "method", "outcome"],
        orient="row",
    )
    return pl.concat(snapshots), frame, pl.concat(listings), week_of


@settings(max_examples=4, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_the_naive_rate_is_biased_and_the_weighted_and_random_ones_are_not(seed: int) -> None:
    snapshots, reports, listings, week_of = _simulated_park(seed)
    sample = evaluation_sample(
        snapshots,
        reports,
        listings,
        inspected=INSPECTED,
        confirming=CONFIRMING,
        week_of=week_of,
    )
    truth = sample["probability"].mean()  # the calibrated model is right by construction
    overall = rates(sample.with_columns(group=pl.lit("all")), ["group"]).row(0, named=True)
    # The weighted estimate rests mostly on the random checks of unlisted firms: its error is of
    # the order of a binomial standard error over them.
    se = (truth * (1 - truth) / overall["random_checks"]) ** 0.5
    # The list's firms dominate what was inspected: the naive rate is far above the truth.
    assert overall["naive_rate"] > max(2 * truth, truth + 10 * se)
    # Weighting by the recorded listing, and the random draw alone, recover it.
    assert abs(overall["ipw_rate"] - truth) < 4 * se
    assert abs(overall["random_rate"] - truth) < 4 * se
    for tier in rates(sample, ["tier"]).iter_rows(named=True):
        tier_truth = sample.filter(pl.col("tier") == tier["tier"])["probability"].mean()
        tier_se = (tier_truth * (1 - tier_truth) / max(tier["random_checks"], 1)) ** 0.5
        assert abs(tier["ipw_rate"] - tier_truth) < 4 * tier_se, tier


def test_a_targeted_visit_of_an_unlisted_firm_is_not_evidence() -> None:
    snapshots = pl.DataFrame(
        {"uscc": ["A", "B"], "as_of": [START] * 2, "probability": [0.1, 0.1], "tier": ["C"] * 2}
    )
    reports = pl.DataFrame(
        [
            (
                "A",
                "inspection_onsite_result",
                None,
                START + dt.timedelta(days=2),
                "joint",
                "risk_confirmed",
            ),
            (
                "B",
                "workbook",
                "2026-W02",
                START + dt.timedelta(days=2),
                "targeted",
                "risk_confirmed",
            ),
        ],
        schema=["uscc", "channel", "week", "inspection_date", "method", "outcome"],
        orient="row",
    )
    listings = pl.DataFrame({"week": ["2026-W02"], "uscc": ["B"]})
    sample = evaluation_sample(
        snapshots,
        reports,
        listings,
        inspected=INSPECTED,
        confirming=CONFIRMING,
        week_of={START: "2026-W02"},
    )
    assert sample.select("uscc", "listed", "inspected", "confirmed").rows() == [
        ("A", False, False, None),
        ("B", True, True, True),
    ]
