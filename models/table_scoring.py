"""Scoring a new table with a train-table run's models: checks, scores, ranks, SHAP, reasons.

Pure. ``conform`` holds the new table against the training table's column plan: a missing input
column or an input whose type changed so that its values cannot be read the same way is an
error (``ScoringError``, naming the column and a row); categories never seen in training, values
outside the training range and much emptier columns are warnings. ``score_segment`` gives each
row its margin (log-odds), calibrated probability and exact SHAP contributions, checked to add
up to the margin; ``top_reasons`` words the largest contributions that raised a row's risk;
``rank_scores`` ranks with a total order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from models.categorical import OTHER
from models.table_columns import ColumnPlan, FeatureColumn
from models.tabular import ROW
from models.train import ADDITIVITY_TOLERANCE, AdditivityError, RiskModel

# Warn when more than this share of a numeric input's values lie outside the training range,
# or when an input is this much (absolute share) emptier than in training.
OUT_OF_RANGE_SHARE = 0.01
EMPTIER_BY = 0.2
SHOWN = 5
MARGIN = "score"
PROBABILITY = "probability"
BASE = "_bias"
TIE_BREAK = (
    "rank: probability (highest first), then the model's margin (score), then the table row; "
    "segment_rank: the segment model's margin, then the table row"
)


class ScoringError(ValueError):
    """A table the models cannot score as it is (names the table, the column and a row)."""


@dataclass(frozen=True)
class Conformed:
    """The model inputs of a new table (encoded, with ROW) and what the checks found."""

    inputs: pl.DataFrame
    warnings: tuple[str, ...]


def conform(frame: pl.DataFrame, plan: ColumnPlan, table: str) -> Conformed:
    """Check the table against the training plan and encode it; ``frame`` must carry ROW."""
    missing = [f.name for f in plan.features if f.name not in frame.columns]
    if missing:
        shown = ", ".join(repr(name) for name in missing[:10])
        raise ScoringError(
            f"table {table}: {len(missing)} model input column(s) missing: {shown}"
            f"{' ...' if len(missing) > 10 else ''} (add them, empty if truly unknown)"
        )
    warnings: list[str] = []
    columns = [frame.get_column(ROW)]
    for feature in plan.features:
        values, notes = _conform_column(frame, feature, table)
        columns.append(values)
        warnings += notes
    typed = pl.DataFrame(columns)
    encoded = plan.encode(typed)
    return Conformed(inputs=encoded, warnings=tuple(warnings))


def _conform_column(
    frame: pl.DataFrame, feature: FeatureColumn, table: str
) -> tuple[pl.Series, list[str]]:
    values = frame.get_column(feature.name)
    dtype = values.dtype
    notes: list[str] = []
    if feature.kind == "categorical":
        if dtype.is_temporal():
            raise ScoringError(_drift(table, feature, values, "dates"))
        if dtype != pl.String:
            notes.append(
                f"column {feature.name!r} was text in training and is {dtype} here: its values "
                "are compared with the training categories as text"
            )
            values = _as_text(values)
        unseen = feature.encoding.unseen(values) if feature.encoding else {}
        if unseen:
            shown = ", ".join(f"{k!r} ({v} rows)" for k, v in list(unseen.items())[:SHOWN])
            notes.append(
                f"column {feature.name!r}: {sum(unseen.values())} row(s) hold "
                f"{len(unseen)} categor{'y' if len(unseen) == 1 else 'ies'} without a code of "
                f"its own in training ({shown}{', ...' if len(unseen) > SHOWN else ''}); "
                f"scored as {OTHER}"
            )
        notes += _emptier(values, feature)
        return values, notes
    if dtype == pl.Boolean:
        values = values.cast(pl.Int8)
    elif dtype == pl.Null:
        values = values.cast(pl.Float64)
    elif not dtype.is_numeric():
        raise ScoringError(_drift(table, feature, values, str(dtype)))
    if feature.kind == "boolean":
        bad = values.is_not_null() & ~values.is_in([0, 1])
        if bad.any():
            row = int(bad.arg_true()[0])
            raise ScoringError(
                f"table {table}: column {feature.name!r} was true/false in training; row "
                f"{frame.get_column(ROW)[row]} holds {values[row]!r}"
            )
    numbers = values.cast(pl.Float64)
    notes += _out_of_range(numbers, feature)
    notes += _emptier(numbers, feature)
    return numbers, notes


def _drift(table: str, feature: FeatureColumn, values: pl.Series, found: str) -> str:
    present = values.drop_nulls()
    example = f" (first value {present[0]!r})" if present.len() else ""
    expected = "text" if feature.kind == "categorical" else f"{feature.kind} ({feature.dtype})"
    hint = "" if feature.kind == "categorical" else "; check --decimal and --separator"
    return (
        f"table {table}: column {feature.name!r} was {expected} in training but holds "
        f"{found} here{example}{hint}"
    )


def _as_text(values: pl.Series) -> pl.Series:
    if values.dtype.is_float() and bool(
        (values.drop_nulls() == values.drop_nulls().round(0)).all()
    ):
        values = values.cast(pl.Int64)
    return values.cast(pl.String)


def _out_of_range(numbers: pl.Series, feature: FeatureColumn) -> list[str]:
    if feature.low is None or feature.high is None:
        return []
    present = numbers.drop_nulls()
    present = present.filter(present.is_not_nan())
    if present.len() == 0:
        return []
    outside = int(((present < feature.low) | (present > feature.high)).sum())
    if outside <= OUT_OF_RANGE_SHARE * present.len():
        return []
    return [
        f"column {feature.name!r}: {outside} of {present.len()} values lie outside the training "
        f"range [{feature.low:g}, {feature.high:g}]; the trees treat them as the nearest "
        "training values"
    ]


def _emptier(values: pl.Series, feature: FeatureColumn) -> list[str]:
    empty = values.null_count() + (int(values.is_nan().sum()) if values.dtype.is_float() else 0)
    share = empty / max(values.len(), 1)
    if share - feature.missing_share < EMPTIER_BY:
        return []
    return [
        f"column {feature.name!r} is {share:.0%} empty here against {feature.missing_share:.0%} "
        "in training"
    ]


def score_segment(model: RiskModel, inputs: pl.DataFrame) -> pl.DataFrame:
    """ROW, score (margin), probability, one column per input's SHAP value and the bias.

    The contributions come from xgboost's exact TreeSHAP; every row's sum (bias included) is
    checked against its margin and an AdditivityError names the row that misses.
    """
    names = list(model.feature_names)
    contributions = model.contributions(inputs)
    margin = model.margin(inputs)
    rows = inputs.get_column(ROW)
    check_additivity(contributions, margin, rows.to_list())
    return pl.DataFrame(
        {
            ROW: rows,
            MARGIN: margin,
            PROBABILITY: model.calibrator(margin),
            **{name: contributions[:, j] for j, name in enumerate(names)},
            BASE: contributions[:, -1],
        }
    )


def check_additivity(contributions: np.ndarray, margin: np.ndarray, rows: Sequence[int]) -> None:
    """Each row's contributions (bias included) sum to its margin, else name the row."""
    gap = np.abs(contributions.sum(axis=1) - margin)
    if len(gap) and not np.all(gap <= ADDITIVITY_TOLERANCE):
        worst = int(np.nanargmax(np.where(np.isfinite(gap), gap, np.inf)))
        raise AdditivityError(
            f"row {rows[worst]}: contributions sum to {contributions[worst].sum():.6f} but the "
            f"margin is {margin[worst]:.6f} (gap {gap[worst]:.2e} > {ADDITIVITY_TOLERANCE:g})"
        )


def top_reasons(
    scored: pl.DataFrame, shown: pl.DataFrame, features: Sequence[str], k: int = 3
) -> pl.DataFrame:
    """ROW and reason_1..k: the inputs that raised each row's score most, largest first.

    ``shown`` has ROW and each input as the analyst reads it (the category, not its code). A
    reason reads "sector = retail (+0.42)": the input, its value, its contribution in log-odds.
    Only positive contributions are reasons; ties go to the input listed first.
    """
    names = list(features)
    values = scored.select(names).to_numpy()
    aligned = scored.select(ROW).join(shown, on=ROW, how="left", maintain_order="left")
    texts = {name: aligned.get_column(name).to_list() for name in names}
    order = np.argsort(-values, axis=1, kind="stable")[:, :k]
    columns: dict[str, list[str | None]] = {f"reason_{i}": [] for i in range(1, k + 1)}
    for row, picks in enumerate(order):
        for position in range(k):
            j = picks[position] if position < len(picks) else None
            if j is None or not values[row, j] > 0:
                columns[f"reason_{position + 1}"].append(None)
                continue
            columns[f"reason_{position + 1}"].append(
                f"{names[j]} = {_shown(texts[names[j]][row])} ({values[row, j]:+.3f})"
            )
    return pl.DataFrame(
        {ROW: scored.get_column(ROW), **columns},
        schema_overrides={f"reason_{i}": pl.String for i in range(1, k + 1)},
    )


def _shown(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "empty"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def rank_scores(scored: pl.DataFrame, segment: str | None) -> pl.DataFrame:
    """Add rank (all scored rows) and, with segments, segment_rank; the order is total
    (TIE_BREAK). Rows without a score keep null ranks."""
    has_score = pl.col(PROBABILITY).is_not_null()
    ranked = (
        scored.filter(has_score)
        .sort([PROBABILITY, MARGIN, ROW], descending=[True, True, False])
        .with_columns(rank=pl.int_range(1, pl.len() + 1, dtype=pl.UInt32))
    )
    if segment is not None:
        ranked = ranked.sort([segment, MARGIN, ROW], descending=[False, True, False]).with_columns(
            segment_rank=pl.int_range(1, pl.len() + 1, dtype=pl.UInt32).over(segment)
        )
    unscored = scored.filter(~has_score).with_columns(
        rank=pl.lit(None, dtype=pl.UInt32),
        **({"segment_rank": pl.lit(None, dtype=pl.UInt32)} if segment is not None else {}),
    )
    return pl.concat([ranked, unscored.select(ranked.columns)]).sort(
        pl.col("rank").is_null(), "rank", ROW
    )
