"""EWS's train-table pipeline vs a default XGBoost on real bankruptcy data, same outer folds.

For each ARFF file (Polish companies bankruptcy, label column ``class``) this runs the
``train-table`` flow exactly as ``ews train-table`` would, then trains a default XGBoost (300
trees, max_depth 6, learning_rate 0.1, everything else xgboost's default) on the very same outer
training folds, read back from the flow's out-of-fold predictions. EWS tunes only inside each
training fold, so both AUCs are honest out-of-fold estimates. Both AUCs are computed here with
scikit-learn from the stored predictions.

    .venv/bin/python benchmarks/real_data.py --json bench_out/real_data.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from pipelines import runtime

runtime.configure()
# Waiting OpenMP threads sleep instead of spinning: on a busy machine a spinning xgboost thread
# starves its partner, and a 2-thread fit ran 10-20x slower than a 1-thread one.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import xgboost as xgb  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from models.tabular import ROW  # noqa: E402
from pipelines.flows.train_table import train_table_flow  # noqa: E402

LABEL = "class"
DEFAULT_XGBOOST = {"n_estimators": 300, "max_depth": 6, "learning_rate": 0.1}


def run_file(path: Path, folds: int, seed: int, nthread: int, work: Path) -> dict:
    out = work / path.stem
    started = time.perf_counter()
    result = train_table_flow(
        table=str(path), label=LABEL, out=str(out), folds=folds, seed=seed, nthread=nthread
    )
    ews_seconds = time.perf_counter() - started

    table = pl.read_parquet(out / "table.parquet")
    metrics = json.loads(Path(result["metrics"]).read_text(encoding="utf-8"))
    predictions = pl.read_parquet(result["predictions"]["all"]).sort(ROW)
    x = table.sort(ROW).select(metrics["features"]).to_numpy()
    y = table.sort(ROW).get_column(LABEL).to_numpy()
    fold_of_row = predictions.get_column("fold").to_numpy()
    ews_p = predictions.get_column("p").to_numpy()

    ews_auc, default_auc = [], []
    started = time.perf_counter()
    for fold in np.unique(fold_of_row):
        test = fold_of_row == fold
        model = xgb.XGBClassifier(**DEFAULT_XGBOOST, n_jobs=nthread, random_state=seed)
        model.fit(x[~test], y[~test])
        default_auc.append(float(roc_auc_score(y[test], model.predict_proba(x[test])[:, 1])))
        ews_auc.append(float(roc_auc_score(y[test], ews_p[test])))
    default_seconds = time.perf_counter() - started

    differences = np.array(ews_auc) - np.array(default_auc)
    return {
        "rows": len(y),
        "positives": int(y.sum()),
        "folds": len(ews_auc),
        "ews": _summary(ews_auc, ews_seconds),
        "default_xgboost": _summary(default_auc, default_seconds),
        "auc_difference": {
            "mean": float(differences.mean()),
            "std": float(differences.std(ddof=1)),
            "folds_won_by_ews": int((differences > 0).sum()),
        },
    }


def _summary(aucs: list[float], seconds: float) -> dict:
    return {
        "auc_mean": float(np.mean(aucs)),
        "auc_std": float(np.std(aucs, ddof=1)),
        "fold_auc": aucs,
        "seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True, type=Path, help="where to write the results")
    parser.add_argument(
        "--data-dir", type=Path, default=Path("../shared/datasets/polish_bankruptcy")
    )
    parser.add_argument("--files", nargs="+", default=["1year.arff", "5year.arff"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0], help="one run per seed (folds and models)"
    )
    parser.add_argument("--nthread", type=int, default=2, help="xgboost threads, both sides")
    args = parser.parse_args()

    results: dict[str, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory(prefix="ews-real-data-") as work:
        for name in args.files:
            path = args.data_dir / name
            if not path.is_file():
                sys.exit(f"missing {path}: pass --data-dir pointing at the ARFF files")
            results[name] = {
                str(seed): run_file(path, args.folds, seed, args.nthread, Path(work) / str(seed))
                for seed in args.seeds
            }

    header = ("file", "seed", "EWS AUC", "default XGB AUC", "EWS - default", "folds won", "time")
    print(
        f"{header[0]:<12}{header[1]:>5}{header[2]:>20}{header[3]:>22}{header[4]:>15}"
        f"{header[5]:>11}{header[6]:>7}"
    )
    for name, by_seed in results.items():
        for seed, r in by_seed.items():
            ews, default, diff = r["ews"], r["default_xgboost"], r["auc_difference"]
            print(
                f"{name:<12}{seed:>5}"
                f"{ews['auc_mean']:>12.4f} ± {ews['auc_std']:.4f}"
                f"{default['auc_mean']:>14.4f} ± {default['auc_std']:.4f}"
                f"{diff['mean']:>+15.4f}"
                f"{diff['folds_won_by_ews']:>8d}/{r['folds']}"
                f"{ews['seconds'] / max(default['seconds'], 1e-9):>6.0f}x"
            )
    document = {
        "benchmark": "real_data",
        "command": " ".join(sys.argv),
        "folds": args.folds,
        "seeds": args.seeds,
        "default_xgboost": DEFAULT_XGBOOST,
        "python": platform.python_version(),
        "xgboost": xgb.__version__,
        "results": results,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
