"""Model cards: what an auditor needs to judge one registered model version, as plain data.

Pure: every number arrives as a parameter (metrics as logged with the run, the out-of-time test
predictions, the calibration table, per-row contributions) and the card is a JSON-ready dict with
one key per section. Feature descriptions come from the feature registry, never restated here.
``render`` turns a card into Markdown or HTML with a template the caller reads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import jinja2
import numpy as np
import polars as pl

from data_contracts import catalog
from features import registry
from models.config import TIER_ORDER, IndustrySpec, load_config
from models.evaluate import METRICS, roc_auc
from models.pooled import INDICATOR_PREFIX, POOL, is_indicator
from models.promotion import LOWER_IS_BETTER

CARD_FORMAT = "ews-model-card/1"
SECTIONS = (
    "model_details",
    "intended_use",
    "label",
    "training_data",
    "performance",
    "calibration",
    "tiers",
    "feedback",
    "subgroups",
    "explanation",
    "limitations",
    "human_oversight",
    "change_log",
)
PREDICTION_COLUMNS = ("uscc", "as_of", "label", "probability")
SUBGROUP_COLUMNS = (
    "district",
    "ownership_type",
    "size_band",
    "firm_age_years",
    "n_sources_known",
)
# Used when the facts have it: such a firm is never on the list, so never flagged.
INSUFFICIENT = "insufficient_data"
# Derived dimension -> its title.
DIMENSIONS = {
    "district": "District",
    "ownership_type": "Ownership type",
    "size_band": "Size band",
    "firm_age": "Firm age",
    "data_coverage": "Data coverage (sources that know the firm)",
}
AGE_BANDS = ((3.0, "under 3 years"), (10.0, "3 to 10 years"), (math.inf, "10 years or more"))
UNKNOWN = "unknown"
# A group smaller than this is listed but not judged: its rates are mostly noise.
MIN_GROUP_ROWS = 50
# Rates and AUC of a group are compared only with at least this many events in it.
MIN_GROUP_POSITIVES = 5
# A group is called out when it is flagged this many times more (or less) often than its share
# of events would explain.
DISPARITY_RATIO = 1.25
# A group's AUC this far below the overall AUC is called out.
AUC_GAP = 0.05
TOP_FEATURES = 10


class CardInputError(ValueError):
    """An input the card cannot be built from (names the input and the column)."""


@dataclass(frozen=True)
class VersionFacts:
    """One registered model version as the registry and its training run describe it."""

    name: str
    version: int
    run_id: str
    created_at: datetime
    aliases: tuple[str, ...] = ()
    owner: str = UNKNOWN
    data_snapshot: str | None = None
    code_version: str | None = None
    promotion_reason: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class TrainingFacts:
    """What the training run logged about its data."""

    split: Mapping[str, Any]  # SplitBoundaries.to_dict()
    class_balance: Mapping[str, Mapping[str, float]]  # train/valid/test -> rows, positives, ...
    feature_names: Sequence[str]
    calibration_method: str
    params: Mapping[str, Any] = field(default_factory=dict)
    kind: str = "gradient_boosting"  # or logistic_baseline: the registered model's kind
    # The training seed of each booster averaged into the model (TrainConfig.seeds).
    seeds: Sequence[int] = ()


@dataclass(frozen=True)
class Performance:
    """Out-of-time test metrics ``{metric: {"value", "ci_low", "ci_high"}}`` of each side."""

    model: Mapping[str, Mapping[str, float]]
    baseline: Mapping[str, Mapping[str, float]]
    previous_champion: Mapping[str, Mapping[str, float]] | None = None
    previous_champion_version: int | None = None
    # models.evaluate.compare on the test rows: paired ratios and differences of model/baseline
    # and, on a simulated park, model/oracle and baseline/oracle.
    comparisons: Mapping[str, Any] | None = None


# --------------------------------------------------------------------------- sections


def model_details(version: VersionFacts, spec: IndustrySpec, training: TrainingFacts) -> dict:
    return {
        "name": version.name,
        "industry": spec.key,
        "industry_name": spec.name.model_dump(),
        "version": version.version,
        "aliases": list(version.aliases),
        "status": version.status,
        "owner": version.owner,
        "business_owner": spec.regulator.model_dump(),
        "training_date": version.created_at.isoformat(timespec="seconds"),
        "run_id": version.run_id,
        "data_snapshot_sha256": version.data_snapshot,
        "code_version": version.code_version,
        "kind": training.kind,
        "algorithm": (
            "regularised logistic regression (the baseline every candidate is held to), serving "
            "because no boosted model was shown better than it on the out-of-time test"
            if training.kind == "logistic_baseline"
            else f"gradient-boosted trees (xgboost){_averaged(training.seeds)} with monotone "
            f"risk directions, {training.calibration_method} calibration on a later held-out "
            "period"
        ),
        "why_it_serves": version.promotion_reason,
        "training_mode": training_mode(spec, training),
        "calibration_method": training.calibration_method,
        "n_features": len(training.feature_names),
    }


def training_mode(spec: IndustrySpec, training: TrainingFacts) -> str:
    """Alone, or pooled: which industries' rows trained the booster, how many of each."""
    pool = training.params.get(POOL) if training.kind != "logistic_baseline" else None
    if not pool:
        return f"alone, on {spec.key}'s own rows"
    rows = pool.get("rows") or {}
    parts = [
        f"{key} ({int(rows[key]['train_rows']):,} train rows, {int(rows[key]['train_events']):,} "
        f"events; {int(rows[key]['stopping_rows']):,} early-stopping rows, "
        f"{int(rows[key]['stopping_events']):,} events)"
        if key in rows
        else key
        for key in pool.get("members", [])
    ]
    return (
        f"pooled: one booster trained on the rows of {', '.join(parts)}, each row marked by "
        f"industry indicators, which this model fixes to {spec.key}; calibrated, held to its "
        f"baseline and evaluated on {spec.key}'s own rows only"
    )


def _averaged(seeds: Sequence[int]) -> str:
    if len(seeds) < 2:
        return ""
    listed = ", ".join(str(seed) for seed in seeds)
    return f", {len(seeds)} boosters averaged over the training seeds {listed},"


def intended_use(spec: IndustrySpec) -> dict:
    if spec.label:  # the general model: no list, the model step of the credit classes
        purpose = (
            "The model step of the weekly credit risk class (A-D) of every enterprise outside "
            f"the supervised industries: the calibrated probability of a generic distress event "
            f"({spec.event_type}) within {spec.horizon_days} days, read through the class bounds "
            "below, then held within one class of the public credit evaluation and bounded by "
            "the credit lists (models/tiering.yaml). No list is drawn from it."
        )
        return {**_use(spec), "purpose": purpose}
    return _use(spec)


def _use(spec: IndustrySpec) -> dict:
    return {
        "purpose": (
            f"Triage for inspection: rank active {spec.name.en.lower()} firms by the calibrated "
            f"probability of {spec.event_type} within {spec.horizon_days} days, so that the "
            f"{spec.regulator.en} inspects the {spec.capacity_k} highest-risk firms each week "
            "first. The list is a starting point for an inspector's own judgement."
        ),
        "users": [
            f"{spec.regulator.en} ({spec.regulator.zh}): the weekly list and tiers",
            "data analysts: retraining and comparing versions",
            "auditors: this card, the lineage manifests and the audit log",
        ],
        "out_of_scope": [
            "penalties, sanctions or any enforcement decision taken on the score alone",
            "decisions about persons (legal representatives, shareholders, employees)",
            "credit, licensing or subsidy decisions, and publishing scores about firms",
            "firms outside the industry, or horizons other than the one trained for",
        ],
    }


def label_definition(spec: IndustrySpec) -> dict:
    if spec.label:
        kept = "; ".join(
            source + (" where " + ", ".join(f"{c} in {v}" for c, v in only.items()) if only else "")
            for source, only in spec.label.items()
        )
        return {
            "event_type": spec.event_type,
            "horizon_days": spec.horizon_days,
            "definition": (
                f"1 when the firm's first generic distress event ({kept}) falls within "
                f"{spec.horizon_days} days after the as-of date, else 0. Only rows that had "
                "arrived by the training date count; snapshots whose window had not yet closed "
                "are left out, not labelled 0; firms that already had an event are no longer "
                "candidates."
            ),
            "source": f"{', '.join(spec.label)} (their rows before the as-of date are features)",
        }
    return {
        "event_type": spec.event_type,
        "horizon_days": spec.horizon_days,
        "definition": (
            f"1 when the firm's first inspection-confirmed {spec.event_type} event falls within "
            f"{spec.horizon_days} days after the as-of date, else 0. Only outcomes that had "
            "arrived by the training date count; snapshots whose window had not yet closed are "
            "left out, not labelled 0; firms that already had the event are no longer candidates."
        ),
        "source": "outcome_distress_event (labels only; no feature reads it)",
    }


def training_data(training: TrainingFacts, spec: IndustrySpec) -> dict:
    sources = sorted(
        {source for name in training.feature_names for source in _feature_sources(name)}
    )
    population = (
        f"active {spec.name.en.lower()} firms (sector {spec.sector_value}) on each weekly "
        "as-of date: registration status 存续 and no confirmed event yet"
    )
    if spec.history is not None:
        sample = spec.history
        population = (
            f"active enterprises outside the supervised industries (sector {spec.sector_value}, "
            f"individual businesses excluded) every {sample.every_weeks} weeks, at most "
            f"{sample.max_firms} firms chosen by SHA-256 of '{sample.salt}' + credit code; no "
            "event yet"
        )
    return {
        "population": population,
        "as_of_rules": (
            "each snapshot uses only rows with event_time <= as_of and arrived_at <= as_of "
            "(what the platform actually held on that date)"
        ),
        "split": dict(training.split),
        "split_rule": (
            "out of time: train, then validation (early stopping, calibration), then test, "
            f"each period separated by the {spec.horizon_days}-day horizon so that no event "
            "labels rows on both sides of a boundary"
        ),
        "class_balance": {k: dict(v) for k, v in training.class_balance.items()},
        "sources": sources,
        "sources_by_domain": _count_by_domain(sources),
        "features": list(training.feature_names),
    }


def performance(perf: Performance, training: TrainingFacts, spec: IndustrySpec) -> dict:
    rows = []
    for metric in METRICS:
        if metric not in perf.model:
            continue
        model = _metric(perf.model[metric])
        baseline = _metric(perf.baseline.get(metric))
        previous = _metric(perf.previous_champion.get(metric)) if perf.previous_champion else None
        rows.append(
            {
                "metric": metric,
                "higher_is_better": metric not in LOWER_IS_BETTER,
                "model": model,
                "baseline": baseline,
                "previous_champion": previous,
                "vs_baseline": _difference(model, baseline),
                "vs_previous_champion": _difference(model, previous),
            }
        )
    return {
        "test_period": {
            "start": training.split.get("test_start"),
            "end": training.split.get("test_end"),
        },
        "k": spec.capacity_k,
        "top_k_note": "precision, recall and lift at K are per weekly list, averaged over weeks",
        "ci_note": "95% intervals from a bootstrap that resamples firms (all of a firm's weeks)",
        "previous_champion_version": perf.previous_champion_version,
        "model": {m: _metric(v) for m, v in perf.model.items()},
        "baseline": {m: _metric(v) for m, v in perf.baseline.items()},
        "previous_champion": (
            {m: _metric(v) for m, v in perf.previous_champion.items()}
            if perf.previous_champion
            else None
        ),
        "comparison": rows,
        "ratios": ratio_rows(perf.comparisons),
        "ratios_note": (
            "paired: both scorers on the same bootstrap resamples of firms; the oracle is the "
            "simulator's latent stress in the as-of month (simulated parks only, never a feature); "
            "oracle_1m_late and oracle_3m_late are that stress 1 and 3 months before, the ceiling "
            "of sources that report that late"
        ),
    }


def ratio_rows(comparisons: Mapping[str, Any] | None) -> list[dict]:
    """One row per pair and metric: ratio and difference with their paired 95% intervals."""
    if not comparisons:
        return []
    return [
        {
            "pair": pair,
            "metric": metric,
            "ratio": _metric(estimates["ratio"]),
            "difference": _metric(estimates["difference"]),
        }
        for pair, by_metric in comparisons.get("pairs", {}).items()
        for metric, estimates in by_metric.items()
    ]


def calibration(table: pl.DataFrame, method: str, plot: str | None) -> dict:
    needed = ("rows", "positives", "mean_predicted", "observed_rate")
    _require(table, needed, "calibration table")
    rows = _records(table)
    total = sum(r["rows"] for r in rows)
    gap = sum(r["rows"] * abs(r["mean_predicted"] - r["observed_rate"]) for r in rows)
    return {
        "method": method,
        "table": rows,
        "expected_calibration_error": gap / total if total else None,
        "plot": plot,
        "note": "equal-count bins of the predicted probability on the out-of-time test period",
    }


def tiers(predictions: pl.DataFrame, spec: IndustrySpec) -> dict:
    _require(predictions, PREDICTION_COLUMNS, "test predictions")
    frequency = load_config().inspection_frequency
    tiered = predictions.with_columns(
        tier=pl.col("probability").map_elements(spec.tier, return_dtype=pl.String)
    )
    counts = {
        row["tier"]: row
        for row in tiered.group_by("tier")
        .agg(
            rows=pl.len(),
            positives=pl.col("label").sum().cast(pl.Int64),
            mean_predicted=pl.col("probability").mean(),
        )
        .iter_rows(named=True)
    }
    lower = {"A": 0.0, **spec.tiers}
    bands = []
    for index, name in enumerate(TIER_ORDER):
        upper = lower[TIER_ORDER[index + 1]] if index + 1 < len(TIER_ORDER) else 1.0
        found = counts.get(name, {"rows": 0, "positives": 0, "mean_predicted": None})
        bands.append(
            {
                "tier": name,
                "probability_from": lower[name],
                "probability_to": upper,
                "inspection": frequency[name].model_dump(),
                "test_rows": found["rows"],
                "test_positives": found["positives"],
                "observed_rate": found["positives"] / found["rows"] if found["rows"] else None,
                "mean_predicted": found["mean_predicted"],
            }
        )
    return {
        "thresholds": dict(spec.tiers),
        "capacity_k": spec.capacity_k,
        "capacity_note": (
            f"K = {spec.capacity_k}: precision at K of the out-of-time evaluation only; the "
            "general model draws no list, its class feeds the credit risk class"
            if spec.label
            else f"K = {spec.capacity_k}: the firms the {spec.regulator.en} can inspect in a "
            "week; the weekly list is the K highest calibrated probabilities, whatever their tier"
        ),
        "bands": bands,
    }


def subgroups(predictions: pl.DataFrame, firm_facts: pl.DataFrame, k: int) -> dict[str, Any]:
    """Rates and AUC by district, ownership, size, age and data coverage on the test period.

    ``predictions``: uscc, as_of, label, probability. ``firm_facts``: uscc, as_of and the
    feature table's descriptive columns (SUBGROUP_COLUMNS). A row is *flagged* when it is among
    the K highest probabilities of its as-of week (the list the regulator receives).
    """
    _require(predictions, PREDICTION_COLUMNS, "test predictions")
    _require(firm_facts, ("uscc", "as_of", *SUBGROUP_COLUMNS), "feature table (subgroups)")
    facts = [c for c in (*SUBGROUP_COLUMNS, INSUFFICIENT) if c in firm_facts.columns]
    joined = flag_top_k(
        predictions.join(
            firm_facts.select("uscc", "as_of", *facts).unique(["uscc", "as_of"]),
            on=["uscc", "as_of"],
            how="left",
            maintain_order="left",
        ),
        k,
    )
    coverage_cuts = _coverage_cuts(joined)
    banded = joined.with_columns(_age_band(), _coverage_band(coverage_cuts))
    # Ordered dimensions keep their natural order; the others go largest group first.
    band_order = {
        "firm_age": [label for _, label in AGE_BANDS],
        "data_coverage": [label for _, label in coverage_cuts],
    }
    overall = _group_stats(banded)
    result = {
        "k": k,
        "flag_rule": (
            f"flagged = among the {k} highest probabilities of its as-of week; a firm with "
            "insufficient data is never flagged, as on the published list"
        ),
        "min_group_rows": MIN_GROUP_ROWS,
        "min_group_positives": MIN_GROUP_POSITIVES,
        "overall": overall,
        "dimensions": {},
    }
    for dimension, title in DIMENSIONS.items():
        column = _dimension_column(dimension)
        groups = []
        for value in banded.get_column(column).unique().sort(nulls_last=True).to_list():
            part = banded.filter(
                pl.col(column).is_null() if value is None else pl.col(column) == value
            )
            groups.append({"group": UNKNOWN if value is None else str(value), **_group_stats(part)})
        order = band_order.get(dimension)
        if order:
            groups.sort(key=lambda g: order.index(g["group"]) if g["group"] in order else 99)
        else:
            groups.sort(key=lambda g: (-g["rows"], g["group"]))
        result["dimensions"][dimension] = {
            "title": title,
            "groups": groups,
            "disparity_note": disparity_note(title, groups, overall),
        }
    return result


def flag_top_k(predictions: pl.DataFrame, k: int) -> pl.DataFrame:
    """Add ``flagged``: within the K highest probabilities of its as-of week (ties by uscc).

    Rows with ``insufficient_data`` true (when the column is there) are never flagged and take
    no place in the K, as on the published list.
    """
    if k < 1:
        raise CardInputError(f"K must be at least 1, got {k}")
    eligible = (
        ~pl.col(INSUFFICIENT).fill_null(False)
        if INSUFFICIENT in predictions.columns
        else pl.lit(True)
    )
    return (
        predictions.with_columns(_eligible=eligible)
        .sort(["as_of", "_eligible", "probability", "uscc"], descending=[False, True, True, False])
        .with_columns(flagged=(pl.int_range(pl.len()).over("as_of") < k) & pl.col("_eligible"))
        .drop("_eligible")
    )


def disparity_note(title: str, groups: Sequence[Mapping[str, Any]], overall: Mapping) -> str:
    """One plain sentence per dimension: who is flagged out of proportion, where AUC is weak."""
    judged = [g for g in groups if g["rows"] >= MIN_GROUP_ROWS]
    if len(judged) < 2:
        return f"{title}: fewer than two groups with {MIN_GROUP_ROWS}+ rows; not judged."
    rates = [g["flag_rate"] for g in judged]
    parts = [f"{title}: flag rate ranges {min(rates):.1%} to {max(rates):.1%}"]
    over, under, weak = [], [], []
    for group in judged:
        if group["positives"] < MIN_GROUP_POSITIVES or not overall["positive_rate"]:
            continue
        selection = group["flag_rate"] / overall["flag_rate"] if overall["flag_rate"] else 0.0
        events = group["positive_rate"] / overall["positive_rate"]
        if selection > DISPARITY_RATIO * events:
            over.append(group["group"])
        elif selection * DISPARITY_RATIO < events:
            under.append(group["group"])
        if (
            group["auc"] is not None
            and overall["auc"] is not None
            and group["auc"] < overall["auc"] - AUC_GAP
        ):
            weak.append(f"{group['group']} (AUC {group['auc']:.2f})")
    if over:
        parts.append(f"flagged more often than their event rate explains: {', '.join(over)}")
    if under:
        parts.append(f"flagged less often than their event rate suggests: {', '.join(under)}")
    if weak:
        parts.append(f"ranked less well than overall (AUC {overall['auc']:.2f}): {', '.join(weak)}")
    if not (over or under or weak):
        parts.append(
            f"no group with {MIN_GROUP_POSITIVES}+ events is flagged more than "
            f"{DISPARITY_RATIO}x (or less than 1/{DISPARITY_RATIO}x) what its event rate "
            f"explains, nor ranked more than {AUC_GAP} AUC below overall"
        )
    return "; ".join(parts) + "."


def explanation(
    contributions: np.ndarray, feature_names: Sequence[str], plot: str | None
) -> dict[str, Any]:
    """Global importance: mean |contribution| per feature on the test rows, with its meaning.

    ``contributions`` is the (n, p + 1) ``pred_contribs`` matrix (last column = bias).
    """
    names = list(feature_names)
    values = np.asarray(contributions, dtype=np.float64)
    if values.ndim != 2 or values.shape[1] != len(names) + 1:
        raise CardInputError(
            f"contributions must be (rows, {len(names) + 1}) with the bias last, "
            f"got shape {values.shape}"
        )
    features = values[:, :-1]
    mean_abs = np.abs(features).mean(axis=0) if len(features) else np.zeros(len(names))
    total = float(mean_abs.sum())
    order = np.argsort(-mean_abs, kind="stable")[:TOP_FEATURES]
    top = []
    for position in order:
        name = names[position]
        top.append(
            {
                "feature": name,
                "mean_abs_contribution": float(mean_abs[position]),
                "share": float(mean_abs[position] / total) if total else None,
                "mean_contribution": float(features[:, position].mean()) if len(features) else None,
                **_feature_text(name),
            }
        )
    return {
        "method": "TreeSHAP (xgboost pred_contribs) on the out-of-time test rows, log-odds scale",
        "rows": int(values.shape[0]),
        "top_features": top,
        "plot": plot,
    }


def limitations(spec: IndustrySpec, training: TrainingFacts, *, simulated: bool) -> list[str]:
    test = training.class_balance.get("test", {})
    items = [
        "Selective labels: an event counts only once an inspection confirms it. Firms nobody "
        "inspected may be in distress without a label, and inspections the list itself "
        "triggers will confirm more events among listed firms (a feedback loop): the measured "
        "precision can overstate, and recall understate, the truth.",
        "Firms flagged insufficient_data (too few sources know them) are not scored at all; "
        "they are listed separately, never read as safe.",
        f"Few events: the test period holds {int(test.get('positives', 0))} events in "
        f"{int(test.get('rows', 0))} firm-weeks ({int(test.get('positive_firms', 0))} firms "
        "with an event), hence the wide intervals.",
        "Probabilities are calibrated on a period before the test; drift after training "
        "(economy, policy, a source changing its delivery) erodes calibration first.",
        "Associations, not causes: a reason shown for a firm is what moved its score, not "
        "proof of misconduct.",
    ]
    if simulated:
        items.insert(
            0,
            "Simulated data: this version was trained on EWS's simulated park, not on real "
            "government records. Its numbers describe the simulator and say nothing about "
            "performance on a real park.",
        )
    return items


def human_oversight(spec: IndustrySpec, decisions: Mapping[str, int] | None = None) -> dict:
    """How people stay in charge, and how often they did: listings overridden or objected to,
    objections upheld (``models.objections.oversight_counts``; None before any was recorded)."""
    procedure = [
        "The list is advisory: the inspector decides whether and how to inspect each firm.",
        f"An analyst of the {spec.regulator.en} can pin a firm on or off the list, or set its "
        "credit risk class, with a mandatory reason and an expiry date (`ews override set`); "
        "the override shows on the list and the firm's page next to the model's own score, is "
        "cited in the week's manifest and lapses by itself.",
        "A firm can object to its listing, its class or a fact on its page (`ews objection "
        "file`); the objection is reviewed and decided within the configured deadlines, and an "
        "upheld one takes effect from the next publication (docs/objections.md).",
        "The published files are never edited: their hashes would no longer match the manifest "
        "and `ews audit verify` would fail.",
        "Every run (ingest, train, promote, publish, cards, verify) and every objection or "
        "override step is in the append-only, hash-chained audit log with its operator; "
        "`ews audit verify --week W` re-derives a published list from its lineage, with the "
        "case store as it stood at the week's cut-off.",
        "A version becomes champion only through the promotion gate or an analyst's "
        "`ews promote`, both recorded in the registry and in the audit log.",
    ]
    return {"procedure": procedure, "decisions": dict(decisions) if decisions else None}


def change_log(versions: Sequence[VersionFacts]) -> list[dict]:
    return [
        {
            "version": v.version,
            "created_at": v.created_at.isoformat(timespec="seconds"),
            "aliases": list(v.aliases),
            "status": v.status,
            "promotion_reason": v.promotion_reason,
            "run_id": v.run_id,
        }
        for v in sorted(versions, key=lambda v: v.version, reverse=True)
    ]


# --------------------------------------------------------------------------- the card


FEEDBACK_METHOD = (
    "Inspections confirm a risk where someone looked, and the list decides where targeted "
    "inspectors look, so the inspected firms are not a sample of the tier. The event rate per "
    "tier is estimated (a) from double-random checks alone, which are drawn at random "
    "(unbiased, few), and (b) by inverse-propensity weighting: every inspection of known "
    "selection (double-random checks, and the returned list's visits of listed firms) weighted "
    "by 1 / the share of its cell inspected (week x listed or not), from the recorded listing. "
    "The naive rate (all those inspections alike) is shown only to show the bias. A random "
    "check counts for the firm-week whose as-of date it follows within 7 days; an outcome "
    "confirms when it is one of {confirming}. Departments' own targeted inspections are "
    "training labels but not evidence here: their selection is unknown."
)


def feedback(facts: Mapping[str, Any] | None) -> dict:
    """How the lists fared on inspection, and each tier's event rate estimated from inspections
    next to the model's calibrated rate. ``facts``: ``lists`` (the accuracy report of this
    industry), ``tier_rates`` (models.outcomes.rates by tier), ``confirming``, ``at``, and
    ``snapshots`` (what the tier rates were computed over)."""
    if not facts:
        return {"available": False, "note": "no inspection outcome has been recorded yet"}
    rates = facts["tier_rates"]
    by_tier = {row["tier"]: row for row in _records(rates)} if rates.height else {}
    empty = {
        "firm_weeks": 0,
        "random_checks": 0,
        "random_confirmed": 0,
        "inspected": 0,
        **dict.fromkeys(
            ("mean_probability", "random_rate", "random_ci_low", "random_ci_high", "ipw_rate"),
        ),
        "naive_rate": None,
    }
    return {
        "available": True,
        "at": facts["at"],
        "method": FEEDBACK_METHOD.format(confirming=", ".join(facts["confirming"])),
        "snapshots": facts["snapshots"],
        "lists": facts["lists"],
        "tiers": [{"tier": t, **empty, **by_tier.get(t, {})} for t in TIER_ORDER],
    }


def build_card(
    *,
    spec: IndustrySpec,
    version: VersionFacts,
    training: TrainingFacts,
    perf: Performance,
    predictions: pl.DataFrame,
    firm_facts: pl.DataFrame,
    calibration_table: pl.DataFrame,
    contributions: np.ndarray,
    history: Sequence[VersionFacts],
    simulated: bool,
    plots: Mapping[str, str] | None = None,
    feedback_facts: Mapping[str, Any] | None = None,
    oversight: Mapping[str, int] | None = None,
) -> dict[str, Any]:
    """The whole card: one key per section (SECTIONS), JSON-ready (NaN becomes null)."""
    if version.name != f"ews-{spec.key}":
        raise CardInputError(f"version {version.name!r} is not a model of industry {spec.key!r}")
    plots = plots or {}
    card = {
        "format": CARD_FORMAT,
        "model_details": model_details(version, spec, training),
        "intended_use": intended_use(spec),
        "label": label_definition(spec),
        "training_data": training_data(training, spec),
        "performance": performance(perf, training, spec),
        "calibration": calibration(
            calibration_table, training.calibration_method, plots.get("calibration")
        ),
        "tiers": tiers(predictions, spec),
        "feedback": feedback(feedback_facts),
        "subgroups": subgroups(predictions, firm_facts, spec.capacity_k),
        "explanation": explanation(contributions, training.feature_names, plots.get("explanation")),
        "limitations": limitations(spec, training, simulated=simulated),
        "human_oversight": human_oversight(spec, oversight),
        "change_log": change_log(history),
    }
    return _json_ready(card)


def render(
    card: Mapping[str, Any], template: str, *, html: bool, back_link: str | None = None
) -> str:
    """Fill a jinja template with the card (HTML-escaped when ``html``); ``back_link`` is a
    link back to the page that lists the cards, when the card is shown inside the site."""
    environment = jinja2.Environment(
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["num"] = _num
    environment.filters["pct"] = _pct
    return environment.from_string(template).render(card=card, back_link=back_link)


# --------------------------------------------------------------------------- helpers


def _registered(name: str) -> registry.FeatureSpec | None:
    """The registry entry of a model feature; None for a column the registry does not know
    (a model trained on a table brought from elsewhere)."""
    try:
        return registry.spec(name)
    except KeyError:
        return None


def _feature_sources(name: str) -> tuple[str, ...]:
    spec = _registered(name)
    return spec.sources if spec else ()


def _feature_text(name: str) -> dict[str, Any]:
    if is_indicator(name):
        key = name.removeprefix(INDICATOR_PREFIX)
        text = {
            "zh": f"行业标识（{key}）：合并训练中标明所属行业，不是风险理由",
            "en": f"industry indicator ({key}): marks the industry in pooled training, no reason",
        }
        return {"description": text, "card_line": text, "direction": "none"}
    spec = _registered(name)
    if spec is None:
        return {"description": None, "card_line": None, "direction": None}
    return {
        "description": {"zh": spec.description.zh, "en": spec.description.en},
        "card_line": {"zh": spec.card_line("zh"), "en": spec.card_line("en")},
        "direction": str(spec.direction),
    }


def _count_by_domain(sources: Sequence[str]) -> dict[str, int]:
    """How many of the sources fall in each contract domain (an unknown id counts as other)."""
    contracts = catalog.load_all()
    counts: dict[str, int] = {}
    for source in sources:
        domain = str(contracts[source].domain) if source in contracts else "other"
        counts[domain] = counts.get(domain, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _metric(value: Any) -> dict[str, float | None] | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {k: _finite(value.get(k)) for k in ("value", "ci_low", "ci_high")}
    return {"value": _finite(value), "ci_low": None, "ci_high": None}


def _difference(a: Mapping | None, b: Mapping | None) -> float | None:
    if not a or not b or a["value"] is None or b["value"] is None:
        return None
    return a["value"] - b["value"]


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _group_stats(part: pl.DataFrame) -> dict[str, Any]:
    rows = part.height
    positives = int(part.get_column("label").sum()) if rows else 0
    flagged = int(part.get_column("flagged").sum()) if rows else 0
    hits = int(part.filter(pl.col("flagged")).get_column("label").sum()) if flagged else 0
    auc = (
        roc_auc(part.get_column("label").to_numpy(), part.get_column("probability").to_numpy())
        if positives >= MIN_GROUP_POSITIVES and rows - positives >= MIN_GROUP_POSITIVES
        else math.nan
    )
    return {
        "rows": rows,
        "firms": part.get_column("uscc").n_unique(),
        "positives": positives,
        "positive_rate": positives / rows if rows else None,
        "flagged": flagged,
        "flag_rate": flagged / rows if rows else None,
        "precision_of_flags": hits / flagged if flagged else None,
        "mean_probability": float(part.get_column("probability").mean()) if rows else None,
        "auc": _finite(auc),
    }


def _dimension_column(dimension: str) -> str:
    return {"firm_age": "_age_band", "data_coverage": "_coverage_band"}.get(dimension, dimension)


def _age_band() -> pl.Expr:
    age = pl.col("firm_age_years")
    expression = pl.when(age.is_null()).then(pl.lit(None, dtype=pl.String))
    for upper, label in AGE_BANDS:
        expression = expression.when(age < upper).then(pl.lit(label))
    return expression.otherwise(pl.lit(None, dtype=pl.String)).alias("_age_band")


def _coverage_cuts(frame: pl.DataFrame) -> list[tuple[float, str]]:
    """Thirds of the test rows by how many sources know the firm: (upper bound, label) pairs,
    the cut points shown in the labels."""
    known = frame.get_column("n_sources_known").drop_nulls()
    if known.is_empty():
        return []
    low = int(known.quantile(1 / 3, interpolation="lower"))
    high = int(known.quantile(2 / 3, interpolation="lower"))
    if high <= low:
        return [(low, f"{low} or fewer sources"), (math.inf, f"more than {low} sources")]
    return [
        (low, f"{low} or fewer sources"),
        (high, f"{low + 1} to {high} sources"),
        (math.inf, f"more than {high} sources"),
    ]


def _coverage_band(cuts: Sequence[tuple[float, str]]) -> pl.Expr:
    count = pl.col("n_sources_known")
    expression = pl.when(count.is_null()).then(pl.lit(None, dtype=pl.String))
    for upper, label in cuts:
        expression = expression.when(count <= upper).then(pl.lit(label))
    return expression.otherwise(pl.lit(None, dtype=pl.String)).alias("_coverage_band")


def _records(frame: pl.DataFrame) -> list[dict[str, Any]]:
    return [_json_ready(row) for row in frame.iter_rows(named=True)]


def _require(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise CardInputError(f"{what} lacks column(s) {missing}; it has {frame.columns}")


def _json_ready(value: Any) -> Any:
    """NaN/inf -> None, numpy scalars -> Python, dates -> ISO strings, tuples -> lists."""
    if isinstance(value, Mapping):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}f}"


def _pct(value: Any, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}%}"
