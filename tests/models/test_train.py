from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import xgboost as xgb

from models.train import (
    AdditivityError,
    RiskModel,
    TrainConfig,
    fit_risk_model,
    monotone_constraints,
)
from tests.models.risk_frames import FAST, FEATURES, frame


@pytest.fixture(scope="module")
def model() -> RiskModel:
    return fit_risk_model(
        frame(1), frame(2), FEATURES, directions={"x_up": "up", "x_down": "down"}, config=FAST
    )


def test_predict_proba_is_a_probability_per_row(model):
    p = model.predict_proba(frame(3))
    assert p.shape == (600,)
    assert ((p > 0) & (p < 1)).all()


def test_null_features_are_scored_natively(model):
    all_missing = pl.DataFrame(
        {name: [None] * 3 for name in FEATURES}, schema=dict.fromkeys(FEATURES, pl.Float64)
    )
    assert np.isfinite(model.predict_proba(all_missing)).all()


def test_polars_pandas_and_numpy_inputs_agree_whatever_the_column_order(model):
    test = frame(4)
    expected = model.predict_proba(test)
    shuffled = test.select("label", "x_free", "x_down", "x_up")
    np.testing.assert_array_equal(model.predict_proba(shuffled), expected)
    np.testing.assert_array_equal(model.predict_proba(shuffled.to_pandas()), expected)
    array = test.select(FEATURES).to_numpy()
    np.testing.assert_array_equal(model.predict_proba(array), expected)


def test_missing_feature_column_is_named(model):
    with pytest.raises(ValueError, match="x_free"):
        model.predict_proba(frame(4).drop("x_free"))


def test_to_bytes_round_trip_gives_identical_predictions_and_contributions(model):
    test = frame(5)
    restored = RiskModel.from_bytes(model.to_bytes())
    assert restored.feature_names == model.feature_names
    assert restored.calibrator == model.calibrator
    np.testing.assert_array_equal(restored.predict_proba(test), model.predict_proba(test))
    np.testing.assert_array_equal(restored.contributions(test), model.contributions(test))
    assert restored.metadata["n_trees"] == model.metadata["n_trees"]


def test_from_bytes_refuses_other_documents():
    with pytest.raises(ValueError, match="not an EWS risk model"):
        RiskModel.from_bytes(b'{"format": "something-else"}')


def test_contributions_add_up_to_the_margin_with_bias_last(model):
    test = frame(6)
    contributions = model.contributions(test)
    assert contributions.shape == (test.height, len(FEATURES) + 1)
    np.testing.assert_allclose(contributions.sum(axis=1), model.margin(test), atol=1e-4)
    # The bias is the same expected margin for every row.
    assert np.ptp(contributions[:, -1]) < 1e-6


def test_additivity_check_fires_on_a_tampered_model(model, monkeypatch):
    original = xgb.Booster.predict

    def tampered(self, data, *args, **kwargs):
        result = original(self, data, *args, **kwargs)
        if kwargs.get("pred_contribs"):
            result[:, 0] += 0.01
        return result

    monkeypatch.setattr(xgb.Booster, "predict", tampered)
    with pytest.raises(AdditivityError, match=r"contributions of row \d+ sum to"):
        model.contributions(frame(7))


@pytest.mark.parametrize("seed", [11, 12])
def test_monotone_constraints_are_respected(seed):
    fitted = fit_risk_model(
        frame(seed),
        frame(seed + 100),
        FEATURES,
        directions={"x_up": "up", "x_down": "down"},
        config=FAST.model_copy(update={"seed": seed}),
    )
    grid = np.linspace(-4, 4, 81)
    rng = np.random.default_rng(seed)
    for _ in range(20):
        base = rng.normal(size=3)
        for column, sign in ((0, 1), (1, -1)):
            rows = np.tile(base, (len(grid), 1))
            rows[:, column] = grid
            margin = fitted.margin(rows)
            assert (sign * np.diff(margin) >= -1e-6).all()
    assert fitted.metadata["monotone"] == {"x_up": 1, "x_down": -1}


def test_unknown_direction_is_refused():
    with pytest.raises(ValueError, match="risk directions"):
        monotone_constraints(FEATURES, {"x_up": "upward"})


def test_single_class_training_rows_are_refused():
    only_negatives = frame(8).with_columns(pl.lit(0, pl.Int8).alias("label"))
    with pytest.raises(ValueError, match="train: label column 'label' has a single class"):
        fit_risk_model(only_negatives, frame(9), FEATURES, config=FAST)


def test_non_binary_label_names_the_row():
    bad = frame(8).with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(2).otherwise(pl.col("label")).alias("label")
    )
    with pytest.raises(ValueError, match="must be 0/1, row 3 is 2"):
        fit_risk_model(bad, frame(9), FEATURES, config=FAST)


def test_early_stopping_keeps_only_the_best_trees():
    fitted = fit_risk_model(
        frame(13), frame(14), FEATURES, config=FAST.model_copy(update={"max_rounds": 400})
    )
    assert fitted.booster.num_boosted_rounds() == fitted.metadata["n_trees"] < 400


def test_calibration_rows_set_the_probabilities_not_the_trees():
    # Calibrating on rows with a higher event rate raises the probabilities; the booster, fitted
    # and stopped on the same train and valid rows, is unchanged.
    train, valid = frame(1), frame(2)
    richer = frame(5).with_columns(pl.lit(1, dtype=pl.Int8).alias("label")).vstack(frame(6))
    plain = fit_risk_model(train, valid, FEATURES, config=FAST)
    shifted = fit_risk_model(train, valid, FEATURES, config=FAST, calibration=richer)
    test = frame(3)
    np.testing.assert_array_equal(plain.margin(test), shifted.margin(test))
    assert shifted.predict_proba(test).mean() > plain.predict_proba(test).mean()
    assert shifted.metadata["calibration_rows"] == richer.height
    assert plain.metadata["calibration_rows"] == valid.height


@pytest.mark.parametrize("metric", ["aucpr", "logloss"])
def test_boosting_stops_on_the_configured_metric(metric):
    config = FAST.model_copy(update={"max_rounds": 400, "stopping_metric": metric})
    fitted = fit_risk_model(frame(13), frame(14), FEATURES, config=config)
    assert fitted.metadata["xgb_params"]["eval_metric"] == metric
    assert fitted.metadata["n_trees"] < 400


def test_an_unknown_stopping_metric_is_refused():
    with pytest.raises(ValueError, match="stopping_metric"):
        TrainConfig(stopping_metric="error")
