"""Boosters averaged over consecutive training seeds (TrainConfig.seeds): one additive model
whose margin is the seeds' mean, reproducible, recorded, and identical to today's at one seed."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from models.config import parse_industries
from models.ensemble import fit_risk_model_cv
from models.train import (
    RiskModel,
    TrainConfig,
    boost,
    booster_params,
    features_and_labels,
    fit_risk_model,
    monotone_constraints,
)
from tests.models.risk_frames import FAST, FEATURES, frame
from tests.models.test_config import _config

DIRECTIONS = {"x_up": "up", "x_down": "down"}
# Row and column samples, so the seeds' boosters differ.
SAMPLED = FAST.model_copy(update={"subsample": 0.6, "colsample_bytree": 0.67, "seed": 5})


def fit(config: TrainConfig) -> RiskModel:
    return fit_risk_model(frame(31), frame(32), FEATURES, directions=DIRECTIONS, config=config)


@pytest.fixture(scope="module")
def averaged() -> RiskModel:
    return fit(SAMPLED.model_copy(update={"seeds": 3}))


def test_the_averaged_margin_is_the_mean_of_the_seeds_own_boosters(averaged):
    test = frame(33)
    alone = [fit(SAMPLED.model_copy(update={"seed": seed})).margin(test) for seed in (5, 6, 7)]
    # The seeds' boosters differ, so the mean is not any one of them.
    assert np.abs(alone[0] - alone[1]).max() > 1e-3
    np.testing.assert_allclose(averaged.margin(test), np.mean(alone, axis=0), atol=1e-5)


def test_contributions_of_the_averaged_model_add_up_to_its_margin(averaged):
    test = frame(34)
    contributions = averaged.contributions(test)
    assert contributions.shape == (test.height, len(FEATURES) + 1)
    np.testing.assert_allclose(contributions.sum(axis=1), averaged.margin(test), atol=1e-4)


def test_the_metadata_records_every_seed_and_its_boosters_rounds(averaged):
    assert averaged.metadata["seeds"] == [5, 6, 7]
    rounds = averaged.metadata["seed_rounds"]
    assert len(rounds) == 3 and min(rounds) >= 1
    assert sum(rounds) == averaged.metadata["n_trees"] == averaged.booster.num_boosted_rounds()
    assert averaged.metadata["config"]["seeds"] == 3


def test_the_same_seeds_give_byte_identical_models_that_round_trip(averaged):
    again = fit(SAMPLED.model_copy(update={"seeds": 3}))
    assert again.to_bytes() == averaged.to_bytes()
    restored = RiskModel.from_bytes(averaged.to_bytes())
    test = frame(35)
    np.testing.assert_array_equal(restored.predict_proba(test), averaged.predict_proba(test))


def test_one_seed_is_the_single_early_stopped_booster_of_before():
    model = fit(SAMPLED)
    assert SAMPLED.seeds == 1 and model.metadata["seeds"] == [5]
    names = tuple(FEATURES)
    x_train, y_train = features_and_labels(frame(31), names, "label", "train")
    valid = features_and_labels(frame(32), names, "label", "valid")
    params = booster_params(SAMPLED, y_train, monotone_constraints(names, DIRECTIONS))
    single = boost(params, x_train, y_train, SAMPLED, names, valid=valid)
    assert bytes(model.booster.save_raw("ubj")) == bytes(single.save_raw("ubj"))
    assert model.metadata["seed_rounds"] == [single.num_boosted_rounds()]


@pytest.mark.parametrize("seeds", [0, -2, 2.5, True, "3"])
def test_a_seed_count_that_is_not_a_positive_integer_is_refused(seeds):
    with pytest.raises(ValidationError, match="seeds"):
        TrainConfig(seeds=seeds)


def test_the_declaration_sets_seeds_for_every_model_or_one_and_refuses_zero():
    data = _config(training={"seeds": 5})
    data["training"] = {"seeds": 3}
    assert parse_industries(data).industries["finance"].training.seeds == 5
    assert parse_industries(_config()).industries["finance"].training.seeds == 1
    with pytest.raises(ValidationError, match=r"finance\.training\.seeds"):
        parse_industries(_config(training={"seeds": 0}))


def test_the_cross_validated_fit_refuses_seeds_and_names_its_own_bag():
    with pytest.raises(ValueError, match="bag"):
        fit_risk_model_cv(frame(36), FEATURES, candidates=[FAST.model_copy(update={"seeds": 2})])
