"""How much each input says alone, on the rows each industry's model is trained and tested on.

For every industry of ``models/industries.yaml``, the park's training history is labelled and
split out of time as production does (``models.pipeline.prepare``). For each input asked for:
the share of rows where it is known, its ROC-AUC alone on the training and test rows (oriented
by its risk direction, so 0.5 is no signal and above 0.5 ranks risk the right way round), how
much likelier an event is where it is not zero (for counts of rare events, whose ROC-AUC stays
near 0.5), and its Spearman correlation with the ``--against`` inputs on the training rows.
An input alone says nothing about what it adds to the others; the correlation says how much of
it they already read.

A direction comes from the feature registry; an input not registered (a table built by an
earlier commit) reads "higher is riskier" unless listed in ``--down``.

    .venv/bin/python benchmarks/single_inputs.py --workdir <park> \\
        --inputs energy_latest_1m energy_trend_3m --against invoices_issued_latest_1m \\
        --json bench_out/single_inputs.json
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from features import registry
from features.family import DOWN
from models.config import load_industries
from models.labels import LABEL
from models.pipeline import prepare
from pipelines import datasets, file_io
from pipelines.flows.train import pool_member
from pipelines.settings import Settings
from pipelines.training_rows import read_history

# Fewer known rows or events than this, and an AUC says too little to print.
MIN_ROWS = 100


def lower_is_riskier(name: str, down: Sequence[str]) -> bool:
    if name in registry.feature_names():
        return registry.spec(name).direction == DOWN
    return name in down


def input_signal(frame: pl.DataFrame, name: str, *, lower_riskier: bool) -> dict:
    """The share of rows where ``name`` is known and its ROC-AUC alone there (None with fewer
    than MIN_ROWS known rows or a single class among them).

    A count of rare events is zero on most rows, so its ROC-AUC stays near 0.5 however much a
    non-zero count says; ``nonzero_share`` and ``nonzero_lift`` (the event rate where it is
    not zero over the event rate where it is known) say that instead."""
    values = frame.get_column(name).cast(pl.Float64).to_numpy()
    labels = frame.get_column(LABEL).to_numpy()
    known = ~np.isnan(values)
    nonzero = known & (values != 0)
    figures = {
        "known_share": round(float(known.mean()), 3) if len(values) else 0.0,
        "nonzero_share": round(float(nonzero.mean()), 3) if len(values) else 0.0,
        "nonzero_lift": None,
        "roc_auc": None,
    }
    if known.sum() < MIN_ROWS or len(np.unique(labels[known])) < 2:
        return figures
    if nonzero.any():
        figures["nonzero_lift"] = round(float(labels[nonzero].mean() / labels[known].mean()), 2)
    score = -values[known] if lower_riskier else values[known]
    figures["roc_auc"] = round(float(roc_auc_score(labels[known], score)), 3)
    return figures


def rank_correlation(frame: pl.DataFrame, a: str, b: str) -> float | None:
    """Spearman's correlation of two inputs over the rows where both are known."""
    if a == b:
        return 1.0
    both = frame.select(a, b).drop_nulls()
    if both.height < MIN_ROWS:
        return None
    return round(float(spearmanr(both.get_column(a), both.get_column(b)).statistic), 3)


def measure(
    settings: Settings, inputs: Sequence[str], against: Sequence[str], down: Sequence[str]
) -> dict:
    report = {}
    for industry, spec in load_industries().items():
        history = datasets.FEATURE_HISTORY.path(settings.workdir)
        rows = read_history(history, spec)
        missing = sorted((set(inputs) | set(against)) - set(rows.columns))
        if missing:
            raise SystemExit(f"{history}: no column {missing}")
        until = rows.get_column("as_of").max()
        member = pool_member(settings, spec, rows, until)
        part = prepare(
            member.history,
            member.outcomes,
            spec,
            known_until=until,
            descriptors=registry.descriptor_names(),
        )
        train, test = part.split.train, part.split.test
        report[industry] = {
            name: {
                "train": input_signal(train, name, lower_riskier=lower_is_riskier(name, down)),
                "test": input_signal(test, name, lower_riskier=lower_is_riskier(name, down)),
                "spearman_train": {
                    other: rank_correlation(train, name, other) for other in against
                },
            }
            for name in inputs
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--inputs", nargs="+", required=True)
    parser.add_argument("--against", nargs="*", default=[])
    parser.add_argument("--down", nargs="*", default=[], help="unregistered, lower is riskier")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()
    report = measure(Settings(workdir=args.workdir), args.inputs, args.against, args.down)
    for industry, inputs in report.items():
        for name, figures in inputs.items():
            train, test = figures["train"], figures["test"]
            print(
                f"{industry:14} {name:40} known {test['known_share']:.2f}  ROC alone "
                f"train {train['roc_auc']} test {test['roc_auc']}  non-zero "
                f"{train['nonzero_share']:.3f} lift {train['nonzero_lift']}  "
                f"rho {figures['spearman_train']}"
            )
    if args.json:
        payload = {
            "workdir": str(args.workdir),
            "results": report,
            "seconds": round(time.perf_counter() - started, 1),
        }
        file_io.write_json(args.json, payload)


if __name__ == "__main__":
    main()
