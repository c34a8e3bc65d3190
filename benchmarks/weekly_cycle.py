"""The Monday job measured stage by stage: next week's deliveries, incremental ingest, features
as of the new week, scoring, SHAP, lists, site and manifest; and the backfill that precedes it.

    python benchmarks/weekly_cycle.py --scale tiny|small|sip --json out.json
        [--workdir DIR] [--end-date 2026-11-29] [--seed N] [--runner local|dask --shards N]

The park is simulated up to a week after ``--end-date`` (E), so week N+1's deliveries (dated
E+1..E+7) are in landing/ but not due when the backfill is ingested as of E. Set-up, each stage
measured: simulate to E+7, ingest as of E (the backfill: every delivery up to E), features as of
E with the training history, train, publish week N (so week N+1 has a previous list). Then the
Monday job: ingest as of E+7 (only week N+1's deliveries are new), the scoring table as of E+7
(no history: it is rebuilt by the monthly retrain), publish week N+1 (score and SHAP values,
SHAP charts, list files and manifest, case store, credit tiers, site; the flow reports each
step's seconds).

Every stage runs in its own process (this script with ``--stage``), so its wall time, CPU time
and peak RSS (``os.wait4``: the process and the children it waited for, e.g. the ephemeral
Prefect server) are its own. Wall times include the process's start-up (imports, the ephemeral
Prefect server). A ``--workdir`` that already holds a published week N is reused: only the
Monday job runs again: the ledger lines, lake partitions and quarantine files of an earlier
Monday ingest are removed first (``rewind``), so week N+1's deliveries are new again.
``--fresh`` starts from an empty workdir.

``--runner dask --shards N --workers W``: the Monday job's features and publish run sharded on a
LocalCluster of W worker processes; the script starts a Prefect server of its own for them (SQLite
in a temporary home) unless PREFECT_API_URL is set.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
END_DATE = dt.date(2026, 11, 29)  # a Sunday: week N is 2026-W49, week N+1 2026-W50
SEED = 20261121
# The tiny park of the default seed has no education event in its validation weeks (training
# refuses one class); the tests' tiny park of seed 7 has.
SEEDS = {"tiny": 7}


def week_of(as_of: dt.date) -> str:
    """The ISO week whose as-of date (the Sunday before its Monday) is ``as_of``."""
    year, week, _ = (as_of + dt.timedelta(days=1)).isocalendar()
    return f"{year}-W{week:02d}"


def run_stage(stage: str, workdir: Path, params: dict[str, Any]) -> dict[str, Any]:
    """One stage in a process of its own: the flow's own result plus wall, CPU and peak RSS."""
    out = workdir / ".bench" / f"{stage}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--stage",
        stage,
        "--workdir",
        str(workdir),
        "--params",
        json.dumps(params),
        "--out",
        str(out),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"stage {stage} failed (exit {os.waitstatus_to_exitcode(status)})")
    result = json.loads(out.read_text(encoding="utf-8"))
    figures = {
        "wall_s": round(wall, 1),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "in_flow_s": result.pop("in_flow_s"),
        **result,
    }
    print(
        f"{stage:<22} wall {figures['wall_s']:7.1f} s  cpu {figures['cpu_s']:7.1f} s  "
        f"peak {figures['peak_rss_mb']:6,d} MB  (in the flow {figures['in_flow_s']:.1f} s)",
        flush=True,
    )
    return figures


def stage_main(stage: str, workdir: str, params: dict[str, Any]) -> dict[str, Any]:
    """What one stage runs (in its own process)."""
    from pipelines import runtime

    runtime.configure()
    started = time.perf_counter()
    if stage == "simulate":
        from pipelines.flows.simulate import simulate_flow

        result = simulate_flow(workdir=workdir, **params)
        detail = {k: result[k] for k in ("entities", "deliveries", "rows")}
    elif stage.startswith("ingest"):
        from pipelines.flows.ingest import ingest_flow

        flow, _ = on_runner(ingest_flow, workdir, params)
        parallel = flow is not ingest_flow  # on Dask: the sources in parallel
        result = flow(workdir=workdir, as_of=params["as_of"], parallel=parallel)
        totals = json.loads(Path(result["ingest_summary"]).read_text(encoding="utf-8"))["totals"]
        detail = {
            k: totals[k]
            for k in ("rows_in", "rows_accepted", "rows_quarantined", "deliveries_processed")
        }
    elif stage.startswith("features"):
        from pipelines.flows.features import build_features_flow

        flow, shards = on_runner(build_features_flow, workdir, params)
        result = flow(workdir=workdir, shards=shards, **params)
        detail = {"rows": result["rows"], "history_rows": result["history_rows"]}
    elif stage == "train":
        from pipelines.flows.train import train_flow

        train_flow(workdir=workdir)
        detail = {}
    elif stage.startswith("publish"):
        from pipelines.flows.publish import publish_flow

        flow, shards = on_runner(publish_flow, workdir, params)
        result = flow(workdir=workdir, shards=shards, **params)
        detail = {
            "week": result["week"],
            "steps": result["stages"],
            "tiers": tier_coverage(Path(workdir), result["week"]),
        }
    else:
        raise SystemExit(f"unknown stage {stage}")
    return {"in_flow_s": round(time.perf_counter() - started, 1), **detail}


def tier_coverage(workdir: Path, week: str) -> dict[str, Any]:
    """Whether every firm the tier policy classes (every enterprise of the week's scoring table)
    got a class, and what set them: the issue's "every enterprise in the park has a tier"."""
    import polars as pl

    from models.config import load_config
    from models.tiering import load_tier_policy
    from pipelines import datasets, tiers

    manifest = json.loads(
        (datasets.TIERS.path(workdir, week=week).parent / "manifest.json").read_text("utf-8")
    )
    as_of = dt.date.fromisoformat(manifest["as_of"])
    table = pl.read_parquet(datasets.SCORING_TABLE.path(workdir, as_of=as_of))
    expected = tiers.classed_firms(table, load_tier_policy(), load_config())["uscc"]
    classed = pl.read_parquet(datasets.TIERS.path(workdir, week=week))
    if not expected.equals(classed["uscc"]):
        raise SystemExit(
            f"{week}: {expected.len()} firms to class, {classed.height} classed, not the same set"
        )
    by = {
        key: dict(classed.group_by(key).len().sort(key).iter_rows())
        for key in ("tier", "basis", "model")
    }
    return {"firms_in_scoring_table": table.height, "classed": classed.height, **by}


def rewind(workdir: Path, end: dt.date) -> int:
    """Undo an earlier Monday job's ingest, so that week N+1's deliveries are new again: the
    ledger lines ingested after ``end`` go, with their lake partitions and quarantine files (only
    in the benchmark's own workdir). Returns the lines removed."""
    ledger = workdir / "lake" / "_ledger.jsonl"
    if not ledger.is_file():
        return 0
    lines = ledger.read_text(encoding="utf-8").splitlines(keepends=True)
    cutoff = dt.datetime.combine(end, dt.time(23, 59, 59))
    kept, removed = [], []
    for line in lines:
        entry = json.loads(line)
        later = dt.datetime.fromisoformat(entry["ingested_at"]) > cutoff
        (removed if later else kept).append((line, entry))
    for _, entry in removed:
        source, delivery = entry["source"], entry["delivery_id"]
        shutil.rmtree(workdir / "lake" / source / f"delivery={delivery}", ignore_errors=True)
        for path in (workdir / "quarantine" / source).glob(f"{delivery}.*"):
            path.unlink()
    if removed:
        staged = ledger.with_name(".ledger.rewind")
        staged.write_text("".join(line for line, _ in kept), encoding="utf-8")
        staged.replace(ledger)
    return len(removed)


def on_runner(flow: Any, workdir: str, params: dict[str, Any]) -> tuple[Any, int | None]:
    """The flow on the runner the stage's params name (popped), and its shard count."""
    from pipelines.settings import Settings
    from pipelines.sharding import task_runner

    runner = params.pop("runner", "local")
    shards = params.pop("shards", None)
    workers = params.pop("workers", 2)
    if runner == "local":
        return flow, shards
    settings = Settings(workdir=Path(workdir), runner=runner, shards=shards, dask_workers=workers)
    return flow.with_options(task_runner=task_runner(settings)), shards


def prefect_server() -> tuple[subprocess.Popen, str, Path]:
    """A Prefect server of the benchmark's own (SQLite in a temporary home) for the Dask runner,
    which must not run on ephemeral Prefect."""
    import socket
    import tempfile
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    home = Path(tempfile.mkdtemp(prefix="ews_bench_prefect_"))
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "prefect"),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/api"
    for _ in range(240):
        try:
            urllib.request.urlopen(f"{url}/health", timeout=2)
            return server, url, home
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise SystemExit("the benchmark's Prefect server did not start in 120 s")


def run(args: argparse.Namespace) -> dict[str, Any]:
    end = dt.date.fromisoformat(args.end_date)
    following = end + dt.timedelta(days=7)
    workdir = (args.workdir or ROOT / "benchmarks" / ".work" / f"weekly_{args.scale}").resolve()
    runner = (
        {"runner": "dask", "shards": args.shards, "workers": args.workers}
        if args.runner == "dask"
        else {}
    )
    load_before = os.getloadavg()
    stages: dict[str, Any] = {}
    prepared = (workdir / "publish" / week_of(end)).is_dir()
    if args.fresh and workdir.exists():
        shutil.rmtree(workdir)
        prepared = False
    if not prepared:
        if not (workdir / "sim_truth" / "world.json").is_file():
            stages["simulate"] = run_stage(
                "simulate",
                workdir,
                {"scale": args.scale, "seed": args.seed, "end_date": following.isoformat()},
            )
        stages["ingest_backfill"] = run_stage("ingest_backfill", workdir, {"as_of": str(end)})
        stages["features_with_history"] = run_stage(
            "features_with_history", workdir, {"as_of": str(end)}
        )
        stages["train"] = run_stage("train", workdir, {})
        stages["publish_week_n"] = run_stage("publish_week_n", workdir, {"week": week_of(end)})
    rewound = rewind(workdir, end) if prepared else 0
    monday = {
        "ingest_week": run_stage("ingest_week", workdir, {"as_of": str(following), **runner}),
        "features_week": run_stage(
            "features_week", workdir, {"as_of": str(following), "with_history": False, **runner}
        ),
        "publish_week": run_stage("publish_week", workdir, {"week": week_of(following), **runner}),
    }
    total = {
        key: round(sum(s[key] for s in monday.values()), 1)
        for key in ("wall_s", "cpu_s", "in_flow_s")
    }
    total["peak_rss_mb"] = max(s["peak_rss_mb"] for s in monday.values())
    return {
        "benchmark": "weekly_cycle",
        "scale": args.scale,
        "seed": args.seed,
        "week_n": week_of(end),
        "week_n_plus_1": week_of(following),
        "workdir": str(workdir),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": load_before,
        },
        "setup": stages,
        "rewound_ledger_lines": rewound,
        "monday_job": monday,
        "monday_total": total,
        "load_average_after": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("tiny", "small", "sip"), default="small")
    parser.add_argument("--seed", type=int, help=f"default {SEED} ({SEEDS} for tiny)")
    parser.add_argument("--end-date", default=END_DATE.isoformat())
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--fresh", action="store_true", help="simulate and ingest again")
    parser.add_argument("--runner", choices=("local", "dask"), default="local")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster workers (dask)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--params", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        result = stage_main(args.stage, str(args.workdir), json.loads(args.params))
        args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
        return
    args.seed = args.seed if args.seed is not None else SEEDS.get(args.scale, SEED)
    server = None
    if args.runner == "dask" and not os.environ.get("PREFECT_API_URL"):
        server, url, home = prefect_server()
        os.environ["PREFECT_API_URL"] = url  # every stage's process reports to it
    try:
        result = run(args)
    finally:
        if server is not None:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)
            shutil.rmtree(home, ignore_errors=True)
    total = result["monday_total"]
    print(
        f"Monday job ({result['week_n_plus_1']}, {args.scale}): wall {total['wall_s']} s, "
        f"cpu {total['cpu_s']} s, peak {total['peak_rss_mb']:,} MB"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
