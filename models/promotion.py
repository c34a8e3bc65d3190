"""The promotion gate: does a newly trained model replace the champion, and may it serve at all?

``gate`` first holds every model to the logistic regression trained beside it on the same rows
(``beats_baseline``): a candidate not shown better is refused, and a champion not shown better
is replaced, by the baseline itself when nothing better is at hand. ``decide`` then compares the
candidate with the champion.

Pure: both sides' metrics must come from the candidate's own out-of-time test set (the caller
re-scores the champion on it), so the comparison is like for like. A metric is given either as a
number or as ``{"value": ..., "ci_low": ..., "ci_high": ...}`` (the shape models.pipeline returns).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from models.baseline import KIND as BASELINE_KIND

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


# ---------------------------------------------------------------- the baseline gate


@dataclass(frozen=True)
class BaselineVerdict:
    """Whether a model is shown better than the baseline on the same test rows."""

    beats: bool
    reason: str


def beats_baseline(
    difference: Mapping[str, object] | None, metric: str, who: str = "candidate"
) -> BaselineVerdict:
    """``difference`` is the paired interval of ``who`` minus the baseline on ``metric``
    (``models.evaluate.compare``: value, ci_low, ci_high on the same bootstrap resamples).

    Shown better means the whole interval lies on the better side of zero: a model whose
    advantage is within the noise of its own test set is not better than the logistic
    regression, and a regulator is better served by the simpler model until one is.
    """
    if difference is None:
        return BaselineVerdict(False, f"{who} has no comparison with the baseline on {metric}")
    value = _number(difference.get("value"))
    low, high = _number(difference.get("ci_low")), _number(difference.get("ci_high"))
    if metric in LOWER_IS_BETTER:  # the interval of a - b: better is below zero
        value, low, high = -value, -high, -low
    shown = (
        f"{who} - baseline {metric} {value:+.4f} "
        f"(paired interval {low:+.4f} .. {high:+.4f}, same test rows)"
    )
    if math.isnan(value) or math.isnan(low):
        return BaselineVerdict(False, f"{shown}: undefined, not shown better")
    if low > 0:
        return BaselineVerdict(True, f"{shown}: better than its baseline")
    if high < 0:
        return BaselineVerdict(False, f"{shown}: worse than its baseline")
    return BaselineVerdict(False, f"{shown}: not shown better than its baseline")


@dataclass(frozen=True)
class Incumbent:
    """The current champion as the gate sees it, re-scored on the candidate's test rows."""

    version: int
    kind: str  # gradient_boosting, logistic_baseline, ...
    metrics: Mapping[str, object]
    vs_baseline: BaselineVerdict


@dataclass(frozen=True)
class GateOutcome:
    """The candidate's alias and reason, and whether the baseline must become the champion."""

    candidate: Decision
    serve_baseline: bool
    baseline_reason: str | None = None


def gate(
    candidate: Mapping[str, object],
    candidate_vs_baseline: BaselineVerdict,
    incumbent: Incumbent | None,
    metric: str,
    margin: float,
) -> GateOutcome:
    """The promotion gate, protecting the regulators who act on the list.

    1. A candidate not shown better than its own baseline is never promoted.
    2. A champion that is not shown better than that baseline (on the candidate's test rows) is
       replaced: by the candidate when the candidate is shown better, else by the baseline,
       registered as a version of its own, until a better model arrives. A champion that is
       itself a baseline is the fallback: a candidate shown better than the baseline still has
       to beat it by the margin, and a refused candidate refreshes it with the new baseline.
    3. Otherwise the candidate must beat the champion by ``margin`` (``decide``).
    """
    if not candidate_vs_baseline.beats:
        refused = Decision(False, f"not promoted: {candidate_vs_baseline.reason}")
        if incumbent is None:
            return GateOutcome(
                refused, True, f"no champion yet and the candidate lost: {refused.reason}"
            )
        if incumbent.kind == BASELINE_KIND:
            return GateOutcome(
                refused,
                True,
                f"the champion v{incumbent.version} is a baseline; refreshed with the baseline "
                f"trained beside the refused candidate ({candidate_vs_baseline.reason})",
            )
        if not incumbent.vs_baseline.beats:
            return GateOutcome(
                refused,
                True,
                f"the champion v{incumbent.version} lost to the baseline "
                f"({incumbent.vs_baseline.reason}) and the candidate did too",
            )
        return GateOutcome(
            Decision(False, f"{refused.reason}; champion v{incumbent.version} kept"), False
        )
    if incumbent is None:
        first = decide(candidate, None, metric, margin)
        return GateOutcome(
            Decision(first.promote, f"{first.reason}; {candidate_vs_baseline.reason}"), False
        )
    if incumbent.kind != BASELINE_KIND and not incumbent.vs_baseline.beats:
        return GateOutcome(
            Decision(
                True,
                f"promoted: {candidate_vs_baseline.reason}, while the champion "
                f"v{incumbent.version} was not ({incumbent.vs_baseline.reason})",
            ),
            False,
        )
    decision = decide(candidate, incumbent.metrics, metric, margin)
    return GateOutcome(
        Decision(
            decision.promote,
            f"{decision.reason}; champion was v{incumbent.version}; {candidate_vs_baseline.reason}",
        ),
        False,
    )


def _number(value: object) -> float:
    if value is None:
        return math.nan
    if not isinstance(value, int | float):
        raise TypeError(f"an interval bound must be a number, got {value!r}")
    return float(value)
