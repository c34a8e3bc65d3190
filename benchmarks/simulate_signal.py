"""How learnable is the simulated park? A generic model's AUC next to the latent-stress oracle.

The simulated park should be neither trivial nor hopeless: a good model should land around
AUC 0.75-0.9, never near 1. This script simulates a park in memory, derives simple
point-in-time features from every source generically (``models.generic``: per event source,
events in the last 365 days; per monthly panel, the share of the last six months in arrears and
each measure's trend; linked firms, links whose firm closed), labels each (firm, as-of month)
with "distress within the next 180 days" from the simulator's truth, trains one xgboost model
per industry on the earlier as-of dates and scores the later ones. It prints, side by side, the
model's AUC and the AUC of the firm's true latent stress at the as-of date (the oracle), with
their ratio.

    .venv/bin/python benchmarks/simulate_signal.py --scale small --json bench_out/signal.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.metrics import roc_auc_score

from data_contracts.catalog import load_all
from data_contracts.simulate.sources import simulate_source
from data_contracts.simulate.world import World, build_world
from models.generic import fit_generic, generic_scores, source_features

INDUSTRIES = ("finance", "manufacturing", "education")
HORIZON_DAYS = 180


def month_starts(first: dt.date, count: int) -> list[dt.date]:
    out, year, month = [], first.year, first.month
    for _ in range(count):
        out.append(dt.date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def feature_table(world: World, as_of: list[dt.date]) -> pl.DataFrame:
    contracts = load_all()
    firms = world.firms.filter(pl.col("industry").is_in(INDUSTRIES))
    grid = firms.select("uscc", "industry", "employees", "established_date", "distress_date")
    grid = grid.join(pl.DataFrame({"as_of": as_of}), how="cross").filter(
        (pl.col("established_date") <= pl.col("as_of"))
        & (pl.col("distress_date").is_null() | (pl.col("distress_date") > pl.col("as_of")))
    )
    keys = grid.select("uscc", "as_of")
    table = grid
    for contract in contracts.values():
        if contract.simulation.generator == "outcomes":
            continue  # the label source: features never read it
        part = source_features(contract, simulate_source(world, contract), keys)
        if part is not None:
            table = table.join(part, on=["uscc", "as_of"], how="left")
    horizon = pl.col("as_of") + pl.duration(days=HORIZON_DAYS)
    label = (pl.col("distress_date") > pl.col("as_of")) & (pl.col("distress_date") <= horizon)
    age = (pl.col("as_of") - pl.col("established_date")).dt.total_days() / 365.25
    return table.with_columns(label=label.fill_null(False), age_years=age)


def oracle(world: World, table: pl.DataFrame) -> np.ndarray:
    index = dict(zip(world.firms["uscc"].to_list(), range(world.n), strict=True))
    firms = np.array([index[u] for u in table["uscc"].to_list()])
    return world.stress_at(firms, table["as_of"].to_numpy().astype("datetime64[D]"))


def evaluate(table: pl.DataFrame, world: World, split: dt.date, seed: int) -> dict:
    table = table.with_columns(oracle=pl.Series(oracle(world, table)))
    skip = {"uscc", "as_of", "industry", "established_date", "distress_date", "label", "oracle"}
    features = [c for c in table.columns if c not in skip]
    results = {}
    for industry in INDUSTRIES:
        rows = table.filter(pl.col("industry") == industry)
        train, test = rows.filter(pl.col("as_of") < split), rows.filter(pl.col("as_of") >= split)
        y_train, y_test = train["label"].to_numpy(), test["label"].to_numpy()
        if y_train.sum() < 5 or y_test.sum() < 5:
            continue
        model = fit_generic(train, features, y_train, seed=seed)
        scores = generic_scores(model, test, features)
        auc = float(roc_auc_score(y_test, scores))
        oracle_auc = float(roc_auc_score(y_test, test["oracle"].to_numpy()))
        results[industry] = {
            "test_rows": test.height,
            "test_positives": int(y_test.sum()),
            "model_auc": round(auc, 3),
            "oracle_auc": round(oracle_auc, 3),
            "model_over_oracle": round(auc / oracle_auc, 3),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", default="small")
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--end-date", default="2026-11-20")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    end = dt.date.fromisoformat(args.end_date)
    started = time.perf_counter()
    world = build_world(args.scale, args.seed, end)
    # 18 monthly as-of dates ending a horizon before the end date: every label is known.
    first = month_starts(dt.date(end.year - 2, end.month, 1), 1)[0]
    as_of = month_starts(first, 18)
    table = feature_table(world, as_of)
    results = evaluate(table, world, as_of[12], args.seed)
    seconds = round(time.perf_counter() - started, 1)
    print(f"{'industry':<14}{'positives':>10}{'model AUC':>11}{'oracle AUC':>12}{'ratio':>7}")
    for industry, r in results.items():
        print(
            f"{industry:<14}{r['test_positives']:>10}{r['model_auc']:>11.3f}"
            f"{r['oracle_auc']:>12.3f}{r['model_over_oracle']:>7.3f}"
        )
    print(f"({table.height} firm-months, {table.width} columns, {seconds} s)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "scale": args.scale,
            "seed": args.seed,
            "end_date": str(end),
            "results": results,
            "seconds": seconds,
        }
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
