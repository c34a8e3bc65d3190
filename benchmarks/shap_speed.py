"""TreeSHAP speed: xgboost's own pred_contribs against shap.TreeExplainer, and the time to explain
every scored firm at SIP scale.

    .venv/bin/python benchmarks/shap_speed.py --json shap_speed.json

The model is trained the way the training flow trains one (``models.train.fit_risk_model`` with
the default ``TrainConfig``: depth 4, early stopping, calibration, monotone constraints from the
registry) on a synthetic frame that has the registry's feature columns and their usual shapes
(counts, ratios, trends, amounts, ~10% missing) and a rare event (~3%) driven by a few of them.

1. The same rows explained three ways: ``RiskModel.contributions`` (xgboost ``pred_contribs``,
   what the publish flow uses), ``shap.TreeExplainer`` (which hands xgboost models to that same
   routine) and shap's own C++ TreeSHAP (an independent implementation). Seconds each, the ratios,
   and the largest absolute difference of the per-feature values (they must agree).
2. Explaining every firm of a scoring table (default 100,000 rows, the park's enterprise count)
   with ``RiskModel.contributions`` plus the additivity check and the explanation frame, as the
   publish flow does, and the same for the 5,142 firms the three industry models actually score.
   Wall and CPU seconds are both reported: on a shared machine wall time includes waiting.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import polars as pl

from features.registry import Unit, feature_names, monotone_constraints, spec
from models.explain import check_additivity, explanation_frame
from models.train import RiskModel, TrainConfig, fit_risk_model

SIP_SCORED_FIRMS = 555 + 3_407 + 1_180  # finance + manufacturing + education (ARCHITECTURE.md)
COUNT_UNITS = {Unit.count, Unit.months, Unit.days, Unit.persons}


def synthetic_table(rows: int, seed: int, names: list[str] | None = None) -> pl.DataFrame:
    """Registry-shaped features (``names``, default every model input) and a rare label that a
    handful of them drive."""
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {}
    for name in names or feature_names():
        unit = spec(name).unit
        if unit in COUNT_UNITS:
            values = rng.poisson(0.5, rows).astype(np.float64)
        elif unit in (Unit.ratio, Unit.flag):
            values = rng.beta(0.7, 2.5, rows)
        elif unit in (Unit.cny, Unit.cny_10k):
            values = rng.lognormal(8.0, 1.5, rows) * (rng.random(rows) < 0.3)
        else:
            values = rng.normal(0.0, 1.0, rows)
        values[rng.random(rows) < 0.10] = np.nan
        columns[name] = values

    def col(name: str) -> np.ndarray:
        return np.nan_to_num(columns[name])

    signal = (
        0.6 * col("si_arrears_months_6m")
        + 0.5 * col("complaint_count_365d")
        + 2.0 * (1 - col("si_paid_ratio_3m"))
        + 0.4 * col("court_defendant_count_90d")
        - 0.5 * col("headcount_change_rel_6m")
    )
    probability = 1 / (1 + np.exp(-(signal - 5.5)))
    label = (rng.random(rows) < probability).astype(np.int8)
    return pl.DataFrame(columns).with_columns(
        uscc=pl.Series([f"91320594{i:010d}" for i in range(rows)]), label=pl.Series(label)
    )


def realistic_model(seed: int, threads: int) -> RiskModel:
    names = feature_names()
    directions = {
        n: {1: "up", -1: "down", 0: "none"}[s] for n, s in monotone_constraints(names).items()
    }
    return fit_risk_model(
        synthetic_table(20_000, seed),
        synthetic_table(6_000, seed + 1),
        names,
        directions=directions,
        config=TrainConfig(nthread=threads, seed=seed),
    )


def timed(function, repeat: int = 1):
    best_wall, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function()
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu, result


def explain_like_publish(model: RiskModel, table: pl.DataFrame) -> pl.DataFrame:
    contributions = model.contributions(table)
    uscc = table.get_column("uscc").to_list()
    check_additivity(contributions, model.margin(table), uscc)
    return explanation_frame(uscc, model.feature_names, contributions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, required=True, help="where to write the results")
    parser.add_argument("--rows", type=int, default=100_000, help="firms to explain (SIP scale)")
    parser.add_argument("--compare-rows", type=int, default=5_000, help="rows explained 3 ways")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--workdir", type=Path, help="explain with this workdir's champion instead (e.g. the demo)"
    )
    parser.add_argument("--industry", default="manufacturing", help="whose champion (--workdir)")
    args = parser.parse_args()

    started = time.perf_counter()
    if args.workdir:
        from pipelines.settings import Settings
        from pipelines.tracking import tracker_for

        model, _ = tracker_for(Settings(workdir=args.workdir)).load_model(args.industry)
    else:
        model = realistic_model(args.seed, args.threads)
    train_s = time.perf_counter() - started
    model.booster.set_param({"nthread": args.threads})
    table = synthetic_table(args.rows, args.seed + 2, list(model.feature_names))
    compare = table.head(args.compare_rows)
    x_compare = compare.select(model.feature_names).to_numpy()

    native_wall, native_cpu, native = timed(lambda: model.contributions(compare), repeat=3)

    import shap  # imported here: its ~6 s import is part of neither timing

    delegating = shap.TreeExplainer(model.booster)
    shap_wall, shap_cpu, shap_values = timed(lambda: delegating(x_compare), repeat=1)
    independent = shap.TreeExplainer(model.booster)
    independent.model.model_type = "internal"  # shap's own TreeSHAP, not xgboost's
    own_wall, own_cpu, own_values = timed(
        lambda: independent.shap_values(x_compare, check_additivity=False), repeat=1
    )

    full_wall, full_cpu, _ = timed(lambda: explain_like_publish(model, table), repeat=2)
    sip = table.head(SIP_SCORED_FIRMS)
    sip_wall, sip_cpu, _ = timed(lambda: explain_like_publish(model, sip), repeat=3)

    results = {
        "machine": {
            "cpus": os.cpu_count(),
            "threads": args.threads,
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        },
        "model": {
            "source": f"{args.workdir} {args.industry} champion" if args.workdir else "synthetic",
            "features": len(model.feature_names),
            "trees": model.booster.num_boosted_rounds(),
            "max_depth": model.metadata["config"]["max_depth"],
            "train_or_load_seconds": round(train_s, 1),
        },
        "same_rows": {
            "rows": args.compare_rows,
            "pred_contribs_s": round(native_wall, 3),
            "shap_tree_explainer_s": round(shap_wall, 3),
            "shap_own_treeshap_s": round(own_wall, 3),
            "cpu_s": {
                "pred_contribs": round(native_cpu, 3),
                "shap_tree_explainer": round(shap_cpu, 3),
                "shap_own_treeshap": round(own_cpu, 3),
            },
            "tree_explainer_over_pred_contribs": round(shap_wall / native_wall, 2),
            "own_treeshap_over_pred_contribs": round(own_wall / native_wall, 2),
            "max_abs_diff_tree_explainer": float(np.abs(native[:, :-1] - shap_values.values).max()),
            "max_abs_diff_base_tree_explainer": float(
                np.abs(native[:, -1] - shap_values.base_values).max()
            ),
            "max_abs_diff_own_treeshap": float(np.abs(native[:, :-1] - own_values).max()),
        },
        "explain_all": {
            "rows": args.rows,
            "wall_s": round(full_wall, 2),
            "cpu_s": round(full_cpu, 2),
            "goal_s": 10.0,
            "meets_goal": bool(full_wall < 10.0),
        },
        "explain_sip_scored_firms": {
            "rows": SIP_SCORED_FIRMS,
            "wall_s": round(sip_wall, 2),
            "cpu_s": round(sip_cpu, 2),
        },
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")

    same = results["same_rows"]
    m = results["model"]
    print(
        f"model ({m['source']}): {m['features']} features, {m['trees']} trees of depth "
        f"{m['max_depth']}"
    )
    header = f"{args.compare_rows:,} rows"
    print(f"{header:28}{'seconds':>10}{'vs pred_contribs':>18}{'max |diff|':>12}")
    print(f"{'  pred_contribs (EWS)':28}{same['pred_contribs_s']:>10.3f}{'1.0x':>18}{'-':>12}")
    print(
        f"{'  shap.TreeExplainer':28}{same['shap_tree_explainer_s']:>10.3f}"
        f"{same['tree_explainer_over_pred_contribs']:>17.1f}x"
        f"{same['max_abs_diff_tree_explainer']:>12.1e}"
    )
    print(
        f"{'  shap own TreeSHAP':28}{same['shap_own_treeshap_s']:>10.3f}"
        f"{same['own_treeshap_over_pred_contribs']:>17.1f}x"
        f"{same['max_abs_diff_own_treeshap']:>12.1e}"
    )
    for label, key in (("explain all", "explain_all"), ("explain SIP", "explain_sip_scored_firms")):
        part = results[key]
        print(
            f"{label} {part['rows']:,} firms (contributions + additivity + frame): "
            f"{part['wall_s']:.2f} s wall, {part['cpu_s']:.2f} s CPU"
        )
    print(
        f"goal < 10 s for {args.rows:,} firms on {args.threads} threads: "
        f"{'met' if full_wall < 10 else 'NOT met'} "
        f"(load average {results['machine']['load_average_1m_at_end']})"
    )


if __name__ == "__main__":
    main()
