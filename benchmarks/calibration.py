"""Calibration that keeps resolution: none, Platt, beta and isotonic on each industry's test rows.

For every industry of a trained workdir (e.g. the demo's), the candidate booster in
``models/<industry>/model.json`` gives margins on its own calibration period (the valid period
of the out-of-time split, as training used it) and on its out-of-time test period. Each method is
fitted on the calibration margins and judged on the test rows: Brier score, log loss, ROC-AUC
of the calibrated probability (ties cost AUC), the number of distinct probabilities (exact, and
as the list shows them, to 0.1 %), and how many of the top K of each test week share their shown
probability with another listed firm (a plateau a regulator sees as a tie). Side by side, one run.

    .venv/bin/python benchmarks/calibration.py --workdir ews_demo --json bench_out/calibration.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import numpy as np

from models.calibrate import fit_calibrator, log_loss
from models.config import load_industries
from models.evaluate import brier_score, roc_auc
from models.labels import LABEL, label_snapshots
from models.split import out_of_time_split
from models.train import RiskModel
from pipelines.flows.train import training_outcomes
from pipelines.settings import Settings
from pipelines.training_rows import read_history

METHODS = ("none", "platt", "beta", "isotonic")
SHOWN_DECIMALS = 3  # the list shows probabilities as percentages with one decimal


def industry_rows(settings: Settings, industry: str) -> dict:
    spec = load_industries()[industry]
    history = read_history(settings.features / "history.parquet", spec)
    known_until = history.get_column("as_of").max()
    labelled = label_snapshots(
        history, training_outcomes(settings, spec, known_until, 0), spec, known_until
    )
    split = out_of_time_split(labelled, spec.horizon_days)
    model = RiskModel.from_bytes((settings.models / industry / "model.json").read_bytes())
    return {
        "spec": spec,
        "model": model,
        "valid": (model.margin(split.valid), split.valid.get_column(LABEL).to_numpy()),
        "test": (model.margin(split.test), split.test.get_column(LABEL).to_numpy()),
        "test_weeks": split.test.get_column("as_of").to_numpy(),
    }


def tied_in_top_k(probability: np.ndarray, margin: np.ndarray, weeks: np.ndarray, k: int) -> float:
    """Mean per test week of the top K (by margin) whose shown probability another listed firm
    shares."""
    shares = []
    for week in np.unique(weeks):
        rows = np.flatnonzero(weeks == week)
        top = rows[np.argsort(-margin[rows], kind="mergesort")[:k]]
        shown = np.round(probability[top], SHOWN_DECIMALS)
        _, inverse, counts = np.unique(shown, return_inverse=True, return_counts=True)
        shares.append(float(np.mean(counts[inverse] > 1)))
    return float(np.mean(shares))


def compare_methods(rows: dict) -> dict:
    valid_margin, valid_y = rows["valid"]
    test_margin, test_y = rows["test"]
    k = rows["spec"].capacity_k
    results = {}
    for method in METHODS:
        calibrator = fit_calibrator(method, valid_margin, valid_y)
        p = calibrator(test_margin)
        results[method] = {
            "brier": round(brier_score(test_y, p), 6),
            "log_loss": round(log_loss(test_y, p), 5),
            "roc_auc_of_probability": round(roc_auc(test_y, p), 4),
            "distinct_values": len(np.unique(p)),
            "distinct_shown": len(np.unique(np.round(p, SHOWN_DECIMALS))),
            "top_k_sharing_shown_value": round(
                tied_in_top_k(p, test_margin, rows["test_weeks"], k), 3
            ),
            "mean_predicted": round(float(p.mean()), 5),
        }
    return {
        "test_rows": len(test_y),
        "test_events": int(test_y.sum()),
        "calibration_rows": len(valid_y),
        "calibration_events": int(valid_y.sum()),
        "observed_rate": round(float(test_y.mean()), 5),
        "roc_auc_of_margin": round(roc_auc(test_y, test_margin), 4),
        "k": k,
        "methods": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("ews_demo"))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    settings = Settings(workdir=args.workdir)
    started = time.perf_counter()
    report = {}
    for industry in load_industries():
        if not (settings.models / industry / "model.json").is_file():
            continue
        report[industry] = compare_methods(industry_rows(settings, industry))
    header = f"{'industry':<14}{'method':<10}{'Brier':>10}{'log loss':>10}{'AUC(p)':>8}"
    print(header + f"{'distinct':>10}{'shown':>7}{'top-K tied':>11}")
    for industry, entry in report.items():
        for method, r in entry["methods"].items():
            print(
                f"{industry:<14}{method:<10}{r['brier']:>10.5f}{r['log_loss']:>10.4f}"
                f"{r['roc_auc_of_probability']:>8.4f}{r['distinct_values']:>10}"
                f"{r['distinct_shown']:>7}{r['top_k_sharing_shown_value']:>11.3f}"
            )
        print(
            f"{'':<14}(test rows {entry['test_rows']}, events {entry['test_events']}, AUC of "
            f"the margin {entry['roc_auc_of_margin']:.4f}, observed rate {entry['observed_rate']})"
        )
    seconds = round(time.perf_counter() - started, 1)
    print(f"({seconds} s)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "workdir": str(args.workdir),
            "run_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "results": report,
            "seconds": seconds,
        }
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
