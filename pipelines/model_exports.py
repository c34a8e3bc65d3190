"""A trained candidate's local exports under ``workdir/models/<industry>/``.

The train flow's tasks pass this folder between them (paths, not frames), the MLflow run carries
a copy, and analysts, model cards and the demo read ``workdir/models/metrics.json`` without MLflow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from models.baseline import LogisticBaseline, scorer_from_bytes
from models.oracle import ORACLE
from models.pipeline import IndustryResult
from models.pooled import POOL
from models.train import RiskModel
from pipelines import datasets
from pipelines.io import read_json, write_json
from pipelines.spreadsheet_safety import write_csv

MODEL_FILE = "model.json"
BASELINE_FILE = "baseline.json"
PREDICTIONS_FILE = "test_predictions.parquet"
CALIBRATION_FILE = "calibration.parquet"
EVALUATION_FILE = "evaluation.csv"
RESULT_FILE = "result.json"
METRICS_FILE = datasets.MODEL_METRICS.name
EVALUATION_COLUMNS = (
    *("model", "model_ci_low", "model_ci_high"),
    *("baseline", "baseline_ci_low", "baseline_ci_high"),
)


@dataclass(frozen=True, eq=False)
class Candidate:
    """A trained model and its out-of-time evaluation, as read back from its folder."""

    folder: Path
    industry: str
    model: RiskModel | LogisticBaseline
    metrics: dict[str, dict[str, dict[str, float]]]
    params: dict[str, Any]
    class_balance: dict[str, dict[str, float]]
    boundaries: dict[str, Any]
    test_predictions: pl.DataFrame
    calibration: pl.DataFrame
    # models.evaluate.compare on the test rows (empty for a candidate saved before it existed).
    comparisons: dict[str, Any] = field(default_factory=dict)

    @property
    def test_period(self) -> str:
        return f"{self.boundaries['test_start']}..{self.boundaries['test_end']}"

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.model.feature_names

    def attachments(self) -> list[Path]:
        """Every export except the model itself (MLflow logs that as the model)."""
        return sorted(p for p in self.folder.iterdir() if p.is_file() and p.name != MODEL_FILE)


def save_candidate(result: IndustryResult, folder: Path) -> Path:
    """Write a freshly trained result to ``folder`` (replacing an earlier candidate's files)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MODEL_FILE).write_bytes(result.model.to_bytes())
    (folder / BASELINE_FILE).write_bytes(result.baseline.to_bytes())
    result.test_predictions.write_parquet(folder / PREDICTIONS_FILE)
    result.calibration.write_parquet(folder / CALIBRATION_FILE)
    write_csv(evaluation_table(result.metrics), folder / EVALUATION_FILE, bom=False)
    write_json(
        folder / RESULT_FILE,
        json_safe(
            {
                "industry": result.industry,
                "metrics": result.metrics,
                "params": result.params,
                "class_balance": result.class_balance,
                "boundaries": result.boundaries.to_dict(),
                "feature_names": list(result.feature_names),
                "comparisons": result.comparisons,
            }
        ),
    )
    return folder


def load_candidate(folder: Path | str) -> Candidate:
    folder = Path(folder)
    missing = [
        name
        for name in (MODEL_FILE, PREDICTIONS_FILE, CALIBRATION_FILE, RESULT_FILE)
        if not (folder / name).is_file()
    ]
    if missing:
        raise FileNotFoundError(f"candidate folder {folder} lacks {', '.join(missing)}")
    result = read_json(folder / RESULT_FILE)
    return Candidate(
        folder=folder,
        industry=result["industry"],
        model=scorer_from_bytes((folder / MODEL_FILE).read_bytes()),
        metrics=_nan_back(result["metrics"]),
        params=result["params"],
        class_balance=result["class_balance"],
        boundaries=result["boundaries"],
        test_predictions=pl.read_parquet(folder / PREDICTIONS_FILE),
        calibration=pl.read_parquet(folder / CALIBRATION_FILE),
        comparisons=comparisons_from_json(result.get("comparisons") or {}),
    )


def comparisons_from_json(comparisons: dict[str, Any]) -> dict[str, Any]:
    """The comparisons as stored, with each scorer's undefined metrics (null) NaN again, like the
    candidate's own: a tiny test period can leave the oracle's precision undefined."""
    if not comparisons.get("scorers"):
        return comparisons
    return {**comparisons, "scorers": _nan_back(comparisons["scorers"])}


def evaluation_table(metrics: Mapping[str, Mapping[str, Mapping[str, float]]]) -> pl.DataFrame:
    """One row per metric: the model and the baseline with their confidence bounds."""
    model, baseline = metrics["model"], metrics.get("baseline", {})
    undefined = {"value": None, "ci_low": None, "ci_high": None}
    rows = [
        {
            "metric": name,
            "model": model[name]["value"],
            "model_ci_low": model[name]["ci_low"],
            "model_ci_high": model[name]["ci_high"],
            "baseline": baseline.get(name, undefined)["value"],
            "baseline_ci_low": baseline.get(name, undefined)["ci_low"],
            "baseline_ci_high": baseline.get(name, undefined)["ci_high"],
        }
        for name in model
    ]
    schema = {"metric": pl.String, **dict.fromkeys(EVALUATION_COLUMNS, pl.Float64)}
    return pl.DataFrame(rows, schema=schema)


def metrics_summary(candidate: Candidate, capacity_k: int) -> dict[str, Any]:
    """One industry's entry in metrics.json: point values at the top level, bounds under ci."""
    test = candidate.test_predictions
    summary: dict[str, Any] = {
        **_points(candidate.metrics["model"]),
        "k": capacity_k,
        "ci": _bounds(candidate.metrics["model"]),
        "baseline": {
            **_points(candidate.metrics["baseline"]),
            "ci": _bounds(candidate.metrics["baseline"]),
        },
        "test_period": candidate.test_period,
        "n_test": test.height,
        "positives": int(test.get_column("label").sum()),
    }
    pool = candidate.params.get(POOL)
    if pool:  # trained with other industries' rows (models.pooled)
        summary["trained"] = {"mode": "pooled", **pool}
    scorers = candidate.comparisons.get("scorers", {})
    if ORACLE in scorers:
        summary[ORACLE] = {
            "source": "simulator only: latent stress in the as-of month (sim_truth/), never a "
            "feature; a real park has no oracle",
            **_points(scorers[ORACLE]),
            "ci": _bounds(scorers[ORACLE]),
        }
    if candidate.comparisons.get("pairs"):
        summary["comparisons"] = {
            pair: {
                metric: {
                    kind: {
                        "value": estimate["value"],
                        "low": estimate["ci_low"],
                        "high": estimate["ci_high"],
                    }
                    for kind, estimate in by_kind.items()
                }
                for metric, by_kind in by_metric.items()
            }
            for pair, by_metric in candidate.comparisons["pairs"].items()
        }
    return json_safe(summary)


def write_metrics(path: Path, by_industry: Mapping[str, Mapping[str, Any]]) -> Path:
    """metrics.json: the latest candidate of each industry, merged over earlier entries."""
    merged = read_json(path) if path.is_file() else {}
    merged.update(by_industry)
    return write_json(path, json_safe(merged))


def json_safe(value: Any) -> Any:
    """NaN and infinities become null: JSON has no such numbers."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)  # dates and other scalars, as their ISO-like text


def _points(metrics: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    return {name: float(estimate["value"]) for name, estimate in metrics.items()}


def _bounds(metrics: Mapping[str, Mapping[str, float]]) -> dict[str, dict[str, float]]:
    return {
        name: {"low": float(estimate["ci_low"]), "high": float(estimate["ci_high"])}
        for name, estimate in metrics.items()
    }


def _nan_back(metrics: dict[str, dict[str, dict[str, float | None]]]) -> dict:
    """Undefined metrics were stored as null; in memory they are NaN again."""
    return {
        side: {
            name: {key: math.nan if v is None else float(v) for key, v in estimate.items()}
            for name, estimate in by_metric.items()
        }
        for side, by_metric in metrics.items()
    }
