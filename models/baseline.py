"""The benchmark every boosted model must beat: a regularised logistic regression.

Preprocessing, all learned on the training rows only: clip each feature to its 1st..99th
percentile (financial ratios have extreme tails that would otherwise own the fit), impute the
median, add a 0/1 missing indicator for every feature that had gaps, standardise. The fitted
transform and coefficients are plain arrays, so the model serialises to JSON without pickle.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from models.calibrate import Calibrator, log_loss
from models.train import FORMAT as RISK_MODEL_FORMAT
from models.train import Matrix, RiskModel, feature_matrix, features_and_labels

FORMAT = "ews-logistic-baseline"
KIND = "logistic_baseline"
C_GRID = (0.01, 0.1, 1.0)
CLIP_PERCENTILES = (1.0, 99.0)


@dataclass(frozen=True, eq=False)
class LogisticBaseline:
    feature_names: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    medians: np.ndarray
    indicators: tuple[int, ...]  # positions of the features that get a missing indicator
    coef: np.ndarray  # on the unstandardised design: standardisation is folded in
    intercept: float
    metadata: Mapping[str, Any] = field(default_factory=dict)
    # The design's mean over the training rows: the reference point of the contributions.
    # None (a baseline saved before it was kept): contributions are measured from zero.
    design_means: np.ndarray | None = None

    kind = KIND

    @property
    def calibrator(self) -> Calibrator:
        """A logistic regression's own sigmoid is its calibration (fitted by maximum likelihood
        on the training rows): the margin is its log-odds."""
        return Calibrator("none")

    def margin(self, X: Matrix) -> np.ndarray:
        """Log-odds of the event, one value per row.

        Computed from the training mean, as the contributions are: ``design @ coef + intercept``
        is the same number in exact arithmetic, but a feature far from zero that varies little
        (an amount of 10^12 yuan) makes ``design @ coef`` and the intercept huge and opposite,
        and their sum loses digits the contributions keep (a gap of 6e-4 with one such column).
        Summed row by row, not by a matrix-vector product (whose BLAS kernel depends on the batch,
        in the last bits): a firm's margin is the same scored alone, in a shard or with them all.
        """
        return ((self.design(X) - self._reference) * self.coef).sum(axis=1) + self._bias

    @property
    def _reference(self) -> np.ndarray:
        """The design point the margin and the contributions are measured from."""
        if self.design_means is None:
            return np.zeros(len(self.coef))
        return self.design_means

    @property
    def _bias(self) -> float:
        """The margin at the reference point: every row's share that no feature explains."""
        return self.intercept + float(self._reference @ self.coef)

    def predict_proba(self, X: Matrix) -> np.ndarray:
        """Probability of the event, one value per row (1-D)."""
        return expit(self.margin(X))

    def contributions(self, X: Matrix) -> np.ndarray:
        """(n, p + 1) additive per-feature contributions to the margin; last column = bias.

        The exact SHAP values of a linear model with independent features: each feature's
        coefficient times its distance from the training mean, its missing indicator's share
        added to the feature's own. The bias is the margin at the mean design, so each row sums to
        its margin exactly.
        """
        design = self.design(X)
        terms = (design - self._reference) * self.coef
        p = len(self.feature_names)
        per_feature = terms[:, :p].copy()
        for slot, feature in enumerate(self.indicators):
            per_feature[:, feature] += terms[:, p + slot]
        bias = np.full((len(design), 1), self._bias)
        return np.hstack([per_feature, bias])

    def design(self, X: Matrix) -> np.ndarray:
        raw = feature_matrix(X, self.feature_names)
        return _design(raw, self.lower, self.upper, self.medians, self.indicators)

    def to_bytes(self) -> bytes:
        arrays = ("lower", "upper", "medians", "coef")
        document = {
            "format": FORMAT,
            "feature_names": list(self.feature_names),
            "indicators": list(self.indicators),
            "intercept": self.intercept,
            "metadata": dict(self.metadata),
            **{name: getattr(self, name).tolist() for name in arrays},
        }
        if self.design_means is not None:
            document["design_means"] = self.design_means.tolist()
        return json.dumps(document).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> LogisticBaseline:
        document = json.loads(data.decode("utf-8"))
        if document.get("format") != FORMAT:
            raise ValueError(f"not an EWS logistic baseline (format={document.get('format')!r})")
        arrays = {
            name: np.asarray(document[name], dtype=np.float64)
            for name in ("lower", "upper", "medians", "coef")
        }
        return cls(
            feature_names=tuple(document["feature_names"]),
            indicators=tuple(document["indicators"]),
            intercept=float(document["intercept"]),
            metadata=document["metadata"],
            design_means=(
                np.asarray(document["design_means"], dtype=np.float64)
                if "design_means" in document
                else None
            ),
            **arrays,
        )


def fit_baseline(
    train: pl.DataFrame,
    feature_names: Sequence[str],
    label_col: str = "label",
    *,
    valid: pl.DataFrame | None = None,
    c_grid: Sequence[float] = C_GRID,
) -> LogisticBaseline:
    """Fit on ``train``; the inverse regularisation C is chosen by log loss on ``valid``.

    Without ``valid`` the middle of ``c_grid`` is used.
    """
    names = tuple(feature_names)
    x, y = features_and_labels(train, names, label_col, "train")
    with warnings.catch_warnings():  # all-null columns give NaN statistics, handled below
        warnings.simplefilter("ignore", RuntimeWarning)
        lower, upper = np.nanpercentile(x, CLIP_PERCENTILES, axis=0)
        clipped = np.clip(x, lower, upper)
        medians = np.nanmedian(clipped, axis=0)
    medians = np.where(np.isfinite(medians), medians, 0.0)
    indicators = tuple(int(i) for i in np.flatnonzero(np.isnan(x).any(axis=0)))
    design = _design(x, lower, upper, medians, indicators)
    means = design.mean(axis=0)
    scales = design.std(axis=0)
    scales = np.where(scales > 0, scales, 1.0)

    def fit(c: float) -> LogisticRegression:
        return LogisticRegression(C=c, max_iter=2000).fit((design - means) / scales, y)

    if valid is None:
        chosen_c, scores = float(c_grid[len(c_grid) // 2]), {}
        model = fit(chosen_c)
    else:
        x_valid, y_valid = features_and_labels(valid, names, label_col, "valid")
        valid_design = (_design(x_valid, lower, upper, medians, indicators) - means) / scales
        fitted = {float(c): fit(c) for c in c_grid}
        scores = {
            c: log_loss(y_valid, candidate.predict_proba(valid_design)[:, 1])
            for c, candidate in fitted.items()
        }
        chosen_c = min(scores, key=scores.__getitem__)
        model = fitted[chosen_c]  # the grid already fitted it: no second fit
    # Fold the standardisation into the coefficients: predict needs only design @ coef + b.
    coef = model.coef_[0] / scales
    intercept = float(model.intercept_[0] - np.sum(coef * means))
    return LogisticBaseline(
        feature_names=names,
        lower=lower,
        upper=upper,
        medians=medians,
        indicators=indicators,
        coef=coef,
        intercept=intercept,
        metadata={"C": chosen_c, "valid_log_loss": scores, "train_rows": len(y)},
        design_means=means,
    )


def _design(
    raw: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    medians: np.ndarray,
    indicators: tuple[int, ...],
) -> np.ndarray:
    missing = np.isnan(raw)
    # NaN bounds (a column null in training) leave values unclipped; they are imputed anyway.
    clipped = np.clip(raw, np.nan_to_num(lower, nan=-np.inf), np.nan_to_num(upper, nan=np.inf))
    imputed = np.where(missing, medians, clipped)
    return np.hstack([imputed, missing[:, list(indicators)].astype(np.float64)])


def scorer_from_bytes(data: bytes) -> RiskModel | LogisticBaseline:
    """A registered scorer read back from its bytes, whichever kind it is (the format says)."""
    try:
        found = json.loads(data.decode("utf-8")).get("format")
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError) as error:
        raise ValueError(f"not an EWS model document: {error}") from error
    if found == FORMAT:
        return LogisticBaseline.from_bytes(data)
    if found == RISK_MODEL_FORMAT:
        return RiskModel.from_bytes(data)
    raise ValueError(f"not an EWS model (format={found!r}; known: {RISK_MODEL_FORMAT}, {FORMAT})")
