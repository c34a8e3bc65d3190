"""Logging a RiskModel to MLflow with pinned requirements vs letting MLflow infer them.

    python benchmarks/mlflow_log_model.py --json out.json [--repeats 3]

EWS logs its pyfunc with ``pip_requirements`` pinned from the running environment
(pipelines/tracking.py). Without them MLflow infers the requirements by loading the model in a
subprocess and watching its imports. Both variants log the same small RiskModel, wrapped the way
EWS wraps it, to a fresh SQLite store; the script prints the seconds per log of each and the ratio.
This is a benchmark of MLflow itself, so it calls mlflow directly.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def small_model():
    import numpy as np
    import polars as pl

    from models.train import TrainConfig, fit_risk_model

    rng = np.random.default_rng(0)
    x = rng.normal(size=(1200, 4))
    label = (rng.random(1200) < 1 / (1 + np.exp(-(x[:, 0] * 1.5 - 2.5)))).astype(np.int8)
    frame = pl.DataFrame({f"f{i}": x[:, i] for i in range(4)}).with_columns(
        pl.Series("label", label)
    )
    names = [f"f{i}" for i in range(4)]
    config = TrainConfig(max_rounds=40, nthread=1)
    return fit_risk_model(frame[:800], frame[800:], names, config=config), frame[:5]


def time_logs(pinned: bool, repeats: int, store: Path) -> list[float]:
    from pipelines import tracking

    mlflow = tracking.mlflow
    model, sample = small_model()
    inputs = tracking.model_input_frame(sample, model.feature_names)
    signature = tracking.infer_signature(inputs, model.predict_proba(inputs))
    blob = store / tracking.RISK_MODEL_FILE
    blob.write_bytes(model.to_bytes())
    mlflow.set_tracking_uri(f"sqlite:///{(store / 'mlflow.db').as_posix()}")
    experiment = mlflow.set_experiment(f"bench-{'pinned' if pinned else 'inferred'}")
    seconds = []
    for _ in range(repeats):
        with mlflow.start_run(experiment_id=experiment.experiment_id):
            started = time.perf_counter()
            mlflow.pyfunc.log_model(
                name=tracking.MODEL_ARTIFACT,
                python_model=tracking.RiskModelPyfunc(),
                artifacts={"risk_model": str(blob)},
                signature=signature,
                pip_requirements=tracking._requirements() if pinned else None,
            )
            seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True, type=Path, help="where to write the results")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        pinned = time_logs(True, args.repeats, Path(scratch))
        inferred = time_logs(False, args.repeats, Path(scratch))
    result = {
        "repeats": args.repeats,
        "pinned_s": pinned,
        "inferred_s": inferred,
        "pinned_median_s": statistics.median(pinned),
        "inferred_median_s": statistics.median(inferred),
        "ratio_inferred_over_pinned": statistics.median(inferred) / statistics.median(pinned),
    }
    print(f"{'variant':<10} {'median s':>9}   per-log seconds")
    for name in ("pinned", "inferred"):
        runs = " ".join(f"{s:.2f}" for s in result[f"{name}_s"])
        print(f"{name:<10} {result[f'{name}_median_s']:>9.2f}   {runs}")
    print(f"inferred / pinned: {result['ratio_inferred_over_pinned']:.1f}x")
    args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
