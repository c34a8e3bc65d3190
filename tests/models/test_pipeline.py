from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from models.baseline import LogisticBaseline
from models.evaluate import METRICS
from models.labels import LABEL
from models.pipeline import evaluate_on, feature_columns, prepare, train_industry
from models.split import TrainingRows
from models.train import RiskModel, TrainConfig

from .conftest import snapshot_park

KNOWN_UNTIL = date(2025, 12, 28)
FAST = TrainConfig(max_rounds=80, early_stopping_rounds=15, learning_rate=0.2, nthread=1)


@pytest.fixture(scope="module")
def park():
    return snapshot_park(seed=20261121)


@pytest.fixture(scope="module")
def result(park, finance):
    history, outcomes = park
    return train_industry(
        history,
        outcomes,
        finance,
        known_until=KNOWN_UNTIL,
        directions={"f_signal": "up", "f_noise": "none"},
        seed=7,
        config=FAST,
    )


def test_features_are_the_numeric_non_key_columns(park):
    history, _ = park
    assert feature_columns(history.with_columns(pl.lit(0).alias("label"))) == (
        "f_signal",
        "f_noise",
    )


def test_result_carries_model_baseline_and_every_metric_with_an_interval(result):
    assert isinstance(result.model, RiskModel)
    assert isinstance(result.baseline, LogisticBaseline)
    assert result.feature_names == ("f_signal", "f_noise")
    for scorer in ("model", "baseline"):
        assert set(result.metrics[scorer]) == set(METRICS)
        for triple in result.metrics[scorer].values():
            assert set(triple) == {"value", "ci_low", "ci_high"}
    assert result.params["seed"] == 7
    assert result.params["monotone"] == {"f_signal": 1}


def test_test_predictions_lie_strictly_beyond_t0_plus_horizon(result, finance):
    b = result.boundaries
    predictions = result.test_predictions
    assert predictions.columns == ["uscc", "as_of", "label", "p_model", "p_baseline"]
    assert predictions["as_of"].min() > b.t0 + timedelta(days=finance.horizon_days)
    assert predictions["as_of"].max() + timedelta(days=finance.horizon_days) <= KNOWN_UNTIL


def test_class_balance_counts_each_period(result):
    balance = result.class_balance
    assert balance["test"]["rows"] == result.test_predictions.height
    assert balance["test"]["positives"] == result.test_predictions["label"].sum()
    for period in ("train", "valid", "test"):
        assert 0 < balance[period]["positive_firms"] <= balance[period]["firms"]


def test_the_latent_risk_is_found_out_of_time(result):
    assert result.metrics["model"]["roc_auc"]["value"] > 0.6


def test_calibration_table_covers_the_test_rows(result):
    assert result.calibration["rows"].sum() == result.test_predictions.height


def test_rescoring_a_model_on_the_same_test_rows_reproduces_its_metrics(result, park, finance):
    history, _ = park
    test_rows = result.test_predictions.select("uscc", "as_of", "label").join(
        history, on=["uscc", "as_of"], how="left"
    )
    again = evaluate_on(RiskModel.from_bytes(result.model.to_bytes()), test_rows, finance, seed=7)
    assert again == result.metrics["model"]


def test_rescoring_a_champion_whose_features_are_missing_is_refused(result, finance):
    test_rows = result.test_predictions.select("uscc", "as_of", "label", "p_model")
    with pytest.raises(ValueError, match="finance: the test rows lack the model's features"):
        evaluate_on(result.model, test_rows, finance, seed=0)


def test_an_industry_without_snapshots_says_so(park, finance):
    history, outcomes = park
    with pytest.raises(ValueError, match="finance: no labelled snapshots"):
        train_industry(
            history.with_columns(pl.lit("其他").alias("sector")),
            outcomes,
            finance,
            known_until=KNOWN_UNTIL,
        )


def test_probabilities_do_not_depend_on_row_order(result, park):
    history, _ = park
    rows = history.head(500)
    shuffled = rows.sample(fraction=1.0, shuffle=True, seed=1)
    p = dict(
        zip(rows["uscc"] + rows["as_of"].cast(str), result.model.predict_proba(rows), strict=True)
    )
    p_shuffled = result.model.predict_proba(shuffled)
    keys = shuffled["uscc"] + shuffled["as_of"].cast(str)
    np.testing.assert_array_equal(p_shuffled, np.array([p[k] for k in keys]))


def test_descriptor_columns_are_never_model_inputs(park, finance):
    history, outcomes = park
    flagged = history.with_columns(pl.lit(False).alias("insufficient_data"))
    result = train_industry(
        flagged,
        outcomes,
        finance,
        known_until=KNOWN_UNTIL,
        directions={"f_signal": "up", "f_noise": "none"},
        descriptors=("insufficient_data",),
        seed=7,
        config=FAST,
    )
    assert result.feature_names == ("f_signal", "f_noise")


def test_boosting_stops_on_unseen_events_and_calibrates_on_the_whole_valid_period(result):
    valid_rows = result.class_balance["valid"]["rows"]
    assert result.params["stopping_purged"]
    assert result.model.metadata["valid_rows"] == result.params["stopping_rows"] < valid_rows
    assert result.model.metadata["calibration_rows"] == valid_rows


def test_training_rows_change_only_the_training_period(park, finance):
    history, outcomes = park
    default = prepare(history, outcomes, finance, known_until=KNOWN_UNTIL)
    gapped = prepare(
        history,
        outcomes,
        finance,
        known_until=KNOWN_UNTIL,
        training_rows=TrainingRows(gap_days=finance.horizon_days),
    )
    assert gapped.split.valid.equals(default.split.valid)
    assert gapped.split.test.equals(default.split.test)
    end = default.split.boundaries.train_end
    # The last weekly as-of date at least the horizon before the training period's end.
    gap = timedelta(days=finance.horizon_days)
    assert end - gap - timedelta(weeks=1) < gapped.split.boundaries.train_end <= end - gap
    assert gapped.split.train.get_column("as_of").max() == gapped.split.boundaries.train_end
    assert gapped.split.boundaries.t0 == default.split.boundaries.t0


def test_a_shorter_training_horizon_relabels_the_training_rows_only(park, finance):
    history, outcomes = park
    default = prepare(history, outcomes, finance, known_until=KNOWN_UNTIL)
    shorter = prepare(
        history,
        outcomes,
        finance,
        known_until=KNOWN_UNTIL,
        training_rows=TrainingRows(horizon_days=30),
    )
    assert shorter.split.valid.equals(default.split.valid)
    assert shorter.split.test.equals(default.split.test)
    before = default.split.train.get_column(LABEL)
    after = shorter.split.train.get_column(LABEL)
    # The same rows; an event within 30 days is one within the horizon, not the other way round.
    assert shorter.split.train.drop(LABEL).equals(default.split.train.drop(LABEL))
    assert 0 < after.sum() < before.sum()
    assert not (after > before).any()


def test_a_training_horizon_longer_than_the_industrys_is_refused(park, finance):
    history, outcomes = park
    with pytest.raises(ValueError, match="finance: a training horizon of 365 days is longer"):
        prepare(
            history,
            outcomes,
            finance,
            known_until=KNOWN_UNTIL,
            training_rows=TrainingRows(horizon_days=365),
        )
