"""The production models against the generic benchmark, on the same rows (issue 22, item 1).

On a trained simulated workdir (the demo's, or any park built by ``ews simulate``, ``ingest``
and ``features``), each industry is trained as ``ews train`` trains it (the declared pool, its
seeds and settings; models.pooled or models.pipeline) and its out-of-time test rows are scored
four ways: the model, its logistic baseline, the **generic benchmark** (``models.generic``: a
fixed-setting xgboost per industry on features any contract yields, read from the same lake,
fitted on the same split's train and valid rows) and the oracle (the simulator's latent stress in
the as-of month; never a feature). All four are compared on the same 200 cluster-bootstrap
resamples of firms (``models.evaluate.compare``), so the ratios' 95% intervals are paired.

The generic model fits on every ``--every-weeks``-th as-of week of the train and valid periods
(its features are monthly-grained; 4 by default keeps it quick) and scores every test row.

    .venv/bin/python benchmarks/generic_benchmark.py --workdir ews_demo \
        --json bench_out/generic.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import numpy as np
import polars as pl

from data_contracts.catalog import load_all
from features import registry
from models.config import load_config
from models.evaluate import compare
from models.generic import KEYS, fit_generic, generic_scores, generic_table
from models.labels import LABEL
from models.oracle import oracle_scores
from models.pipeline import prepare, train_industry
from models.pooled import train_pooled
from pipelines.flows.train import pool_member, risk_directions
from pipelines.io import scan_source
from pipelines.settings import Settings
from pipelines.training_rows import read_history

SCORERS = ("model", "baseline", "generic", "oracle")
PAIRS = (("model", "generic"), ("model", "baseline"), ("generic", "oracle"), ("model", "oracle"))
METRICS = ("roc_auc", "pr_auc", "precision_at_k")


def production_results(settings: Settings, seed: int) -> tuple[dict, dict, dt.date]:
    """Every industry trained as ``ews train`` trains it: its result, its pool member and the
    date the labels are known by."""
    config = load_config()
    specs = dict(config.industries)
    members = {}
    for key, spec in specs.items():
        rows = read_history(settings.features / "history.parquet", spec)
        members[key] = pool_member(settings, spec, rows, rows.get_column("as_of").max())
    until = max(m.history.get_column("as_of").max() for m in members.values())
    common = {
        "known_until": until,
        "directions": risk_directions(),
        "descriptors": registry.descriptor_names(),
        "seed": seed,
    }
    pooled = list(config.pooled(specs))
    results = train_pooled({k: members[k] for k in pooled}, **common) if pooled else {}
    for key in specs:
        if key not in results:
            m = members[key]
            results[key] = train_industry(m.history, m.outcomes, m.spec, stress=m.stress, **common)
    return results, members, until


def lake_sources(settings: Settings, firms: pl.Series) -> list[tuple]:
    """Every source but the label source, its rows on ``firms`` (the generic features' input)."""
    sources = []
    for contract in load_all().values():
        if contract.simulation is None or contract.simulation.generator == "outcomes":
            continue  # the label source: features never read it
        frame = scan_source(settings.lake, contract.id)
        if "uscc" not in frame.collect_schema().names():
            continue
        sources.append((contract, frame.filter(pl.col("uscc").is_in(firms.implode())).collect()))
    return sources


def generic_test_scores(
    member, result, sources, known_until: dt.date, every_weeks: int, seed: int
) -> np.ndarray:
    """The generic booster of one industry: fitted on its split's train and valid rows (every
    ``every_weeks``-th week), scoring the model's test rows in their order."""
    spec = member.spec
    split = prepare(  # labelled and split exactly as the model's rows were
        member.history,
        member.outcomes,
        spec,
        known_until=known_until,
        descriptors=registry.descriptor_names(),
    ).split
    fit_rows = pl.concat([split.train, split.valid]).select(*KEYS, LABEL)
    weeks = fit_rows.get_column("as_of").unique().sort(descending=True)
    kept = weeks.gather_every(every_weeks)
    fit_rows = fit_rows.filter(pl.col("as_of").is_in(kept.implode())).sort(KEYS)
    test_rows = result.test_predictions.select(*KEYS)
    table = generic_table(pl.concat([fit_rows.select(KEYS), test_rows]).unique(KEYS), sources)
    features = [c for c in table.columns if c not in KEYS]
    fit_table = fit_rows.join(table, on=KEYS, how="left", maintain_order="left")
    model = fit_generic(fit_table, features, fit_table.get_column(LABEL).to_numpy(), seed=seed)
    test_table = test_rows.join(table, on=KEYS, how="left", maintain_order="left")
    return generic_scores(model, test_table, features)


def summary(y, scores: dict, spec, test: pl.DataFrame, seed: int) -> dict:
    compared = compare(
        y, scores, PAIRS, k=spec.capacity_k, as_of=test["as_of"], cluster=test["uscc"], seed=seed
    )

    def short(estimate: dict) -> list[float]:
        return [round(estimate[key], 3) for key in ("value", "ci_low", "ci_high")]

    return {
        "test_rows": len(y),
        "test_events": int(np.sum(y)),
        "metrics": {
            name: {m: short(compared["scorers"][name][m]) for m in METRICS} for name in scores
        },
        "ratios": {
            pair: {m: short(v["ratio"]) for m, v in by_metric.items()}
            for pair, by_metric in compared["pairs"].items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("ews_demo"))
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--every-weeks", type=int, default=4)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if args.every_weeks < 1:
        parser.error("--every-weeks must be 1 or more")
    settings = Settings(workdir=args.workdir)
    started = time.perf_counter()
    results, members, until = production_results(settings, args.seed)
    trained = round(time.perf_counter() - started, 1)
    firms = pl.concat([m.history.get_column("uscc") for m in members.values()]).unique()
    sources = lake_sources(settings, firms)
    report = {}
    for key, result in results.items():
        member, test = members[key], result.test_predictions
        if member.stress is None:
            raise SystemExit(f"{args.workdir} is not a simulated park: it has no simulator stress")
        scores = {
            "model": test["p_model"].to_numpy(),
            "baseline": test["p_baseline"].to_numpy(),
            "generic": generic_test_scores(
                member, result, sources, until, args.every_weeks, args.seed
            ),
            "oracle": oracle_scores(test, member.stress).to_numpy(),
        }
        report[key] = summary(test[LABEL].to_numpy(), scores, member.spec, test, args.seed)
        r = report[key]
        print(f"== {key}: {r['test_rows']} test rows, {r['test_events']} events")
        for name in SCORERS:
            m = r["metrics"][name]
            print(f"  {name:<9} " + "  ".join(f"{k} {m[k][0]:.3f}" for k in METRICS))
        for pair, ratios in r["ratios"].items():
            print(f"  {pair:<17} " + "  ".join(f"{k} {ratios[k]}" for k in METRICS))
    seconds = round(time.perf_counter() - started, 1)
    print(f"({seconds} s, of which {trained} s training the production models)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "workdir": str(args.workdir),
            "seed": args.seed,
            "every_weeks": args.every_weeks,
            "run_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "results": report,
            "seconds": seconds,
        }
        args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
