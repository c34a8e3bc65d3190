"""A blend of an industry's boosted model with its logistic baseline: one margin, exact reasons.

The blend's margin is ``a * booster margin + b * baseline margin + c``. Both parts are additive
per feature (TreeSHAP for the booster, coefficient times distance from the training mean for the
baseline), so the blend's per-feature contributions are ``a`` times the booster's plus ``b``
times the baseline's, its bias ``a * booster bias + b * baseline bias + c``: they sum to its
margin exactly as each part's do to its own.

``a``, ``b`` and ``c`` are a two-input logistic regression of the label on the two margins, fitted
on validation rows only, never test rows; the benchmark passes the rows boosting stops on (the
valid period without the firms whose event training saw, ``models.split.purge_seen_positives``).
Those firms' later rows are labelled by the event training already saw, and on every valid row
they pulled finance's weight toward the baseline (b 0.39 against 0.03) and its test PR-AUC from
0.189 to 0.123. A likelihood fit uses every row's margin, not only the order of the top few; with
114 unseen valid events (finance) a weight chosen on the valid PR-AUC is mostly noise.

Measured, not served: on the demo park the fitted blend stays within noise of the pooled booster
alone (BENCHMARKS.md, "Blending the booster with its logistic baseline"); the benchmark's
``pooled_blend`` variants use it. Pure: arrays in, numbers out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

# Nearly unpenalised: two inputs and thousands of rows need no shrinkage, and a penalty would
# pull the weights toward zero unequally (the margins have different scales).
C = 1e4


@dataclass(frozen=True)
class BlendWeights:
    booster: float  # a
    baseline: float  # b
    intercept: float  # c
    rows: int = 0  # the rows they were fitted on
    positives: int = 0

    def margin(self, booster_margin: np.ndarray, baseline_margin: np.ndarray) -> np.ndarray:
        """The blend's log-odds, one value per row."""
        return (
            self.booster * np.asarray(booster_margin, dtype=np.float64)
            + self.baseline * np.asarray(baseline_margin, dtype=np.float64)
            + self.intercept
        )

    def contributions(self, booster: np.ndarray, baseline: np.ndarray) -> np.ndarray:
        """(n, p + 1) per-feature contributions of the blend, bias last, from the parts' own
        (same rows, same features in the same order, each part's bias last)."""
        booster = np.asarray(booster, dtype=np.float64)
        baseline = np.asarray(baseline, dtype=np.float64)
        if booster.shape != baseline.shape or booster.ndim != 2:
            raise ValueError(
                f"the parts' contributions must have one shape (n, p + 1): booster "
                f"{booster.shape}, baseline {baseline.shape}"
            )
        blended = self.booster * booster + self.baseline * baseline
        blended[:, -1] += self.intercept
        return blended

    def to_dict(self) -> dict[str, float | int]:
        return {
            "booster": self.booster,
            "baseline": self.baseline,
            "intercept": self.intercept,
            "rows": self.rows,
            "positives": self.positives,
        }


def fit_blend(
    booster_margin: np.ndarray, baseline_margin: np.ndarray, y: np.ndarray
) -> BlendWeights:
    """The weights of the two margins (and the intercept) that best predict ``y``: a logistic
    regression on the rows given, which must be validation rows, never test rows."""
    x = np.column_stack(
        [
            np.asarray(booster_margin, dtype=np.float64),
            np.asarray(baseline_margin, dtype=np.float64),
        ]
    )
    y = np.asarray(y)
    if x.shape[0] != len(y):
        raise ValueError(f"{x.shape[0]} rows of margins but {len(y)} labels")
    if not np.isfinite(x).all():
        raise ValueError("a margin to blend is not finite")
    positives = int(np.sum(y == 1))
    if positives == 0 or positives == len(y) or not np.isin(y, (0, 1)).all():
        raise ValueError(
            f"a blend needs rows of both classes (0/1) to fit on: {positives} events in {len(y)}"
        )
    fitted = LogisticRegression(C=C, max_iter=1000).fit(x, y)
    a, b = (float(w) for w in fitted.coef_[0])
    return BlendWeights(a, b, float(fitted.intercept_[0]), rows=len(y), positives=positives)
