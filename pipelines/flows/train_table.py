"""`ews train-table`: the EWS training procedure on a feature table the user brings.

Writes to ``out``:
    table.parquet               the validated table (label as 0/1, ``_row`` = 1-based data row)
    folds.parquet               per segment and outer fold: sizes, AUC, PR-AUC, Brier, choices
    predictions/<segment>.parquet   out-of-fold predictions: _row, label, fold, p
    models/<segment>.json       the segment's model fitted on all its rows (RiskModel.to_bytes)
    metrics.json                the run's settings and mean AUC +- std per segment
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, task

from models.tabular import (
    TableLayout,
    feature_columns,
    prepare_table,
    segment_frame,
    segment_values,
    train_segment,
)
from pipelines.tables import read_table

SEGMENT = "segment"


@task
def load_table(layout: TableLayout, table: str, out: str) -> dict[str, Any]:
    """Read and validate the table once; later tasks read the Parquet copy."""
    frame = prepare_table(read_table(table), layout)
    features, ignored = feature_columns(frame, layout)
    path = Path(out) / "table.parquet"
    frame.write_parquet(path)
    return {
        "path": str(path),
        "rows": frame.height,
        "features": features,
        "ignored_columns": ignored,
        "segments": segment_values(frame, layout),
    }


@task
def train_one_segment(
    layout: TableLayout,
    table_path: str,
    segment: Any,
    file_name: str,
    features: list[str],
    folds: int,
    seed: int,
    nthread: int,
    out: str,
) -> dict[str, Any]:
    """Outer-fold estimate and final model of one segment; writes its model and predictions."""
    rows = segment_frame(pl.read_parquet(table_path), layout, segment)
    result = train_segment(rows, features, layout, folds=folds, seed=seed, nthread=nthread)
    model_path = Path(out) / "models" / f"{file_name}.json"
    predictions_path = Path(out) / "predictions" / f"{file_name}.parquet"
    for path in (model_path, predictions_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    model_path.write_bytes(result.model.to_bytes())
    result.predictions.write_parquet(predictions_path)
    return {
        "segment": segment,
        "rows": rows.height,
        "positives": int(rows.get_column(layout.label).sum()),
        "auc_mean": result.auc_mean,
        "auc_std": result.auc_std,
        "pr_auc_mean": float(result.folds.get_column("pr_auc").mean()),
        "model": str(model_path),
        "predictions": str(predictions_path),
        "folds": result.folds.with_columns(pl.lit(segment).alias(SEGMENT)).to_dicts(),
    }


@task
def write_report(
    layout: TableLayout, loaded: dict[str, Any], segments: list[dict[str, Any]], settings: dict
) -> dict[str, str]:
    out = Path(settings["out"])
    folds_path = out / "folds.parquet"
    pl.DataFrame([row for s in segments for row in s["folds"]]).write_parquet(folds_path)
    report = {
        **settings,
        "scheme": layout.scheme,
        "rows": loaded["rows"],
        "features": loaded["features"],
        "ignored_columns": loaded["ignored_columns"],
        "segments": {
            segment_key(s["segment"]): {
                key: s[key] for key in ("rows", "positives", "auc_mean", "auc_std", "pr_auc_mean")
            }
            | {
                "model": Path(s["model"]).relative_to(out).as_posix(),
                "predictions": Path(s["predictions"]).relative_to(out).as_posix(),
            }
            for s in segments
        },
    }
    metrics_path = out / "metrics.json"
    metrics_path.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return {"metrics": str(metrics_path), "folds": str(folds_path)}


@flow(name="train-table")
def train_table_flow(
    table: str,
    label: str,
    segment: str | None = None,
    id_col: str | None = None,
    time_col: str | None = None,
    out: str = "ews_table_run",
    folds: int = 5,
    seed: int = 0,
    nthread: int = 2,
) -> dict[str, Any]:
    """Train and estimate EWS per segment on ``table``; returns paths and AUC mean +- std.

    ``nthread`` is xgboost's thread count for every fit.
    """
    layout = TableLayout(
        name=str(table), label=label, segment=segment, id_col=id_col, time_col=time_col
    )
    out_dir = Path(out).expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    loaded = load_table(layout, str(table), str(out_dir))
    names = file_names(loaded["segments"])
    segments = [
        train_one_segment(
            layout,
            loaded["path"],
            value,
            name,
            loaded["features"],
            folds,
            seed,
            nthread,
            str(out_dir),
        )
        for value, name in zip(loaded["segments"], names, strict=True)
    ]
    settings = {
        "table": str(table),
        "label": label,
        "segment_column": segment,
        "id_column": id_col,
        "time_column": time_col,
        "folds": folds,
        "seed": seed,
        "nthread": nthread,
        "out": str(out_dir),
    }
    paths = write_report(layout, loaded, segments, settings)
    return {
        **paths,
        "models": {segment_key(s["segment"]): s["model"] for s in segments},
        "predictions": {segment_key(s["segment"]): s["predictions"] for s in segments},
        "auc": {
            segment_key(s["segment"]): {"mean": s["auc_mean"], "std": s["auc_std"]}
            for s in segments
        },
    }


def segment_key(segment: Any) -> str:
    """How a segment is named in metrics.json and the returned mappings ('all' if unsegmented)."""
    return "all" if segment is None else str(segment)


def file_names(segments: list[Any]) -> list[str]:
    """File-system-safe, distinct names for segment values ('all' when not segmented)."""
    names: list[str] = []
    for value in segments:
        base = "all" if value is None else re.sub(r"[^\w.-]+", "_", str(value)).strip("._")
        name, n = base or "segment", 1
        while name in names:
            n += 1
            name = f"{base}-{n}"
        names.append(name)
    return names
