"""A short model card for a ``train-table`` run: one section per segment, as plain data.

Pure: the run's settings, its data report, and per segment the fold table, the out-of-fold
predictions and SHAP values come in; a JSON-ready dict comes out. It follows the industry card
(details, intended use, data, performance, calibration, explanation, limitations) with what an
analyst's table can say: the estimate is out-of-fold (or out-of-time with ``--time``), against
the reference XGBoost on the same folds, with the training time of both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from models.evaluate import calibration_table
from models.tabular import BIAS_COLUMN, REFERENCE_XGBOOST, ROW

CARD_FORMAT = "ews-table-card/1"
TOP_FEATURES = 10
SCHEMES = {
    "stratified_kfold": "stratified k-fold cross-validation (each row tested once, by a model "
    "that did not see it)",
    "grouped_stratified_kfold": "stratified k-fold cross-validation grouped by the id column "
    "(no entity on both sides of a fold)",
    "expanding_window_out_of_time": "out of time: each fold trains on earlier periods and tests "
    "on the next one",
}


def segment_section(
    key: str,
    label: str,
    folds: pl.DataFrame,
    predictions: pl.DataFrame,
    contributions: pl.DataFrame,
    against_reference: Mapping[str, Any],
    model_metadata: Mapping[str, Any],
    files: Mapping[str, str],
    search_record: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One segment's card section from its fold table, OOF predictions and OOF SHAP values;
    ``search_record`` says what the search covered and whether a budget cut it."""
    y = predictions.get_column(label).to_numpy()
    p = predictions.get_column("p").to_numpy()
    features = [c for c in contributions.columns if c not in (ROW, "fold", BIAS_COLUMN)]
    table = calibration_table(y, p, bins=10)
    total = int(table["rows"].sum())
    gap = float(((table["mean_predicted"] - table["observed_rate"]).abs() * table["rows"]).sum())
    return {
        "segment": key,
        "rows": predictions.height,
        "positives": int(y.sum()),
        "performance": {
            "roc_auc": _mean_std(folds, "roc_auc"),
            "pr_auc": _mean_std(folds, "pr_auc"),
            "brier": _mean_std(folds, "brier"),
            "event_rate": float(y.mean()) if len(y) else None,
            "folds": folds.select(
                "fold", "test_rows", "test_positives", "roc_auc", "reference_roc_auc", "pr_auc"
            ).to_dicts(),
        },
        "against_reference": dict(against_reference),
        "model": {
            "trees": model_metadata.get("n_trees"),
            "configurations": model_metadata.get("chosen"),
            "bagged_boosters": model_metadata.get("bag", 1),
            "fitted_with": model_metadata.get("fitted_with"),
        },
        "search": dict(search_record or {}),
        "calibration": {
            "methods_by_fold": folds.get_column("calibration").to_list(),
            "table": table.to_dicts(),
            "expected_calibration_error": gap / total if total else None,
        },
        "explanation": importance(contributions, features),
        "files": dict(files),
    }


def importance(contributions: pl.DataFrame, features: Sequence[str]) -> dict[str, Any]:
    """Mean |SHAP| per feature over the out-of-fold rows, the largest first."""
    if contributions.height == 0:
        return {"rows": 0, "top_features": []}
    values = contributions.select(features).to_numpy()
    mean_abs = np.abs(values).mean(axis=0)
    total = float(mean_abs.sum())
    order = np.argsort(-mean_abs, kind="stable")[:TOP_FEATURES]
    return {
        "method": "TreeSHAP (xgboost pred_contribs) of each row by the outer-fold model that "
        "did not see it; log-odds scale",
        "rows": contributions.height,
        "top_features": [
            {
                "feature": features[j],
                "mean_abs_contribution": float(mean_abs[j]),
                "share": float(mean_abs[j] / total) if total else None,
                "mean_contribution": float(values[:, j].mean()),
            }
            for j in order
        ],
    }


def build_table_card(
    settings: Mapping[str, Any],
    report: Mapping[str, Any],
    segments: Sequence[Mapping[str, Any]],
    search: Mapping[str, Any],
) -> dict[str, Any]:
    """The whole card: details, intended use, data, one section per segment, limitations."""
    table = report["table"]
    return {
        "format": CARD_FORMAT,
        "model_details": {
            "table": table["file"],
            "table_sha256": table["sha256"],
            "label": settings["label"],
            "segment_column": settings.get("segment_column"),
            "id_column": settings.get("id_column"),
            "time_column": settings.get("time_column"),
            "algorithm": "gradient-boosted trees (xgboost): configurations chosen and averaged "
            "on inner folds, bagged, merged into one booster; probability calibrated on the "
            "inner out-of-fold margins",
            "search": dict(search),
            "seed": settings["seed"],
            "inputs": len(report["inputs"]),
        },
        "intended_use": {
            "purpose": "Rank the rows of a table like the training table by the risk of the "
            "label event, with the reasons behind each score (`ews score-table`).",
            "out_of_scope": [
                "rows from another population, period or definition of the label than the "
                "training table's",
                "decisions about a single entity without a person reviewing the reasons",
            ],
        },
        "training_data": {
            "rows": report["rows"],
            "positives": report["label"]["positives"],
            "positive_share": report["label"]["positive_share"],
            "inputs": report["inputs"],
            "left_out": report["left_out"],
            "categorical_rule": report["categorical"]["rule"],
            "encoded_columns": [c["column"] for c in report["categorical"]["columns"]],
            "empty_cell_share": report["missing"]["cell_share"],
        },
        "evaluation": {
            "scheme": SCHEMES[settings["scheme"]],
            "folds": settings["folds"],
            "reference": dict(REFERENCE_XGBOOST),
        },
        "segments": list(segments),
        "limitations": limitations(report, settings, segments),
    }


def limitations(
    report: Mapping[str, Any],
    settings: Mapping[str, Any],
    segments: Sequence[Mapping[str, Any]] = (),
) -> list[str]:
    items = list(report["warnings"])
    for section in segments:
        record = section.get("search") or {}
        if record.get("cut_by_budget"):
            items.append(
                f"Segment {section['segment']}: the budget cut the search to configurations "
                f"{record['candidates_searched']} of the {record['search']} search (skipped "
                f"{record['candidates_skipped']}); `{record['repeat_with']}` repeats it without "
                "the clock."
            )
        if record.get("over_time_budget"):
            items.append(
                f"Segment {section['segment']}: the fits took {record['ews_fit_seconds']:.0f} s "
                f"against a time budget of {record['time_budget_seconds']:.0f} s (one "
                "configuration is the least a fit searches)."
            )
    if settings["scheme"] != "expanding_window_out_of_time":
        items.append(
            "The estimate mixes periods (no --time column): performance on later periods is "
            "usually lower than a cross-validated estimate."
        )
    items.append(
        "The probabilities are calibrated to the training table's event rate; a population with "
        "another rate needs recalibration before the probabilities are read as rates."
    )
    return items


def _mean_std(folds: pl.DataFrame, column: str) -> dict[str, float | None]:
    values = folds.get_column(column).to_numpy().astype(np.float64)
    return {
        "mean": float(np.nanmean(values)),
        "std": float(np.nanstd(values, ddof=1)) if len(values) > 1 else None,
    }
