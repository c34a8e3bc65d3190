"""The generic benchmark: a default-configured xgboost on features any source contract yields.

Issue 22 holds each industry's model to a *generic* model on the same rows: what a competent
analyst would get with no knowledge of the sources beyond their contracts. Its features are
derived from each contract alone, the same for every source of a kind:

* an event source: the firm's events in the last 365 days (``<source>_365d``);
* a monthly panel: the share of its last six months with arrears in each arrears column
  (``<source>_<column>_share``) and each measure's mean over the last six months against the six
  before (``<source>_<column>_trend``);
* linked firms: links whose firm is no longer in its first (active) status (``<source>_closed``).

A row counts only once it had arrived by the as-of date. The kinds and the measure and arrears
columns are read from each contract's simulation block (``generator``, column ``sim.role``), so
the benchmark applies to parks simulated from the contracts. The model is one booster per
industry with fixed settings (``GENERIC_PARAMS``): no tuning, no constraints, no class weight,
no calibration. Pure: contracts and frames in, frames and scores out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import polars as pl
import xgboost as xgb

from data_contracts.schema import SourceContract

KEYS = ("uscc", "as_of")
EVENT_DAYS = 365
RECENT_DAYS, OLDER_DAYS = 190, 380  # six months, and the six before
# Fixed settings of the generic booster (benchmarks/simulate_signal.py first used them).
GENERIC_PARAMS = {
    "n_estimators": 300,
    "max_depth": 4,
    "learning_rate": 0.05,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
}


def source_features(
    contract: SourceContract, frame: pl.DataFrame, keys: pl.DataFrame
) -> pl.DataFrame | None:
    """Generic point-in-time features of one source on the ``keys`` grid (uscc, as_of), one row
    per grid row that has any; None for a kind of source that yields none."""
    kind = contract.simulation.generator if contract.simulation else None
    when, arrived = contract.event_time, contract.arrival_time
    if kind not in ("events", "linked_firms", "monthly_panel") or when is None or arrived is None:
        return None
    frame = frame.with_columns(pl.col(arrived).cast(pl.Date).alias("_arrived"))
    joined = keys.join(frame, on="uscc", how="inner").filter(pl.col("_arrived") <= pl.col("as_of"))
    sid = contract.id
    if kind == "events":
        age = (pl.col("as_of") - pl.col(when).cast(pl.Date)).dt.total_days()
        recent = joined.filter((age >= 0) & (age < EVENT_DAYS))
        return recent.group_by(KEYS).agg(pl.len().cast(pl.Int32).alias(f"{sid}_365d"))
    if kind == "linked_firms":
        return _closed_links(contract, joined)
    return _panel(contract, joined)


def _closed_links(contract: SourceContract, joined: pl.DataFrame) -> pl.DataFrame | None:
    status = next(
        (
            c.name
            for c in contract.columns
            if c.name in contract.unique_key and c.sim and c.sim.role == "category"
        ),
        None,
    )
    if status is None:
        return None
    first = contract.column(status).allowed[0]
    closed = joined.filter(pl.col(status) != first)
    return closed.group_by(KEYS).agg(pl.len().cast(pl.Int32).alias(f"{contract.id}_closed"))


def _panel(contract: SourceContract, joined: pl.DataFrame) -> pl.DataFrame | None:
    when, sid = contract.event_time, contract.id
    age = (pl.col("as_of") - pl.col(when).cast(pl.Date)).dt.total_days()
    recent = joined.filter((age >= 0) & (age < RECENT_DAYS))
    older = joined.filter((age >= RECENT_DAYS) & (age < OLDER_DAYS))
    roles = {c.name: c.sim.role for c in contract.columns if c.sim}
    arrears = [name for name, role in roles.items() if role == "arrears"]
    measures = [name for name, role in roles.items() if role == "measure"]
    if not arrears and not measures:
        return None
    out = recent.group_by(KEYS).agg(
        *[(pl.col(c) > 0).mean().alias(f"{sid}_{c}_share") for c in arrears],
        *[pl.col(c).mean().alias(f"_{c}_recent") for c in measures],
    )
    if not measures:
        return out
    before = older.group_by(KEYS).agg(pl.col(c).mean().alias(f"_{c}_older") for c in measures)
    return (
        out.join(before, on=KEYS, how="left")
        .with_columns(
            (pl.col(f"_{c}_recent") / pl.col(f"_{c}_older")).alias(f"{sid}_{c}_trend")
            for c in measures
        )
        .select(pl.exclude("^_.*$"))
    )


def generic_table(
    keys: pl.DataFrame,
    sources: Iterable[tuple[SourceContract, pl.DataFrame]],
) -> pl.DataFrame:
    """Every source's generic features joined onto ``keys`` (uscc, as_of and any other columns,
    in their order): a source with no row on a firm by a date leaves its features null."""
    table = keys
    for contract, frame in sources:
        part = source_features(contract, frame, keys.select(KEYS))
        if part is not None:
            table = table.join(part, on=KEYS, how="left", maintain_order="left")
    return table


def feature_matrix(table: pl.DataFrame, features: Sequence[str]) -> np.ndarray:
    values = table.select(features).cast(pl.Float64).to_numpy(writable=True)
    values[~np.isfinite(values)] = np.nan  # a trend over a zero base is unknown, not infinite
    return values


def fit_generic(
    table: pl.DataFrame,
    features: Sequence[str],
    labels: np.ndarray,
    *,
    seed: int,
    n_jobs: int = 2,
    params: Mapping[str, object] = GENERIC_PARAMS,
) -> xgb.XGBClassifier:
    """The generic booster, fitted on ``table``'s rows of ``features``."""
    if len(labels) != table.height:
        raise ValueError(f"{len(labels)} labels for {table.height} rows")
    if not 0 < int(np.sum(labels)) < len(labels):
        raise ValueError("the generic benchmark needs both classes among its training rows")
    model = xgb.XGBClassifier(**params, n_jobs=n_jobs, random_state=seed)
    model.fit(feature_matrix(table, features), labels)
    return model


def generic_scores(
    model: xgb.XGBClassifier, table: pl.DataFrame, features: Sequence[str]
) -> np.ndarray:
    return model.predict_proba(feature_matrix(table, features))[:, 1]
