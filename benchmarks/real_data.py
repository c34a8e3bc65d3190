"""EWS's train-table pipeline vs a default XGBoost on real bankruptcy data, same outer folds.

For each ARFF file (Polish companies bankruptcy, label column ``class``) this runs the
``train-table`` flow exactly as ``ews train-table`` would, then trains a default XGBoost (300
trees, max_depth 6, learning_rate 0.1, everything else xgboost's default) on the very same outer
training folds, read back from the flow's out-of-fold predictions. EWS tunes only inside each
training fold, so both AUCs are honest out-of-fold estimates. Both AUCs are computed here with
scikit-learn from the stored predictions.

    .venv/bin/python benchmarks/real_data.py --json bench_out/real_data.json [--seeds 0 1 ...]
        [--merge EARLIER.json ...]

One 5-fold run cannot tell the two apart: the paired fold differences spread by 0.003-0.007 AUC,
so a run's mean difference has a standard error of about 0.002. The default is therefore ten
seeds (ten different fold splits and model seeds; about 50 minutes on 2 cores), and the summary
gives each file's mean over seeds, the standard error of that mean, the seeds on which EWS was
ahead and the folds it won. ``--merge`` adds the per-seed results of earlier runs with the same
settings (a run split over several sittings); ``--seeds`` with no value only merges.
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


def across_seeds(by_seed: dict[str, dict]) -> dict:
    """One file's per-seed results summarised: means over seeds and how often EWS was ahead."""
    differences = np.array([r["auc_difference"]["mean"] for r in by_seed.values()])
    folds = sum(r["folds"] for r in by_seed.values())
    return {
        "seeds": len(differences),
        "ews_auc_mean": float(np.mean([r["ews"]["auc_mean"] for r in by_seed.values()])),
        "default_auc_mean": float(
            np.mean([r["default_xgboost"]["auc_mean"] for r in by_seed.values()])
        ),
        "difference_mean": float(differences.mean()),
        # Seeds re-split the same firms, so this is the spread due to splits and model seeds,
        # not a sampling error over new data: small means "settled for this data", no more.
        "difference_standard_error": (
            float(differences.std(ddof=1) / np.sqrt(len(differences)))
            if len(differences) > 1
            else None
        ),
        "seeds_ahead": int((differences > 0).sum()),
        "folds_won_by_ews": sum(r["auc_difference"]["folds_won_by_ews"] for r in by_seed.values()),
        "folds": folds,
    }


def merge_results(
    results: dict[str, dict[str, dict]], earlier: dict, folds: int, source: str
) -> dict[str, dict[str, dict]]:
    """This run's results plus an earlier run's; the settings must match and no seed repeat.

    Called with this run's seeds as empty entries before the run, it fails in seconds rather
    than after an hour of training."""
    settings = {"folds": earlier.get("folds"), "default_xgboost": earlier.get("default_xgboost")}
    expected = {"folds": folds, "default_xgboost": DEFAULT_XGBOOST}
    if settings != expected:
        raise ValueError(f"{source}: its settings {settings} differ from this run's {expected}")
    merged = {name: dict(by_seed) for name, by_seed in results.items()}
    for name, by_seed in earlier.get("results", {}).items():
        target = merged.setdefault(name, {})
        repeated = sorted(set(target) & set(by_seed), key=int)
        if repeated:
            raise ValueError(f"{source}: {name} seeds {', '.join(repeated)} are already present")
        target.update(by_seed)
    return {
        name: dict(sorted(by_seed.items(), key=lambda item: int(item[0])))
        for name, by_seed in merged.items()
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
        "--seeds",
        type=int,
        nargs="*",
        default=list(range(10)),
        help="one run per seed (folds and models); default 0-9",
    )
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        default=[],
        help="JSON of earlier runs (same folds and default) whose seeds join this run's",
    )
    parser.add_argument("--nthread", type=int, default=2, help="xgboost threads, both sides")
    args = parser.parse_args()

    earlier_runs = {str(path): json.loads(path.read_text(encoding="utf-8")) for path in args.merge}
    planned = {name: {str(seed): {} for seed in args.seeds} for name in args.files}
    for source, earlier in earlier_runs.items():
        try:
            planned = merge_results(planned, earlier, args.folds, source)
        except ValueError as error:
            sys.exit(f"--merge {error}")

    results: dict[str, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory(prefix="ews-real-data-") as work:
        for name in args.files if args.seeds else []:
            path = args.data_dir / name
            if not path.is_file():
                sys.exit(f"missing {path}: pass --data-dir pointing at the ARFF files")
            results[name] = {
                str(seed): run_file(path, args.folds, seed, args.nthread, Path(work) / str(seed))
                for seed in args.seeds
            }
    for source, earlier in earlier_runs.items():
        results = merge_results(results, earlier, args.folds, source)

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
    summary = {name: across_seeds(by_seed) for name, by_seed in results.items() if by_seed}
    print("\nover seeds    EWS AUC  default AUC  EWS - default (s.e.)  seeds ahead  folds won")
    for name, line in summary.items():
        error = line["difference_standard_error"]
        print(
            f"{name:<12}{line['ews_auc_mean']:>9.4f}{line['default_auc_mean']:>13.4f}"
            f"{line['difference_mean']:>+15.4f} ({'-' if error is None else f'{error:.4f}'})"
            f"{line['seeds_ahead']:>8d}/{line['seeds']}{line['folds_won_by_ews']:>8d}/{line['folds']}"
        )
    document = {
        "benchmark": "real_data",
        "command": " ".join(sys.argv),
        "folds": args.folds,
        "seeds": sorted({int(seed) for by_seed in results.values() for seed in by_seed}),
        "merged_from": [str(path) for path in args.merge],
        "default_xgboost": DEFAULT_XGBOOST,
        "python": platform.python_version(),
        "xgboost": xgb.__version__,
        "results": results,
        "summary": summary,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
