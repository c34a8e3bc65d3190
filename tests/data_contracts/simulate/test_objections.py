"""data_contracts/simulate/objections.py: which listed firms object, and whether rightly."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from data_contracts.simulate.config import Objections
from data_contracts.simulate.objections import listed_objections

AS_OF = dt.date(2026, 11, 15)
HORIZON = 180


def world(n: int = 40, at_risk_every: int = 4) -> tuple[pl.DataFrame, pl.DataFrame]:
    """n listed firms; every ``at_risk_every``-th has its distress event within the horizon,
    one after it, one before the list, the rest never."""
    uscc = [f"F{i:03d}" for i in range(n)]
    dates = []
    for i in range(n):
        if i % at_risk_every == 0:
            dates.append(AS_OF + dt.timedelta(days=30 + i))
        elif i % at_risk_every == 1:
            dates.append(AS_OF + dt.timedelta(days=HORIZON + 5))  # too late: not at risk
        else:
            dates.append(None)
    listed = pl.DataFrame({"uscc": uscc})
    truth = pl.DataFrame(
        {"uscc": uscc, "distress_date": dates}, schema_overrides={"distress_date": pl.Date}
    )
    return listed, truth


def draw(seed: int, params: Objections, n: int = 40) -> pl.DataFrame:
    listed, truth = world(n)
    return listed_objections(np.random.default_rng(seed), params, listed, truth, AS_OF, HORIZON)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 60))
def test_for_any_seed_a_rightful_objection_comes_from_a_firm_not_at_risk_and_is_upheld(seed, n):
    params = Objections(rightful_share=0.1, wrongful_share=0.1, min_rightful=1)
    out = draw(seed, params, n)
    at_risk = {f"F{i:03d}" for i in range(n) if i % 4 == 0}
    for row in out.iter_rows(named=True):
        assert row["at_risk"] == (row["uscc"] in at_risk)
        assert row["rightful"] == row["upheld"] == (not row["at_risk"])
    if n > 1:  # at least one firm is not at risk: the demo's week always has one upheld
        assert out["rightful"].sum() >= 1


def test_the_same_seed_gives_the_same_objections_and_the_shares_are_honoured():
    params = Objections(rightful_share=0.0, wrongful_share=1.0, min_rightful=0)
    assert draw(7, params).equals(draw(7, params))
    everyone_at_risk = draw(7, params)
    assert everyone_at_risk["at_risk"].all() and everyone_at_risk.height == 10
    none = draw(7, Objections(rightful_share=0.0, wrongful_share=0.0, min_rightful=0))
    assert none.height == 0
