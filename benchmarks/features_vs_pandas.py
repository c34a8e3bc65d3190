"""EWS feature build against a pandas reference, on the same lake and the same as-of dates.

    python benchmarks/features_vs_pandas.py --json out.json [--scale small|sip] [--lake DIR]
        [--weeks N] [--as-of YYYY-MM-DD]

Both sides compute the families the pandas reference covers (see benchmarks/pandas_reference.py)
for every active firm at N weekly as-of dates ending at the as-of date, from the lake's Parquet
files. Each side runs in its own subprocess so its wall time and peak memory (max RSS) are its
own; the outputs are then checked to be equal, value for value. Without ``--lake`` the benchmark
simulates and ingests a park of the given scale into benchmarks/.work/<scale> (once).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
END_DATE = "2026-11-20"
# Sources the reference families read (by exact id or id prefix).
SUBSET = (
    "reg_enterprise_master",
    "outcome_distress_event",
    "reg_capital_change",
    "si_",
    "complaint_",
    "penalty_",
)
# Absolute and relative tolerance of the value check (EWS sums money in fixed point at 1e-4).
ABS_TOL, REL_TOL = 1e-3, 1e-9


def subset_ids(lake: Path) -> list[str]:
    from data_contracts import catalog

    present = {p.name for p in lake.iterdir() if p.is_dir()}
    return sorted(
        s
        for s in catalog.load_all()
        if s in present and any(s == x or (x.endswith("_") and s.startswith(x)) for x in SUBSET)
    )


def plan(lake: Path) -> dict:
    """What the pandas side needs from the contracts, as plain data."""
    from data_contracts import catalog
    from features import complaints, penalties
    from features.penalties import PENALTY_GROUPS, penalty_group

    ids = subset_ids(lake)
    contracts = catalog.load_all()
    wanted = {
        "reg_enterprise_master": [
            "snapshot_date",
            "status",
            "sector",
            "district",
            "registered_capital",
            "established_date",
        ],
        "outcome_distress_event": [],
        "reg_capital_change": ["capital_before", "capital_after"],
    }
    optional = [
        "category",
        "dispute_amount",
        "refund_amount",
        "students_affected",
        "severity",
        "penalty_type",
        "fine_amount",
        "arrears_amount",
        "amount_paid",
        "amount_due",
        "insured_count",
    ]
    columns = {
        s: wanted.get(s, [c for c in optional if c in contracts[s].column_names]) for s in ids
    }
    return {
        "sources": [
            {
                "id": s,
                "entity_key": contracts[s].entity_key,
                "event_time": contracts[s].event_time,
                "arrival_time": contracts[s].arrival_time,
                "unique_key": contracts[s].unique_key,
                "grain": contracts[s].grain.value,
            }
            for s in ids
        ],
        "columns": columns,
        "families": {
            "social_insurance": [s for s in ids if s.startswith("si_")],
            "complaints": [s for s in ids if s.startswith("complaint_")],
            "penalties": [s for s in ids if s.startswith("penalty_")],
        },
        "complaints": {
            "wage_arrears": complaints.WAGE_ARREARS,
            "prepaid_refund": complaints.PREPAID_REFUND,
            "fundraising": list(complaints.FUNDRAISING),
        },
        "penalties": {
            "major": penalties.MAJOR,
            "serious": penalties.SERIOUS,
            "suspension": list(penalties.SUSPENSION),
            "groups": {s: penalty_group(s) for s in ids if s.startswith("penalty_")},
            "all_groups": [*PENALTY_GROUPS, "other"],
        },
    }


def as_of_dates(as_of: date, weeks: int) -> list[str]:
    return [(as_of - timedelta(weeks=k)).isoformat() for k in range(weeks - 1, -1, -1)]


def run_worker(side: str, lake: Path, dates: list[str], plan_path: Path, out: Path) -> None:
    started = time.perf_counter()
    if side == "pandas":
        sys.path.insert(0, str(Path(__file__).parent))
        from pandas_reference import Reference

        table = Reference(str(lake), json.loads(plan_path.read_text()))
        frame = table.table(dates)
        frame.to_parquet(out, index=False)
        columns = [c for c in frame.columns]
    else:
        import polars as pl

        from features.build import build_feature_table
        from pipelines.io import scan_source

        ids = [s["id"] for s in json.loads(plan_path.read_text())["sources"]]
        sources = {s: scan_source(lake, s) for s in ids}
        frame = build_feature_table(sources, [date.fromisoformat(d) for d in dates]).collect()
        frame.write_parquet(out)
        columns = frame.columns
        del pl
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
                "peak_rss_mb": usage.ru_maxrss / 1024,
                "columns": len(columns),
            }
        )
    )


def measure(side: str, lake: Path, dates: list[str], plan_path: Path, out: Path) -> dict:
    command = [
        sys.executable,
        __file__,
        "--worker",
        side,
        "--lake",
        str(lake),
        "--plan",
        str(plan_path),
        "--out",
        str(out),
        "--dates",
        ",".join(dates),
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if done.returncode != 0:
        raise RuntimeError(f"{side} worker failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare(ews_path: Path, pandas_path: Path) -> dict:
    """Same rows, and every reference column equal (nulls alike, numbers within tolerance)."""
    import polars as pl

    ews = pl.read_parquet(ews_path)
    ref = pl.read_parquet(pandas_path).with_columns(pl.col("as_of").cast(pl.Date))
    columns = [c for c in ref.columns if c not in ("uscc", "as_of")]
    keys = ["uscc", "as_of"]
    if ews.height != ref.height:
        raise AssertionError(f"row counts differ: EWS {ews.height}, pandas {ref.height}")
    joined = ews.select(*keys, *columns).join(
        ref, on=keys, how="full", suffix="_ref", coalesce=True
    )
    if joined.height != ews.height:
        raise AssertionError("the two sides score different (firm, date) rows")
    mismatches = {}
    for c in columns:
        a, b = pl.col(c), pl.col(f"{c}_ref")
        if ews.schema[c] in (pl.String, pl.Boolean):
            same = (a == b) | (a.is_null() & b.is_null())
        else:
            a, b = a.cast(pl.Float64), b.cast(pl.Float64).fill_nan(None)
            close = (a - b).abs() <= ABS_TOL + REL_TOL * pl.max_horizontal(a.abs(), b.abs())
            same = close | (a.is_null() & b.is_null())
        bad = joined.filter(~same.fill_null(False))
        if bad.height:
            mismatches[c] = bad.select(keys, c, f"{c}_ref").head(3).to_dicts()
    if mismatches:
        raise AssertionError(f"values differ: {json.dumps(mismatches, default=str, indent=1)}")
    return {"rows": ews.height, "columns_compared": len(columns)}


def ensure_lake(scale: str) -> Path:
    work = ROOT / "benchmarks" / ".work" / scale
    lake = work / "lake"
    if lake.is_dir() and any(lake.iterdir()):
        return lake
    ews = [sys.executable, "-m", "pipelines.cli"]
    for step in (
        ["simulate", "--scale", scale, "--end-date", END_DATE],
        ["ingest", "--as-of", END_DATE],
    ):
        done = subprocess.run([*ews, step[0], "--workdir", str(work), *step[1:]], cwd=ROOT)
        # Ingest exits 3 when a simulated defect rejected a delivery (pipelines/exit_codes.py).
        if done.returncode not in (0, 3):
            raise RuntimeError(f"ews {step[0]} failed (exit {done.returncode})")
    return lake


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--scale", choices=("small", "sip"), default="small")
    parser.add_argument("--lake", type=Path, help="an existing lake (default: simulate one)")
    parser.add_argument("--weeks", type=int, default=8, help="weekly as-of dates to build")
    parser.add_argument("--as-of", default=END_DATE, help="the last as-of date")
    parser.add_argument("--worker", choices=("ews", "pandas"), help=argparse.SUPPRESS)
    parser.add_argument("--plan", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dates", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args.worker, args.lake, args.dates.split(","), args.plan, args.out)
        return
    if args.json is None:
        parser.error("--json PATH is required")
    lake = (args.lake or ensure_lake(args.scale)).resolve()
    dates = as_of_dates(date.fromisoformat(args.as_of), args.weeks)
    scratch = args.json.resolve().parent / f".{args.json.stem}.work"
    scratch.mkdir(parents=True, exist_ok=True)
    plan_path = scratch / "plan.json"
    plan_path.write_text(json.dumps(plan(lake), ensure_ascii=False))
    results = {}
    for side in ("pandas", "ews"):
        results[side] = measure(side, lake, dates, plan_path, scratch / f"{side}.parquet")
    checked = compare(scratch / "ews.parquet", scratch / "pandas.parquet")
    speedup = results["pandas"]["seconds"] / results["ews"]["seconds"]
    cpu_ratio = results["pandas"]["cpu_seconds"] / results["ews"]["cpu_seconds"]
    memory = results["pandas"]["peak_rss_mb"] / results["ews"]["peak_rss_mb"]
    summary = {
        "benchmark": "features_vs_pandas",
        "scale": args.scale,
        "lake": str(lake),
        "as_of_dates": [dates[0], dates[-1]],
        "weeks": args.weeks,
        "sources": len(json.loads(plan_path.read_text())["sources"]),
        **checked,
        "ews": results["ews"],
        "pandas": results["pandas"],
        "speedup": round(speedup, 2),
        "pandas_over_ews_cpu_seconds": round(cpu_ratio, 2),
        "pandas_over_ews_peak_memory": round(memory, 2),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    print(f"{'':10s}{'EWS':>12s}{'pandas':>12s}{'ratio':>10s}")
    print(
        f"{'seconds':10s}{results['ews']['seconds']:12.1f}{results['pandas']['seconds']:12.1f}"
        f"{speedup:9.1f}x"
    )
    print(
        f"{'cpu s':10s}{results['ews']['cpu_seconds']:12.1f}"
        f"{results['pandas']['cpu_seconds']:12.1f}{cpu_ratio:9.1f}x"
    )
    print(
        f"{'peak MB':10s}{results['ews']['peak_rss_mb']:12.0f}"
        f"{results['pandas']['peak_rss_mb']:12.0f}{memory:9.1f}x"
    )
    print(f"equal: {checked['rows']} rows x {checked['columns_compared']} columns")


if __name__ == "__main__":
    main()
