from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import xgboost as xgb

from models.train import (
    AdditivityError,
    RiskModel,
    TrainConfig,
    average_boosters,
    fit_risk_model,
    fit_risk_model_cv,
    greedy_ensemble,
    monotone_constraints,
)

FEATURES = ("x_up", "x_down", "x_free")
# One thread: these fits are tiny, and a second thread only adds synchronisation.
FAST = TrainConfig(max_rounds=60, early_stopping_rounds=10, learning_rate=0.2, nthread=1)


def frame(seed: int, n: int = 600) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    logit = -2.0 + 1.5 * x[:, 0] - 1.0 * x[:, 1] + 0.5 * np.sin(3 * x[:, 2])
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    x[rng.random((n, 3)) < 0.1] = np.nan
    return pl.DataFrame({**dict(zip(FEATURES, x.T, strict=True)), "label": label}).with_columns(
        pl.col(FEATURES).fill_nan(None)
    )


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
