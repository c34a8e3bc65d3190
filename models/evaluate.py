"""Ranking and calibration metrics with cluster-bootstrap confidence intervals.

A weekly risk list has K rows, so the top-K metrics are computed per as-of week and averaged over
weeks when ``as_of`` is given. Confidence intervals resample *clusters* (firms) rather than rows:
one firm contributes a row every week, and resampling its rows independently would pretend those
rows are independent evidence.

A resample is scored as a weighting of the original rows (how often each row's firm was drawn)
over one sort made up front, so no resample sorts again: the same numbers as scoring the drawn
rows themselves, at a fraction of the cost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

METRICS = (
    "roc_auc",
    "pr_auc",
    "ks",
    "brier",
    "precision_at_k",
    "recall_at_k",
    "lift_at_k",
)


def roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (ties count one half); NaN when only one class is present."""
    return _roc_auc(*_cumulative_counts(y, score))


def average_precision(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the precision-recall curve as a step sum (sklearn's average_precision_score)."""
    return _average_precision(*_cumulative_counts(y, score))


def ks_statistic(y: np.ndarray, score: np.ndarray) -> float:
    """Kolmogorov-Smirnov distance between the score distributions of the two classes."""
    return _ks(*_cumulative_counts(y, score))


def _roc_auc(tps: np.ndarray, fps: np.ndarray) -> float:
    if tps[-1] == 0 or fps[-1] == 0:
        return float("nan")
    tpr = np.r_[0.0, tps / tps[-1]]
    fpr = np.r_[0.0, fps / fps[-1]]
    return float(np.trapezoid(tpr, fpr))


def _average_precision(tps: np.ndarray, fps: np.ndarray) -> float:
    if tps[-1] == 0:
        return float("nan")
    recall_gain = np.diff(np.r_[0.0, tps / tps[-1]])
    # Thresholds no drawn row reaches add no recall (and have no precision): skip them.
    gained = recall_gain > 0
    precision = tps[gained] / (tps[gained] + fps[gained])
    return float(np.sum(recall_gain[gained] * precision))


def _ks(tps: np.ndarray, fps: np.ndarray) -> float:
    if tps[-1] == 0 or fps[-1] == 0:
        return float("nan")
    return float(np.max(np.abs(tps / tps[-1] - fps / fps[-1])))


def brier_score(y: np.ndarray, probability: np.ndarray) -> float:
    return float(np.mean((np.asarray(probability, dtype=np.float64) - y) ** 2))


def top_k_metrics(
    y: np.ndarray, score: np.ndarray, k: int, groups: np.ndarray | None = None
) -> dict[str, float]:
    """Precision, recall and lift of the K highest scores, per group (week) and averaged.

    A group with fewer than K rows lists all of them. Recall and lift are undefined for a group
    without positives and are averaged over the groups that have some.
    """
    return _Ranking(y, score, k, groups)._top_k(np.ones(len(y)))


def point_metrics(
    y: np.ndarray, probability: np.ndarray, k: int, groups: np.ndarray | None = None
) -> dict[str, float]:
    return _Ranking(y, probability, k, groups).metrics(np.ones(len(y)))


class _Ranking:
    """Rows sorted once by score (and by group and score for the top K), scored under weights.

    A weight is how many times a row counts: all ones for the point estimate, the number of
    times its cluster was drawn for a bootstrap resample. Rows drawn twice tie with themselves,
    so they fall in one tie group and weighting reproduces scoring the drawn rows.
    """

    def __init__(self, y: np.ndarray, score: np.ndarray, k: int, groups: np.ndarray | None):
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        y = np.asarray(y, dtype=np.float64)
        score = np.asarray(score, dtype=np.float64)
        self.k = k
        self.y, self.score = y, score
        self.order = np.argsort(-score, kind="mergesort")
        sorted_score = score[self.order]
        self.last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_score)), len(score) - 1]
        groups = np.zeros(len(y), dtype=np.int64) if groups is None else np.asarray(groups)
        self.group_order = np.lexsort((-score, groups))
        sorted_groups = groups[self.group_order]
        self.group_starts = np.r_[
            0, np.flatnonzero(sorted_groups[1:] != sorted_groups[:-1]) + 1
        ].astype(np.int64)

    def metrics(self, weight: np.ndarray) -> dict[str, float]:
        w_sorted = weight[self.order]
        tps = np.cumsum(w_sorted * self.y[self.order])[self.last_of_tie]
        fps = np.cumsum(w_sorted)[self.last_of_tie] - tps
        total = weight.sum()
        return {
            "roc_auc": _roc_auc(tps, fps),
            "pr_auc": _average_precision(tps, fps),
            "ks": _ks(tps, fps),
            "brier": float(np.sum(weight * (self.score - self.y) ** 2) / total),
            **self._top_k(weight),
        }

    def _top_k(self, weight: np.ndarray) -> dict[str, float]:
        w = weight[self.group_order]
        y = self.y[self.group_order]
        starts = self.group_starts
        cumulative = np.cumsum(w)
        before_group = np.repeat(
            np.r_[0.0, cumulative[starts[1:] - 1]], np.diff(np.r_[starts, len(w)])
        )
        listed_before = cumulative - w - before_group
        # Each row fills what is left of the group's K places, at most its own weight.
        taken = np.clip(self.k - listed_before, 0.0, w)
        sizes = np.add.reduceat(w, starts)
        present = sizes > 0  # a week none of whose firms was drawn is not in the resample
        hits = np.add.reduceat(taken * y, starts)[present]
        listed = np.add.reduceat(taken, starts)[present]
        positives = np.add.reduceat(w * y, starts)[present]
        sizes = sizes[present]
        precision = hits / listed
        with_positives = positives > 0
        if not with_positives.any():
            undefined = {"recall_at_k": np.nan, "lift_at_k": np.nan}
            return {"precision_at_k": float(precision.mean()), **undefined}
        base_rate = positives[with_positives] / sizes[with_positives]
        return {
            "precision_at_k": float(precision.mean()),
            "recall_at_k": float(np.mean(hits[with_positives] / positives[with_positives])),
            "lift_at_k": float(np.mean(precision[with_positives] / base_rate)),
        }


def evaluate(
    y: Sequence[int] | np.ndarray,
    p: Sequence[float] | np.ndarray,
    *,
    k: int,
    as_of: Sequence[Any] | np.ndarray | pl.Series | None = None,
    cluster: Sequence[Any] | np.ndarray | pl.Series | None = None,
    n_boot: int = 200,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, dict[str, float]]:
    """Every metric in METRICS as ``{"value", "ci_low", "ci_high"}``.

    ``value`` is computed on all rows; the interval is the percentile interval of ``n_boot``
    bootstrap resamples of ``cluster`` (rows when None). Resamples where a metric is undefined
    (one class only) are left out of its interval.
    """
    y = _binary(y)
    p = np.asarray(p, dtype=np.float64)
    if len(p) != len(y):
        raise ValueError(f"y has {len(y)} rows but p has {len(p)}")
    if len(y) == 0:
        raise ValueError("cannot evaluate on zero rows")
    if not np.isfinite(p).all():
        row = int(np.flatnonzero(~np.isfinite(p))[0])
        raise ValueError(f"p has a non-finite value at row {row}: {p[row]}")
    groups = None if as_of is None else _codes(as_of, len(y), "as_of")
    ranking = _Ranking(y, p, k, groups)
    point = ranking.metrics(np.ones(len(y)))
    samples = [
        ranking.metrics(weight)
        for weight in _bootstrap_weights(
            _codes(cluster, len(y), "cluster") if cluster is not None else np.arange(len(y)),
            n_boot,
            seed,
        )
    ]
    tail = (1.0 - confidence) / 2.0 * 100.0
    result: dict[str, dict[str, float]] = {}
    for name in METRICS:
        values = np.array([sample[name] for sample in samples], dtype=np.float64)
        values = values[np.isfinite(values)]
        low, high = (
            (np.nan, np.nan) if len(values) == 0 else np.percentile(values, [tail, 100.0 - tail])
        )
        result[name] = {"value": point[name], "ci_low": float(low), "ci_high": float(high)}
    return result


def calibration_table(
    y: Sequence[int] | np.ndarray, p: Sequence[float] | np.ndarray, bins: int = 10
) -> pl.DataFrame:
    """Predicted vs observed event rate in equal-count bins of the predicted probability.

    Equal-count bins because risk probabilities crowd near zero: equal-width bins would put almost
    every row in the first bin. Tied probabilities never straddle two bins.
    """
    y = _binary(y)
    p = np.asarray(p, dtype=np.float64)
    edges = np.unique(np.quantile(p, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    bin_of_row = np.searchsorted(edges, p, side="left")
    frame = pl.DataFrame({"bin": bin_of_row, "p": p, "y": y})
    return (
        frame.group_by("bin")
        .agg(
            pl.col("p").min().alias("p_min"),
            pl.col("p").max().alias("p_max"),
            pl.len().alias("rows"),
            pl.col("y").sum().alias("positives"),
            pl.col("p").mean().alias("mean_predicted"),
            pl.col("y").mean().alias("observed_rate"),
        )
        .sort("bin")
        .with_columns(pl.col("bin").rank("ordinal").cast(pl.Int32) - 1)
    )


def _cumulative_counts(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """True and false positives above each distinct score threshold, highest threshold first."""
    y = np.asarray(y, dtype=np.float64)
    score = np.asarray(score, dtype=np.float64)
    order = np.argsort(-score, kind="mergesort")
    sorted_score = score[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_score)), len(score) - 1]
    tps = np.cumsum(y[order])[last_of_tie]
    fps = last_of_tie + 1 - tps
    return tps, fps


def _bootstrap_weights(cluster_codes: np.ndarray, n_boot: int, seed: int) -> list[np.ndarray]:
    """Per-row weights of ``n_boot`` resamples drawing whole clusters with replacement: each
    row counts as often as its cluster was drawn."""
    n_clusters = int(cluster_codes.max()) + 1
    rng = np.random.default_rng(seed)
    return [
        np.bincount(rng.integers(0, n_clusters, size=n_clusters), minlength=n_clusters)[
            cluster_codes
        ].astype(np.float64)
        for _ in range(n_boot)
    ]


def _binary(y: Sequence[int] | np.ndarray | pl.Series) -> np.ndarray:
    y = np.asarray(y)
    if y.dtype == bool:
        return y.astype(np.int64)
    values = set(np.unique(y).tolist())
    if not values <= {0, 1}:
        raise ValueError(f"labels must be 0/1, found {sorted(values, key=str)[:5]}")
    return y.astype(np.int64)


def _codes(values: Sequence[Any] | np.ndarray | pl.Series, n: int, name: str) -> np.ndarray:
    values = values.to_numpy() if isinstance(values, pl.Series) else np.asarray(values)
    if len(values) != n:
        raise ValueError(f"{name} has {len(values)} rows but y has {n}")
    return np.unique(values, return_inverse=True)[1].reshape(-1)


# Metrics whose ratios and differences the comparisons report (the ranking metrics a regulator
# acts on; KS and Brier stay per scorer).
COMPARED = ("roc_auc", "pr_auc", "precision_at_k")


def compare(
    y: Sequence[int] | np.ndarray,
    scores: Mapping[str, Sequence[float] | np.ndarray],
    pairs: Sequence[tuple[str, str]],
    *,
    k: int,
    as_of: Sequence[Any] | np.ndarray | pl.Series | None = None,
    cluster: Sequence[Any] | np.ndarray | pl.Series | None = None,
    n_boot: int = 200,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Several scorers on the same rows, with paired intervals for each pair's ratio and difference.

    Every scorer is scored on the *same* bootstrap resamples of ``cluster`` (the resamples
    ``evaluate`` draws with this seed), so an interval of ``a / b`` or ``a - b`` reflects how the
    two move together on the same firms, not two independent intervals side by side.

    Returns ``{"scorers": {name: {metric: {value, ci_low, ci_high}}}, "pairs": {"a/b": {metric:
    {"ratio": {...}, "difference": {...}}}}}`` for the metrics in COMPARED.
    """
    y = _binary(y)
    unknown = sorted({name for pair in pairs for name in pair} - set(scores))
    if unknown:
        raise ValueError(f"pairs name scorers that were not given: {unknown}")
    groups = None if as_of is None else _codes(as_of, len(y), "as_of")
    rankings = {}
    for name, score in scores.items():
        score = np.asarray(score, dtype=np.float64)
        if len(score) != len(y):
            raise ValueError(f"{name} has {len(score)} scores for {len(y)} labels")
        if not np.isfinite(score).all():
            row = int(np.flatnonzero(~np.isfinite(score))[0])
            raise ValueError(f"{name} has a non-finite score at row {row}: {score[row]}")
        rankings[name] = _Ranking(y, score, k, groups)
    codes = _codes(cluster, len(y), "cluster") if cluster is not None else np.arange(len(y))
    weights = [np.ones(len(y)), *_bootstrap_weights(codes, n_boot, seed)]
    # One row per draw (the first is the point estimate), one column per scorer and metric.
    draws = {name: [ranking.metrics(w) for w in weights] for name, ranking in rankings.items()}
    tail = (1.0 - confidence) / 2.0 * 100.0

    def interval(values: np.ndarray) -> dict[str, float]:
        point, sample = values[0], values[1:]
        sample = sample[np.isfinite(sample)]
        low, high = (
            (np.nan, np.nan) if len(sample) == 0 else np.percentile(sample, [tail, 100.0 - tail])
        )
        return {"value": float(point), "ci_low": float(low), "ci_high": float(high)}

    def column(name: str, metric: str) -> np.ndarray:
        return np.array([draw[metric] for draw in draws[name]], dtype=np.float64)

    result: dict[str, Any] = {
        "scorers": {
            name: {metric: interval(column(name, metric)) for metric in METRICS} for name in scores
        },
        "pairs": {},
        "confidence": confidence,
        "n_boot": n_boot,
    }
    for a, b in pairs:
        entry = {}
        for metric in COMPARED:
            left, right = column(a, metric), column(b, metric)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(right != 0, left / right, np.nan)
            entry[metric] = {"ratio": interval(ratio), "difference": interval(left - right)}
        result["pairs"][f"{a}/{b}"] = entry
    return result
