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

Per process (``processes`` of each stage): the stage process samples every process it started
(the Dask workers) every 0.2 s for its resident memory, CPU time and the bytes it read and
wrote through system calls (``/proc/<pid>/io`` rchar/wchar: files, the lake included, from disk
or the page cache, start-up imports included), so each worker's peak and reads are its own; the
flow's own peak and CPU time are its ``RUSAGE_SELF``. ``shuffle`` counts what crosses between the
flow's process and the workers: the feature shards' Parquet parts (written by the workers, read
by the flow's gather), the scoring shards' returned scores and SHAP contributions (their frames'
size in memory), and the scoring table each scoring shard reads (its file size, once per shard
and industry).

``--scale province`` (a million entities over 12 months, data_contracts/simulate/README.md) is
too short a history to train on: run it ``--without-models`` (the set-up stops after the
features, the Monday job publishes nothing). ``--max-rss-mb`` stops a stage whose process tree
goes over the limit (the machine is shared).
"""

from __future__ import annotations

import argparse
import contextlib
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


def run_stage(
    stage: str, workdir: Path, params: dict[str, Any], max_rss_mb: int | None = None
) -> dict[str, Any]:
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
    process = subprocess.Popen(command, cwd=ROOT, start_new_session=True)
    status, usage = wait_within(process, stage, max_rss_mb)
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
    for child in figures["processes"]:
        print(
            f"{'':<22} pid {child['pid']}: peak {child['peak_rss_mb']:,} MB, "
            f"cpu {child['cpu_s']} s, read "
            f"{child['read_mb']:,} MB, written {child['written_mb']:,} MB",
            flush=True,
        )
    if "shuffle" in figures:
        print(f"{'':<22} shuffle {figures['shuffle']}", flush=True)
    return figures


def tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants, MB."""
    import psutil

    try:
        top = psutil.Process(root)
        processes = [top, *top.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += process.memory_info().rss
    return total / 2**20


def wait_within(
    process: subprocess.Popen, stage: str, max_rss_mb: int | None
) -> tuple[int, os.struct_rusage]:
    """``os.wait4`` on the stage; with ``max_rss_mb``, its process group is stopped (and the
    benchmark fails naming the stage) when its tree's resident memory goes over the limit."""
    if max_rss_mb is None:
        _, status, usage = os.wait4(process.pid, 0)
        return status, usage
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            return status, usage
        rss = tree_rss_mb(process.pid)
        if rss > max_rss_mb:
            os.killpg(process.pid, 9)
            os.wait4(process.pid, 0)
            raise SystemExit(f"stage {stage} stopped: {rss:,.0f} MB over --max-rss-mb {max_rss_mb}")
        time.sleep(0.5)


class ChildSampler:
    """Samples the processes this one started (Dask workers) for their peak resident memory and
    the bytes they read and wrote through system calls, until ``stop``."""

    def __init__(self, every_s: float = 0.2) -> None:
        import threading

        self.every_s = every_s
        self.seen: dict[int, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            for child in me.children(recursive=True):
                try:
                    with child.oneshot():
                        rss, io = child.memory_info().rss, child.io_counters()
                        cpu = child.cpu_times()
                        entry = self.seen.setdefault(
                            child.pid, {"command": " ".join(child.cmdline())[:160], "peak": 0}
                        )
                    entry["peak"] = max(entry["peak"], rss)
                    entry["read"], entry["written"] = io.read_chars, io.write_chars
                    entry["cpu"] = cpu.user + cpu.system
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
            self._stop.wait(self.every_s)

    def stop(self) -> list[dict[str, Any]]:
        self._stop.set()
        self._thread.join()
        return [
            {
                "pid": pid,
                "command": entry["command"],
                "peak_rss_mb": round(entry["peak"] / 2**20),
                "cpu_s": round(entry.get("cpu", 0.0), 1),
                "read_mb": round(entry.get("read", 0) / 2**20, 1),
                "written_mb": round(entry.get("written", 0) / 2**20, 1),
            }
            for pid, entry in sorted(self.seen.items())
        ]


def own_figures() -> dict[str, Any]:
    """This process's own peak RSS, CPU time and bytes read/written (its children not
    included)."""
    import resource

    import psutil

    io = psutil.Process().io_counters()
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "flow_cpu_s": round(own.ru_utime + own.ru_stime, 1),
        "flow_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "flow_read_mb": round(io.read_chars / 2**20, 1),
        "flow_written_mb": round(io.write_chars / 2**20, 1),
    }


def shuffle(workdir: str, stage: str, result: dict[str, Any]) -> dict[str, Any]:
    """What crossed between the flow and the shard tasks (see the module's docstring)."""
    placed = result.get("shards") or {}
    tables = placed.get("features", placed) if stage.startswith("publish") else placed
    parts = [s for key in ("feature_table", "feature_history") for s in tables.get(key, [])]
    scored = [s for key, shards in placed.items() if key != "features" for s in shards]
    figures: dict[str, Any] = {
        "feature_parts_mb": round(sum(s["bytes"] for s in parts) / 2**20, 1),
        "feature_shards": len(parts),
    }
    if stage.startswith("publish"):
        from pipelines.flows.publish import scoring_table_path
        from pipelines.settings import Settings

        table = scoring_table_path(
            Settings(workdir=Path(workdir)), dt.date.fromisoformat(result["as_of"])
        )
        figures |= {
            "scores_returned_mb": round(sum(s["bytes"] for s in scored) / 2**20, 1),
            "score_shards": len(scored),
            "scoring_table_mb": round(table.stat().st_size / 2**20, 1),
            "scoring_table_reads_mb": round(len(scored) * table.stat().st_size / 2**20, 1),
        }
    return figures


def stage_main(stage: str, workdir: str, params: dict[str, Any]) -> dict[str, Any]:
    """What one stage runs (in its own process)."""
    from pipelines import runtime

    runtime.configure()
    sampler = ChildSampler()
    started = time.perf_counter()
    if stage == "simulate":
        from prefect.task_runners import ThreadPoolTaskRunner

        from pipelines.flows.simulate import simulate_flow

        tasks = params.pop("tasks", None)  # the landing tasks at once (memory grows with them)
        if tasks is not None:
            runner = ThreadPoolTaskRunner(max_workers=tasks)
            simulate_flow = simulate_flow.with_options(task_runner=runner)
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
        if "shards" in result:
            detail |= {"shards": result["shards"], "shuffle": shuffle(workdir, stage, result)}
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
        if "shards" in result:
            detail |= {"shards": result["shards"], "shuffle": shuffle(workdir, stage, result)}
    else:
        raise SystemExit(f"unknown stage {stage}")
    seconds = round(time.perf_counter() - started, 1)
    return {"in_flow_s": seconds, **own_figures(), "processes": sampler.stop(), **detail}


def tier_coverage(workdir: Path, week: str) -> dict[str, Any]:
    """Whether every firm the tier policy classes (every enterprise of the week's scoring table)
    got a class, and what set them: the issue's "every enterprise in the park has a tier"."""
    import polars as pl

    from models.config import load_config
    from models.tiering import load_tier_policy
    from pipelines import datasets, file_io, tiers, timeline

    manifest = file_io.read_json(datasets.TIERS.path(workdir, week=week).parent / datasets.MANIFEST)
    as_of = timeline.stored_day(manifest.get("as_of"), f"{week} tiers manifest as_of")
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

    def stage(name: str, workdir: Path, params: dict[str, Any]) -> dict[str, Any]:
        return run_stage(name, workdir, params, args.max_rss_mb)

    stages: dict[str, Any] = {}
    models = not args.without_models
    ready = workdir / "publish" / week_of(end) if models else workdir / "lake" / "_ledger.jsonl"
    prepared = ready.exists()
    if args.fresh and workdir.exists():
        shutil.rmtree(workdir)
        prepared = False
    if not prepared:
        if not (workdir / "sim_truth" / "world.json").is_file():
            stages["simulate"] = stage(
                "simulate",
                workdir,
                {
                    "scale": args.scale,
                    "seed": args.seed,
                    "end_date": following.isoformat(),
                    **({"tasks": args.simulate_tasks} if args.simulate_tasks else {}),
                },
            )
        stages["ingest_backfill"] = stage("ingest_backfill", workdir, {"as_of": str(end)})
        # the history too (the Monday job's features then write the scoring table only)
        stages["features_with_history"] = stage(
            "features_with_history", workdir, {"as_of": str(end)}
        )
        if models:
            stages["train"] = stage("train", workdir, {})
            stages["publish_week_n"] = stage("publish_week_n", workdir, {"week": week_of(end)})
    rewound = rewind(workdir, end) if prepared else 0
    monday = {
        "ingest_week": stage("ingest_week", workdir, {"as_of": str(following), **runner}),
        "features_week": stage(
            "features_week", workdir, {"as_of": str(following), "with_history": False, **runner}
        ),
    }
    if models:
        week = {"week": week_of(following), **runner}
        monday["publish_week"] = stage("publish_week", workdir, week)
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
        "runner": runner or {"runner": "local"},
        "without_models": not models,
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
    parser.add_argument("--scale", choices=("tiny", "small", "sip", "province"), default="small")
    parser.add_argument("--seed", type=int, help=f"default {SEED} ({SEEDS} for tiny)")
    parser.add_argument("--end-date", default=END_DATE.isoformat())
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--fresh", action="store_true", help="simulate and ingest again")
    parser.add_argument("--runner", choices=("local", "dask"), default="local")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster workers (dask)")
    parser.add_argument(
        "--max-rss-mb", type=int, help="stop a stage whose process tree goes over this"
    )
    parser.add_argument(
        "--simulate-tasks",
        type=int,
        help="the simulation's landing tasks at once (default the flow's 2; 1 bounds memory)",
    )
    parser.add_argument(
        "--without-models",
        action="store_true",
        help="no training or publishing (a history too short to train on: province)",
    )
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
