"""The promotion gate: does a newly trained model replace the champion?

Pure: both sides' metrics must come from the candidate's own out-of-time test set (the caller
re-scores the champion on it), so the comparison is like for like. A metric is given either as a
number or as ``{"value": ..., "ci_low": ..., "ci_high": ...}`` (the shape models.pipeline returns).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

# Metrics where a smaller value is the better model; every other metric is "higher is better".
LOWER_IS_BETTER = frozenset({"brier", "log_loss"})

# Float round-off must not turn "better by exactly the margin" into a refusal.
_TOLERANCE = 1e-12

CHAMPION = "champion"
CHALLENGER = "challenger"


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str

    @property
    def alias(self) -> str:
        """The registry alias the candidate gets: champion if promoted, else challenger."""
        return CHAMPION if self.promote else CHALLENGER


def decide(
    candidate: Mapping[str, object],
    champion: Mapping[str, object] | None,
    metric: str,
    margin: float,
) -> Decision:
    """Promote the candidate when it beats the champion on ``metric`` by at least ``margin``.

    No champion: the candidate is promoted. An undefined candidate metric (NaN, e.g. a test set
    without positives) never promotes; an undefined champion metric never blocks.
    """
    if margin < 0:
        raise ValueError(f"promotion margin must be >= 0, got {margin}")
    new = _point(candidate, metric, "candidate")
    if champion is None:
        if math.isnan(new):
            return Decision(False, f"no champion yet, but candidate {metric} is undefined")
        return Decision(True, f"no champion yet: candidate becomes champion ({metric}={new:.4f})")
    old = _point(champion, metric, "champion")
    if math.isnan(new):
        return Decision(False, f"candidate {metric} is undefined; champion ({old:.4f}) kept")
    if math.isnan(old):
        return Decision(
            True, f"champion {metric} is undefined on this test set; candidate {new:.4f}"
        )

    gain = old - new if metric in LOWER_IS_BETTER else new - old
    direction = "lower" if metric in LOWER_IS_BETTER else "higher"
    comparison = (
        f"candidate {metric}={new:.4f} vs champion {old:.4f} on the candidate's out-of-time test "
        f"set ({direction} is better; gain {gain:+.4f}, margin {margin:.4f})"
    )
    if gain >= margin - _TOLERANCE:
        return Decision(True, f"promoted: {comparison}")
    return Decision(False, f"kept as challenger: {comparison}")


def _point(metrics: Mapping[str, object], metric: str, side: str) -> float:
    if metric not in metrics:
        known = ", ".join(sorted(metrics)) or "none"
        raise KeyError(f"{side} metrics lack {metric!r} (have: {known})")
    value = metrics[metric]
    if isinstance(value, Mapping):
        value = value.get("value")
    if value is None:
        return math.nan
    if not isinstance(value, int | float):
        raise TypeError(f"{side} metric {metric!r} must be a number, got {value!r}")
    return float(value)
