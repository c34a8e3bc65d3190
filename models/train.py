"""The EWS risk model: a gradient-boosted classifier with a calibrated probability.

``fit_risk_model`` trains on one period and uses a later, held-out period for early stopping and
for choosing the calibration (``models.ensemble.fit_risk_model_cv`` does the same with inner
cross-validation and an ensemble of configurations). Either way the result is a ``RiskModel``:
an xgboost Booster, a calibrator and the ordered feature names, serialisable to bytes without
pickle.
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

from models.averaging import average_boosters
from models.calibrate import Calibrator, choose_calibrator
from models.evaluate import roc_auc

FORMAT = "ews-risk-model"
FORMAT_VERSION = 1
KIND = "gradient_boosting"
DIRECTIONS = {"up": 1, "down": -1, "none": 0}
# Contributions are float32; a sum over ~100 of them carries about this much rounding.
ADDITIVITY_TOLERANCE = 1e-4
# metadata key: inputs whose value the model fixes for every row it scores ({name: value}),
# e.g. a pooled model's industry indicators (models.pooled); a frame need not carry them.
FIXED_INPUTS = "fixed_inputs"

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
    # The validation metric boosting stops on (xgboost's eval_metric): auc, or aucpr and logloss,
    # which weigh the few positives differently (BENCHMARKS.md, "Early stopping, constraints,
    # purge, history and horizon").
    stopping_metric: Literal["auc", "aucpr", "logloss"] = "auc"
    # Positive-class weight: none = 1, sqrt = sqrt(neg/pos), full = neg/pos. The calibrator
    # undoes the resulting shift in probabilities; the weight only changes what the trees learn.
    class_balance: Literal["none", "sqrt", "full"] = "sqrt"
    calibration_folds: int = Field(default=5, ge=2)
    nthread: int = Field(default=2, ge=1)
    seed: int = 0
    # Boosters averaged over the consecutive seeds seed, seed + 1, ...: each trained on the same
    # rows and early-stopped on the same rows, merged into one booster whose margin is their mean,
    # so the list depends less on one seed's row and column samples.
    seeds: int = Field(default=1, ge=1, strict=True)

    def seed_sequence(self) -> list[int]:
        """The training seed of each averaged booster."""
        return list(range(self.seed, self.seed + self.seeds))


@dataclass(frozen=True, eq=False)
class RiskModel:
    booster: xgb.Booster
    calibrator: Calibrator
    feature_names: tuple[str, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)

    kind = KIND

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
            feature_matrix(X, self.feature_names, fixed_inputs(self)),
            feature_names=list(self.feature_names),
        )


def fixed_inputs(model_like: Any) -> dict[str, float]:
    """The inputs ``model_like`` fixes for every row it scores (metadata ``fixed_inputs``)."""
    metadata = getattr(model_like, "metadata", None) or {}
    return {name: float(value) for name, value in (metadata.get(FIXED_INPUTS) or {}).items()}


def frame_inputs(model_like: Any) -> tuple[str, ...]:
    """The features a scored frame must carry: ``feature_names`` less the fixed inputs. These
    are the firm's evidence (reasons, plots); a fixed input says only which model scores it."""
    fixed = fixed_inputs(model_like)
    return tuple(name for name in model_like.feature_names if name not in fixed)


def feature_matrix(
    X: Matrix, feature_names: Sequence[str], fixed: Mapping[str, float] | None = None
) -> np.ndarray:
    """X as a float64 array with columns in ``feature_names`` order; null becomes NaN.

    ``fixed`` inputs absent from a frame take their fixed value; a frame that carries one must
    hold exactly that value on every row (a finance model never scores a firm marked otherwise).
    """
    names = list(feature_names)
    fixed = dict(fixed or {})
    if isinstance(X, pl.DataFrame):
        _check_fixed(X, fixed)
        _require_columns([*X.columns, *fixed], names)
        return X.select(
            (pl.col(name) if name in X.columns else pl.lit(fixed[name]))
            .cast(pl.Float64)
            .alias(name)
            for name in names
        ).to_numpy()
    if isinstance(X, pd.DataFrame):
        if fixed:
            return feature_matrix(pl.from_pandas(X), names, fixed)
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
        "eval_metric": config.stopping_metric,
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
    (default: ``valid``), a later period too, whose event rate the probabilities should match.

    With ``config.seeds`` > 1, one booster per seed of ``config.seed_sequence()`` is trained and
    early-stopped this way and they are averaged into one booster (``models.averaging``); the
    validation AUC and the calibrator are those of the averaged margin. The metadata records
    each booster's seed (``seeds``) and rounds (``seed_rounds``)."""
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
    members = [
        boost({**params, "seed": seed}, x_train, y_train, config, names, valid=(x_valid, y_valid))
        for seed in config.seed_sequence()
    ]
    # One seed: that booster itself (``average_boosters`` returns a lone booster unchanged).
    booster = average_boosters(members)
    booster.set_param({"nthread": config.nthread})
    valid_margin = booster_margin(booster, x_valid, names)
    calibration_margin = (
        valid_margin if calibration is None else booster_margin(booster, x_calib, names)
    )
    calibrator = choose_calibrator(
        calibration_margin, y_calib, folds=config.calibration_folds, seed=config.seed
    )
    return assemble_risk_model(
        booster,
        calibrator,
        names,
        monotone,
        config,
        params,
        y_train,
        fitted_with="holdout",
        seeds=config.seed_sequence(),
        seed_rounds=[member.num_boosted_rounds() for member in members],
        valid_rows=len(y_valid),
        valid_positives=int(y_valid.sum()),
        valid_auc=roc_auc(y_valid, valid_margin),
        calibration_rows=len(y_calib),
        calibration_positives=int(y_calib.sum()),
    )


def assemble_risk_model(
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


def boost(
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


def booster_margin(booster: xgb.Booster, x: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
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


def _check_fixed(frame: pl.DataFrame, fixed: Mapping[str, float]) -> None:
    for name, value in fixed.items():
        if name not in frame.columns:
            continue
        column = frame.get_column(name).cast(pl.Float64)
        wrong = (column != value).fill_null(True)
        if wrong.any():
            row = int(wrong.arg_true()[0])
            raise ValueError(
                f"column {name!r} is {column[row]} at row {row}, but this model fixes it at "
                f"{value:g} (it scores only rows of that value; leave the column out)"
            )


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
