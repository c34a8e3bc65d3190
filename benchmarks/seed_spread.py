"""How much does the training seed move each variant? Mean and range over runs of signal_variants.

Reads the JSON reports of ``benchmarks/signal_variants.py`` run at different ``--seed`` values on
the same workdir and prints, per variant and industry, the mean and the min-max range over the
runs of the model's ROC-AUC, PR-AUC and precision at K, model/oracle precision at K and
model/baseline PR-AUC, each industry's training CPU seconds (when recorded), how many runs' gate
would serve the boosted model (when recorded), and each variant's mean wall and (when recorded)
CPU seconds (training and scoring all industries).

    .venv/bin/python benchmarks/seed_spread.py bench_out/seed_bagging_*.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from models.baseline import KIND as BASELINE_KIND

# (label, where in one industry's result) for each figure summarised.
FIGURES = (
    ("ROC", ("metrics", "model", "roc_auc")),
    ("PR", ("metrics", "model", "pr_auc")),
    ("P@K", ("metrics", "model", "precision_at_k")),
    ("model/oracle P@K", ("ratios", "model/oracle", "precision_at_k")),
    ("model/baseline PR", ("ratios", "model/baseline", "pr_auc")),
)


def spread(reports: list[dict]) -> dict:
    """{variant: {"seconds": mean, "seeds": [...], industry: {figure: [mean, min, max]}}} over
    the variants every report has; with "cpu_seconds" (mean, min, max) and each industry's
    "served model" (how many runs' gate served the boosted model, of how many) where every
    report recorded them."""
    variants = [v for v in reports[0]["results"] if all(v in r["results"] for r in reports)]
    summary: dict = {}
    for variant in variants:
        runs = [r["results"][variant] for r in reports]
        entry: dict = {
            "seeds": [r["seed"] for r in reports],
            "seconds": round(float(np.mean([r["seconds"][variant] for r in reports])), 1),
        }
        if all(variant in r.get("cpu_seconds", {}) for r in reports):
            entry["cpu_seconds"] = _mean_and_range([r["cpu_seconds"][variant] for r in reports])
        for industry in runs[0]:
            entry[industry] = {}
            for label, (part, side, metric) in FIGURES:
                values = [run[industry][part][side][metric][0] for run in runs]
                entry[industry][label] = _mean_and_range(values)
            # Training and test evaluation CPU seconds, where every run recorded them.
            if all("train_cpu_seconds" in run[industry] for run in runs):
                cpu = [run[industry]["train_cpu_seconds"] for run in runs]
                entry[industry]["train CPU s"] = _mean_and_range(cpu)
            if all("gate" in run[industry] for run in runs):
                model = sum(run[industry]["gate"]["serves"] != BASELINE_KIND for run in runs)
                entry[industry]["served model"] = [model, len(runs)]
        summary[variant] = entry
    return summary


def _mean_and_range(values: list[float]) -> list[float]:
    return [round(float(np.mean(values)), 3), min(values), max(values)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("reports", nargs="+", type=Path)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    reports = [json.loads(path.read_text(encoding="utf-8")) for path in args.reports]
    summary = spread(reports)
    for variant, entry in summary.items():
        cpu = entry.get("cpu_seconds")
        cpu_shown = "" if cpu is None else f", mean {cpu[0]} CPU s [{cpu[1]}-{cpu[2]}]"
        print(f"== {variant} (seeds {entry['seeds']}, mean {entry['seconds']} s{cpu_shown})")
        for industry, figures in entry.items():
            if industry in ("seeds", "seconds", "cpu_seconds"):
                continue
            shown = "  ".join(
                f"{label} {values[0]} of {values[1]}"
                if label == "served model"
                else f"{label} {values[0]:.3f} [{values[1]:.3f}-{values[2]:.3f}]"
                for label, values in figures.items()
            )
            print(f"  {industry:<14} {shown}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
