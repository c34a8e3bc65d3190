"""How much a source's records say ahead of the simulator's distress events (simulator only).

For each event source of a simulated park (generator ``events``, with a stress sensitivity):
of its records in the lake dated before their firm's distress event (or of a firm never
distressed), the share whose firm's event falls within the horizon after the record's day, over
the same share among every firm-month before any event (``sim_truth/monthly_stress``, up to the
firm's vanishing). That ratio is the lift a record carries in the simulator's own truth, before
any feature, window or arrival delay: what the best feature on that source could find.

A source answers to the stress of ``lag_days`` before the record. When that lag outlasts the
distressed firm's rise to its event and its exit, the records its stress would have raised fall
after the firm is gone, and the lift is lost at the source.

    .venv/bin/python benchmarks/source_lead.py --workdir <simulated park> --json bench_out/lead.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import polars as pl

from data_contracts.catalog import load_all
from pipelines import datasets, file_io
from pipelines.io import scan_source
from pipelines.settings import Settings

HORIZON_DAYS = 180


def event_within(day: str, horizon_days: int) -> pl.Expr:
    """The firm's distress event falls within ``horizon_days`` after ``day`` (False when never)."""
    ahead = (pl.col("distress_date") - pl.col(day)).dt.total_days()
    return ((ahead >= 0) & (ahead <= horizon_days)).fill_null(False)


def before_any_event(day: str) -> pl.Expr:
    return pl.col("distress_date").is_null() | (pl.col(day) <= pl.col("distress_date"))


def base_share(months: pl.LazyFrame, firms: pl.LazyFrame, horizon_days: int) -> float:
    """Of every firm-month before the firm's event and vanishing, the share with the event
    within the horizon: what a record without information would show."""
    alive = (
        months.join(firms, on="uscc", how="left")
        .filter(before_any_event("month"))
        .filter(pl.col("vanish_date").is_null() | (pl.col("month") <= pl.col("vanish_date")))
    )
    return alive.select(event_within("month", horizon_days).mean()).collect().item()


def record_share(
    records: pl.DataFrame, firms: pl.DataFrame, horizon_days: int
) -> tuple[int, float]:
    """Records (``uscc``, ``day``) dated before their firm's event: how many, and the share with
    the event within the horizon after the record."""
    known = records.join(firms, on="uscc", how="left").filter(before_any_event("day"))
    if known.is_empty():
        return 0, 0.0
    return known.height, float(known.select(event_within("day", horizon_days).mean()).item())


def measure(settings: Settings, horizon_days: int) -> dict:
    firms = pl.read_parquet(datasets.SIM_FIRMS.path(settings.workdir)).select(
        "uscc", "distress_date", "vanish_date"
    )
    months = pl.scan_parquet(datasets.SIM_STRESS.path(settings.workdir)).select("uscc", "month")
    base = base_share(months, firms.lazy(), horizon_days)
    report = {"base_share": round(base, 4), "sources": {}}
    for contract in sorted(load_all().values(), key=lambda c: c.id):
        sim = contract.simulation
        if sim is None or sim.generator != "events" or sim.stress_sensitivity <= 0:
            continue
        records = (
            scan_source(settings.lake, contract.id)
            .select("uscc", pl.col(contract.event_time).cast(pl.Date).alias("day"))
            .collect()
        )
        count, share = record_share(records, firms, horizon_days)
        report["sources"][contract.id] = {
            "lag_days": sim.lag_days,
            "stress_sensitivity": sim.stress_sensitivity,
            "records_before_event": count,
            "event_within_horizon": round(share, 4),
            "lift": round(share / base, 2) if count and base else None,
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--horizon-days", type=int, default=HORIZON_DAYS)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    started = time.perf_counter()
    report = measure(Settings(workdir=args.workdir), args.horizon_days)
    print(f"base share of firm-months with the event within the horizon: {report['base_share']}")
    ordered = sorted(report["sources"].items(), key=lambda item: item[1]["lag_days"])
    for source, figures in ordered:
        print(
            f"{source:44} lag {figures['lag_days']:>4} d  sensitivity "
            f"{figures['stress_sensitivity']:>4}  records {figures['records_before_event']:>7}  "
            f"lift {figures['lift']}"
        )
    if args.json:
        payload = {
            "workdir": str(args.workdir),
            "horizon_days": args.horizon_days,
            **report,
            "seconds": round(time.perf_counter() - started, 1),
        }
        file_io.write_json(args.json, payload)


if __name__ == "__main__":
    main()
