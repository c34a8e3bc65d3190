"""Ingest speed on the simulated park, and one GX run per source vs one per delivery.

Simulates the park (unless ``--workdir`` already has a landing folder), then runs ``ews ingest``
twice: the first run ingests every delivery, the second finds nothing new. Reports wall and CPU
seconds, rows per second, and whether every defect the simulator injected was caught. Then, on
the sources with the most deliveries, validates the same typed rows once per delivery and once
per source (what the flow does) and prints the ratio.

    .venv/bin/python benchmarks/ingest_speed.py --json bench_out/ingest_speed.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import resource
import tempfile
import time
from pathlib import Path

from pipelines import runtime

runtime.configure()

import polars as pl  # noqa: E402

from data_contracts import catalog  # noqa: E402
from pipelines import gx_context, io  # noqa: E402
from pipelines.flows.ingest import ingest_flow  # noqa: E402
from pipelines.flows.simulate import simulate_flow  # noqa: E402
from pipelines.ingest_source import SourcePlan, _read_and_coerce  # noqa: E402


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(label: str, call):
    wall, cpu = time.perf_counter(), cpu_seconds()
    result = call()
    wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    print(f"{label:<34} {wall:8.1f} s wall {cpu:8.1f} s cpu")
    return result, round(wall, 2), round(cpu, 2)


def defects_caught(workdir: Path, summary: dict) -> dict:
    """Every delivery the simulator spoiled must come out rejected, partial or late."""
    truth = json.loads((workdir / "sim_truth" / "defects.json").read_text(encoding="utf-8"))
    outcomes = {
        (source, o["delivery_id"]): o for source, os in summary["deliveries"].items() for o in os
    }
    missed = []
    for defect in truth:
        if defect["kind"] == "missing_delivery":
            caught = summary["sources"][defect["source"]]["late"]
        else:
            outcome = outcomes.get((defect["source"], defect["delivery"]))
            caught = outcome is not None and outcome["status"] in ("partial", "rejected")
        if not caught:
            missed.append({k: defect[k] for k in ("source", "delivery", "kind")})
    return {"injected": len(truth), "caught": len(truth) - len(missed), "missed": missed}


def batch_vs_per_delivery(workdir: Path, run_id: str, sources: int) -> list[dict]:
    """Validate the same rows per delivery and per source, in a context of their own."""
    plans = [
        SourcePlan.from_dict(io.read_json(p))
        for p in sorted((workdir / "ingest" / run_id / "plan").glob("*.json"))
    ]
    busiest = sorted(plans, key=lambda p: -len(p.to_process))[:sources]
    context = gx_context.open_context(tempfile.mkdtemp(prefix="ews_gx_bench_"))
    rows = []
    for plan in busiest:
        contract = catalog.get(plan.source)
        frames = []
        for planned in plan.to_process:
            try:
                frames.append(_read_and_coerce(contract, planned).typed)
            except Exception:  # a rejected file takes no part in validation
                continue
        gx_context.setup_source(context, contract)

        def per_delivery(contract=contract, frames=frames) -> None:
            for frame in frames:
                gx_context.validate(
                    context, contract, frame, run_name="per_delivery", run_time=_now()
                )

        def per_source(contract=contract, frames=frames) -> None:
            gx_context.validate(
                context, contract, pl.concat(frames), run_name="per_source", run_time=_now()
            )

        _, one_wall, _ = timed(f"  {plan.source}: {len(frames)} runs", per_delivery)
        _, batch_wall, _ = timed(f"  {plan.source}: 1 run", per_source)
        rows.append(
            {
                "source": plan.source,
                "deliveries": len(frames),
                "rows": sum(f.height for f in frames),
                "per_delivery_s": one_wall,
                "per_source_s": batch_wall,
                "ratio": round(one_wall / batch_wall, 2) if batch_wall else None,
            }
        )
    return rows


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, required=True, help="where to write the results")
    parser.add_argument("--workdir", type=Path, default=None, help="reuse this workdir")
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--end-date", default="2026-11-21")
    parser.add_argument("--sources", type=int, default=5, help="sources in the GX comparison")
    args = parser.parse_args()

    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="ews_ingest_bench_"))).resolve()
    if not (workdir / "landing").is_dir():
        timed(
            "simulate",
            lambda: simulate_flow(
                workdir=str(workdir), scale=args.scale, seed=args.seed, end_date=args.end_date
            ),
        )
    for stale in ("lake", "quarantine", "gx", "ingest"):
        if (workdir / stale).exists():
            raise SystemExit(f"{workdir / stale} exists: give a fresh workdir or remove it")

    as_of = args.end_date
    first, first_wall, first_cpu = timed(
        "ingest: every delivery",
        lambda: ingest_flow(workdir=str(workdir), as_of=as_of, run_id="bench-first"),
    )
    _, again_wall, again_cpu = timed(
        "ingest again: nothing new",
        lambda: ingest_flow(workdir=str(workdir), as_of=as_of, run_id="bench-again"),
    )
    summary = io.read_json(Path(first["ingest_summary"]))
    totals = summary["totals"]
    caught = defects_caught(workdir, summary)
    print(f"rows {totals['rows_in']:,} in {totals['deliveries_processed']} deliveries: "
          f"{totals['rows_in'] / first_wall:,.0f} rows/s; second run "
          f"{first_wall / again_wall:.1f}x faster")  # fmt: skip
    print(f"defects caught: {caught['caught']} of {caught['injected']}")

    print("GX: one run per delivery vs one run per source")
    comparison = batch_vs_per_delivery(workdir, "bench-first", args.sources)
    for row in comparison:
        print(f"  {row['source']:<32} {row['deliveries']} deliveries, {row['rows']:>9,} rows: "
              f"{row['per_delivery_s']:6.2f} s vs {row['per_source_s']:6.2f} s = "
              f"{row['ratio']}x")  # fmt: skip

    result = {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "workdir": str(workdir),
        "scale": args.scale,
        "first_ingest": {"wall_s": first_wall, "cpu_s": first_cpu, "totals": totals},
        "second_ingest": {"wall_s": again_wall, "cpu_s": again_cpu},
        "defects": caught,
        "gx_per_delivery_vs_per_source": comparison,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
