"""What simulated inspectors find, and what simulated regulators send back."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from data_contracts.simulate.config import world_params
from data_contracts.simulate.inspections import (
    CLOSED,
    NO_RISK,
    NOT_INSPECTED,
    RECTIFICATION,
    RISK_CONFIRMED,
    at_risk,
    regulator_returns,
    verdicts,
)

PARAMS = world_params().inspections
DAY = np.datetime64("2026-11-25")
N = 40_000


def shares(outcomes: np.ndarray) -> dict[str, float]:
    values, counts = np.unique(outcomes.astype(str), return_counts=True)
    return {v: c / len(outcomes) for v, c in zip(values, counts, strict=True)}


def run(event: str | None, silent: bool = False, seed: int = 1) -> dict[str, float]:
    events = np.full(N, np.datetime64(event) if event else np.datetime64("NaT"), "datetime64[D]")
    return shares(
        verdicts(np.random.default_rng(seed), PARAMS, events, np.full(N, silent), np.full(N, DAY))
    )


def test_a_firm_failing_within_the_horizon_is_mostly_found_at_risk():
    found = run("2027-01-15")
    assert found[RISK_CONFIRMED] == pytest.approx(PARAMS.sensitivity, abs=0.01)
    assert found[RECTIFICATION] == pytest.approx(PARAMS.rectification_at_risk, abs=0.01)


def test_a_silent_failure_mostly_escapes_the_inspector():
    found = run("2027-01-15", silent=True)
    assert found[RISK_CONFIRMED] == pytest.approx(PARAMS.silent_sensitivity, abs=0.01)


def test_a_healthy_firm_gives_false_alarms_at_the_configured_rate():
    found = run(None)
    assert found[RISK_CONFIRMED] == pytest.approx(PARAMS.false_alarm, abs=0.005)
    assert found[CLOSED] == pytest.approx(PARAMS.unreachable, abs=0.005)
    assert found[NO_RISK] > 0.75
    # An event beyond the horizon is not visible yet.
    assert run("2028-01-01")[RISK_CONFIRMED] == pytest.approx(PARAMS.false_alarm, abs=0.005)


def test_after_the_event_the_firm_is_mostly_gone():
    found = run("2026-10-01")
    assert found[CLOSED] == pytest.approx(PARAMS.closed_after_event, abs=0.01)
    assert set(found) == {CLOSED, RISK_CONFIRMED}


def test_at_risk_bounds_are_the_day_after_and_the_horizon_inclusive():
    days = np.array(["2026-11-25"] * 3, dtype="datetime64[D]")
    events = np.array(["2026-11-25", "2026-11-26", "2027-05-24"], dtype="datetime64[D]")
    assert at_risk(events, days, 180).tolist() == [False, True, True]
    assert at_risk(np.array(["2027-05-25"], "datetime64[D]"), days[:1], 180).tolist() == [False]


def _listed(n: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    uscc = [f"F{i:05d}" for i in range(n)]
    listed = pl.DataFrame({"uscc": uscc, "published_on": [dt.date(2026, 11, 23)] * n})
    truth = pl.DataFrame(
        {
            "uscc": uscc,
            "distress_date": [dt.date(2027, 1, 10) if i % 3 == 0 else None for i in range(n)],
            "silent": [False] * n,
        }
    )
    return listed, truth


def test_returns_hold_only_visits_made_by_the_day_the_workbook_goes_back():
    listed, truth = _listed(4000)
    back = dt.date(2026, 11, 29)
    out = regulator_returns(np.random.default_rng(3), PARAMS, listed, truth, back)
    written = out.filter(pl.col("inspection_date").is_not_null())
    assert written["inspection_date"].min() >= dt.date(2026, 11, 23)
    assert written["inspection_date"].max() <= back
    assert set(written["method"]) <= {"targeted", "joint", "double_random"}
    assert written["note"].null_count() == 0
    later = out.filter(pl.col("visit_date") > back)
    assert later["outcome"].null_count() == later.height  # visited later: not in this workbook
    visited = out["visit_date"].is_not_null().mean()
    assert visited == pytest.approx(PARAMS.returns.inspected_share, abs=0.02)
    reported_not = (out["outcome"] == NOT_INSPECTED).fill_null(False).mean()
    expected = (1 - PARAMS.returns.inspected_share) * PARAMS.returns.reported_not_share
    assert reported_not == pytest.approx(expected, abs=0.015)
    confirmed = written.filter(pl.col("at_risk"))["outcome"].eq(RISK_CONFIRMED).mean()
    assert confirmed == pytest.approx(PARAMS.sensitivity, abs=0.05)


def test_returns_are_reproducible_from_the_seed():
    listed, truth = _listed(300)
    back = dt.date(2026, 12, 20)
    a = regulator_returns(np.random.default_rng(9), PARAMS, listed, truth, back)
    b = regulator_returns(np.random.default_rng(9), PARAMS, listed, truth, back)
    assert a.equals(b)
