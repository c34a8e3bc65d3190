"""One department's "double random" draw on hand-built snapshots, one edge case per test."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from models.inspection_plan import (
    BY_SCORE,
    CENSUS,
    MANDATORY,
    RANDOM,
    SAMPLE,
    PlanInputError,
    draw_department,
    draw_keys,
    load_plan_policy,
    parse_plan_policy,
)

POLICY = load_plan_policy()
NO_PAIRS = pl.DataFrame(schema={"uscc": pl.String, "inspector_id": pl.String})
ROSTER = [f"3205942020{i:04d}" for i in range(12)]


def snapshot(tiers: dict[str, int], industry: str = "other", start: int = 0, seed: int = 0):
    """Firms with the given count per class; probabilities random, codes in order."""
    rng = np.random.default_rng(seed)
    rows = []
    number = start
    for tier, count in tiers.items():
        for _ in range(count):
            rows.append(
                {
                    "uscc": f"91320594MA{number:07d}X",
                    "name": f"企业{number}",
                    "industry": industry,
                    "district": "湖西",
                    "tier": tier,
                    "basis": "model",
                    "probability": float(rng.random()),
                }
            )
            number += 1
    return pl.DataFrame(rows)


def draw(
    firms,
    *,
    capacity=10_000,
    seed=7,
    recent=(),
    roster=ROSTER,
    last=NO_PAIRS,
    conflicts=NO_PAIRS,
    industries=("other",),
    policy=POLICY,
):
    return draw_department(
        firms,
        department="market_supervision",
        industries=list(industries),
        month="2026-12",
        capacity=capacity,
        roster=list(roster),
        recent=list(recent),
        last_inspectors=last,
        conflicts=conflicts,
        policy=policy,
        seed=seed,
    )


def stratum(result, tier: str) -> dict:
    return result.strata.filter(pl.col("tier") == tier).row(0, named=True)


# ---------------------------------------------------------------- the keys


def test_a_key_is_the_first_eight_bytes_of_the_sha256_of_seed_department_and_name():
    digest = hashlib.sha256(b"42|market_supervision|91320594MA0000001X").digest()
    expected = int.from_bytes(digest[:8], "big")
    assert int(draw_keys(42, "market_supervision", ["91320594MA0000001X"])[0]) == expected


# ---------------------------------------------------------------- rates


def test_every_eligible_mandatory_firm_is_planned():
    result = draw(snapshot({"B": 100, "D": 30}))
    assert stratum(result, "D")["drawn"] == 30 and stratum(result, "D")["design"] == CENSUS
    planned_d = result.plan.filter(pl.col("tier") == "D")
    assert planned_d.height == 30 and (planned_d["selection"] == MANDATORY).all()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**62))
def test_for_any_seed_a_class_draws_its_expected_count_rounded_either_way(seed):
    firms = snapshot({"A": 900, "B": 1300, "C": 170})
    result = draw(firms, seed=seed)
    for tier, eligible in (("A", 900), ("B", 1300), ("C", 170)):
        expected = POLICY.rates[tier] * eligible
        assert stratum(result, tier)["drawn"] in (math.floor(expected), math.ceil(expected))
        picked = result.plan.filter(pl.col("tier") == tier)
        assert picked.height == stratum(result, tier)["drawn"]
        assert (picked["selection"] == RANDOM).all()


def test_realised_rates_match_the_configured_rates_over_many_seeds():
    """Over 400 seeds each class's realised rate averages its configured rate within three
    standard errors, and each firm's chance of being drawn is the rate too (no firm is
    favoured: the most-drawn firm is within sampling error of the rate)."""
    firms = snapshot({"A": 700, "B": 900, "C": 120, "D": 10})
    seeds = range(400)
    realised = {t: [] for t in "ABC"}
    drawn_count = dict.fromkeys(firms["uscc"].to_list(), 0)
    for seed in seeds:
        result = draw(firms, seed=seed)
        for tier in realised:
            realised[tier].append(stratum(result, tier)["inclusion"])
        for uscc in result.plan["uscc"]:
            drawn_count[uscc] += 1
    for tier, eligible in (("A", 700), ("B", 900), ("C", 120)):
        rate = POLICY.rates[tier]
        # Each seed's rate is the sample size over N; its spread is the rounding's, bounded by
        # that of a Bernoulli(frac) / N, plus nothing else: compare with a binomial's SE, which
        # is larger, over the seeds.
        se = math.sqrt(rate * (1 - rate) / eligible) / math.sqrt(len(seeds))
        assert abs(np.mean(realised[tier]) - rate) <= 3 * se + 1e-12, tier
        per_firm = np.array(
            [drawn_count[u] for u in firms.filter(pl.col("tier") == tier)["uscc"]]
        ) / len(seeds)
        assert abs(per_firm.mean() - rate) <= 3 * se + 1e-12, tier
        firm_se = math.sqrt(rate * (1 - rate) / len(seeds))
        assert per_firm.max() <= rate + 5.5 * firm_se, tier


def test_excluded_firms_are_never_drawn_and_are_counted():
    firms = snapshot({"C": 200, "D": 20})
    recent = firms.filter(pl.col("tier") == "D")["uscc"].head(5).to_list()
    result = draw(firms, recent=recent)
    assert not set(recent) & set(result.plan["uscc"])
    d = stratum(result, "D")
    assert (d["firms"], d["excluded"], d["eligible"], d["drawn"]) == (20, 5, 15, 15)


def test_only_the_departments_industries_are_in_scope():
    firms = pl.concat([snapshot({"D": 10}, "finance"), snapshot({"D": 7}, "other", start=100)])
    result = draw(firms, industries=("finance",))
    assert set(result.plan["industry"]) == {"finance"} and result.plan.height == 10


# ---------------------------------------------------------------- capacity


def test_capacity_below_the_mandatory_firms_takes_them_by_score_and_samples_nothing():
    firms = snapshot({"B": 500, "D": 40}, seed=3)
    firms = firms.with_columns(
        probability=pl.when(pl.col("uscc") == firms["uscc"][-1])
        .then(None)
        .otherwise(pl.col("probability"))
    )
    result = draw(firms, capacity=25)
    assert [w.code for w in result.warnings] == ["capacity_below_mandatory"]
    assert "25" in result.warnings[0].zh and "40" in result.warnings[0].en
    d_firms = firms.filter(pl.col("tier") == "D").sort(
        ["probability", "uscc"], descending=[True, False], nulls_last=True
    )
    assert set(result.plan["uscc"]) == set(d_firms["uscc"].head(25))
    assert result.deferred["uscc"].to_list() == d_firms["uscc"].slice(25).to_list()
    assert result.deferred["uscc"][-1] == firms["uscc"][-1]  # no score: last
    assert stratum(result, "B")["drawn"] == 0
    assert stratum(result, "D")["design"] == BY_SCORE and stratum(result, "D")["deferred"] == 15


def test_capacity_short_of_the_rates_scales_every_rate_and_uses_it_all():
    firms = snapshot({"A": 4000, "B": 4000, "C": 1000, "D": 5})
    # Expected: 10 + 20 + 20 = 50 sampled; only 25 fit after the 5 mandatory firms.
    result = draw(firms, capacity=30)
    assert [w.code for w in result.warnings] == ["capacity_scaled"]
    assert result.plan.height == 30
    sizes = {t: stratum(result, t)["drawn"] for t in "ABC"}
    assert sizes == {"A": 5, "B": 10, "C": 10}
    assert all(stratum(result, t)["design"] == SAMPLE for t in "ABC")


def test_rounding_up_never_exceeds_a_capacity_that_fits_the_expectation():
    firms = snapshot({"A": 1300, "B": 1300, "C": 130})  # expects 3.25 + 6.5 + 2.6 = 12.35
    for seed in range(60):
        assert draw(firms, capacity=12, seed=seed).plan.height <= 12


# ---------------------------------------------------------------- inspectors


def test_two_different_inspectors_per_firm_and_the_work_shared_evenly():
    result = draw(snapshot({"D": 60}))
    pairs = result.plan.select("inspector_1", "inspector_2")
    assert (pairs["inspector_1"] != pairs["inspector_2"]).all()
    loads = pl.concat([pairs["inspector_1"], pairs["inspector_2"]]).value_counts()["count"]
    assert loads.max() - loads.min() <= 1 and loads.sum() == 120


def test_no_inspector_with_a_conflict_or_who_inspected_the_firm_last_time():
    firms = snapshot({"D": 30})
    uscc = firms["uscc"].to_list()
    conflicts = pl.DataFrame({"uscc": uscc[:10], "inspector_id": [ROSTER[0]] * 10})
    last = pl.DataFrame({"uscc": uscc * 2, "inspector_id": [ROSTER[1]] * 30 + [ROSTER[2]] * 30})
    result = draw(firms, conflicts=conflicts, last=last)
    for row in result.plan.iter_rows(named=True):
        assigned = {row["inspector_1"], row["inspector_2"]}
        assert ROSTER[1] not in assigned and ROSTER[2] not in assigned
        if row["uscc"] in uscc[:10]:
            assert ROSTER[0] not in assigned


def test_a_firm_short_of_allowed_inspectors_gets_who_is_left_and_a_warning():
    firms = snapshot({"D": 2})
    banned = pl.DataFrame({"uscc": [firms["uscc"][0]] * 2, "inspector_id": ROSTER[:2]})
    result = draw(firms, roster=ROSTER[:3], conflicts=banned)
    row = result.plan.filter(pl.col("uscc") == firms["uscc"][0]).row(0, named=True)
    assert row["inspector_1"] == ROSTER[2] and row["inspector_2"] is None
    assert [w.code for w in result.warnings] == ["inspectors_short"]
    assert firms["uscc"][0] in result.warnings[0].en


def test_an_empty_roster_refuses_a_plan_with_firms():
    with pytest.raises(PlanInputError, match="no inspector on duty"):
        draw(snapshot({"D": 3}), roster=[])


def test_a_department_with_no_firms_gets_an_empty_plan_and_a_warning():
    result = draw(snapshot({"D": 3}, "finance"), industries=("education",), roster=[])
    assert result.plan.height == 0
    assert [w.code for w in result.warnings] == ["no_firms"]
    assert result.strata["eligible"].sum() == 0


# ---------------------------------------------------------------- reproducible


def test_the_same_seed_and_inputs_redraw_the_identical_plan():
    firms = snapshot({"A": 800, "B": 800, "C": 200, "D": 20})
    first, again = draw(firms, seed=99), draw(firms, seed=99)
    assert first.plan.equals(again.plan) and first.strata.equals(again.strata)
    assert not draw(firms, seed=100).plan.equals(first.plan)


def test_the_order_of_the_snapshot_and_other_industries_do_not_change_the_draw():
    firms = snapshot({"A": 800, "B": 800, "C": 200, "D": 20})
    shuffled = firms.sample(fraction=1.0, shuffle=True, seed=1)
    extra = pl.concat([firms, snapshot({"D": 50}, "finance", start=90_000)])
    base = draw(firms, seed=5).plan
    assert draw(shuffled, seed=5).plan.equals(base)
    assert draw(extra, seed=5).plan.equals(base)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: pl.concat([f, f.head(1)]), "repeats firm"),
        (lambda f: f.with_columns(tier=pl.lit("E")), "the class 'E'"),
        (lambda f: f.drop("probability"), "lacks"),
    ],
)
def test_a_broken_snapshot_is_refused(change, message):
    with pytest.raises(PlanInputError, match=message):
        draw(change(snapshot({"D": 3})))


def test_a_negative_capacity_is_refused():
    with pytest.raises(PlanInputError, match="negative"):
        draw(snapshot({"D": 3}), capacity=-1)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rates": {"A": 0.1, "B": 0.1, "C": 0.1}}, "rate for each"),
        ({"rates": {"A": 0.1, "B": 0.1, "C": 1.5, "D": 1.0}}, r"in \[0, 1\]"),
        ({"mandatory": ["C"]}, "mandatory: its rate must be 1.0"),
    ],
)
def test_a_broken_plan_policy_is_refused(change, message):
    with pytest.raises(ValidationError, match=message):
        parse_plan_policy({**POLICY.model_dump(), **change})
