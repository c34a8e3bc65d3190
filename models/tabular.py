"""EWS on any labelled feature table: one model per segment, honestly estimated.

The estimate comes from outer folds: out-of-time (expanding window) when the table has a time
column, stratified k-fold otherwise (grouped by entity when an id column is given, so no entity
sits on both sides). Everything EWS tunes -- which configurations of a small search space to
average, the number of trees (early stopping) and the calibration -- is decided inside each outer
training fold (inner cross-validation, or the latest part of the training period when there is
time), so no outer test row influences the model that scores it. Without a time column the
chosen configurations are averaged; with one, the best on the latest period is kept.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl
import xgboost as xgb
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from models.ensemble import fit_risk_model_cv, room_for_another
from models.evaluate import average_precision, brier_score, roc_auc
from models.train import RiskModel, TrainConfig, feature_matrix, fit_risk_model

ROW = "_row"  # 1-based data row of the table, carried through so errors and outputs can cite it
BIAS_COLUMN = "_bias"  # the SHAP bias (expected margin) next to the per-feature contributions
INNER_FOLDS = 5
# The latest share of a training period that stops and calibrates when folds are out of time.
INNER_VALID_SHARE = 0.2
# A small search space. The first entry is the common XGBoost starting point (depth 6, learning
# rate 0.1, no sampling, no class weights), so the tuner can always fall back on it; the other two
# learn slowly (learning rate 0.03) with row and column sampling, one with shallower trees and the
# rare class up-weighted. Early stopping on the inner folds picks the number of trees of each;
# the inner out-of-fold margins then pick which of them to average
# (models.ensemble.greedy_ensemble).
SEARCH_SPACE = (
    TrainConfig(
        max_depth=6,
        learning_rate=0.1,
        subsample=1.0,
        colsample_bytree=1.0,
        class_balance="none",
        max_rounds=2000,
        early_stopping_rounds=100,
    ),
    TrainConfig(
        max_depth=5,
        learning_rate=0.03,
        colsample_bytree=0.6,
        max_rounds=4000,
        early_stopping_rounds=200,
    ),
    TrainConfig(
        max_depth=6,
        learning_rate=0.03,
        subsample=0.8,
        colsample_bytree=0.8,
        class_balance="none",
        max_rounds=4000,
        early_stopping_rounds=200,
    ),
)
# Each chosen configuration is refitted this many times with different seeds (row and column
# samples) and the boosters averaged, which takes out most of one fit's sampling noise.
BAG = 5
# The reference every run is compared with, on the same outer folds: XGBoost's common starting
# point (300 trees, depth 6, learning rate 0.1, everything else xgboost's default).
REFERENCE_XGBOOST = {"n_estimators": 300, "max_depth": 6, "learning_rate": 0.1}
# Out-of-fold SHAP values are computed for at most this many rows of a segment (a seeded sample
# beyond it): enough for the summary plot and the mean |SHAP| ranking, at a bounded cost.
EXPLAIN_ROWS = 5000


# The order in which a budget keeps the search's configurations (positions in SEARCH_SPACE):
# first the depth-5 learner with column sampling and the rare class up-weighted, which inner
# cross-validation preferred in 14 of 20 outer folds of the development seeds 10-11
# (BENCHMARKS.md); then the default-like one, cheap (no sampling, so refitted once) and unlike
# it; the depth-6 sampler last.
BUDGET_PRIORITY = (1, 0, 2)


@dataclass(frozen=True)
class Search:
    """What ``fit_tuned`` searches: the candidate configurations, the inner folds that stop and
    choose them, how many bagged refits each sampling configuration gets, and the order in
    which a budget keeps the candidates (``priority``, positions in ``candidates``)."""

    name: str
    candidates: tuple[TrainConfig, ...]
    inner_folds: int = INNER_FOLDS
    bag: int = BAG
    priority: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if sorted(self.search_order) != list(range(len(self.candidates))):
            raise ValueError(
                f"search {self.name}: priority {self.priority} must order all "
                f"{len(self.candidates)} candidates"
            )

    @property
    def search_order(self) -> tuple[int, ...]:
        return self.priority or tuple(range(len(self.candidates)))

    def first(self, count: int) -> tuple[int, ...]:
        """The positions of the ``count`` candidates a budget keeps, in priority order."""
        if not 1 <= count <= len(self.candidates):
            raise ValueError(
                f"search {self.name} has {len(self.candidates)} candidates; cannot keep {count}"
            )
        return self.search_order[:count]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "candidates": len(self.candidates),
            "inner_folds": self.inner_folds,
            "bag": self.bag,
            "learning_rates": [c.learning_rate for c in self.candidates],
            "budget_priority": list(self.search_order),
        }


@dataclass(frozen=True)
class Budget:
    """How much of a search a segment's fits may use: ``candidates`` (the first so many of the
    search's priority order, every fit alike: deterministic) or ``seconds`` for the segment's
    EWS fits, which the first outer fold turns into that count (see ``train_segment``)."""

    seconds: float | None = None
    candidates: int | None = None

    def __post_init__(self) -> None:
        if self.seconds is not None and self.candidates is not None:
            raise ValueError("give a time budget or a number of candidates, not both")
        if self.seconds is not None and not (np.isfinite(self.seconds) and self.seconds > 0):
            raise ValueError(
                f"time budget must be a positive number of seconds, got {self.seconds}"
            )
        if self.candidates is not None and self.candidates < 1:
            raise ValueError(f"candidates must be at least 1, got {self.candidates}")


def _faster(config: TrainConfig, rate: float) -> TrainConfig:
    """``config`` learning at ``rate`` at least, its early-stopping patience scaled to match."""
    faster = max(config.learning_rate, rate)
    patience = max(20, round(config.early_stopping_rounds * config.learning_rate / faster))
    return config.model_copy(update={"learning_rate": faster, "early_stopping_rounds": patience})


FULL_SEARCH = Search("full", SEARCH_SPACE, priority=BUDGET_PRIORITY)
# The same search at learning rate 0.1: the slow learners (0.03) need about a third of the
# trees, and their early-stopping patience is scaled to cover the same learning. Inner folds and
# bagging stay: on the development seed, 3 inner folds or smaller bags lost half the gain or
# more, while the rate alone kept nearly all of it (BENCHMARKS.md).
QUICK_SEARCH = Search(
    "quick", tuple(_faster(config, 0.1) for config in SEARCH_SPACE), priority=BUDGET_PRIORITY
)
SEARCHES = {search.name: search for search in (FULL_SEARCH, QUICK_SEARCH)}


@dataclass(frozen=True)
class TableLayout:
    """What the user said about the table: its name (for messages) and its special columns."""

    name: str
    label: str
    segment: str | None = None
    id_col: str | None = None
    time_col: str | None = None

    @property
    def reserved(self) -> set[str]:
        return {c for c in (self.label, self.segment, self.id_col, self.time_col, ROW) if c}

    @property
    def scheme(self) -> str:
        if self.time_col:
            return "expanding_window_out_of_time"
        return "grouped_stratified_kfold" if self.id_col else "stratified_kfold"


@dataclass(frozen=True)
class SegmentResult:
    segment: Any
    features: tuple[str, ...]
    # One row per outer fold: fold, rows, positives, roc_auc, pr_auc, brier, chosen settings,
    # the reference's roc_auc, and both fitting times.
    folds: pl.DataFrame
    # Out-of-fold predictions: _row, label, fold, p (calibrated), margin, p_reference.
    predictions: pl.DataFrame
    # Fitted on every row of the segment with the same nested procedure: the model to use.
    model: RiskModel
    # Out-of-fold SHAP values of up to EXPLAIN_ROWS rows: _row, fold, one column per feature
    # and the bias (BIAS_COLUMN); each row's values add up to its out-of-fold margin.
    contributions: pl.DataFrame = field(default_factory=pl.DataFrame)
    # Seconds of EWS's outer-fold fits, the reference's, the final fit and the SHAP values: wall
    # time, and CPU time of this process (all threads) under "<step>_cpu", which is what a
    # comparison should read on a machine other work shares.
    seconds: dict[str, float] = field(default_factory=dict)
    # What every fit searched and whether a budget cut it (see train_segment).
    search_record: dict[str, Any] = field(default_factory=dict)

    @property
    def auc_mean(self) -> float:
        return float(np.nanmean(self.folds.get_column("roc_auc").to_numpy()))

    @property
    def auc_std(self) -> float:
        return float(np.nanstd(self.folds.get_column("roc_auc").to_numpy(), ddof=1))

    def against_reference(self) -> dict[str, Any]:
        """EWS against the reference XGBoost on the same outer folds: AUC gain and time ratio."""
        ews = self.folds.get_column("roc_auc").to_numpy()
        reference = self.folds.get_column("reference_roc_auc").to_numpy()
        gain = ews - reference
        ews_s = self.seconds["ews_outer_folds"]
        reference_s = self.seconds["reference_outer_folds"]
        ews_cpu = self.seconds["ews_outer_folds_cpu"]
        reference_cpu = self.seconds["reference_outer_folds_cpu"]
        return {
            "reference": dict(REFERENCE_XGBOOST),
            "reference_auc_mean": float(np.nanmean(reference)),
            "auc_gain_mean": float(np.nanmean(gain)),
            "auc_gain_std": float(np.nanstd(gain, ddof=1)) if len(gain) > 1 else None,
            "folds_won": int((gain > 0).sum()),
            "folds": len(gain),
            "ews_seconds": ews_s,
            "reference_seconds": reference_s,
            "time_ratio": ews_s / reference_s if reference_s > 0 else None,
            "ews_cpu_seconds": ews_cpu,
            "reference_cpu_seconds": reference_cpu,
            "cpu_ratio": ews_cpu / reference_cpu if reference_cpu > 0 else None,
        }


def prepare_table(frame: pl.DataFrame, layout: TableLayout) -> pl.DataFrame:
    """Check the special columns and normalise them: label to Int8 0/1, time to a sortable type.

    Adds ROW. Every error names the table, the column and, where one is to blame, the row.
    """
    for role, column in (
        ("label", layout.label),
        ("segment", layout.segment),
        ("id", layout.id_col),
        ("time", layout.time_col),
    ):
        if column and column not in frame.columns:
            raise ValueError(
                f"table {layout.name}: {role} column {column!r} not found; "
                f"columns are {frame.columns[:20]}"
            )
    if ROW in frame.columns:
        raise ValueError(f"table {layout.name}: column {ROW!r} is reserved for the row number")
    frame = frame.with_row_index(ROW, offset=1).with_columns(
        _binary_label(frame.get_column(layout.label), layout)
    )
    for column in (layout.segment, layout.time_col):
        if column:
            _require_no_nulls(frame, column, layout)
    if layout.time_col:
        frame = frame.with_columns(_sortable_time(frame.get_column(layout.time_col), layout))
    return frame


def segment_values(frame: pl.DataFrame, layout: TableLayout) -> list[Any]:
    if layout.segment is None:
        return [None]
    return frame.get_column(layout.segment).unique().sort().to_list()


def segment_frame(frame: pl.DataFrame, layout: TableLayout, value: Any) -> pl.DataFrame:
    """The rows of one segment (all rows without a segment column); both classes required."""
    rows = frame if layout.segment is None else frame.filter(pl.col(layout.segment) == value)
    positives = int(rows.get_column(layout.label).sum())
    if positives == 0 or positives == rows.height:
        where = "" if layout.segment is None else f" segment {layout.segment}={value!r}:"
        raise ValueError(
            f"table {layout.name}:{where} label column {layout.label!r} has a single class "
            f"({positives} positives in {rows.height} rows); a classifier needs both"
        )
    return rows


def outer_folds(
    frame: pl.DataFrame, layout: TableLayout, folds: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train positions, test positions) of each outer fold of ``frame``."""
    if folds < 2:
        raise ValueError(f"table {layout.name}: need at least 2 folds, got {folds}")
    y = frame.get_column(layout.label).to_numpy()
    if layout.time_col:
        return _expanding_window(frame.get_column(layout.time_col).to_numpy(), folds, layout)
    positives = int(y.sum())
    if min(positives, len(y) - positives) < folds:
        raise ValueError(
            f"table {layout.name}: {folds}-fold cross-validation needs at least {folds} rows of "
            f"each class in column {layout.label!r}; found {positives} positives in {len(y)} rows"
        )
    placeholder = np.zeros((len(y), 1))
    if layout.id_col:
        groups = frame.get_column(layout.id_col).to_numpy()
        grouped = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
        return list(grouped.split(placeholder, y, groups))
    return list(
        StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(placeholder, y)
    )


def fit_tuned(
    train: pl.DataFrame,
    features: Sequence[str],
    layout: TableLayout,
    seed: int,
    search: Search = FULL_SEARCH,
    nthread: int | None = None,
    *,
    keep: int | None = None,
    seconds: float | None = None,
) -> RiskModel:
    """EWS's whole fitting procedure on one training set, touching no other rows.

    ``nthread`` (when given) replaces the candidates' xgboost thread count. ``keep`` searches
    only the first so many candidates of the search's priority order; ``seconds`` starts a
    candidate after the first only while the fit is expected to end within that many seconds
    (``models.ensemble.room_for_another``). The metadata's ``searched`` lists the candidates
    that were, ``chosen`` the averaged ones (positions in ``search.candidates``).
    """
    threads = {} if nthread is None else {"nthread": nthread}
    candidates = [
        config.model_copy(update={"seed": seed, **threads}) for config in search.candidates
    ]
    order = search.search_order if keep is None else search.first(keep)
    if keep is None and seconds is None:
        order = tuple(range(len(candidates)))  # no budget: all, in the search space's order
    if layout.time_col is None:
        groups = train.get_column(layout.id_col).to_numpy() if layout.id_col else None
        return fit_risk_model_cv(
            train,
            features,
            layout.label,
            candidates=candidates,
            folds=search.inner_folds,
            groups=groups,
            seed=seed,
            bag=search.bag,
            search_order=order,
            seconds=seconds,
        )
    inner_train, inner_valid = _latest_share(train, layout)
    fitted: dict[int, RiskModel] = {}
    started = time.perf_counter()
    for position in order:
        spent = time.perf_counter() - started
        if fitted and seconds is not None and not room_for_another(spent, len(fitted), seconds, 0):
            break
        fitted[position] = fit_risk_model(
            inner_train, inner_valid, features, layout.label, config=candidates[position]
        )
    searched = sorted(fitted)
    scores = [np.nan_to_num(fitted[p].metadata["valid_auc"], nan=-1.0) for p in searched]
    best = searched[int(np.argmax(scores))]
    return replace(
        fitted[best], metadata={**fitted[best].metadata, "chosen": [best], "searched": searched}
    )


def fit_reference(
    train: pl.DataFrame, features: Sequence[str], layout: TableLayout, seed: int, nthread: int
) -> xgb.XGBClassifier:
    """The reference XGBoost (REFERENCE_XGBOOST) on the same training rows."""
    model = xgb.XGBClassifier(**REFERENCE_XGBOOST, n_jobs=nthread, random_state=seed)
    return model.fit(feature_matrix(train, features), train.get_column(layout.label).to_numpy())


def explained_rows(rows: pl.DataFrame, seed: int, limit: int = EXPLAIN_ROWS) -> set[int]:
    """The ROW numbers whose out-of-fold SHAP values are kept: all, or a seeded sample."""
    numbers = rows.get_column(ROW)
    if numbers.len() <= limit:
        return set(numbers.to_list())
    return set(numbers.sample(limit, seed=seed).to_list())


def train_segment(
    rows: pl.DataFrame,
    features: Sequence[str],
    layout: TableLayout,
    *,
    folds: int,
    seed: int,
    search: Search = FULL_SEARCH,
    nthread: int | None = None,
    explain_limit: int = EXPLAIN_ROWS,
    budget: Budget | None = None,
) -> SegmentResult:
    """Outer-fold estimate of the nested procedure against the reference XGBoost on the same
    folds, out-of-fold SHAP values, then the procedure on all rows (the model to use).

    A ``budget`` limits the search the same way in every fit, so the estimate is of the very
    procedure that fits the final model. ``Budget(candidates=n)`` keeps the first n candidates
    of the search's priority order. ``Budget(seconds=s)`` (the segment's EWS fits, outer folds
    and final model) gives the first outer fold its share of s, in proportion to its training
    rows; that fold searches candidates in priority order while they fit in its share, and the
    number it searched is kept for every other fit. Only that number depends on the machine's
    speed; it is recorded (``search_record``) and ``Budget(candidates=n)`` repeats the run
    exactly.
    """
    fold_rows, predictions, contributions = [], [], []
    clock = _Clock()
    explained = explained_rows(rows, seed, explain_limit)
    splits = outer_folds(rows, layout, folds, seed)
    budget = budget or Budget()
    keep = None if budget.candidates is None else len(search.first(budget.candidates))
    record = _budget_record(search, budget)
    for number, (train_at, test_at) in enumerate(splits, start=1):
        train, test = rows[train_at], rows[test_at]
        with clock.timing("ews_outer_folds"):
            if budget.seconds is not None and number == 1:
                fitted_rows = sum(len(at) for at, _ in splits) + rows.height
                share = budget.seconds * train.height / fitted_rows
                started = time.perf_counter()
                model = fit_tuned(train, features, layout, seed, search, nthread, seconds=share)
                keep = len(model.metadata["searched"])
                record |= {
                    "first_fold_share_seconds": share,
                    "first_fold_seconds": round(time.perf_counter() - started, 3),
                }
            else:
                model = fit_tuned(train, features, layout, seed, search, nthread, keep=keep)
        _check_searched(model, search, keep)
        with clock.timing("reference_outer_folds"):
            reference = fit_reference(train, features, layout, seed, nthread or 2)
        margin = model.margin(test)
        p = model.calibrator(margin)
        p_reference = reference.predict_proba(feature_matrix(test, features))[:, 1]
        y = test.get_column(layout.label).to_numpy()
        fold_rows.append(
            {
                "fold": number,
                "train_rows": train.height,
                "test_rows": test.height,
                "test_positives": int(y.sum()),
                "roc_auc": roc_auc(y, p),
                "pr_auc": average_precision(y, p),
                "brier": brier_score(y, p),
                "reference_roc_auc": roc_auc(y, p_reference),
                "n_trees": model.metadata["n_trees"],
                "bag": model.metadata.get("bag", 1),
                # Search-space positions of the averaged configurations, best first ("1+2").
                "configurations": "+".join(str(i) for i in model.metadata["chosen"]),
                "max_depth": model.metadata["config"]["max_depth"],
                "class_balance": model.metadata["config"]["class_balance"],
                "calibration": model.calibrator.method,
            }
        )
        predictions.append(
            test.select(ROW, layout.label).with_columns(
                pl.lit(number, pl.Int32).alias("fold"),
                pl.Series("p", p),
                pl.Series("margin", margin),
                pl.Series("p_reference", p_reference.astype(np.float64)),
            )
        )
        with clock.timing("explanations"):
            shown = test.filter(pl.col(ROW).is_in(list(explained)))
            if shown.height:
                contributions.append(_contribution_frame(model, shown, features, number))
    with clock.timing("final_model"):
        final = fit_tuned(rows, features, layout, seed, search, nthread, keep=keep)
    _check_searched(final, search, keep)
    seconds = clock.seconds()
    return SegmentResult(
        segment=None if layout.segment is None else rows.get_column(layout.segment)[0],
        features=tuple(features),
        folds=pl.DataFrame(fold_rows),
        predictions=pl.concat(predictions).sort(ROW),
        model=final,
        contributions=pl.concat(contributions).sort(ROW) if contributions else pl.DataFrame(),
        seconds=seconds,
        search_record=_searched_record(record, search, keep, seconds),
    )


def _budget_record(search: Search, budget: Budget) -> dict[str, Any]:
    return {
        "search": search.name,
        "time_budget_seconds": budget.seconds,
        "candidates_budget": budget.candidates,
    }


def _searched_record(
    record: dict[str, Any], search: Search, keep: int | None, seconds: dict[str, float]
) -> dict[str, Any]:
    """What a segment's fits searched, whether a budget cut it, and how to repeat it."""
    count = len(search.candidates)
    kept = count if keep is None else keep
    searched = sorted(search.search_order[:kept]) if keep is not None else list(range(count))
    spent = seconds.get("ews_outer_folds", 0.0) + seconds.get("final_model", 0.0)
    budgeted = record["time_budget_seconds"] is not None or record["candidates_budget"] is not None
    return record | {
        "candidates_searched": searched,
        "candidates_skipped": [p for p in range(count) if p not in searched],
        "cut_by_budget": kept < count,
        "ews_fit_seconds": round(spent, 3),
        "over_time_budget": (
            spent > record["time_budget_seconds"]
            if record["time_budget_seconds"] is not None
            else None
        ),
        # The same search without the clock: every fit searches these candidates again.
        "repeat_with": f"--search {search.name} --candidates {kept}" if budgeted else None,
    }


def _check_searched(model: RiskModel, search: Search, keep: int | None) -> None:
    """Every fit of a segment searched the same candidates (the estimate is of the procedure
    that fits the final model)."""
    wanted = list(range(len(search.candidates))) if keep is None else sorted(search.first(keep))
    if list(model.metadata["searched"]) != wanted:
        raise RuntimeError(f"a fit searched {model.metadata['searched']}, not {wanted}")


class _Clock:
    """Wall and CPU seconds (this process, all threads) spent in named steps."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)

    @contextmanager
    def timing(self, step: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall[step] += time.perf_counter() - wall
            self.cpu[step] += time.process_time() - cpu

    def seconds(self) -> dict[str, float]:
        return {step: round(self.wall[step], 3) for step in self.wall} | {
            f"{step}_cpu": round(self.cpu[step], 3) for step in self.cpu
        }


def _contribution_frame(
    model: RiskModel, rows: pl.DataFrame, features: Sequence[str], fold: int
) -> pl.DataFrame:
    values = model.contributions(rows)  # raises AdditivityError if they miss the margin
    return pl.DataFrame(
        {
            ROW: rows.get_column(ROW),
            "fold": pl.Series([fold] * rows.height, dtype=pl.Int32),
            **{name: values[:, j] for j, name in enumerate(features)},
            BIAS_COLUMN: values[:, -1],
        }
    )


def _expanding_window(
    times: np.ndarray, folds: int, layout: TableLayout
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Cut time into folds + 1 consecutive blocks of about equal rows; fold i trains on the
    blocks before i and tests on block i. Rows sharing a time value always share a block."""
    distinct, inverse, counts = np.unique(times, return_inverse=True, return_counts=True)
    if len(distinct) < folds + 1:
        raise ValueError(
            f"table {layout.name}: time column {layout.time_col!r} has {len(distinct)} distinct "
            f"values; {folds} out-of-time folds need at least {folds + 1}"
        )
    block_of_time = np.empty(len(distinct), dtype=np.int64)
    block, rows_before = 0, 0
    for position, count in enumerate(counts):
        wanted = min(rows_before * (folds + 1) // len(times), folds)
        times_left = len(distinct) - position - 1
        # Advance one block at a time, and early enough that every later block gets a time value.
        if position > 0 and (wanted > block or times_left < folds - block):
            block += 1
        block_of_time[position] = block
        rows_before += int(count)
    block = block_of_time[inverse.reshape(-1)]
    return [
        (np.flatnonzero(block < number), np.flatnonzero(block == number))
        for number in range(1, folds + 1)
    ]


def _latest_share(train: pl.DataFrame, layout: TableLayout) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split a training period into earlier rows (fit) and the latest ~20 % (stop, calibrate)."""
    times = train.get_column(layout.time_col)
    distinct = times.unique().sort()
    counts = train.group_by(layout.time_col).len().sort(layout.time_col).get_column("len")
    later_rows = counts.to_numpy()[::-1].cumsum()[::-1]
    eligible = np.flatnonzero(later_rows <= INNER_VALID_SHARE * train.height)
    first_valid = distinct[int(eligible[0]) if len(eligible) else len(distinct) - 1]
    if first_valid == distinct[0]:
        raise ValueError(
            f"table {layout.name}: a training period has one time value; cannot hold out a "
            "later part for early stopping"
        )
    earlier = train.filter(pl.col(layout.time_col) < first_valid)
    latest = train.filter(pl.col(layout.time_col) >= first_valid)
    for part, rows in (("earlier", earlier), ("latest", latest)):
        positives = int(rows.get_column(layout.label).sum())
        if positives in (0, rows.height):
            raise ValueError(
                f"table {layout.name}: the {part} part of a training period (time column "
                f"{layout.time_col!r} {'<' if part == 'earlier' else '>='} {first_valid}) has "
                f"a single class in {layout.label!r} ({positives} positives in {rows.height} "
                "rows); use fewer folds"
            )
    return earlier, latest


def _binary_label(labels: pl.Series, layout: TableLayout) -> pl.Series:
    where = f"table {layout.name}: label column {layout.label!r}"
    if labels.null_count():
        row = int(labels.is_null().arg_true()[0]) + 1
        raise ValueError(f"{where} is empty at row {row}")
    if labels.dtype == pl.Boolean:
        return labels.cast(pl.Int8)
    if labels.dtype == pl.String:
        text = labels.str.strip_chars().str.to_lowercase()
        mapped = text.replace_strict({"0": 0, "1": 1, "false": 0, "true": 1}, default=None)
        bad = mapped.is_null()
    elif labels.dtype.is_numeric():
        mapped = labels
        bad = ~labels.is_in([0, 1])
    else:
        raise ValueError(f"{where} has type {labels.dtype}; expected 0/1, true/false")
    if bad.any():
        row = int(bad.arg_true()[0])
        found = labels.unique().sort().head(6).to_list()
        raise ValueError(
            f"{where} must be binary (0/1): row {row + 1} has {labels[row]!r} "
            f"(values include {found})"
        )
    return mapped.cast(pl.Int8).alias(layout.label)


def _require_no_nulls(frame: pl.DataFrame, column: str, layout: TableLayout) -> None:
    values = frame.get_column(column)
    if values.null_count():
        row = int(values.is_null().arg_true()[0]) + 1
        raise ValueError(f"table {layout.name}: column {column!r} is empty at row {row}")


def _sortable_time(times: pl.Series, layout: TableLayout) -> pl.Series:
    if times.dtype.is_numeric() or times.dtype.is_temporal():
        return times
    if times.dtype == pl.String:
        parsed = times.str.to_datetime(strict=False)
        if parsed.null_count() == 0:
            return parsed
        row = int(parsed.is_null().arg_true()[0])
        raise ValueError(
            f"table {layout.name}: time column {layout.time_col!r} row {row + 1} "
            f"({times[row]!r}) is not a date or a number"
        )
    raise ValueError(
        f"table {layout.name}: time column {layout.time_col!r} has type {times.dtype}; "
        "expected a number, a date or a datetime"
    )
