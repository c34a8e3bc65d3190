"""Averaging boosters into one additive booster (models.averaging): margins, contributions,
weights and the refusals."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb

from models.averaging import average_boosters
from tests.models.risk_frames import FEATURES, frame


def test_averaged_boosters_predict_and_explain_as_the_mean_of_their_members():
    train = frame(21, n=900)
    x = train.select(FEATURES).to_numpy()
    matrix = xgb.DMatrix(x, label=train.get_column("label").to_numpy(), feature_names=FEATURES)
    members = [
        xgb.train(
            {
                "objective": "binary:logistic",
                "max_depth": 3,
                "subsample": 0.7,
                "colsample_bytree": 0.7,
                "scale_pos_weight": 2.0,
                "seed": seed,
                "nthread": 1,
            },
            matrix,
            num_boost_round=20,
        )
        for seed in range(3)
    ]
    averaged = average_boosters(members)
    assert averaged.num_boosted_rounds() == 60
    test = xgb.DMatrix(frame(22).select(FEATURES).to_numpy(), feature_names=FEATURES)
    mean_margin = np.mean([m.predict(test, output_margin=True) for m in members], axis=0)
    mean_contribs = np.mean([m.predict(test, pred_contribs=True) for m in members], axis=0)
    np.testing.assert_allclose(averaged.predict(test, output_margin=True), mean_margin, atol=1e-5)
    np.testing.assert_allclose(averaged.predict(test, pred_contribs=True), mean_contribs, atol=1e-5)


def test_weighted_average_of_boosters_weights_their_margins():
    train = frame(26, n=600)
    matrix = xgb.DMatrix(
        train.select(FEATURES).to_numpy(),
        label=train.get_column("label").to_numpy(),
        feature_names=FEATURES,
    )
    members = [
        xgb.train(
            {"objective": "binary:logistic", "max_depth": depth, "base_score": 0.3, "nthread": 1},
            matrix,
            num_boost_round=10,
        )
        for depth in (1, 4)
    ]
    averaged = average_boosters(members, [0.25, 0.75])
    test = xgb.DMatrix(frame(27).select(FEATURES).to_numpy(), feature_names=FEATURES)
    margins = [m.predict(test, output_margin=True) for m in members]
    expected = 0.25 * margins[0] + 0.75 * margins[1]
    np.testing.assert_allclose(averaged.predict(test, output_margin=True), expected, atol=1e-5)


def test_averaging_no_boosters_is_refused():
    with pytest.raises(ValueError, match="at least one booster"):
        average_boosters([])


@pytest.mark.parametrize("weights", [[0.5], [0.7, 0.7], [1.0, 0.0]])
def test_averaging_weights_must_match_the_boosters_and_sum_to_one(weights):
    booster = xgb.train(
        {"objective": "binary:logistic", "nthread": 1},
        xgb.DMatrix(np.array([[0.0], [1.0]]), label=[0, 1]),
        num_boost_round=1,
    )
    with pytest.raises(ValueError, match="weights"):
        average_boosters([booster, booster], weights)
