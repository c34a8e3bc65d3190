"""How much of the oracle can the data reach? The stress ceiling of the observed sources.

Simulator-only diagnostic for issue 22's goal (90% of the oracle's precision at K). The oracle
scores a test row with the firm's latent stress in the month of its as-of date; no source reports
that month's stress: sources see its consequences later (tax and social insurance a month or more
after, annual reports once a year). This script puts two other scorers beside the production
model on the same out-of-time test rows, with paired intervals (``models.evaluate.compare``):

* **lagged oracles**: the firm's stress ``L`` months before its as-of month (L = 1, 2, 3, 6):
  what a model could score if the data told it the stress exactly, but late;
* **recovered stress**: a regression booster trained on the training rows' features to predict
  their as-of month's stress (target simulator-only, early-stopped on the valid rows), scoring the
  test rows: how much of the stress the observed features carry at all. Its test R² says it
  directly (also within each as-of week, since a ranking ignores a week's common level). When
  its precision at K is close to the model's, the gap to the oracle is in what
  the sources observe, not in how the model learns; when it is far above, learning loses signal.

    .venv/bin/python benchmarks/stress_ceiling.py --workdir ews_demo --json bench_out/ceiling.json

It also lists how late the simulated sources see the stress (each stress-carrying contract's
``simulation.lag_days``, plus ``delay_days`` before its rows arrive): the lags the simulator
declares for the park's sources, which bound what any model can know in the as-of month.

Nothing here is a feature or reaches a model: the stress is the target of a diagnostic booster
that only this script trains and throws away.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import polars as pl
import xgboost as xgb

from data_contracts import catalog
from features import registry
from models.config import load_industries
from models.evaluate import compare
from models.labels import LABEL, label_snapshots
from models.oracle import ORACLE, late_oracle_scores, oracle_scores
from models.pipeline import feature_columns, train_industry
from models.split import out_of_time_split
from models.train import feature_matrix
from pipelines.flows.train import risk_directions, simulator_stress, training_outcomes
from pipelines.settings import Settings
from pipelines.training_rows import read_history

LAGS = (1, 2, 3, 6)
RECOVERED = "recovered_stress"


def lagged(rows: pl.DataFrame, stress: pl.DataFrame, months: int) -> np.ndarray:
    """Each row's stress ``months`` before its as-of month (models.oracle's late oracle)."""
    late = late_oracle_scores(rows, stress, months)
    if late is None:
        raise SystemExit(f"the simulator's months do not reach {months} months before the test")
    return late.to_numpy()


def recovered_stress(split, names: tuple[str, ...], stress: pl.DataFrame, seed: int) -> dict:
    """A regression booster from the features to the as-of month's stress: test scores, R²."""
    targets = {
        part: oracle_scores(frame, stress).to_numpy()
        for part, frame in (("train", split.train), ("valid", split.valid), ("test", split.test))
    }
    matrix = {
        part: xgb.DMatrix(
            feature_matrix(frame, names), label=targets[part], feature_names=list(names)
        )
        for part, frame in (("train", split.train), ("valid", split.valid), ("test", split.test))
    }
    params = {
        "objective": "reg:squarederror",
        "tree_method": "hist",
        "learning_rate": 0.05,
        "max_depth": 6,
        "min_child_weight": 20,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "nthread": 2,
        "seed": seed,
    }
    booster = xgb.train(
        params,
        matrix["train"],
        num_boost_round=2000,
        evals=[(matrix["valid"], "valid")],
        early_stopping_rounds=50,
        verbose_eval=False,
    )
    rounds = (0, booster.best_iteration + 1)
    predicted = booster.predict(matrix["test"], iteration_range=rounds).astype(np.float64)
    truth = targets["test"]
    week = split.test.get_column("as_of").to_numpy()
    return {
        "scores": predicted,
        "r2": r_squared(truth, predicted),
        "r2_within_week": r_squared(within(truth, week), within(predicted, week)),
        "rounds": rounds[1],
    }


def r_squared(truth: np.ndarray, predicted: np.ndarray) -> float:
    return 1.0 - float(np.sum((truth - predicted) ** 2) / np.sum((truth - truth.mean()) ** 2))


def within(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """``values`` less their group's mean."""
    _, inverse = np.unique(groups, return_inverse=True)
    means = np.bincount(inverse, weights=values) / np.bincount(inverse)
    return values - means[inverse]


def source_lags() -> dict:
    """How late the stress-carrying sources see the stress, in days (their contracts)."""
    lags, seen_after = [], []
    for contract in catalog.load_all().values():
        simulation = contract.simulation
        if simulation is None or simulation.stress_sensitivity == 0:
            continue
        lags.append(simulation.lag_days)
        seen_after.append(simulation.lag_days + simulation.delay_days)
    lags, seen_after = np.array(lags), np.array(seen_after)
    return {
        "sources": len(lags),
        "lag_days_median": float(np.median(lags)),
        "lag_days_at_most_30": int(np.sum(lags <= 30)),
        "lag_days_at_least_90": int(np.sum(lags >= 90)),
        "lag_plus_delay_days_median": float(np.median(seen_after)),
    }


def short(estimate: dict) -> list[float]:
    return [round(estimate[key], 3) for key in ("value", "ci_low", "ci_high")]


def one_industry(settings: Settings, key: str, spec, seed: int) -> dict:
    rows = read_history(settings.features / "history.parquet", spec)
    until = rows.get_column("as_of").max()
    outcomes = training_outcomes(settings, spec, until, 0)
    stress = simulator_stress(settings, rows)
    if stress is None:
        raise SystemExit(f"{settings.workdir} is not a simulated park: no sim_truth stress")
    descriptors = set(registry.descriptor_names())
    result = train_industry(
        rows,
        outcomes,
        spec,
        known_until=until,
        directions=risk_directions(),
        descriptors=descriptors,
        seed=seed,
        stress=stress,
    )
    # The same split train_industry drew (deterministic in the labelled rows).
    split = out_of_time_split(label_snapshots(rows, outcomes, spec, until), spec.horizon_days)
    names = tuple(n for n in feature_columns(split.train) if n not in descriptors)
    test = split.test.select("uscc", "as_of", LABEL).join(
        result.test_predictions, on=["uscc", "as_of", LABEL], how="left", maintain_order="left"
    )
    recovered = recovered_stress(split, names, stress, seed)
    scores = {
        "model": test.get_column("p_model").to_numpy(),
        ORACLE: oracle_scores(test, stress).to_numpy(),
        RECOVERED: recovered["scores"],
        **{f"oracle_lag{lag}": lagged(test, stress, lag) for lag in LAGS},
    }
    others = [name for name in scores if name != ORACLE]
    compared = compare(
        test.get_column(LABEL).to_numpy(),
        scores,
        [(name, ORACLE) for name in others],
        k=spec.capacity_k,
        as_of=test.get_column("as_of"),
        cluster=test.get_column("uscc"),
        seed=seed,
    )
    return {
        "test_rows": test.height,
        "test_events": int(test.get_column(LABEL).sum()),
        "recovered_stress_r2": round(recovered["r2"], 3),
        "recovered_stress_r2_within_week": round(recovered["r2_within_week"], 3),
        "recovered_stress_rounds": recovered["rounds"],
        "metrics": {
            name: {m: short(compared["scorers"][name][m]) for m in ("roc_auc", "precision_at_k")}
            for name in scores
        },
        "of_oracle_precision_at_k": {
            name: short(compared["pairs"][f"{name}/{ORACLE}"]["precision_at_k"]["ratio"])
            for name in others
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("ews_demo"))
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    settings = Settings(workdir=args.workdir)
    report = {"source_lags": source_lags()}
    print(f"stress-carrying sources' lags: {report['source_lags']}")
    for key, spec in load_industries().items():
        started = time.perf_counter()
        report[key] = one_industry(settings, key, spec, args.seed)
        report[key]["seconds"] = round(time.perf_counter() - started, 1)
        r = report[key]
        print(
            f"== {key}: {r['test_events']} events, recovered-stress R² {r['recovered_stress_r2']} "
            f"(within week {r['recovered_stress_r2_within_week']})"
        )
        for name, ratio in r["of_oracle_precision_at_k"].items():
            m = r["metrics"][name]
            print(
                f"  {name:<18} ROC {m['roc_auc'][0]:.3f} P@K {m['precision_at_k'][0]:.3f} "
                f"of oracle P@K {ratio}"
            )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
