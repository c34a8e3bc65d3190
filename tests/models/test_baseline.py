from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models.baseline import LogisticBaseline, fit_baseline
from models.evaluate import roc_auc

FEATURES = ("ratio", "count", "empty")


def frame(seed: int, n: int = 800) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    ratio = rng.normal(size=n)
    label = (rng.random(n) < 1 / (1 + np.exp(-(2.0 * ratio - 2.0)))).astype(np.int8)
    ratio[rng.random(n) < 0.2] = np.nan
    ratio[:3] = [1e9, -1e9, np.nan]  # extreme tails: clipped, not allowed to own the fit
    return pl.DataFrame(
        {
            "ratio": ratio,
            "count": rng.poisson(3, size=n).astype(np.float64),
            "empty": np.full(n, np.nan),
            "label": label,
        }
    ).with_columns(pl.col("ratio", "empty").fill_nan(None))


def test_baseline_learns_with_nans_extremes_and_an_all_null_column():
    model = fit_baseline(frame(0), FEATURES, valid=frame(1))
    test = frame(2)
    p = model.predict_proba(test)
    assert np.isfinite(p).all() and ((p > 0) & (p < 1)).all()
    assert roc_auc(test["label"].to_numpy(), p) > 0.75


def test_missing_indicator_only_for_features_that_had_gaps():
    model = fit_baseline(frame(3), FEATURES)
    assert model.indicators == (0, 2)  # ratio and empty, not count
    assert model.design(frame(4)).shape == (800, len(FEATURES) + 2)


def test_regularisation_is_chosen_on_the_validation_rows():
    model = fit_baseline(frame(5), FEATURES, valid=frame(6), c_grid=(0.001, 1.0))
    scores = model.metadata["valid_log_loss"]
    assert model.metadata["C"] == min(scores, key=scores.__getitem__)


def test_round_trip_gives_identical_probabilities():
    model = fit_baseline(frame(7), FEATURES)
    restored = LogisticBaseline.from_bytes(model.to_bytes())
    test = frame(8)
    np.testing.assert_array_equal(restored.predict_proba(test), model.predict_proba(test))


def test_single_class_training_rows_are_refused():
    with pytest.raises(ValueError, match="single class"):
        fit_baseline(frame(9).with_columns(pl.lit(1).alias("label")), FEATURES)


def test_contributions_add_up_to_the_margin_and_gaps_count_for_their_feature():
    model = fit_baseline(frame(0), FEATURES, valid=frame(1))
    rows = frame(2, n=50)
    contributions = model.contributions(rows)
    assert contributions.shape == (50, len(FEATURES) + 1)
    np.testing.assert_allclose(contributions.sum(axis=1), model.margin(rows), atol=1e-9)
    np.testing.assert_allclose(model.predict_proba(rows), model.calibrator(model.margin(rows)))
    # The all-null column is imputed everywhere: it explains nothing.
    np.testing.assert_allclose(contributions[:, FEATURES.index("empty")], 0.0, atol=1e-12)
    assert model.kind == "logistic_baseline"


def test_contributions_add_up_for_a_large_amount_that_varies_little():
    """An amount near 3 * 10^12 with a spread of one: the uncentred margin (design @ coef +
    intercept) lost 6e-4 to cancellation, past the publication's additivity tolerance."""
    rng = np.random.default_rng(0)
    n = 400
    label = (rng.random(n) < 0.3).astype(np.int8)
    rows = pl.DataFrame(
        {
            "amount": 3e12 + rng.normal(0, 1, n) + label,
            "ratio": rng.normal(0, 1, n) + label,
            "label": label,
        }
    )
    model = fit_baseline(rows, ["amount", "ratio"])
    gap = np.abs(model.contributions(rows).sum(axis=1) - model.margin(rows))
    assert gap.max() < 1e-9


def test_any_registered_scorer_reads_back_from_its_bytes():
    from models.baseline import scorer_from_bytes

    model = fit_baseline(frame(0), FEATURES, valid=frame(1))
    back = scorer_from_bytes(model.to_bytes())
    assert isinstance(back, LogisticBaseline)
    np.testing.assert_array_equal(back.contributions(frame(3)), model.contributions(frame(3)))
    with pytest.raises(ValueError, match="not an EWS model"):
        scorer_from_bytes(b'{"format": "something-else"}')


def test_each_row_s_margin_is_the_same_whatever_rows_are_scored_with_it():
    # Publication scores firm shards apart and promises the single-process scores byte for byte:
    # a row's margin must not depend on its batch (a BLAS matrix-vector product does, in the
    # last bits, e.g. for a batch of one row).
    model = fit_baseline(frame(5), FEATURES)
    rows = frame(6, n=40)
    together = model.margin(rows)
    alone = np.concatenate([model.margin(rows.slice(i, 1)) for i in range(rows.height)])
    halves = np.concatenate([model.margin(rows.head(17)), model.margin(rows.tail(23))])
    assert together.tobytes() == alone.tobytes() == halves.tobytes()
    assert model.contributions(rows).sum(axis=1) == pytest.approx(together)
