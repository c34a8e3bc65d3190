"""Where is the signal lost? Training variants side by side, judged against the oracle.

On a trained simulated workdir (e.g. the demo's: ``features/history.parquet``, the lake's
outcomes, ``sim_truth/``), each variant trains every industry as ``ews train`` does
(``models.pipeline.train_industry``, same split, seed and features) and scores its out-of-time
test rows beside the logistic baseline and the oracle (the simulator's latent stress in the as-of
month, never a feature). It prints, per variant and industry, ROC-AUC, PR-AUC and precision at K
and the paired ratios model/oracle and model/baseline with their 95% intervals.

Variants: ``current`` (industries.yaml), ``class_none`` and ``class_full`` (the positive-class
weight), ``single_seed``, ``bagged_3`` and ``bagged_5`` (one booster, or boosters averaged over
3 or 5 consecutive training seeds: ``TrainConfig.seeds``; ``current`` trains with the shipped
block's count, 3), ``pooled`` (the three industries pooled by the production path,
models.pooled: one booster, at one seed, with industry indicators, each
industry's model calibrated on its own rows and scored on its own test rows; finance has few
events of its own; ``pooled_bagged_3`` with boosters averaged over 3 seeds, the production path;
``pooled_bagged_3_without_more_sources`` the same without the second set of inputs below;
``pooled_bagged_3_without_activity`` that path without the monthly activity trends of
``features.activity``, ``pooled_bagged_3_without_latest_month`` without their latest month's
change (alone and against the sector), ``pooled_bagged_3_without_latest_vs_sector`` without
the sector comparison only;
``pooled_blend`` that pool's member models each blended with its logistic baseline,
models.blend, weights fitted on the purged valid rows boosting stops on, ``pooled_blend_valid``
on every valid row, ``pooled_blend_pr`` a convex weight chosen on the purged valid rows' PR-AUC;
after ``pooled_bagged_3`` in one run they reuse its pool); the levers ``pooled_stop_aucpr`` /
``_logloss`` (the early-stopping metric), ``pooled_patience_100`` / ``_200`` (early-stopping
rounds), ``pooled_unconstrained`` (no monotone constraints), ``pooled_gap_90`` / ``_180``
(training ends 90 or 180 days before valid), ``pooled_history_182`` / ``_252`` (the newest 26 or
36 training weeks only) and ``pooled_train_horizon_90`` (training rows labelled with a 90-day
horizon, valid and test with the industry's), each one ``Lever`` on the production path;
``--boosters 1`` screens every pooled variant with one booster), and ablations
``without_<group>`` that train as ``current`` without one group of features (the sources that fed
none before issue 22: ``inspections``, ``credit_records``, ``related_firms``,
``judgments_arbitration``, ``prepaid_refunds``; then ``registration_more``, ``criminal_cases``,
``prepaid_consumption``, ``annual_report_more``, ``tax_filings``, ``customs``,
``public_support``; then ``annual_filing``, ``annual_social_insurance``, ``annual_assets``,
``wage_statistics``) or without all of them (``without_new_sources``: the inputs before issue
22) or without the second set (``without_more_sources``) or the third
(``without_third_sources``; ``pooled_bagged_3_without_third_sources`` on the production path),
so each group's effect is measured on the same history. Each industry's result also says which
model the promotion gate would serve on a park without a champion (``gate``: the boosted model
only when shown better than its logistic baseline, models.promotion), and each variant's wall
and CPU seconds are recorded (``seconds``, ``cpu_seconds``: training and scoring every industry).

    .venv/bin/python benchmarks/signal_variants.py --workdir ews_demo --json bench_out/signal.json
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from scipy.special import expit

from features import (
    activity,
    annual_report,
    courts,
    credit_records,
    headcount,
    inspections,
    linked_firms,
    prepaid,
    registration,
    registry,
    tax,
)
from features.family import names as spec_names
from models.baseline import KIND as BASELINE_KIND
from models.blend import BlendWeights, fit_blend
from models.config import load_industries
from models.evaluate import average_precision, compare
from models.labels import LABEL
from models.oracle import oracle_scores
from models.pipeline import IndustryResult, Prepared, prepare, train_industry
from models.pooled import train_pooled
from models.promotion import beats_baseline, gate
from models.split import TrainingRows
from models.train import TrainConfig
from pipelines.flows.train import (
    pool_member,
    risk_directions,
    simulator_stress,
    training_outcomes,
)
from pipelines.settings import Settings
from pipelines.training_rows import read_history

# Feature groups added for the sources that fed no feature (issue 22), by ablation name.
SOURCE_GROUPS: dict[str, tuple[str, ...]] = {
    "inspections": tuple(s.name for s in inspections.SPECS),
    "credit_records": tuple(s.name for s in credit_records.SPECS),
    "related_firms": tuple(s.name for s in linked_firms.RELATED_SPECS),
    "judgments_arbitration": (
        courts.LOST_COUNT.name,
        courts.LOST_AMOUNT.name,
        courts.RESPONDENT_COUNT.name,
    ),
    "prepaid_refunds": tuple(s.name for s in prepaid.EVENT_SPECS),
}
# The second set of sources that carried stress and fed nothing (issue 22), by ablation name.
MORE_SOURCE_GROUPS: dict[str, tuple[str, ...]] = {
    "registration_more": spec_names(registration.MORE_SPECS),
    "criminal_cases": spec_names((courts.CRIMINAL_COUNT, courts.CRIMINAL_AMOUNT)),
    "prepaid_consumption": spec_names(prepaid.CONSUMPTION_SPECS),
    "annual_report_more": spec_names(annual_report.MORE_SPECS),
    "tax_filings": spec_names(tax.FILING_SPECS),
    "customs": spec_names(tax.CUSTOMS_SPECS),
    "public_support": spec_names(tax.SUPPORT_SPECS),
}
# The third set: annual filing status, the reports' social-insurance and assets sections, and
# the statistics bureau's labour and wage statistics (issue 22).
THIRD_SOURCE_GROUPS: dict[str, tuple[str, ...]] = {
    "annual_filing": spec_names(annual_report.FILING_SPECS),
    "annual_social_insurance": spec_names(annual_report.SOCIAL_INSURANCE_SPECS),
    "annual_assets": spec_names((annual_report.BANK_LOANS_TO_REVENUE,)),
    "wage_statistics": spec_names(headcount.WAGE_STATISTICS_SPECS),
}
SOURCE_GROUPS.update(MORE_SOURCE_GROUPS)
SOURCE_GROUPS.update(THIRD_SOURCE_GROUPS)
ABLATIONS: dict[str, tuple[str, ...]] = {
    **{f"without_{group}": names for group, names in SOURCE_GROUPS.items()},
    "without_new_sources": tuple(n for names in SOURCE_GROUPS.values() for n in names),
    "without_more_sources": tuple(n for names in MORE_SOURCE_GROUPS.values() for n in names),
    "without_third_sources": tuple(n for names in THIRD_SOURCE_GROUPS.values() for n in names),
}


@dataclass(frozen=True)
class Lever:
    """One change to the production path's pooled training (models.pooled): ``training`` keys
    replace the shared TrainConfig's, ``rows`` keys make a models.split.TrainingRows (the
    training period's rows; valid and test stay), ``constrained`` False trains without the
    monotone constraints of the features' risk directions, ``drop`` leaves features out. A key
    that names no setting fails (both models forbid extra keys)."""

    training: Mapping[str, Any] = field(default_factory=dict)
    rows: Mapping[str, Any] = field(default_factory=dict)
    constrained: bool = True
    drop: tuple[str, ...] = ()

    def config(self, shared: TrainConfig, boosters: int | None = None) -> TrainConfig:
        """``shared`` with this lever's keys; ``boosters`` (screening) replaces its seeds."""
        seeds = {} if boosters is None else {"seeds": boosters}
        return TrainConfig.model_validate({**shared.model_dump(), **self.training, **seeds})

    def training_rows(self) -> TrainingRows:
        return TrainingRows.model_validate(dict(self.rows))


# The pooled variants: the production path (the shipped training block, three boosters), its
# blends, and one lever each on top of it (issue 22: early stopping on few positives, monotone
# constraints, the purge between train and valid, the training history's length, the training
# label's horizon).
PRODUCTION = Lever(training={"seeds": 3})
POOLED: dict[str, Lever] = {
    # One booster: the shipped block averages 3, which would make it pooled_bagged_3.
    "pooled": Lever(training={"seeds": 1}),
    "pooled_without_new_sources": Lever(drop=ABLATIONS["without_new_sources"]),
    "pooled_bagged_3": PRODUCTION,
    "pooled_blend": PRODUCTION,
    "pooled_blend_valid": PRODUCTION,
    "pooled_blend_pr": PRODUCTION,
    "pooled_bagged_3_without_more_sources": Lever(
        training={"seeds": 3}, drop=ABLATIONS["without_more_sources"]
    ),
    "pooled_bagged_3_without_third_sources": Lever(
        training={"seeds": 3}, drop=ABLATIONS["without_third_sources"]
    ),
    # Production (pooled, 3 seeds) without the monthly activity trends (features.activity).
    "pooled_bagged_3_without_activity": Lever(
        training={"seeds": 3}, drop=spec_names(activity.SPECS)
    ),
    # Production without the latest reported month's change (the activity trends' freshest
    # month, alone and against the sector), or without its sector comparison only.
    "pooled_bagged_3_without_latest_month": Lever(
        training={"seeds": 3},
        drop=spec_names((*activity.LATEST_MONTH.values(), *activity.VS_SECTOR.values())),
    ),
    "pooled_bagged_3_without_latest_vs_sector": Lever(
        training={"seeds": 3}, drop=spec_names(activity.VS_SECTOR.values())
    ),
    "pooled_stop_aucpr": Lever(training={"stopping_metric": "aucpr"}),
    "pooled_stop_logloss": Lever(training={"stopping_metric": "logloss"}),
    "pooled_patience_100": Lever(training={"early_stopping_rounds": 100}),
    "pooled_patience_200": Lever(training={"early_stopping_rounds": 200}),
    "pooled_unconstrained": Lever(constrained=False),
    "pooled_gap_90": Lever(rows={"gap_days": 90}),
    "pooled_gap_180": Lever(rows={"gap_days": 180}),
    # The demo park's training period is about 47 weeks: the newest half and three quarters.
    "pooled_history_182": Lever(rows={"history_days": 182}),
    "pooled_history_252": Lever(rows={"history_days": 252}),
    "pooled_train_horizon_90": Lever(rows={"horizon_days": 90}),
}
# Boosters averaged over this many consecutive training seeds (TrainConfig.seeds), else as current.
SEED_COUNTS = {"single_seed": 1, "bagged_3": 3, "bagged_5": 5}
# The production pool (3 seeds) whose member models are blended with their logistic baselines
# (models.blend), the weights fitted on the rows boosting stops on (``stopping``: the valid
# period without the firms whose event training saw) or on every valid row (``valid``); or
# ``stopping_pr``: a convex weight of the two margins, each standardised on the stopping rows,
# chosen on those rows' PR-AUC (a grid of 21 weights) instead of a likelihood fit.
BLENDS = {
    "pooled_blend": "stopping",
    "pooled_blend_valid": "valid",
    "pooled_blend_pr": "stopping_pr",
}
CONVEX_GRID = np.linspace(0.0, 1.0, 21)
VARIANTS = tuple(
    dict.fromkeys(("current", "class_none", "class_full", *SEED_COUNTS, *POOLED, *ABLATIONS))
)


def summary(y, scores: dict, spec, as_of, uscc, seed: int) -> dict:
    compared = compare(
        y,
        scores,
        [("model", "oracle"), ("model", "baseline")],
        k=spec.capacity_k,
        as_of=as_of,
        cluster=uscc,
        seed=seed,
    )

    def short(estimate: dict) -> list[float]:
        return [round(estimate[key], 3) for key in ("value", "ci_low", "ci_high")]

    return {
        "test_rows": len(y),
        "test_events": int(np.sum(y)),
        "gate": served(compared, spec),
        "metrics": {
            name: {
                m: short(compared["scorers"][name][m])
                for m in ("roc_auc", "pr_auc", "precision_at_k")
            }
            for name in scores
        },
        "ratios": {
            pair: {m: short(v["ratio"]) for m, v in by_metric.items()}
            for pair, by_metric in compared["pairs"].items()
        },
    }


def served(compared: dict, spec) -> dict:
    """Which model the promotion gate would serve on a park without a champion: the boosted
    model only when its paired interval against its baseline is above zero on the gate's metric
    (the pairs and resamples the train flow's gate draws with the same seed)."""
    held_to = spec.promotion.baseline_metric
    difference = compared["pairs"]["model/baseline"][held_to]["difference"]
    verdict = beats_baseline(difference, held_to)
    outcome = gate(
        compared["scorers"]["model"], verdict, None, spec.promotion.metric, spec.promotion.margin
    )
    kind = BASELINE_KIND if outcome.serve_baseline else "gradient_boosting"
    return {"serves": kind, "reason": verdict.reason}


def per_industry(settings: Settings, variant: str, seed: int) -> dict:
    results = {}
    for key, spec in load_industries().items():
        rows = read_history(settings.features / "history.parquet", spec)
        rows = rows.drop(ABLATIONS.get(variant, ()), strict=False)
        until = rows.get_column("as_of").max()
        config = spec.training
        if variant in ("class_none", "class_full"):
            config = config.model_copy(update={"class_balance": variant.removeprefix("class_")})
        if variant in SEED_COUNTS:
            config = config.model_copy(update={"seeds": SEED_COUNTS[variant]})
        wall, cpu = time.perf_counter(), time.process_time()
        result = train_industry(
            rows,
            training_outcomes(settings, spec, until, 0),
            spec,
            known_until=until,
            directions=risk_directions(),
            descriptors=registry.descriptor_names(),
            seed=seed,
            config=config,
            stress=simulator_stress(settings, rows),
        )
        # The industry's training and its test evaluation (model, baseline), in wall and CPU
        # seconds: CPU time is the steadier measure on a shared machine.
        spent = {
            "train_seconds": round(time.perf_counter() - wall, 1),
            "train_cpu_seconds": round(time.process_time() - cpu, 1),
        }
        results[key] = {
            **summarised(result, spec, simulator_stress(settings, rows), seed),
            **spent,
        }
    return results


def summarised(result, spec, stress: pl.DataFrame, seed: int) -> dict:
    test = result.test_predictions
    scores = {
        "model": test["p_model"].to_numpy(),
        "baseline": test["p_baseline"].to_numpy(),
        "oracle": oracle_scores(test, stress).to_numpy(),
    }
    return summary(test[LABEL].to_numpy(), scores, spec, test["as_of"], test["uscc"], seed)


def pooled(
    settings: Settings,
    seed: int,
    lever: Lever,
    boosters: int | None = None,
    blend: str | None = None,
) -> dict:
    """The three industries pooled as the production pool trains them (models.pooled), each
    member's model calibrated on its own rows and scored on its own test rows, with ``lever``
    applied; ``boosters``, when given, replaces the count of boosters averaged over seeds; ``blend``
    (``stopping`` or ``valid``) scores each member's blend with its logistic baseline instead,
    weighted on those rows of its own split (``blended``). The pool trained for one variant is
    kept for the next that needs the same one (``pooled_bagged_3`` then ``pooled_blend``)."""
    specs = load_industries()
    members, results, until, config = _trained_pool(settings, seed, lever, boosters)
    report = {}
    for key, result in results.items():
        if blend is None:
            report[key] = {
                **summarised(result, specs[key], members[key].stress, seed),
                "boosters": config.seeds,
                "booster_rounds": result.model.metadata.get("seed_rounds"),
                "train_rows": result.class_balance["train"]["rows"],
            }
            continue
        part = prepare(
            members[key].history,
            members[key].outcomes,
            specs[key],
            known_until=until,
            descriptors=registry.descriptor_names(),
            training_rows=lever.training_rows(),
        )
        blended_result, weights = blended(result, part, blend)
        report[key] = {
            **summarised(blended_result, specs[key], members[key].stress, seed),
            "blend": weights,
            "blend_vs_booster": paired(result, blended_result, specs[key], seed),
        }
    return report


_POOLS: dict[tuple, tuple[dict, dict[str, IndustryResult], dt.date, TrainConfig]] = {}


def _trained_pool(
    settings: Settings, seed: int, lever: Lever, boosters: int | None
) -> tuple[dict, dict[str, IndustryResult], dt.date, TrainConfig]:
    specs = load_industries()
    config = lever.config(next(iter(specs.values())).training, boosters)
    rows_config = lever.training_rows()
    key = (str(settings.workdir), seed, lever.drop, lever.constrained, config, rows_config)
    if key in _POOLS:
        return _POOLS[key]
    members = {}
    for industry, spec in specs.items():
        rows = read_history(settings.features / "history.parquet", spec)
        rows = rows.drop(lever.drop, strict=False)
        until = rows.get_column("as_of").max()
        members[industry] = pool_member(settings, spec, rows, until)
    results = train_pooled(
        members,
        known_until=until,
        directions=risk_directions() if lever.constrained else None,
        descriptors=registry.descriptor_names(),
        seed=seed,
        config=config,
        training_rows=rows_config,
    )
    _POOLS[key] = (members, results, until, config)
    return _POOLS[key]


def blended(result: IndustryResult, part: Prepared, rows: str) -> tuple[IndustryResult, dict]:
    """``result`` with its test rows' ``p_model`` replaced by the blend of its model and
    baseline (models.blend), the weights fitted on ``part``'s ``rows`` (``stopping`` or
    ``valid``), never on its test rows."""
    fit_rows = part.split.valid if rows == "valid" else part.stopping
    y = fit_rows.get_column(LABEL).to_numpy()
    margins = (result.model.margin(fit_rows), result.baseline.margin(fit_rows))
    weights = convex_blend(*margins, y) if rows == "stopping_pr" else fit_blend(*margins, y)
    test = part.split.test
    same = test.select("uscc", "as_of").equals(result.test_predictions.select("uscc", "as_of"))
    if not same:
        raise RuntimeError(f"{result.industry}: the re-prepared test rows differ from the pool's")
    p_blend = expit(weights.margin(result.model.margin(test), result.baseline.margin(test)))
    predictions = result.test_predictions.with_columns(pl.Series("p_model", p_blend))
    return dataclasses.replace(result, test_predictions=predictions), weights.to_dict()


def paired(booster: IndustryResult, blend: IndustryResult, spec, seed: int) -> dict:
    """The blend against the booster alone on the same test rows: paired differences (blend -
    booster) of PR-AUC and precision at K with their 95% intervals."""
    test = booster.test_predictions
    compared = compare(
        test[LABEL].to_numpy(),
        {
            "blend": blend.test_predictions["p_model"].to_numpy(),
            "booster": test["p_model"].to_numpy(),
        },
        [("blend", "booster")],
        k=spec.capacity_k,
        as_of=test["as_of"],
        cluster=test["uscc"],
        seed=seed,
    )["pairs"]["blend/booster"]
    return {
        m: [round(compared[m]["difference"][key], 4) for key in ("value", "ci_low", "ci_high")]
        for m in ("roc_auc", "pr_auc", "precision_at_k")
    }


def convex_blend(booster: np.ndarray, baseline: np.ndarray, y: np.ndarray) -> BlendWeights:
    """w * booster + (1 - w) * baseline on margins standardised on these rows, w the grid point
    with the highest PR-AUC on them (the first of equals): the alternative to a likelihood fit."""
    scales = (booster.std() or 1.0, baseline.std() or 1.0)
    best = max(
        CONVEX_GRID,
        key=lambda w: average_precision(
            y, w * booster / scales[0] + (1 - w) * baseline / scales[1]
        ),
    )
    return BlendWeights(
        float(best / scales[0]), float((1 - best) / scales[1]), 0.0, len(y), int(np.sum(y))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("ews_demo"))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(
        "--boosters",
        type=int,
        default=None,
        help="screening: every pooled variant averages this many boosters instead of its own",
    )
    args = parser.parse_args()
    settings = Settings(workdir=args.workdir)
    report, seconds, cpu_seconds = {}, {}, {}
    for variant in args.variants:
        started, cpu = time.perf_counter(), time.process_time()
        report[variant] = (
            pooled(settings, args.seed, POOLED[variant], args.boosters, BLENDS.get(variant))
            if variant in POOLED
            else per_industry(settings, variant, args.seed)
        )
        seconds[variant] = round(time.perf_counter() - started, 1)
        cpu_seconds[variant] = round(time.process_time() - cpu, 1)
        print(f"== {variant} ({seconds[variant]} s, {cpu_seconds[variant]} CPU s)")
        for industry, r in report[variant].items():
            m, ratios = r["metrics"]["model"], r["ratios"]
            print(
                f"  {industry:<14} ROC {m['roc_auc'][0]:.3f} PR {m['pr_auc'][0]:.3f} "
                f"P@K {m['precision_at_k'][0]:.3f} | /oracle ROC "
                f"{ratios['model/oracle']['roc_auc']} P@K "
                f"{ratios['model/oracle']['precision_at_k']} | /baseline PR "
                f"{ratios['model/baseline']['pr_auc']} | serves {r['gate']['serves']}",
                flush=True,
            )
            if "blend" in r:
                print(f"  {'':<14} blend weights {r['blend']}")
                print(f"  {'':<14} blend - booster {r['blend_vs_booster']}")
        # After every variant, so a run stopped part way keeps the variants it finished.
        if args.json:
            write_report(args, report, seconds, cpu_seconds)


def write_report(args: argparse.Namespace, report: dict, seconds: dict, cpu_seconds: dict) -> None:
    args.json.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "workdir": str(args.workdir),
        "seed": args.seed,
        "boosters": args.boosters,
        "run_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "results": report,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
    }
    args.json.write_text(json.dumps(payload, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
