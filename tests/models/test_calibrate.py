from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from models.calibrate import Calibrator, choose_calibrator, fit_calibrator, log_loss


def sample(seed: int, n: int = 4000, slope: float = 0.5, shift: float = -2.0):
    """Margins whose true event probability is expit(slope * margin + shift)."""
    rng = np.random.default_rng(seed)
    margin = rng.normal(scale=2.0, size=n)
    y = (rng.random(n) < expit(slope * margin + shift)).astype(np.int64)
    return margin, y


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_platt_recovers_a_known_sigmoid(seed):
    margin, y = sample(seed)
    fitted = fit_calibrator("platt", margin, y)
    assert fitted.params["slope"] == pytest.approx(0.5, abs=0.12)
    assert fitted.params["intercept"] == pytest.approx(-2.0, abs=0.25)


def test_platt_stays_finite_on_perfectly_separated_margins():
    margin = np.array([-3.0, -2.0, -1.0, 1.0, 2.0, 3.0])
    fitted = fit_calibrator("platt", margin, np.array([0, 0, 0, 1, 1, 1]))
    assert np.isfinite([fitted.params["slope"], fitted.params["intercept"]]).all()


def test_isotonic_keeps_every_distinct_margin_apart_and_is_never_exactly_zero_or_one():
    margin, y = sample(3, n=500)
    fitted = fit_calibrator("isotonic", margin, y)
    p = fitted(np.unique(np.r_[margin, -100.0, 100.0]))
    # Strictly increasing: the steps' ties are broken, so a risk list keeps the model's order.
    assert (np.diff(p) > 0).all()
    assert p.min() > 0 and p.max() < 1


def test_a_shifted_margin_is_recalibrated_rather_than_left_alone():
    margin, y = sample(4)
    chosen = choose_calibrator(margin, y, seed=4)
    assert chosen.method in {"platt", "beta"}
    assert chosen.scores["none"] > chosen.scores[chosen.method]
    assert log_loss(y, chosen(margin)) < log_loss(y, expit(margin))


def test_a_calibrated_margin_keeps_a_cross_fitted_score_close_to_the_truth():
    margin, y = sample(5, slope=1.0, shift=0.0)
    chosen = choose_calibrator(margin, y, seed=5)
    assert chosen.scores[chosen.method] <= chosen.scores["none"] + 1e-12
    assert chosen.scores[chosen.method] == pytest.approx(log_loss(y, expit(margin)), abs=0.01)


def test_too_few_positives_to_cross_fit_falls_back_to_platt():
    margin = np.linspace(-2, 2, 50)
    y = np.zeros(50, dtype=np.int64)
    y[-1] = 1
    assert choose_calibrator(margin, y).method == "platt"


def test_one_class_cannot_be_calibrated():
    with pytest.raises(ValueError, match="both classes"):
        choose_calibrator(np.zeros(10), np.zeros(10, dtype=np.int64))


@pytest.mark.parametrize("method", ["none", "platt", "beta", "isotonic"])
def test_dict_round_trip_gives_identical_probabilities(method):
    margin, y = sample(6, n=300)
    fitted = fit_calibrator(method, margin, y)
    restored = Calibrator.from_dict(fitted.to_dict())
    np.testing.assert_array_equal(restored(margin), fitted(margin))


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown calibration method"):
        Calibrator("cubic")


def test_beta_calibration_bends_yet_keeps_every_margin_apart():
    margin, y = sample(7, n=3000)
    beta = fit_calibrator("beta", margin, y)
    p = beta(np.sort(margin))
    assert (np.diff(p) > 0).all()  # strictly monotone: no plateau merges two firms
    assert min(beta.params["coef"]) >= 0
    assert (
        log_loss(y, beta(margin)) <= log_loss(y, fit_calibrator("platt", margin, y)(margin)) + 1e-3
    )


def test_isotonic_is_not_a_default_candidate_for_it_merges_firms():
    margin, y = sample(8, n=2000)
    chosen = choose_calibrator(margin, y, seed=8)
    assert "isotonic" not in chosen.scores and chosen.method != "isotonic"
