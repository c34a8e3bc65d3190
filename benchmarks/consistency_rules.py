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

ROOT = Path(__file__).resolve().parents[1]
END_DATE = "2026-11-20"
SEED = 20261121  # the demo's seed
KEYS = ["rule_id", "uscc", "period"]
VIOLATION = "violation"  # data_contracts.simulate.consistency.VIOLATION (not imported: pure helper)
SCORE_SCHEMA: dict[str, pl.DataType] = {
    "rule_id": pl.String(),
    "planted": pl.UInt32(),
    "examined": pl.UInt32(),
    "not_examined": pl.UInt32(),
    "flagged": pl.UInt32(),
    "true_positives": pl.UInt32(),
    "false_positives": pl.UInt32(),
    "innocent_flagged": pl.UInt32(),
    "missed": pl.UInt32(),
    "precision": pl.Float64(),
    "recall": pl.Float64(),
    "recall_all": pl.Float64(),
}


def positives(truth: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """The planted contradictions the data shows at ``as_of`` (KEYS): visible by then and not
    corrected by then."""
    corrected = pl.col("corrected_at").is_not_null() & (
        pl.col("corrected_at").cast(pl.Date) <= as_of
    )
    return (
        truth.filter((pl.col("kind") == VIOLATION) & (pl.col("visible_from") <= as_of) & ~corrected)
        .select(KEYS)
        .unique()
    )


def score(
    truth: pl.DataFrame,
    examined: pl.DataFrame,
    rule_ids: list[str],
    as_of: dt.date,
) -> pl.DataFrame:
    """Per rule (every id of ``rule_ids``, sorted): ``SCORE_SCHEMA``.

    ``examined``: the engine's examined rows (KEYS and ``violated``) at ``as_of``; ``truth``: the
    simulator's (``TRUTH_SCHEMA``). Precision is None without a flagged anomaly, recall None
    without a positive examined."""
    positive = positives(truth, as_of).with_columns(pl.lit(True).alias("_positive"))
    looked = examined.select(*KEYS, "violated").unique(KEYS)
    flagged = looked.filter(pl.col("violated")).select(KEYS)
    innocent = truth.filter(pl.col("kind") != VIOLATION).select(KEYS)
    innocent = pl.concat(
        [innocent, truth.select(KEYS).join(positive.select(KEYS), on=KEYS, how="anti")]
    ).unique()

    def per_rule(frame: pl.DataFrame, name: str) -> pl.DataFrame:
        return frame.group_by("rule_id").agg(pl.len().cast(pl.UInt32).alias(name))

    seen = positive.select(KEYS).join(looked.select(KEYS), on=KEYS, how="semi")
    hit = flagged.join(positive.select(KEYS), on=KEYS, how="semi")
    parts = [
        per_rule(positive, "planted"),
        per_rule(seen, "examined"),
        per_rule(flagged, "flagged"),
        per_rule(hit, "true_positives"),
        per_rule(flagged.join(innocent, on=KEYS, how="semi"), "innocent_flagged"),
    ]
    table = pl.DataFrame({"rule_id": sorted(rule_ids)}, schema={"rule_id": pl.String()})
    for part in parts:
        table = table.join(part, on="rule_id", how="left")
    counts = [c for c in table.columns if c != "rule_id"]
    table = table.with_columns(pl.col(counts).fill_null(0))
    tp = pl.col("true_positives")
    return table.with_columns(
        (pl.col("planted") - pl.col("examined")).alias("not_examined"),
        (pl.col("flagged") - tp).alias("false_positives"),
        (pl.col("examined") - tp).alias("missed"),
        _share(tp, pl.col("flagged")).alias("precision"),
        _share(tp, pl.col("examined")).alias("recall"),
        _share(tp, pl.col("planted")).alias("recall_all"),
    ).select(SCORE_SCHEMA.keys())


def _share(part: pl.Expr, whole: pl.Expr) -> pl.Expr:
    return pl.when(whole > 0).then(part.cast(pl.Float64) / whole)


def totals(table: pl.DataFrame) -> dict:
    """Micro-averaged figures over every rule."""
    sums = {c: int(table[c].sum()) for c in SCORE_SCHEMA if SCORE_SCHEMA[c] == pl.UInt32()}

    def share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    return {
        **sums,
        "precision": share(sums["true_positives"], sums["flagged"]),
        "recall": share(sums["true_positives"], sums["examined"]),
        "recall_all": share(sums["true_positives"], sums["planted"]),
        "rules_planted": int((table["planted"] > 0).sum()),
        "rules_flagging": int((table["flagged"] > 0).sum()),
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
