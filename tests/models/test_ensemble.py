"""The train-table path's ensemble: inner-CV choice of configurations, greedy averaging, bagging
and the merge of boosters into one additive booster."""

from __future__ import annotations

import numpy as np
import pytest

from models.ensemble import (
    fit_risk_model_cv,
    greedy_ensemble,
    room_for_another,
)
from models.train import RiskModel
from tests.models.risk_frames import FAST, FEATURES, frame


def test_cross_validated_fit_starts_from_the_better_candidate_and_refits_on_all_rows():
    underfit = FAST.model_copy(
        update={"max_depth": 1, "learning_rate": 0.01, "max_rounds": 3, "early_stopping_rounds": 3}
    )
    train = frame(15, n=900)
    fitted = fit_risk_model_cv(train, FEATURES, candidates=[underfit, FAST], folds=3, seed=15)
    scores = fitted.metadata["candidate_inner_auc"]
    assert scores[1] > scores[0]
    assert fitted.metadata["chosen"][0] == 1
    assert 0.5 < fitted.metadata["ensemble_oof_auc"] <= 1.0
    assert fitted.metadata["config"]["max_depth"] == FAST.max_depth
    assert fitted.metadata["train_rows"] == 900
    # Neither candidate samples rows or columns, so each chosen one is refitted once.
    assert fitted.booster.num_boosted_rounds() == sum(fitted.metadata["inner_rounds"])
    assert fitted.metadata["bag"] == len(fitted.metadata["chosen"])


def test_configurations_with_different_class_weights_are_averaged_into_one_additive_model():
    train, test = frame(16, n=900), frame(17)
    weighted = FAST.model_copy(update={"class_balance": "full", "max_depth": 2})
    plain = FAST.model_copy(update={"class_balance": "none", "max_depth": 5})
    both = fit_risk_model_cv(train, FEATURES, candidates=[weighted, plain], folds=3, seed=16)
    alone = [
        fit_risk_model_cv(train, FEATURES, candidates=[config], folds=3, seed=16)
        for config in (weighted, plain)
    ]
    chosen = both.metadata["chosen"]
    # On this data both configurations are chosen; their class weights differ, so only the
    # shared base score lets their boosters be merged into one.
    assert sorted(chosen) == [0, 1]
    expected = np.mean([alone[i].margin(test) for i in chosen], axis=0)
    np.testing.assert_allclose(both.margin(test), expected, atol=1e-5)
    contributions = both.contributions(test)
    np.testing.assert_allclose(contributions.sum(axis=1), both.margin(test), atol=1e-4)


def test_greedy_ensemble_adds_a_complementary_margin_and_leaves_out_noise():
    rng = np.random.default_rng(3)
    signal_a, signal_b = rng.normal(size=(2, 2000))
    y = (signal_a + signal_b + rng.normal(size=2000) > 1.5).astype(int)
    noise = rng.normal(size=2000)
    chosen, auc = greedy_ensemble(y, [noise, signal_a, signal_b + 0.1 * noise])
    assert sorted(chosen) == [1, 2]
    assert chosen[0] in (1, 2)
    assert auc > 0.9


def test_greedy_ensemble_of_one_margin_is_that_margin():
    y = np.array([0, 0, 1, 1])
    assert greedy_ensemble(y, [np.array([0.1, 0.4, 0.35, 0.8])]) == ([0], 0.75)


def test_greedy_ensemble_stops_when_averaging_does_not_help():
    y = np.array([0, 0, 0, 1, 1, 1])
    perfect = np.array([0.0, 1, 2, 3, 4, 5])
    reversed_ = perfect[::-1].copy()
    assert greedy_ensemble(y, [reversed_, perfect]) == ([1], 1.0)


def test_bagged_cross_validated_fit_stays_additive_and_round_trips():
    train, test = frame(23, n=900), frame(24)
    single = fit_risk_model_cv(train, FEATURES, candidates=[FAST], folds=3, seed=23)
    bagged = fit_risk_model_cv(train, FEATURES, candidates=[FAST], folds=3, seed=23, bag=4)
    (rounds,) = single.metadata["inner_rounds"]
    assert (single.metadata["bag"], bagged.metadata["bag"]) == (1, 4)
    assert bagged.booster.num_boosted_rounds() == bagged.metadata["n_trees"] == 4 * rounds
    # The first member is the single model; the others differ by their row and column samples.
    assert not np.allclose(single.margin(test), bagged.margin(test))
    contributions = bagged.contributions(test)
    np.testing.assert_allclose(contributions.sum(axis=1), bagged.margin(test), atol=1e-4)
    restored = RiskModel.from_bytes(bagged.to_bytes())
    np.testing.assert_array_equal(restored.predict_proba(test), bagged.predict_proba(test))
    np.testing.assert_array_equal(restored.contributions(test), contributions)


def test_a_configuration_without_sampling_is_not_bagged():
    plain = FAST.model_copy(update={"subsample": 1.0, "colsample_bytree": 1.0})
    fitted = fit_risk_model_cv(frame(25, n=900), FEATURES, candidates=[plain], folds=3, bag=4)
    assert fitted.metadata["bag"] == 1
    assert [fitted.booster.num_boosted_rounds()] == fitted.metadata["inner_rounds"]


def test_the_search_order_changes_what_is_searched_not_the_fit():
    train, test = frame(26, n=600), frame(27)
    shallow = FAST.model_copy(update={"max_depth": 2})
    candidates = [shallow, FAST]
    natural = fit_risk_model_cv(train, FEATURES, candidates=candidates, folds=3, seed=26)
    reversed_ = fit_risk_model_cv(
        train, FEATURES, candidates=candidates, folds=3, seed=26, search_order=[1, 0]
    )
    np.testing.assert_array_equal(natural.margin(test), reversed_.margin(test))
    assert natural.metadata["searched"] == reversed_.metadata["searched"] == [0, 1]
    only_second = fit_risk_model_cv(
        train, FEATURES, candidates=candidates, folds=3, seed=26, search_order=[1]
    )
    assert only_second.metadata["searched"] == only_second.metadata["chosen"] == [1]
    assert only_second.metadata["candidate_inner_auc"][0] is None


def test_a_spent_time_limit_starts_no_second_candidate():
    train = frame(28, n=400)
    shallow = FAST.model_copy(update={"max_depth": 2})
    fitted = fit_risk_model_cv(
        train,
        FEATURES,
        candidates=[shallow, FAST],
        folds=3,
        seed=28,
        search_order=[1, 0],
        seconds=1e-9,
    )
    assert fitted.metadata["searched"] == [1]


def test_another_candidate_is_started_only_if_it_and_the_refits_fit_in_the_time():
    # Two searched in 10 s: a third projects to 15 s, doubled by refits as costly as the search.
    assert room_for_another(10.0, 2, 30.0, 1.0)
    assert not room_for_another(10.0, 2, 29.9, 1.0)
    assert room_for_another(10.0, 2, 15.0, 0.0)


@pytest.mark.parametrize("order", [[], [0, 0], [2]])
def test_a_search_order_must_name_distinct_candidates(order):
    with pytest.raises(ValueError, match="search order must list distinct positions"):
        fit_risk_model_cv(frame(29, n=200), FEATURES, candidates=[FAST, FAST], search_order=order)
