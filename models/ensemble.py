"""Ensembles of boosters chosen by inner cross-validation (the ``train-table`` path's fit).

``fit_risk_model_cv`` boosts each candidate configuration on inner folds, grows an ensemble of
them greedily on the pooled out-of-fold margins, refits the chosen ones on all rows (bagged when
they sample rows or columns) and merges every booster into one additive booster, so the result is
an ordinary ``RiskModel``: one margin, exact per-feature contributions, the same file format.
Pure: arrays and frames in, a model out.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl
import xgboost as xgb
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from models.averaging import average_boosters
from models.calibrate import choose_calibrator
from models.evaluate import roc_auc
from models.train import (
    RiskModel,
    TrainConfig,
    assemble_risk_model,
    boost,
    booster_margin,
    booster_params,
    features_and_labels,
    monotone_constraints,
)


def fit_risk_model_cv(
    frame: pl.DataFrame,
    feature_names: Sequence[str],
    label_col: str = "label",
    directions: Mapping[str, str] | None = None,
    candidates: Sequence[TrainConfig] = (TrainConfig(),),
    *,
    folds: int = 3,
    groups: np.ndarray | None = None,
    seed: int = 0,
    bag: int = 1,
    search_order: Sequence[int] | None = None,
    seconds: float | None = None,
) -> RiskModel:
    """Choose configurations by inner cross-validation, then refit them on all rows and average.

    Each candidate boosts every inner fold in step; its number of rounds is where the mean
    held-out AUC peaks. The ensemble is then grown greedily on the pooled inner out-of-fold
    margins: start from the best candidate and add the one that most raises the AUC of the
    averaged margin, until none does. Averaging a few good configurations is steadier than
    betting on the inner winner, whose lead is often within noise; a candidate that does not
    help is left out. The calibrator is chosen and fitted on the ensemble's out-of-fold margins,
    so no row calibrates a model that saw it. ``groups`` keeps an entity's rows in one inner
    fold.

    ``bag`` > 1 refits each chosen configuration that many times with different seeds (so
    different row and column samples); a configuration without sampling is deterministic and is
    refitted once. The result is one booster whose margin is the mean over the chosen
    configurations of their members' mean margin, and whose contributions are the same mean of
    theirs. Every candidate starts from the training rows' event rate (``base_score``), so
    boosters of differently weighted configurations share a bias and can be averaged.

    ``search_order`` (positions in ``candidates``; default all, in order) is which candidates are
    cross-validated and in what order; the others are skipped. With ``seconds``, a candidate
    after the first is started only while ``room_for_another`` says the fit stays within that
    many seconds. Either way the choice, refit and calibration see the searched candidates in
    their ``candidates`` order, so a fit that searched candidates {1, 0} is the same fit however
    it came to search them. ``searched`` in the metadata lists them; ``chosen`` and
    ``candidate_inner_auc`` (None for a skipped one) refer to positions in ``candidates``.
    """
    if bag < 1:
        raise ValueError(f"bag must be at least 1, got {bag}")
    if not candidates:
        raise ValueError("fit_risk_model_cv needs at least one candidate configuration")
    seeded = [index for index, config in enumerate(candidates) if config.seeds != 1]
    if seeded:
        raise ValueError(
            f"candidates {seeded} set seeds > 1; fit_risk_model_cv averages over seeds with "
            f"its own bag (bag={bag})"
        )
    names = tuple(feature_names)
    x, y = features_and_labels(frame, names, label_col, "training fold")
    monotone = monotone_constraints(names, directions)
    splits = _inner_folds(y, folds, groups, seed)
    base_score = float(y.mean())
    params = [
        {**booster_params(config, y, monotone), "base_score": base_score} for config in candidates
    ]
    order = list(range(len(candidates))) if search_order is None else list(search_order)
    _check_order(order, len(candidates))
    found: dict[int, dict[str, Any]] = {}
    started = time.perf_counter()
    # A bag refits each chosen configuration on all rows ``bag`` times, where an inner fold
    # fits (k - 1)/k of them: about bag/(k - 1) inner cross-validations' worth of boosting.
    refit_share = bag / max(1, len(splits) - 1)
    for position in order:
        spent = time.perf_counter() - started
        if (
            found
            and seconds is not None
            and not room_for_another(spent, len(found), seconds, refit_share)
        ):
            break
        found[position] = _cross_validate(
            x, y, names, candidates[position], params[position], splits
        )
    searched = sorted(found)
    results = [found[position] for position in searched]
    picked, ensemble_auc = greedy_ensemble(y, [result["oof_margin"] for result in results])
    chosen = [searched[index] for index in picked]
    boosters, weights = [], []
    for index in chosen:
        config = candidates[index]
        members = bag if config.subsample < 1 or config.colsample_bytree < 1 else 1
        for k in range(members):
            member_params = {**params[index], "seed": config.seed + k}
            rounds = found[index]["rounds"]
            boosters.append(boost(member_params, x, y, config, names, rounds=rounds))
            weights.append(1.0 / (len(chosen) * members))
    best = candidates[chosen[0]]
    booster = average_boosters(boosters, weights)
    booster.set_param({"nthread": best.nthread})
    oof_margin = np.mean([found[index]["oof_margin"] for index in chosen], axis=0)
    calibrator = choose_calibrator(oof_margin, y, folds=best.calibration_folds, seed=best.seed)
    return assemble_risk_model(
        booster,
        calibrator,
        names,
        monotone,
        best,
        params[chosen[0]],
        y,
        fitted_with="inner_cv",
        inner_folds=len(splits),
        # The chosen ones' averaged margin, pooled over the inner folds (what the greedy step
        # maximised); candidate_inner_auc is each candidate's mean held-out AUC over the folds.
        ensemble_oof_auc=ensemble_auc,
        candidate_inner_auc=[
            found[position]["inner_auc"] if position in found else None
            for position in range(len(candidates))
        ],
        searched=searched,
        chosen=chosen,
        inner_rounds=[found[index]["rounds"] for index in chosen],
        bag=len(boosters),
    )


def room_for_another(spent: float, searched: int, seconds: float, refit_share: float) -> bool:
    """Whether one more candidate fits in ``seconds``, judged from the ``spent`` seconds of the
    ``searched`` candidates so far: each costs their mean, and the fit's remaining steps
    (refits) ``refit_share`` times the searching."""
    projected = spent / searched * (searched + 1) * (1 + refit_share)
    return projected <= seconds


def _check_order(order: Sequence[int], count: int) -> None:
    if not order or len(set(order)) != len(order) or not set(order) <= set(range(count)):
        raise ValueError(
            f"search order must list distinct positions of the {count} candidates, got {order}"
        )


def greedy_ensemble(y: np.ndarray, margins: Sequence[np.ndarray]) -> tuple[list[int], float]:
    """(chosen indices, their AUC): greedy forward selection of margins to average.

    Starts from the margin with the best AUC and adds, one at a time, the one whose inclusion
    in the mean raises the AUC most; stops when no addition raises it. Each index is used at
    most once, so the chosen ones are averaged with equal weights. Ties keep the earlier index.
    """
    if not margins:
        raise ValueError("greedy_ensemble needs at least one margin")
    scores = [np.nan_to_num(roc_auc(y, margin), nan=-1.0) for margin in margins]
    chosen = [int(np.argmax(scores))]
    best = scores[chosen[0]]
    while len(chosen) < len(margins):
        trials = {
            index: roc_auc(y, np.mean([margins[i] for i in [*chosen, index]], axis=0))
            for index in range(len(margins))
            if index not in chosen
        }
        index = max(trials, key=lambda i: (trials[i], -i))
        if not trials[index] > best:
            break
        chosen.append(index)
        best = trials[index]
    return chosen, float(best)


class _KeepFoldBoosters(xgb.callback.TrainingCallback):
    """xgb.cv discards its per-fold boosters; keep them for the out-of-fold margins."""

    def __init__(self) -> None:
        super().__init__()
        self.boosters: list[xgb.Booster] = []

    def after_training(self, model: Any) -> Any:
        self.boosters = [fold.bst for fold in model.cvfolds]
        return model


def _cross_validate(
    x: np.ndarray,
    y: np.ndarray,
    names: tuple[str, ...],
    config: TrainConfig,
    params: Mapping[str, Any],
    splits: list[tuple[np.ndarray, np.ndarray]],
) -> dict[str, Any]:
    """Boost every inner fold in step and stop on the fold-averaged AUC curve.

    One number of rounds for all folds, read off the mean curve, is far less noisy than each
    fold's own best round on a few hundred held-out rows.
    """
    keeper = _KeepFoldBoosters()
    history = xgb.cv(
        dict(params),
        xgb.DMatrix(x, label=y, feature_names=list(names)),
        num_boost_round=config.max_rounds,
        folds=splits,
        early_stopping_rounds=config.early_stopping_rounds,
        callbacks=[keeper],
        as_pandas=False,
    )
    # xgb.cv cuts the history at the best round.
    rounds = len(history["test-auc-mean"])
    oof_margin = np.empty(len(y), dtype=np.float64)
    for booster, (_, held_rows) in zip(keeper.boosters, splits, strict=True):
        oof_margin[held_rows] = booster_margin(booster[:rounds], x[held_rows], names)
    return {
        "oof_margin": oof_margin,
        "inner_auc": float(history["test-auc-mean"][-1]),
        "rounds": rounds,
    }


def _inner_folds(
    y: np.ndarray, folds: int, groups: np.ndarray | None, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    positives = int(y.sum())
    n_folds = min(folds, positives, len(y) - positives)
    if n_folds < 2:
        raise ValueError(
            f"inner cross-validation needs at least 2 positives and 2 negatives, "
            f"got {positives} positives in {len(y)} rows"
        )
    placeholder = np.zeros((len(y), 1))
    if groups is None:
        splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        return list(splitter.split(placeholder, y))
    grouped = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return list(grouped.split(placeholder, y, groups))
