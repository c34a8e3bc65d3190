"""One industry end to end, pure: label -> out-of-time split -> model and baseline -> test metrics.

The caller (pipelines/flows/train.py) reads the feature history and outcomes, and logs what this
returns. ``evaluate_on`` re-scores any model (e.g. the current champion) on a candidate's exact
test rows so that a promotion compares like with like.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import numpy as np
import polars as pl

from models.baseline import LogisticBaseline, fit_baseline
from models.config import IndustrySpec
from models.evaluate import calibration_table, compare, evaluate
from models.labels import LABEL, label_snapshots
from models.oracle import LATE_MONTHS, ORACLE, late_oracle_scores, oracle_scores
from models.split import (
    OutOfTimeSplit,
    SplitBoundaries,
    TrainingRows,
    out_of_time_split,
    purge_seen_positives,
)
from models.train import (
    Matrix,
    RiskModel,
    TrainConfig,
    fit_risk_model,
    frame_inputs,
    numeric_columns,
)

# Identify a snapshot or describe it; never model inputs.
KEY_COLUMNS = ("uscc", "as_of", LABEL)
CALIBRATION_BINS = 10


class Scorer(Protocol):
    feature_names: tuple[str, ...]

    def predict_proba(self, X: Matrix) -> np.ndarray: ...


@dataclass(frozen=True, eq=False)
class IndustryResult:
    industry: str
    model: RiskModel
    baseline: LogisticBaseline
    boundaries: SplitBoundaries
    # {"model": {metric: {"value", "ci_low", "ci_high"}}, "baseline": {...}} on the test period.
    metrics: dict[str, dict[str, dict[str, float]]]
    # uscc, as_of, label, p_model, p_baseline: one row per test snapshot.
    test_predictions: pl.DataFrame
    # The model's predicted vs observed rate on the test period (evaluate.calibration_table).
    calibration: pl.DataFrame
    params: dict[str, Any]
    # Per period: rows, positives, positive_rate, firms, positive_firms.
    class_balance: dict[str, dict[str, float]]
    feature_names: tuple[str, ...]
    # models.evaluate.compare of the model, the baseline and (simulated parks) the oracle on
    # the test rows: paired intervals of model/baseline, model/oracle, baseline/oracle.
    comparisons: dict[str, Any]


def feature_columns(frame: pl.DataFrame) -> tuple[str, ...]:
    """Numeric and boolean columns that are not keys: the model's inputs, in frame order.

    Text columns (sector, district, ...) describe a firm for the lists but are not features.
    """
    return tuple(numeric_columns(frame, KEY_COLUMNS)[0])


@dataclass(frozen=True, eq=False)
class Prepared:
    """One model's labelled rows, split out of time, and its inputs: what a booster is fitted
    on, alone (``train_industry``) or with other industries' rows (models.pooled)."""

    spec: IndustrySpec
    split: OutOfTimeSplit
    names: tuple[str, ...]
    # The valid rows boosting stops on: unseen events only (models.split), or the whole valid
    # period when none is left (``purged`` False).
    stopping: pl.DataFrame
    purged: bool


def prepare(
    history: pl.DataFrame,
    outcomes: pl.DataFrame,
    spec: IndustrySpec,
    *,
    known_until: date,
    descriptors: Collection[str] = (),
    training_rows: TrainingRows | None = None,
) -> Prepared:
    """Label the snapshots known by ``known_until``, split them out of time, name the inputs;
    ``training_rows`` (models.split.TrainingRows) changes only the training period's rows."""
    labelled = label_snapshots(history, outcomes, spec, known_until)
    if labelled.is_empty():
        raise ValueError(
            f"{spec.key}: no labelled snapshots (sector {spec.sector_value!r}, as-of dates at "
            f"least {spec.horizon_days} days before {known_until})"
        )
    split = out_of_time_split(labelled, spec.horizon_days)
    if training_rows is not None and training_rows != TrainingRows():
        split = _with_training_rows(split, training_rows, outcomes, spec, known_until)
    # Descriptors such as the insufficient-data flag label a row for the lists; they are not
    # evidence of risk, so they never become model inputs.
    names = tuple(name for name in feature_columns(labelled) if name not in set(descriptors))
    # Boosting stops on events it has not seen (see models.split); calibration matches the whole
    # valid period's event rate.
    stopping = purge_seen_positives(split.train, split.valid, label_col=LABEL)
    purged = stopping.get_column(LABEL).n_unique() == 2
    if not purged:  # no unseen event left to stop on (a tiny park): the whole valid period
        stopping = split.valid
    return Prepared(spec, split, names, stopping, purged)


def _with_training_rows(
    split: OutOfTimeSplit,
    rows: TrainingRows,
    outcomes: pl.DataFrame,
    spec: IndustrySpec,
    known_until: date,
) -> OutOfTimeSplit:
    """``split`` with the training rows ``rows`` selects, relabelled with its horizon."""
    train = rows.select(split.train)
    if rows.horizon_days is not None:
        if rows.horizon_days > spec.horizon_days:
            raise ValueError(
                f"{spec.key}: a training horizon of {rows.horizon_days} days is longer than the "
                f"industry's {spec.horizon_days}; training labels may only look less far ahead"
            )
        # The same rows (the same firms had no event by their as-of date), labelled 1 only for
        # an event within the shorter horizon.
        shorter = spec.model_copy(update={"horizon_days": rows.horizon_days})
        train = label_snapshots(train.drop(LABEL), outcomes, shorter, known_until)
    when = train.get_column("as_of")
    boundaries = dataclasses.replace(split.boundaries, train_start=when.min(), train_end=when.max())
    return dataclasses.replace(split, train=train, boundaries=boundaries)


def train_industry(
    history: pl.DataFrame,
    outcomes: pl.DataFrame,
    spec: IndustrySpec,
    *,
    known_until: date,
    directions: Mapping[str, str] | None = None,
    descriptors: Collection[str] = (),
    seed: int = 0,
    config: TrainConfig | None = None,
    stress: pl.DataFrame | None = None,
) -> IndustryResult:
    """Train and evaluate one industry's model on point-in-time labels known by ``known_until``.

    ``stress`` (simulated parks only: the simulator's monthly latent stress) scores the test rows
    as the oracle; it is joined to the test rows after training and never reaches the model.
    """
    prepared = prepare(history, outcomes, spec, known_until=known_until, descriptors=descriptors)
    config = (config or spec.training).model_copy(update={"seed": seed})
    model = fit_risk_model(
        prepared.split.train,
        prepared.stopping,
        prepared.names,
        directions=directions,
        config=config,
        calibration=prepared.split.valid,
    )
    return evaluate_industry(prepared, model, known_until=known_until, seed=seed, stress=stress)


def evaluate_industry(
    prepared: Prepared,
    model: RiskModel,
    *,
    known_until: date,
    seed: int,
    stress: pl.DataFrame | None = None,
) -> IndustryResult:
    """The industry's result for a fitted ``model``: the logistic baseline on its own rows, both
    scored on its out-of-time test rows (with the oracle when ``stress`` is given)."""
    spec, split = prepared.spec, prepared.split
    baseline = fit_baseline(split.train, prepared.names, valid=split.valid)
    test = split.test
    p_model = model.predict_proba(test)
    p_baseline = baseline.predict_proba(test)
    predictions = test.select("uscc", "as_of", LABEL).with_columns(
        pl.Series("p_model", p_model), pl.Series("p_baseline", p_baseline)
    )
    comparisons = compare_on_test(predictions, spec, seed, stress)
    return IndustryResult(
        industry=spec.key,
        model=model,
        baseline=baseline,
        boundaries=split.boundaries,
        metrics={
            "model": evaluate_on(model, test, spec, seed),
            "baseline": evaluate_on(baseline, test, spec, seed),
        },
        test_predictions=predictions,
        calibration=calibration_table(test.get_column(LABEL), p_model, CALIBRATION_BINS),
        params={
            **dict(model.metadata),
            "baseline": dict(baseline.metadata),
            "split": split.boundaries.to_dict(),
            "stopping_rows": prepared.stopping.height,
            "stopping_positives": int(prepared.stopping.get_column(LABEL).sum()),
            "stopping_purged": prepared.purged,
            "known_until": known_until.isoformat(),
            "seed": seed,
        },
        class_balance=class_balance(split),
        feature_names=model.feature_names,
        comparisons=comparisons,
    )


def compare_on_test(
    predictions: pl.DataFrame,
    spec: IndustrySpec,
    seed: int,
    stress: pl.DataFrame | None = None,
    n_boot: int = 200,
) -> dict[str, Any]:
    """Model, baseline and (with ``stress``) oracle on the same test rows, paired
    (``models.evaluate.compare``, the resamples ``evaluate_on`` draws with this seed); with
    ``stress`` also the model against the oracle seen ``LATE_MONTHS`` late (where the simulator's
    months reach back that far)."""
    scores = {
        "model": predictions.get_column("p_model").to_numpy(),
        "baseline": predictions.get_column("p_baseline").to_numpy(),
    }
    pairs = [("model", "baseline")]
    if stress is not None:
        scores[ORACLE] = oracle_scores(predictions, stress).to_numpy()
        pairs += [("model", ORACLE), ("baseline", ORACLE)]
        for months in LATE_MONTHS:
            late = late_oracle_scores(predictions, stress, months)
            if late is not None:
                scores[late.name] = late.to_numpy()
                pairs.append(("model", late.name))
    return compare(
        predictions.get_column(LABEL).to_numpy(),
        scores,
        pairs,
        k=spec.capacity_k,
        as_of=predictions.get_column("as_of"),
        cluster=predictions.get_column("uscc"),
        n_boot=n_boot,
        seed=seed,
    )


def evaluate_on(
    model_like: Scorer, test_frame: pl.DataFrame, spec: IndustrySpec, seed: int, n_boot: int = 200
) -> dict[str, dict[str, float]]:
    """Metrics of any scorer on labelled test snapshots: weekly top-K, firm-clustered CIs."""
    missing = [name for name in frame_inputs(model_like) if name not in test_frame.columns]
    if missing:
        raise ValueError(f"{spec.key}: the test rows lack the model's features {missing[:10]}")
    return evaluate(
        test_frame.get_column(LABEL).to_numpy(),
        model_like.predict_proba(test_frame),
        k=spec.capacity_k,
        as_of=test_frame.get_column("as_of"),
        cluster=test_frame.get_column("uscc"),
        n_boot=n_boot,
        seed=seed,
    )


def class_balance(split: OutOfTimeSplit) -> dict[str, dict[str, float]]:
    balance = {}
    for name, part in (("train", split.train), ("valid", split.valid), ("test", split.test)):
        positives = int(part.get_column(LABEL).sum())
        balance[name] = {
            "rows": part.height,
            "positives": positives,
            "positive_rate": positives / part.height if part.height else float("nan"),
            "firms": part.get_column("uscc").n_unique(),
            "positive_firms": part.filter(pl.col(LABEL) == 1).get_column("uscc").n_unique(),
        }
    return balance
