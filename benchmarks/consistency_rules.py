"""The consistency rules against the simulator's planted truth: per-rule precision and recall.

    .venv/bin/python benchmarks/consistency_rules.py --scales small,sip \
        --json bench_out/consistency_rules.json

For each scale, in its own subprocess (its own wall time, CPU time and peak RSS): the park's world
is built, the sources the rules compare are simulated and every rule's contradictions planted
with their truth (``data_contracts/simulate/consistency.py``: reconciled sources, planted
contradictions, innocent near misses, corrections re-delivered in the last weeks), then the engine
examines every firm at the end date, point in time (``features.rules.examine``, what ``ews
consistency run`` runs). Its anomalies are scored against the truth, rule by rule:

- a **positive** is a planted contradiction the data shows at the as-of date: every row involved
  had arrived (``visible_from``) and no correction had (``corrected_at``);
- **precision**: the share of flagged anomalies that are positives (a flagged near miss, corrected
  contradiction or anything unplanted is a false alarm);
- **recall**: the share of positives the engine examined (the latest periods it looks at) that
  it flagged; ``recall_all`` over every positive, including those in older periods a run at the
  as-of date does not look at (``not_examined``).

The scales are printed side by side, with the time each step took.

    .venv/bin/python benchmarks/consistency_rules.py --workdir WORKDIR [--run AS_OF/SCOPE]

scores a simulated workdir's own consistency run instead (``ews simulate`` plants, ``ews ingest``
files the deliveries, ``ews consistency run`` examines the lake) against its
``sim_truth/consistency.parquet``: the whole chain, files, validation and quarantine included.
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

import polars as pl

from data_contracts.simulate.consistency_score import KEYS, SCORE_SCHEMA, positives, score, totals

__all__ = ["KEYS", "SCORE_SCHEMA", "positives", "score", "totals"]
ROOT = Path(__file__).resolve().parents[1]
END_DATE = "2026-11-20"
SEED = 20261121  # the demo's seed


def score_workdir(workdir: Path, run: str | None = None) -> dict:
    """A consistency run of a simulated workdir (``ews simulate`` plants the contradictions,
    ``ews ingest`` files them, ``ews consistency run`` examines the lake) scored against the
    workdir's planted truth: the whole pipeline, files and validation included. ``run``: the
    run's folder under ``consistency/`` (``<as_of>/<scope>``), the newest park run by default."""
    from data_contracts.rules import load_rules

    runs = sorted((workdir / "consistency").glob("*/*/examined.parquet"))
    if run is not None:
        runs = [workdir / "consistency" / run / "examined.parquet"]
    elif parks := [r for r in runs if r.parent.name == "park"]:
        runs = parks
    if not runs or not runs[-1].is_file():
        raise SystemExit(f"no consistency run under {workdir / 'consistency'}")
    examined = pl.read_parquet(runs[-1])
    as_of = dt.date.fromisoformat(runs[-1].parent.parent.name)
    truth = pl.read_parquet(workdir / "sim_truth" / "consistency.parquet")
    table = score(truth, examined, sorted(load_rules()), as_of)
    return {
        "run": runs[-1].parent.relative_to(workdir).as_posix(),
        "as_of": str(as_of),
        "totals": totals(table),
        "rules": table.to_dicts(),
    }


def run_scale(scale: str, seed: int, as_of: dt.date) -> dict:
    """Simulate and plant a park of ``scale`` ending at ``as_of``, examine it, score the rules."""
    from data_contracts.catalog import load_all
    from data_contracts.rules import MASTER, load_rules
    from data_contracts.simulate.consistency import plant, planting_sources
    from data_contracts.simulate.sources import simulate_source
    from data_contracts.simulate.world import build_world
    from features.rules import examine

    contracts, rules = load_all(), load_rules()
    clock = time.perf_counter()
    world = build_world(scale, seed, as_of)
    canonical = {s: simulate_source(world, contracts[s]) for s in planting_sources(rules)}
    canonical[MASTER] = simulate_source(world, contracts[MASTER])
    simulate_s = time.perf_counter() - clock
    clock = time.perf_counter()
    frames, truth = plant(world, rules, canonical, contracts)
    plant_s = time.perf_counter() - clock
    del canonical
    clock = time.perf_counter()
    examination = examine(
        rules, {k: v.lazy() for k, v in frames.items()}, as_of, contracts=contracts
    )
    examine_s = time.perf_counter() - clock
    table = score(truth, examination.examined, sorted(rules), as_of)
    return {
        "scale": scale,
        "seed": seed,
        "as_of": str(as_of),
        "entities": world.n,
        "firms_examined": examination.grid.height,
        "rows_examined": examination.examined.height,
        "anomalies": examination.anomalies.height,
        "sources": len(frames),
        "source_rows": sum(f.height for f in frames.values()),
        "skipped_rules": examination.skipped,
        "simulate_s": round(simulate_s, 2),
        "plant_s": round(plant_s, 2),
        "examine_s": round(examine_s, 2),
        "totals": totals(table),
        "rules": table.to_dicts(),
    }


def measure(scale: str, seed: int, as_of: str, out: Path) -> dict:
    """``run_scale`` in a subprocess (its figures, CPU time and peak RSS) and its wall time."""
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            scale,
            "--seed",
            str(seed),
            "--as-of",
            as_of,
            "--out",
            str(out),
        ],
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    result = json.loads(out.read_text(encoding="utf-8"))
    result["wall_s"] = round(time.perf_counter() - started, 2)
    return result


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def report(results: dict[str, dict]) -> str:
    """The scales side by side: per rule planted / precision / recall, then totals and times."""
    scales = list(results)
    lines = [
        "rule".ljust(36)
        + "".join(f"{s + ' planted':>14}{'examined':>10}{'P':>7}{'R':>7}" for s in scales)
    ]
    by_rule = {s: {r["rule_id"]: r for r in results[s]["rules"]} for s in scales}
    for rule_id in sorted(by_rule[scales[0]]):
        cells = ""
        for s in scales:
            r = by_rule[s][rule_id]
            cells += f"{r['planted']:>14}{r['examined']:>10}"
            cells += f"{_cell(r['precision']):>7}{_cell(r['recall']):>7}"
        lines.append(rule_id.ljust(36) + cells)
    lines.append("")
    rows = (
        ("firms examined", lambda r: r["firms_examined"]),
        ("anomalies flagged", lambda r: r["totals"]["flagged"]),
        ("positives examined", lambda r: r["totals"]["examined"]),
        ("positives not examined", lambda r: r["totals"]["not_examined"]),
        ("false alarms", lambda r: r["totals"]["false_positives"]),
        ("precision (micro)", lambda r: _cell(r["totals"]["precision"])),
        ("recall (micro)", lambda r: _cell(r["totals"]["recall"])),
        ("recall incl. not examined", lambda r: _cell(r["totals"]["recall_all"])),
        ("simulate s", lambda r: r["simulate_s"]),
        ("plant s", lambda r: r["plant_s"]),
        ("consistency run (examine) s", lambda r: r["examine_s"]),
        ("worker wall s", lambda r: r["wall_s"]),
        ("worker peak RSS MB", lambda r: r["peak_rss_mb"]),
    )
    lines.append("".ljust(36) + "".join(f"{s:>38}" for s in scales))
    for label, get in rows:
        lines.append(label.ljust(36) + "".join(f"{get(results[s])!s:>38}" for s in scales))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scales", default="small,sip", help="comma-separated: tiny,small,sip")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--as-of", default=END_DATE, help="the park's end date and the run's")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument(
        "--workdir",
        type=Path,
        help="score this simulated workdir's consistency run (after ews simulate, ingest and "
        "consistency run) against its sim_truth instead of simulating",
    )
    parser.add_argument("--run", help="with --workdir: the run folder <as_of>/<scope>")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    as_of = dt.date.fromisoformat(args.as_of)
    if args.worker:
        started = time.perf_counter()
        result = run_scale(args.worker, args.seed, as_of)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result["worker_s"] = round(time.perf_counter() - started, 2)
        result["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 2)
        result["peak_rss_mb"] = round(usage.ru_maxrss / 1024)
        args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
        return
    if args.workdir is not None:
        result = score_workdir(args.workdir, args.run)
        print(json.dumps({k: v for k, v in result.items() if k != "rules"}, indent=2))
        if args.json is not None:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False), "utf-8")
        return
    if args.json is None:
        parser.error("--json PATH is required")
    scratch = args.json.resolve().parent / f".{args.json.stem}.work"
    scratch.mkdir(parents=True, exist_ok=True)
    results = {}
    for scale in args.scales.split(","):
        results[scale] = measure(scale, args.seed, args.as_of, scratch / f"{scale}.json")
        results[scale]["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(report(results))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
