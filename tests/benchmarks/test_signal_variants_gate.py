"""signal_variants: ``pooled`` is one booster (the shipped block averages three), the production
path without the second set of inputs is a pooled, 3-seed variant, and each industry's result
says which model the promotion gate would serve."""

from __future__ import annotations

import numpy as np
import pytest

from models.config import load_industries
from tests.benchmarks.scripts import load_script, shipped_training


@pytest.fixture(scope="module")
def bench():
    return load_script("signal_variants")


def test_pooled_is_one_booster_although_the_shipped_block_averages_three(bench):
    shared = shipped_training()
    assert shared.seeds == 3  # without its own count, pooled would train pooled_bagged_3
    assert bench.POOLED["pooled"].config(shared).seeds == 1
    assert bench.POOLED["pooled_bagged_3"].config(shared).seeds == 3


def test_pooled_three_seeds_without_more_sources_drops_exactly_the_second_set(bench):
    variant = "pooled_bagged_3_without_more_sources"
    assert variant in bench.VARIANTS
    shared = shipped_training()
    assert bench.POOLED[variant].config(shared).seeds == 3
    dropped = set(bench.POOLED[variant].drop)
    assert dropped == set(bench.ABLATIONS["without_more_sources"])
    first_set = {n for g in ("inspections", "credit_records") for n in bench.SOURCE_GROUPS[g]}
    assert dropped and not dropped & first_set
    assert bench.POOLED["pooled_bagged_3"].drop == ()


def firms(n_firms: int, weeks: int, seed: int):
    rng = np.random.default_rng(seed)
    uscc = np.repeat([f"F{i:04d}" for i in range(n_firms)], weeks)
    as_of = np.tile(np.arange(weeks), n_firms)
    y = (rng.random(n_firms * weeks) < 0.1).astype(int)
    return rng, y, uscc, as_of


def test_gate_serves_the_baseline_when_the_model_is_no_better(bench):
    spec = load_industries()["manufacturing"]
    rng, y, uscc, as_of = firms(400, 4, 1)
    informative = y + rng.normal(0, 0.6, len(y))
    scores = {
        "model": rng.random(len(y)),  # planted loser: noise
        "baseline": informative,
        "oracle": informative,
    }
    result = bench.summary(y, scores, spec, as_of, uscc, seed=3)
    assert result["gate"]["serves"] == "logistic_baseline"
    assert "not shown better" in result["gate"]["reason"] or "worse" in result["gate"]["reason"]


def test_gate_serves_the_model_when_shown_better_than_its_baseline(bench):
    spec = load_industries()["manufacturing"]
    rng, y, uscc, as_of = firms(400, 4, 2)
    scores = {
        "model": y + rng.normal(0, 0.3, len(y)),
        "baseline": rng.random(len(y)),
        "oracle": y + rng.normal(0, 0.2, len(y)),
    }
    result = bench.summary(y, scores, spec, as_of, uscc, seed=3)
    assert result["gate"]["serves"] == "gradient_boosting"
    assert result["gate"]["reason"].endswith("better than its baseline")
