"""The booster blended with its logistic baseline (models.blend): weights from the rows given,
contributions that sum to the blend's margin, and the refusals."""

from __future__ import annotations

import numpy as np
import pytest

from models.blend import BlendWeights, fit_blend


def test_hand_built_blend_contributions_sum_to_its_margin():
    # Two rows, two features; each part's contributions sum to its own margin (bias last).
    booster = np.array([[0.5, -0.25, -2.0], [1.0, 0.75, -2.0]])  # margins -1.75, -0.25
    baseline = np.array([[0.2, 0.1, -3.0], [-0.4, 0.3, -3.0]])  # margins -2.7, -3.1
    weights = BlendWeights(booster=0.6, baseline=0.5, intercept=0.25)
    blended = weights.contributions(booster, baseline)
    # Feature 1 of row 0: 0.6 * 0.5 + 0.5 * 0.2; the bias: 0.6 * -2 + 0.5 * -3 + 0.25.
    assert blended[0, 0] == pytest.approx(0.4)
    assert blended[0, 2] == pytest.approx(-2.45)
    margin = weights.margin(booster.sum(axis=1), baseline.sum(axis=1))
    np.testing.assert_allclose(
        margin, [0.6 * -1.75 + 0.5 * -2.7 + 0.25, 0.6 * -0.25 + 0.5 * -3.1 + 0.25]
    )
    np.testing.assert_allclose(blended.sum(axis=1), margin, atol=1e-12)


def test_weights_come_from_the_rows_given_only():
    rng = np.random.default_rng(3)
    n = 4000
    # On the "valid" rows only the baseline's margin carries the label; on other rows (standing
    # for test rows) only the booster's. Fitted on the valid rows, the weight goes to the baseline.
    booster, baseline = rng.normal(size=n), rng.normal(size=n)
    valid_y = (rng.random(n) < 1 / (1 + np.exp(-(2.0 * baseline - 2.0)))).astype(int)
    test_y = (rng.random(n) < 1 / (1 + np.exp(-(2.0 * booster - 2.0)))).astype(int)
    on_valid = fit_blend(booster, baseline, valid_y)
    assert on_valid.baseline == pytest.approx(2.0, abs=0.3)
    assert abs(on_valid.booster) < 0.2
    assert (on_valid.rows, on_valid.positives) == (n, int(valid_y.sum()))
    on_test = fit_blend(booster, baseline, test_y)
    assert on_test.booster == pytest.approx(2.0, abs=0.3)  # the rows given decide, nothing else


@pytest.mark.parametrize(
    ("booster", "baseline", "y", "message"),
    [
        ([0.1, 0.2, 0.3], [0.0, 0.1, 0.2], [0, 0, 0], "both classes"),
        ([0.1, 0.2, 0.3], [0.0, 0.1, 0.2], [0, 1, 2], "both classes"),
        ([0.1, np.nan, 0.3], [0.0, 0.1, 0.2], [0, 1, 0], "not finite"),
        ([0.1, 0.2], [0.0, 0.1], [0, 1, 0], "labels"),
    ],
)
def test_a_blend_is_refused_without_two_classes_finite_margins_or_matching_labels(
    booster, baseline, y, message
):
    with pytest.raises(ValueError, match=message):
        fit_blend(np.array(booster), np.array(baseline), np.array(y))


def test_contributions_of_parts_with_different_shapes_are_refused():
    weights = BlendWeights(1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match="one shape"):
        weights.contributions(np.zeros((2, 3)), np.zeros((2, 4)))
