"""Training gathered in one process or with ``xgboost.dask`` across workers, side by side.

The sharded pipeline (docs/scaling.md) gathers an industry's training rows into the flow's
process and boosts there. This measures that choice against ``xgboost.dask`` on the same rows,
split, parameters and early stopping: on a trained workdir (``features/history.parquet``, the
lake's outcomes), for each training set (``--sets``: an industry's rows, or ``pooled``, the three
industries' together, the largest set the history holds) it builds the training, stopping and
test matrices as ``ews train`` does (``models.pipeline``: point-in-time labels, out-of-time split,
stopping rows purged of seen events), then, each mode in a process of its own (peak RSS and CPU
from ``os.wait4``, the Dask workers included):

- ``gathered``: ``xgboost.train`` in the process, the configured ``nthread``;
- ``dask:W``: a ``LocalCluster`` of W worker processes of one thread, the rows scattered in
  2W partitions, ``xgboost.dask.train`` (each worker's peak RSS read on the worker; the bytes
  scattered to the workers are the shuffle volume here, where a deployment would have each
  worker read its own shards).

It reports wall and CPU seconds (the boosting alone and the whole process), peak memory, trees
and the test ROC-AUC of the margin (the histograms are built per worker, so the models differ
slightly).

    .venv/bin/python benchmarks/dask_training.py --workdir W --sets manufacturing pooled \
        --modes gathered dask:1 dask:2 --json bench_out/dask_training.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]


def training_matrices(workdir: Path, training_set: str, seed: int) -> dict[str, Any]:
    """The set's train / stopping / test matrices and the booster's parameters, as training
    builds them."""
    from features import registry
    from models.config import load_industries
    from models.labels import LABEL, label_snapshots
    from models.pipeline import feature_columns
    from models.split import out_of_time_split, purge_seen_positives
    from models.train import booster_params, features_and_labels, monotone_constraints
    from pipelines.flows.train import risk_directions, training_outcomes
    from pipelines.settings import Settings
    from pipelines.training_rows import read_history

    settings = Settings(workdir=workdir)
    specs = load_industries()
    keys = list(specs) if training_set == "pooled" else [training_set]
    parts = []
    for key in keys:
        spec = specs[key]
        rows = read_history(settings.features / "history.parquet", spec)
        until = rows.get_column("as_of").max()
        labelled = label_snapshots(rows, training_outcomes(settings, spec, until, 0), spec, until)
        parts.append(labelled.with_columns(pl.lit(key).alias("_industry")))
    every = pl.concat(parts, how="diagonal_relaxed")
    if training_set == "pooled":
        every = every.with_columns(
            (pl.col("_industry") == key).cast(pl.Int8).alias(f"industry_is_{key}") for key in specs
        )
    spec = specs[keys[0]]
    split = out_of_time_split(every, spec.horizon_days)
    names = tuple(n for n in feature_columns(every) if n not in set(registry.descriptor_names()))
    stopping = purge_seen_positives(split.train, split.valid, label_col=LABEL)
    x_train, y_train = features_and_labels(split.train, names, LABEL, "train")
    x_stop, y_stop = features_and_labels(stopping, names, LABEL, "stopping")
    x_test, y_test = features_and_labels(split.test, names, LABEL, "test")
    config = spec.training.model_copy(update={"seed": seed})
    params = booster_params(config, y_train, monotone_constraints(names, risk_directions()))
    return {
        "names": names,
        "train": (x_train, y_train),
        "stopping": (x_stop, y_stop),
        "test": (x_test, y_test),
        "params": params,
        "max_rounds": config.max_rounds,
        "early_stopping_rounds": config.early_stopping_rounds,
    }


def boost_gathered(data: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    import xgboost as xgb

    names = list(data["names"])
    train = xgb.DMatrix(data["train"][0], label=data["train"][1], feature_names=names)
    stopping = xgb.DMatrix(data["stopping"][0], label=data["stopping"][1], feature_names=names)
    booster = xgb.train(
        dict(data["params"]),
        train,
        num_boost_round=data["max_rounds"],
        evals=[(stopping, "valid")],
        early_stopping_rounds=data["early_stopping_rounds"],
        verbose_eval=False,
    )
    return booster[: booster.best_iteration + 1], {"workers": 0}


def _worker_peak_mb() -> float:
    """The worker's own peak resident memory: VmHWM of its address space. Not ru_maxrss, which
    a spawned worker inherits from the process it was forked from (the flow's, gigabytes)."""
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux


def boost_on_dask(data: dict[str, Any], workers: int) -> tuple[Any, dict[str, Any]]:
    import dask.array as da
    from distributed import Client, LocalCluster
    from xgboost import dask as dxgb

    names = list(data["names"])
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.WARNING,
        ) as cluster,
        Client(cluster) as client,
    ):

        def scattered(x: np.ndarray, y: np.ndarray) -> Any:
            chunk = max(1, -(-len(y) // (2 * workers)))
            xs = da.from_array(x, chunks=(chunk, x.shape[1]))
            ys = da.from_array(y, chunks=(chunk,))
            xs, ys = client.persist([xs, ys])
            return dxgb.DaskDMatrix(client, xs, ys, feature_names=names)

        scatter_started = time.perf_counter()
        train = scattered(*data["train"])
        stopping = scattered(*data["stopping"])
        scatter_s = time.perf_counter() - scatter_started
        params = {**data["params"], "nthread": 1}
        output = dxgb.train(
            client,
            params,
            train,
            num_boost_round=data["max_rounds"],
            evals=[(stopping, "valid")],
            early_stopping_rounds=data["early_stopping_rounds"],
            verbose_eval=False,
        )
        peaks = client.run(_worker_peak_mb)
    booster = output["booster"]
    shipped = sum(part.nbytes for pair in (data["train"], data["stopping"]) for part in pair)
    return booster[: booster.best_iteration + 1], {
        "workers": workers,
        "worker_peak_mb": sorted(round(v) for v in peaks.values()),
        "scattered_mb": round(shipped / 2**20, 1),
        "scatter_s": round(scatter_s, 2),
    }


def run_mode(workdir: Path, training_set: str, mode: str, seed: int) -> dict[str, Any]:
    """One mode on one set, in this process (the child of ``measured``)."""
    from models.evaluate import roc_auc
    from models.train import booster_margin

    prepared = time.perf_counter()
    data = training_matrices(workdir, training_set, seed)
    prepare_s = time.perf_counter() - prepared
    started, cpu = time.perf_counter(), time.process_time()
    if mode == "gathered":
        booster, detail = boost_gathered(data)
    else:
        booster, detail = boost_on_dask(data, int(mode.split(":")[1]))
    boost_s, boost_cpu = time.perf_counter() - started, time.process_time() - cpu
    x_test, y_test = data["test"]
    return {
        "set": training_set,
        "mode": mode,
        "train_rows": len(data["train"][1]),
        "train_positives": int(data["train"][1].sum()),
        "stopping_rows": len(data["stopping"][1]),
        "test_rows": len(y_test),
        "features": len(data["names"]),
        "prepare_s": round(prepare_s, 1),
        "boost_wall_s": round(boost_s, 1),
        "boost_cpu_s_this_process": round(boost_cpu, 1),
        "trees": booster.num_boosted_rounds(),
        "test_roc_auc": round(
            float(roc_auc(y_test, booster_margin(booster, x_test, data["names"]))), 4
        ),
        **detail,
    }


def measured(workdir: Path, training_set: str, mode: str, seed: int) -> dict[str, Any]:
    """``run_mode`` in a process of its own: its wall, CPU and peak RSS (children included)."""
    out = workdir / ".bench" / f"dask_training_{training_set}_{mode.replace(':', '_')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, __file__, "--child", training_set, mode, "--workdir", str(workdir)]
    command += ["--seed", str(seed), "--out", str(out)]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{training_set} {mode} failed (exit {os.waitstatus_to_exitcode(status)})")
    figures = json.loads(out.read_text(encoding="utf-8"))
    figures.update(
        process_wall_s=round(wall, 1),
        process_cpu_s=round(usage.ru_utime + usage.ru_stime, 1),
        process_peak_rss_mb=round(usage.ru_maxrss / 1024),
    )
    print(
        f"{training_set:<14} {mode:<9} rows {figures['train_rows']:>8,}  boost "
        f"{figures['boost_wall_s']:6.1f} s  process {figures['process_wall_s']:6.1f} s wall "
        f"{figures['process_cpu_s']:6.1f} s cpu {figures['process_peak_rss_mb']:>6,} MB  trees "
        f"{figures['trees']:>4}  test AUC {figures['test_roc_auc']:.4f}"
        + (f"  workers {figures['worker_peak_mb']} MB" if figures.get("worker_peak_mb") else ""),
        flush=True,
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--sets", nargs="+", default=["manufacturing", "pooled"])
    parser.add_argument("--modes", nargs="+", default=["gathered", "dask:1", "dask:2"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    if args.child:
        result = run_mode(args.workdir.resolve(), *args.child, args.seed)
        args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
        return
    for mode in args.modes:
        if mode != "gathered" and not (mode.startswith("dask:") and mode[5:].isdigit()):
            parser.error(f"--modes: {mode!r} is neither 'gathered' nor 'dask:<workers>'")
    load_before = os.getloadavg()
    runs = [
        measured(args.workdir.resolve(), s, m, args.seed) for s in args.sets for m in args.modes
    ]
    result = {
        "benchmark": "dask_training",
        "workdir": str(args.workdir),
        "seed": args.seed,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "runs": runs,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
