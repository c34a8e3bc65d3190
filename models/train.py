"""The EWS risk model: a gradient-boosted classifier with a calibrated probability.

``fit_risk_model`` trains on one period and uses a later, held-out period for early stopping and
for choosing the calibration; ``fit_risk_model_cv`` does the same with inner cross-validation when
there is no time order to respect, and also picks the best of a few configurations. Either way
the result is a ``RiskModel``: an xgboost Booster, a calibrator and the ordered feature names,
serialisable to bytes without pickle.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import polars as pl
import xgboost as xgb
from pydantic import BaseModel, ConfigDict, Field
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from models.calibrate import Calibrator, choose_calibrator
from models.evaluate import roc_auc

FORMAT = "ews-risk-model"
FORMAT_VERSION = 1
DIRECTIONS = {"up": 1, "down": -1, "none": 0}
# Contributions are float32; a sum over ~100 of them carries about this much rounding.
ADDITIVITY_TOLERANCE = 1e-4

Matrix = pl.DataFrame | pd.DataFrame | np.ndarray


class AdditivityError(RuntimeError):
    """Per-feature contributions do not add up to the model's margin: explanations would lie."""


class TrainConfig(BaseModel):
    """Booster and training settings (defaults suit thousands to hundreds of thousands of rows)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    learning_rate: float = Field(default=0.05, gt=0, le=1)
    max_depth: int = Field(default=4, ge=1, le=12)
    min_child_weight: float = Field(default=1.0, ge=0)
    subsample: float = Field(default=0.8, gt=0, le=1)
    colsample_bytree: float = Field(default=0.8, gt=0, le=1)
    reg_lambda: float = Field(default=1.0, ge=0)
    max_rounds: int = Field(default=1000, ge=1)
    early_stopping_rounds: int = Field(default=50, ge=1)
    # Positive-class weight: none = 1, sqrt = sqrt(neg/pos), full = neg/pos. The calibrator
    # undoes the resulting shift in probabilities; the weight only changes what the trees learn.
    class_balance: Literal["none", "sqrt", "full"] = "sqrt"
    calibration_folds: int = Field(default=5, ge=2)
    nthread: int = Field(default=2, ge=1)
    seed: int = 0


@dataclass(frozen=True, eq=False)
class RiskModel:
    booster: xgb.Booster
    calibrator: Calibrator
    feature_names: tuple[str, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def margin(self, X: Matrix) -> np.ndarray:
        """The booster's raw log-odds score (before calibration)."""
        return self.booster.predict(self._dmatrix(X), output_margin=True).astype(np.float64)

    def predict_proba(self, X: Matrix) -> np.ndarray:
        """Calibrated probability of the event, one value per row (1-D)."""
        return self.calibrator(self.margin(X))

    def contributions(self, X: Matrix) -> np.ndarray:
        """(n, p + 1) additive per-feature contributions to the margin; last column = bias.

        Raises AdditivityError when a row's contributions do not sum to its margin.
        """
        matrix = self._dmatrix(X)
        contributions = self.booster.predict(matrix, pred_contribs=True).astype(np.float64)
        margin = self.booster.predict(matrix, output_margin=True).astype(np.float64)
        gap = np.abs(contributions.sum(axis=1) - margin)
        if len(gap) and gap.max() > ADDITIVITY_TOLERANCE:
            row = int(np.argmax(gap))
            raise AdditivityError(
                f"contributions of row {row} sum to {contributions[row].sum():.6f} but its "
                f"margin is {margin[row]:.6f} (gap {gap[row]:.2e} > {ADDITIVITY_TOLERANCE})"
            )
        return contributions

    def to_bytes(self) -> bytes:
        """A JSON document: booster as base64 UBJSON, calibrator parameters, names, metadata."""
        document = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "xgboost_version": xgb.__version__,
            "feature_names": list(self.feature_names),
            "calibrator": self.calibrator.to_dict(),
            "metadata": dict(self.metadata),
            "booster_ubj": base64.b64encode(bytes(self.booster.save_raw("ubj"))).decode("ascii"),
        }
        return json.dumps(document, ensure_ascii=False, default=_json_default).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> RiskModel:
        document = json.loads(data.decode("utf-8"))
        if document.get("format") != FORMAT:
            raise ValueError(f"not an EWS risk model (format={document.get('format')!r})")
        if document["format_version"] > FORMAT_VERSION:
            raise ValueError(
                f"risk model format {document['format_version']} is newer than this code "
                f"({FORMAT_VERSION})"
            )
        booster = xgb.Booster()
        booster.load_model(bytearray(base64.b64decode(document["booster_ubj"])))
        return cls(
            booster=booster,
            calibrator=Calibrator.from_dict(document["calibrator"]),
            feature_names=tuple(document["feature_names"]),
            metadata=document["metadata"],
        )

    def _dmatrix(self, X: Matrix) -> xgb.DMatrix:
        return xgb.DMatrix(
            feature_matrix(X, self.feature_names), feature_names=list(self.feature_names)
        )


def feature_matrix(X: Matrix, feature_names: Sequence[str]) -> np.ndarray:
    """X as a float64 array with columns in ``feature_names`` order; null becomes NaN."""
    names = list(feature_names)
    if isinstance(X, pl.DataFrame):
        _require_columns(X.columns, names)
        return X.select(pl.col(name).cast(pl.Float64) for name in names).to_numpy()
    if isinstance(X, pd.DataFrame):
        _require_columns(list(X.columns), names)
        return X[names].astype("float64").to_numpy(dtype=np.float64, na_value=np.nan)
    array = np.asarray(X, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != len(names):
        raise ValueError(f"expected an (n, {len(names)}) array, got shape {array.shape}")
    return array


def numeric_columns(frame: pl.DataFrame, exclude: Collection[str]) -> tuple[list[str], list[str]]:
    """(inputs, ignored): the numeric and boolean columns a model can take, in frame order, and
    the other columns (text, dates), leaving out ``exclude``."""
    inputs, ignored = [], []
    for name, dtype in frame.schema.items():
        if name not in exclude:
            (inputs if dtype.is_numeric() or dtype == pl.Boolean else ignored).append(name)
    return inputs, ignored


def monotone_constraints(
    feature_names: Sequence[str], directions: Mapping[str, str] | None
) -> tuple[int, ...]:
    """xgboost monotone constraints from risk directions: up -> +1, down -> -1, none -> 0.

    Features without a direction are unconstrained.
    """
    directions = directions or {}
    unknown = {name: d for name, d in directions.items() if d not in DIRECTIONS}
    if unknown:
        raise ValueError(f"risk directions must be one of {sorted(DIRECTIONS)}: got {unknown}")
    return tuple(DIRECTIONS[directions.get(name, "none")] for name in feature_names)


def booster_params(config: TrainConfig, y: np.ndarray, monotone: Sequence[int]) -> dict[str, Any]:
    positives = float(np.sum(y))
    negatives = float(len(y) - positives)
    ratio = negatives / positives
    weight = {"none": 1.0, "sqrt": float(np.sqrt(ratio)), "full": ratio}[config.class_balance]
    params: dict[str, Any] = {
        "objective": "binary:logistic",
        "eval_metric": "auc",
        "tree_method": "hist",
        "learning_rate": config.learning_rate,
        "max_depth": config.max_depth,
        "min_child_weight": config.min_child_weight,
        "subsample": config.subsample,
        "colsample_bytree": config.colsample_bytree,
        "reg_lambda": config.reg_lambda,
        "scale_pos_weight": weight,
        "nthread": config.nthread,
        "seed": config.seed,
    }
    if any(monotone):
        params["monotone_constraints"] = "(" + ",".join(str(m) for m in monotone) + ")"
    return params


def fit_risk_model(
    train: pl.DataFrame,
    valid: pl.DataFrame,
    feature_names: Sequence[str],
    label_col: str = "label",
    directions: Mapping[str, str] | None = None,
    config: TrainConfig | None = None,
    calibration: pl.DataFrame | None = None,
) -> RiskModel:
    """Train on ``train``; stop early on ``valid``; choose the calibration on ``calibration``
    (default: ``valid``), a later period too, whose event rate the probabilities should match."""
    config = config or TrainConfig()
    names = tuple(feature_names)
    x_train, y_train = features_and_labels(train, names, label_col, "train")
    x_valid, y_valid = features_and_labels(valid, names, label_col, "valid")
    if calibration is None:
        x_calib, y_calib = x_valid, y_valid
    else:
        x_calib, y_calib = features_and_labels(calibration, names, label_col, "calibration")
    monotone = monotone_constraints(names, directions)
    params = booster_params(config, y_train, monotone)
    booster = _boost(params, x_train, y_train, config, names, valid=(x_valid, y_valid))
    valid_margin = _margin(booster, x_valid, names)
    calibration_margin = valid_margin if calibration is None else _margin(booster, x_calib, names)
    calibrator = choose_calibrator(
        calibration_margin, y_calib, folds=config.calibration_folds, seed=config.seed
    )
    return _risk_model(
        booster,
        calibrator,
        names,
        monotone,
        config,
        params,
        y_train,
        fitted_with="holdout",
        valid_rows=len(y_valid),
        valid_positives=int(y_valid.sum()),
        valid_auc=roc_auc(y_valid, valid_margin),
        calibration_rows=len(y_calib),
        calibration_positives=int(y_calib.sum()),
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
    """
    if bag < 1:
        raise ValueError(f"bag must be at least 1, got {bag}")
    if not candidates:
        raise ValueError("fit_risk_model_cv needs at least one candidate configuration")
    names = tuple(feature_names)
    x, y = features_and_labels(frame, names, label_col, "training fold")
    monotone = monotone_constraints(names, directions)
    splits = _inner_folds(y, folds, groups, seed)
    base_score = float(y.mean())
    params = [
        {**booster_params(config, y, monotone), "base_score": base_score} for config in candidates
    ]
    results = [
        _cross_validate(x, y, names, config, candidate_params, splits)
        for config, candidate_params in zip(candidates, params, strict=True)
    ]
    chosen, ensemble_auc = greedy_ensemble(y, [result["oof_margin"] for result in results])
    boosters, weights = [], []
    for index in chosen:
        config = candidates[index]
        members = bag if config.subsample < 1 or config.colsample_bytree < 1 else 1
        for k in range(members):
            member_params = {**params[index], "seed": config.seed + k}
            rounds = results[index]["rounds"]
            boosters.append(_boost(member_params, x, y, config, names, rounds=rounds))
            weights.append(1.0 / (len(chosen) * members))
    best = candidates[chosen[0]]
    booster = average_boosters(boosters, weights)
    booster.set_param({"nthread": best.nthread})
    oof_margin = np.mean([results[index]["oof_margin"] for index in chosen], axis=0)
    calibrator = choose_calibrator(oof_margin, y, folds=best.calibration_folds, seed=best.seed)
    return _risk_model(
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
        candidate_inner_auc=[result["inner_auc"] for result in results],
        chosen=chosen,
        inner_rounds=[results[index]["rounds"] for index in chosen],
        bag=len(boosters),
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


def average_boosters(
    boosters: Sequence[xgb.Booster], weights: Sequence[float] | None = None
) -> xgb.Booster:
    """One booster whose margin is the (weighted) mean of ``boosters``' margins.

    Their trees, each leaf scaled by its booster's weight (default 1/k), are put in one model.
    Weights must be positive and sum to 1. The boosters must share their base score (they do
    when trained on the same rows with the same objective and class weight, or with the same
    explicit ``base_score``), so the bias is shared too. Per-feature contributions of the result
    are the same mean of the boosters' own.
    """
    if not boosters:
        raise ValueError("average_boosters needs at least one booster")
    if weights is None:
        weights = [1.0 / len(boosters)] * len(boosters)
    if len(weights) != len(boosters):
        raise ValueError(f"{len(boosters)} boosters to average but {len(weights)} weights")
    if min(weights) <= 0 or not np.isclose(sum(weights), 1.0):
        raise ValueError(f"averaging weights must be positive and sum to 1, got {list(weights)}")
    if len(boosters) == 1:
        return boosters[0]
    documents = [json.loads(bytes(booster.save_raw("json"))) for booster in boosters]
    base_scores = {doc["learner"]["learner_model_param"]["base_score"] for doc in documents}
    if len(base_scores) != 1:
        raise ValueError(f"boosters to average have different base scores: {base_scores}")
    trees = []
    for document, scale in zip(documents, weights, strict=True):
        for tree in document["learner"]["gradient_booster"]["model"]["trees"]:
            leaves = {i for i, left in enumerate(tree["left_children"]) if left == -1}
            tree["split_conditions"] = [
                value * scale if i in leaves else value
                for i, value in enumerate(tree["split_conditions"])
            ]
            tree["base_weights"] = [value * scale for value in tree["base_weights"]]
            tree["id"] = len(trees)
            trees.append(tree)
    merged = documents[0]
    model = merged["learner"]["gradient_booster"]["model"]
    model["trees"] = trees
    model["tree_info"] = [0] * len(trees)
    model["iteration_indptr"] = list(range(len(trees) + 1))
    model["gbtree_model_param"]["num_trees"] = str(len(trees))
    booster = xgb.Booster()
    booster.load_model(bytearray(json.dumps(merged).encode("utf-8")))
    return booster


def _risk_model(
    booster: xgb.Booster,
    calibrator: Calibrator,
    names: tuple[str, ...],
    monotone: Sequence[int],
    config: TrainConfig,
    params: Mapping[str, Any],
    y_train: np.ndarray,
    *,
    fitted_with: str,
    **details: Any,
) -> RiskModel:
    """The RiskModel with the metadata every fit records, then the fit's own ``details``."""
    return RiskModel(
        booster=booster,
        calibrator=calibrator,
        feature_names=names,
        metadata={
            "fitted_with": fitted_with,
            "config": config.model_dump(),
            "xgb_params": dict(params),
            "n_trees": booster.num_boosted_rounds(),
            "train_rows": len(y_train),
            "train_positives": int(y_train.sum()),
            **details,
            "monotone": _named_constraints(names, monotone),
        },
    )


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
        oof_margin[held_rows] = _margin(booster[:rounds], x[held_rows], names)
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


def _boost(
    params: Mapping[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    config: TrainConfig,
    names: tuple[str, ...],
    *,
    valid: tuple[np.ndarray, np.ndarray] | None = None,
    rounds: int | None = None,
) -> xgb.Booster:
    """Boost with early stopping on ``valid``, or for a fixed number of ``rounds``."""
    train_matrix = xgb.DMatrix(x, label=y, feature_names=list(names))
    if valid is None:
        return xgb.train(dict(params), train_matrix, num_boost_round=rounds or config.max_rounds)
    valid_matrix = xgb.DMatrix(valid[0], label=valid[1], feature_names=list(names))
    booster = xgb.train(
        dict(params),
        train_matrix,
        num_boost_round=config.max_rounds,
        evals=[(valid_matrix, "valid")],
        early_stopping_rounds=config.early_stopping_rounds,
        verbose_eval=False,
    )
    # Keep only the trees up to the best validation round: every later use sees the same model.
    return booster[: booster.best_iteration + 1]


def _margin(booster: xgb.Booster, x: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    matrix = xgb.DMatrix(x, feature_names=list(names))
    return booster.predict(matrix, output_margin=True).astype(np.float64)


def features_and_labels(
    frame: pl.DataFrame, names: tuple[str, ...], label_col: str, part: str
) -> tuple[np.ndarray, np.ndarray]:
    if label_col not in frame.columns:
        raise ValueError(f"{part}: label column {label_col!r} is missing")
    labels = frame.get_column(label_col)
    if labels.null_count():
        row = int(labels.is_null().arg_true()[0])
        raise ValueError(f"{part}: label column {label_col!r} is null at row {row}")
    y = labels.cast(pl.Int64).to_numpy()
    bad = np.flatnonzero((y != 0) & (y != 1))
    if len(bad):
        raise ValueError(
            f"{part}: label column {label_col!r} must be 0/1, row {int(bad[0])} is {y[bad[0]]}"
        )
    positives = int(y.sum())
    if positives == 0 or positives == len(y):
        raise ValueError(
            f"{part}: label column {label_col!r} has a single class "
            f"({positives} positives in {len(y)} rows); a classifier needs both"
        )
    return feature_matrix(frame, names), y


def _require_columns(present: Sequence[str], needed: Sequence[str]) -> None:
    missing = [name for name in needed if name not in set(present)]
    if missing:
        raise ValueError(f"feature columns missing from X: {missing[:10]}")


def _named_constraints(names: Sequence[str], monotone: Sequence[int]) -> dict[str, int]:
    return {name: m for name, m in zip(names, monotone, strict=True) if m}


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} into model metadata")
