"""The training history built in blocks of 13 weeks against blocks of about a million firm-weeks.

    python benchmarks/history_blocks.py --json out.json [--scale small|sip] [--lake DIR]
        [--as-of YYYY-MM-DD]

The features flow writes the weekly history (every week from six months after the data start up
to the as-of date, firms of the modelled industries) one block of weeks per query. Each query
reads every source again, so the block size trades time against memory. This runs the flow's own
history task on the same lake with each block size, each in its own subprocess (its own wall
time, CPU time and peak RSS), and checks that the histories are identical.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))

from features_vs_pandas import END_DATE, ensure_lake  # noqa: E402

OLD_BLOCK_WEEKS = 13


def run_worker(lake: Path, as_of: str, block_weeks: int | None, out: Path) -> None:
    from features.build import active_firm_count
    from models.config import load_industries
    from pipelines.flows import features as flow
    from pipelines.flows.features import (
        data_start,
        feature_history_task,
        history_dates,
    )
    from pipelines.io import lake_sources

    started = time.perf_counter()
    sources = lake_sources(lake)
    dates = history_dates(dt.date.fromisoformat(as_of), data_start(sources), None)
    sectors = [spec.sector_value for spec in load_industries().values()]
    firms = active_firm_count(sources, dates[-1], sectors=sectors)
    if block_weeks is not None:  # the same policy with a fixed number of weeks per block
        flow.HISTORY_BLOCK_ROWS = block_weeks * max(1, firms)
    blocks = len(flow.history_blocks(dates, firms))
    feature_history_task.fn(str(lake), dates, sectors, str(out))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "seconds": time.perf_counter() - started,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
                "peak_rss_mb": usage.ru_maxrss / 1024,
                "weeks": len(dates),
                "firms_at_last_week": firms,
                "blocks": blocks,
            }
        )
    )


def measure(lake: Path, as_of: str, block_weeks: int | None, out: Path) -> dict:
    command = [sys.executable, __file__, "--worker", "--lake", str(lake), "--as-of", as_of]
    command += ["--out", str(out)]
    if block_weeks is not None:
        command += ["--block-weeks", str(block_weeks)]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PREFECT_LOGGING_LEVEL": "WARNING"},
    )
    if done.returncode != 0:
        raise RuntimeError(f"history worker failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--scale", choices=("small", "sip"), default="small")
    parser.add_argument("--lake", type=Path, help="an existing lake (default: simulate one)")
    parser.add_argument("--as-of", default=END_DATE, help="the last as-of date")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--block-weeks", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args.lake, args.as_of, args.block_weeks, args.out)
        return
    if args.json is None:
        parser.error("--json PATH is required")
    import polars as pl

    lake = (args.lake or ensure_lake(args.scale)).resolve()
    scratch = args.json.resolve().parent / f".{args.json.stem}.work"
    scratch.mkdir(parents=True, exist_ok=True)
    old = measure(lake, args.as_of, OLD_BLOCK_WEEKS, scratch / "weeks13.parquet")
    new = measure(lake, args.as_of, None, scratch / "firm_weeks.parquet")
    if not pl.read_parquet(scratch / "weeks13.parquet").equals(
        pl.read_parquet(scratch / "firm_weeks.parquet")
    ):
        raise AssertionError("the two block sizes gave different histories")
    rows = pl.scan_parquet(scratch / "firm_weeks.parquet").select(pl.len()).collect().item()
    results = {
        "benchmark": "history_blocks",
        "scale": args.scale,
        "lake": str(lake),
        "as_of": args.as_of,
        "history_rows": rows,
        "blocks_of_13_weeks": old,
        "blocks_of_a_million_firm_weeks": new,
        "speedup": round(old["seconds"] / new["seconds"], 2),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    print(f"{'':18}{'13 weeks':>12}{'~1M firm-weeks':>16}{'ratio':>8}")
    shown = (("seconds", "seconds"), ("cpu_seconds", "cpu s"), ("peak_rss_mb", "peak MB"))
    for key, label in shown:
        a, b = old[key], new[key]
        print(f"{label:18}{a:12.1f}{b:16.1f}{a / b:7.1f}x")
    print(f"blocks            {old['blocks']:12d}{new['blocks']:16d}")
    print(f"identical: {rows} rows ({old['weeks']} weeks, {old['firms_at_last_week']} firms)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
