"""How fast is `ews simulate`? Wall and CPU seconds per scale, side by side with the budget.

Runs the simulate flow's own tasks as plain functions (world and truth, then the landing
batches two at a time, as the flow's task runner does) without a Prefect server, so the figures
are the simulation's, not the orchestration's. The contract catalogue is loaded first and timed
apart (it is shared by every command). Budgets: `small` within ~20 s, `sip` within a few
minutes (300 s), on 2 cores.

    .venv/bin/python benchmarks/simulate_speed.py --scales tiny,small --json bench_out/sim.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from data_contracts.catalog import load_all
from data_contracts.simulate.defects import plan_defects
from pipelines import runtime
from pipelines.flows import simulate as sim

BUDGET_SECONDS = {"tiny": 5.0, "small": 20.0, "sip": 300.0}


class Clock:
    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def lap(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        out = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu
        return out


def simulate_once(workdir: Path, scale: str, seed: int, end: dt.date) -> dict:
    contracts = load_all()
    source_ids = sorted(contracts)
    plan = plan_defects(contracts, seed, 0.02).to_json()
    clock = Clock()
    truth = sim.build_world_task.fn(str(workdir / "sim_truth"), scale, seed, end, plan)
    world_wall, world_cpu = clock.lap()
    batches = [source_ids[i :: sim.LANDING_TASKS] for i in range(sim.LANDING_TASKS)]

    def write(batch: list[str]) -> dict:
        return sim.write_landing_task.fn(str(workdir / "landing"), truth, batch, plan)

    with ThreadPoolExecutor(max_workers=sim.PARALLEL_TASKS) as pool:
        parts = list(pool.map(write, batches))
    landing_wall, landing_cpu = clock.lap()
    files = [f for part in parts for f in part["files"]]
    return {
        "world_s": round(world_wall, 2),
        "landing_s": round(landing_wall, 2),
        "wall_s": round(world_wall + landing_wall, 2),
        "cpu_s": round(world_cpu + landing_cpu, 2),
        "files": len(files),
        "rows": sum(f["rows"] for f in files),
        "megabytes": round(sum(f["bytes"] for f in files) / 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="tiny,small")
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--end-date", default="2026-11-20")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    runtime.configure()
    end = dt.date.fromisoformat(args.end_date)
    started = time.perf_counter()
    load_all()
    catalogue_s = round(time.perf_counter() - started, 2)
    results = {}
    for scale in args.scales.split(","):
        folder = Path(tempfile.mkdtemp(prefix=f"ews-sim-{scale}-"))
        try:
            results[scale] = simulate_once(folder, scale, args.seed, end)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        budget = BUDGET_SECONDS.get(scale)
        results[scale]["budget_s"] = budget
        results[scale]["wall_over_budget"] = round(results[scale]["wall_s"] / budget, 2)
    print(f"catalogue load (not counted): {catalogue_s} s")
    header = (
        "scale",
        "rows",
        "MB",
        "world s",
        "landing s",
        "wall s",
        "cpu s",
        "budget s",
        "wall/budget",
    )
    print("".join(f"{h:>12}" for h in header))
    for scale, r in results.items():
        cells = (
            scale,
            r["rows"],
            r["megabytes"],
            r["world_s"],
            r["landing_s"],
            r["wall_s"],
            r["cpu_s"],
            r["budget_s"],
            r["wall_over_budget"],
        )
        print("".join(f"{c:>12}" for c in cells))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"catalogue_s": catalogue_s, "results": results}
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
