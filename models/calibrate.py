"""Turning a model's margin into a calibrated probability, chosen on held-out data.

Three candidates: ``none`` (the booster's own sigmoid), ``platt`` (a logistic curve on the
margin) and ``beta`` (beta calibration: a logistic curve on ln s and -ln(1 - s) of the booster's
probability s, which can bend where Platt cannot). ``isotonic`` (a monotone step-interpolation)
is available but not a default candidate: its steps merge firms. Which one to use is decided by
the log loss of *cross-fitted* predictions on the held-out margins: each candidate is fitted on
k-1 folds and scored on the remaining fold, so the choice never rewards a calibrator for
memorising the rows it is judged on. Log loss rather than Brier because it punishes
overconfidence near 0, where the risk tiers sit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import StratifiedKFold

# The candidates ``choose_calibrator`` tries: each keeps every distinct margin distinct, so the
# calibrated probability keeps the model's resolution. Isotonic regression is known (a model
# saved with it still loads) but not tried: on the demo park its steps gave 17-57 distinct
# shown probabilities per industry and 96-99% of each week's top K shared theirs with another
# listed firm, for at most 0.8% lower Brier than beta or Platt (benchmarks/calibration.py).
METHODS = ("none", "platt", "beta")
KNOWN_METHODS = (*METHODS, "isotonic")
LOG_LOSS_FLOOR = 1e-6
ISOTONIC_TIE_BREAK = 1e-9


@dataclass(frozen=True)
class Calibrator:
    """A fitted margin -> probability map; ``params`` are plain floats (portable as JSON)."""

    method: str
    params: Mapping[str, Any] = field(default_factory=dict)
    # Cross-fitted log loss of every candidate considered when this method was chosen.
    scores: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in KNOWN_METHODS:
            raise ValueError(
                f"unknown calibration method {self.method!r}; use one of {KNOWN_METHODS}"
            )

    def __call__(self, margin: np.ndarray) -> np.ndarray:
        margin = np.asarray(margin, dtype=np.float64)
        if self.method == "none":
            return expit(margin)
        if self.method == "platt":
            return expit(self.params["slope"] * margin + self.params["intercept"])
        if self.method == "beta":
            return expit(_beta_design(margin) @ np.array(self.params["coef"]) + self.params["c"])
        xs = np.asarray(self.params["x"], dtype=np.float64)
        ys = np.asarray(self.params["y"], dtype=np.float64)
        # np.interp holds the end values outside the fitted range, like out_of_bounds="clip".
        # The tiny margin term breaks the isotonic steps' ties: risk lists sort by probability,
        # and a calibrator must not merge firms the model tells apart.
        return np.interp(margin, xs, ys) + ISOTONIC_TIE_BREAK * expit(margin)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "params": dict(self.params), "scores": dict(self.scores)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibrator:
        return cls(
            method=data["method"], params=dict(data["params"]), scores=dict(data.get("scores", {}))
        )


def fit_calibrator(method: str, margin: np.ndarray, y: np.ndarray) -> Calibrator:
    """Fit one calibration method on margins and 0/1 labels."""
    margin = np.asarray(margin, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if method == "none":
        return Calibrator("none")
    if method == "platt":
        slope, intercept = _platt(margin, y)
        return Calibrator("platt", {"slope": slope, "intercept": intercept})
    if method == "beta":
        coef, c = _beta(margin, y)
        return Calibrator("beta", {"coef": coef, "c": c})
    if method == "isotonic":
        # Never exactly 0 or 1: a group without events in the held-out rows is evidence of a low
        # rate, not of none. The floor is the Laplace estimate for a sample without events.
        floor = 1.0 / (len(y) + 2)
        iso = IsotonicRegression(y_min=floor, y_max=1.0 - floor, out_of_bounds="clip")
        iso.fit(margin, y)
        return Calibrator(
            "isotonic",
            {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()},
        )
    raise ValueError(f"unknown calibration method {method!r}; use one of {KNOWN_METHODS}")


def choose_calibrator(
    margin: np.ndarray,
    y: np.ndarray,
    *,
    folds: int = 5,
    seed: int = 0,
    methods: tuple[str, ...] = METHODS,
) -> Calibrator:
    """The method with the lowest cross-fitted log loss, refitted on all rows.

    With fewer positives (or negatives) than two folds need, cross-fitting is impossible and
    Platt scaling (two parameters, the least able to overfit) is used.
    """
    margin = np.asarray(margin, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    positives = int(y.sum())
    negatives = int(len(y) - positives)
    if positives == 0 or negatives == 0:
        raise ValueError(
            f"calibration needs both classes in the held-out rows "
            f"({positives} positives, {negatives} negatives)"
        )
    n_folds = min(folds, positives, negatives)
    if n_folds < 2:
        return fit_calibrator("platt", margin, y)

    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    scores: dict[str, float] = {}
    for method in methods:
        held_out = np.empty(len(y), dtype=np.float64)
        for fit_rows, score_rows in splitter.split(margin.reshape(-1, 1), y):
            calibrator = fit_calibrator(method, margin[fit_rows], y[fit_rows])
            held_out[score_rows] = calibrator(margin[score_rows])
        scores[method] = log_loss(y, held_out)
    # min() keeps the first of equal scores, and METHODS runs from simplest to most flexible.
    best = min(methods, key=lambda method: scores[method])
    chosen = fit_calibrator(best, margin, y)
    return Calibrator(chosen.method, chosen.params, scores)


def log_loss(y: np.ndarray, probability: np.ndarray) -> float:
    """Mean negative log-likelihood, probabilities held within [1e-6, 1 - 1e-6] to stay finite."""
    p = np.clip(np.asarray(probability, dtype=np.float64), LOG_LOSS_FLOOR, 1 - LOG_LOSS_FLOOR)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def _platt(margin: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Platt's sigmoid fit with his smoothed targets (finite even on separable data)."""
    positives = y.sum()
    negatives = len(y) - positives
    target = np.where(y > 0, (positives + 1) / (positives + 2), 1 / (negatives + 2))

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[0] * margin + theta[1]
        # log(1 + e^z) - t z, written stably.
        value = np.sum(np.logaddexp(0.0, z) - target * z)
        residual = expit(z) - target
        return float(value), np.array([np.sum(residual * margin), np.sum(residual)])

    result = minimize(loss, x0=np.array([1.0, 0.0]), jac=True, method="L-BFGS-B")
    return float(result.x[0]), float(result.x[1])


def _beta_design(margin: np.ndarray) -> np.ndarray:
    """Beta calibration's inputs for s = sigmoid(margin): ln s and -ln(1 - s), computed stably."""
    return np.column_stack([-np.logaddexp(0.0, -margin), np.logaddexp(0.0, margin)])


def _beta(margin: np.ndarray, y: np.ndarray) -> tuple[list[float], float]:
    """Beta calibration (Kull, Silva Filho and Flach, 2017): a logistic regression on ln s and
    -ln(1 - s) with both coefficients held non-negative, so the map stays monotone in the
    margin (and strictly increasing unless both are zero). Three parameters: it can bend where
    Platt's sigmoid cannot, yet keeps every distinct margin distinct, unlike isotonic steps."""
    design = _beta_design(margin)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = design @ theta[:2] + theta[2]
        value = np.sum(np.logaddexp(0.0, z) - y * z)
        residual = expit(z) - y
        return float(value), np.r_[design.T @ residual, np.sum(residual)]

    result = minimize(
        loss,
        x0=np.array([1.0, 1.0, 0.0]),
        jac=True,
        method="L-BFGS-B",
        bounds=[(0.0, None), (0.0, None), (None, None)],
    )
    return [float(result.x[0]), float(result.x[1])], float(result.x[2])
