"""`ews train` and `ews promote`: train, evaluate out of time, register and gate each industry.

train:   inputs (history + lake, snapshot hash) -> per industry: train -> log run -> register
         version -> gate against the champion -> alias -> metrics.json, audit record.
promote: the gate applied again to one registered version (the challenger by default).

Tasks hand each other the candidate folder ``models/<industry>/`` (pipelines.model_exports) and
registry coordinates, never frames. The gate compares like with like: the champion is re-scored
on the candidate's own out-of-time test rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from data_contracts import catalog
from data_contracts.feedback import load_feedback
from features import registry
from models.baseline import scorer_from_bytes
from models.config import IndustrySpec, load_config, load_models
from models.evaluate import calibration_table
from models.labels import source_events
from models.oracle import STRESS_COLUMNS
from models.outcomes import inspection_events
from models.pipeline import CALIBRATION_BINS, Scorer, compare_on_test, evaluate_on, train_industry
from models.pooled import Member, train_pooled
from models.promotion import (
    BASELINE_KIND,
    CHALLENGER,
    CHAMPION,
    BaselineVerdict,
    Decision,
    GateOutcome,
    Incumbent,
    beats_baseline,
)
from models.promotion import gate as gate_outcome
from models.train import frame_inputs
from pipelines import audit, datasets, io
from pipelines.calibration_plot import calibration_figure
from pipelines.cases import AsOf, case_store_exists, open_store
from pipelines.cases.inspections import inspections
from pipelines.model_exports import (
    BASELINE_FILE,
    CALIBRATION_FILE,
    METRICS_FILE,
    MODEL_FILE,
    PREDICTIONS_FILE,
    RESULT_FILE,
    json_safe,
    load_candidate,
    metrics_summary,
    save_candidate,
    write_metrics,
)
from pipelines.retries import TRANSIENT_RETRIES
from pipelines.settings import Settings
from pipelines.timeline import PARK_TZ, parse_day
from pipelines.tracking import LoggedRun, RunRecord, Tracker, model_name, tracker_for
from pipelines.training_rows import read_history, test_rows
from pipelines.workdir_lock import holds_workdir

OUTCOMES_SOURCE = "outcome_distress_event"
OUTCOME_COLUMNS = ("uscc", "event_date", "event_type", "arrived_at")
OUTCOME_SCHEMA = {
    "uscc": pl.String,
    "event_date": pl.Date,
    "event_type": pl.String,
    "arrived_at": pl.Datetime("us"),
}
CALIBRATION_CHART = "evaluation/calibration.png"  # in the MLflow run
BASELINE_FOLDER = "baseline"  # models/<industry>/baseline/: the baseline as a candidate
SAMPLE_ROWS = 20  # rows of model input kept with the logged model (its signature and example)


# ---------------------------------------------------------------- helpers (no Prefect)


def select_industries(keys: list[str] | None) -> dict[str, IndustrySpec]:
    """The configured models to train (every industry's and the general model when ``keys`` is
    empty), in the given order."""
    specs = load_models()
    if not keys:
        return specs
    unknown = [key for key in keys if key not in specs]
    if unknown:
        raise ValueError(f"unknown industry {unknown}; models/industries.yaml has {list(specs)}")
    return {key: specs[key] for key in keys}


def history_path(settings: Settings, spec: IndustrySpec | None = None) -> Path:
    """The training history of ``spec``'s model: the general model's own sampled history, the
    industries' weekly one (also without a spec)."""
    general = spec is not None and spec.history is not None
    dataset = datasets.FEATURE_HISTORY_GENERAL if general else datasets.FEATURE_HISTORY
    path = dataset.path(settings.workdir)
    if not path.is_file():
        raise FileNotFoundError(f"no feature history at {path}; run `ews features` first")
    return path


def histories(settings: Settings, specs: Mapping[str, IndustrySpec]) -> dict[str, str]:
    """Each model's training history (path), by model key."""
    return {key: str(history_path(settings, spec)) for key, spec in specs.items()}


def snapshot_hash(
    history: Path, ledger: Path, case_store_version: int = 0, general: Path | None = None
) -> str:
    """One SHA-256 naming the training inputs: the feature history (and the general model's,
    when it is trained), the lake's ledger and, once inspections have come back, the case
    store's version (its records up to a version never change, so the version names them)."""
    ledger_hash = io.file_sha256(ledger) if ledger.is_file() else "absent"
    text = f"history {io.file_sha256(history)}\nledger {ledger_hash}\n"
    if general is not None:
        text += f"general_history {io.file_sha256(general)}\n"
    if case_store_version:
        text += f"case_store {case_store_version}\n"
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def label_cutoff(known_until: dt.date) -> dt.datetime:
    """The end of the label cut-off day in the park: reports received before it count."""
    return dt.datetime.combine(known_until + dt.timedelta(days=1), dt.time(), tzinfo=PARK_TZ)


def case_store_version(settings: Settings, known_until: dt.date) -> int:
    """The case store's version for labels known by ``known_until`` (0: no store yet)."""
    if not case_store_exists(settings):
        return 0
    store = open_store(settings)
    try:
        return store.version(before=label_cutoff(known_until))
    finally:
        store.dispose()


def inspection_outcomes(
    settings: Settings, spec: IndustrySpec, known_until: dt.date, version: int
) -> pl.DataFrame:
    """Confirmed inspection reports as the industry's events (models.outcomes), as the case
    store stood at ``version`` for what had arrived by ``known_until``."""
    if not version:
        return pl.DataFrame(schema=OUTCOME_SCHEMA)
    store = open_store(settings)
    try:
        reports = inspections(store, AsOf(version=version, before=label_cutoff(known_until)))
    finally:
        store.dispose()
    events = inspection_events(reports, spec, load_feedback().confirming())
    return events.select(OUTCOME_COLUMNS).cast(OUTCOME_SCHEMA)


def risk_directions() -> dict[str, str]:
    """Each registered feature's risk direction (up / down / none): monotone constraints."""
    return {name: registry.spec(name).direction.value for name in registry.feature_names()}


def simulator_stress(settings: Settings, history: pl.DataFrame) -> pl.DataFrame | None:
    """The simulator's monthly latent stress of the history's firms (the oracle), or None on a
    park that is not simulated. Simulator-only: models.oracle joins it to test rows after
    training; it is never a feature."""
    path = datasets.SIM_STRESS.path(settings.workdir)
    if not path.is_file():
        return None
    firms = history.get_column("uscc").unique()
    return (
        pl.scan_parquet(path)
        .select(STRESS_COLUMNS)
        .filter(pl.col("uscc").is_in(firms.implode()))
        .collect()
    )


def pool_member(
    settings: Settings,
    spec: IndustrySpec,
    rows: pl.DataFrame,
    known_until: dt.date,
    case_store_version: int = 0,
) -> Member:
    """One pooled industry's training inputs: its history rows, its outcomes known by
    ``known_until`` and, on a simulated park, the simulator's stress (the oracle)."""
    return Member(
        history=rows,
        outcomes=training_outcomes(settings, spec, known_until, case_store_version),
        spec=spec,
        stress=simulator_stress(settings, rows),
    )


def read_outcomes(lake: Path) -> pl.DataFrame:
    return io.scan_source(lake, OUTCOMES_SOURCE).select(OUTCOME_COLUMNS).collect()


def read_label_sources(lake: Path, spec: IndustrySpec) -> pl.DataFrame:
    """The events of a model whose label comes from lake sources (models.labels.source_events),
    each source's event date and arrival named by its contract."""
    contracts = {source: catalog.get(source) for source in spec.label or {}}
    frames = {
        source: io.scan_source(lake, source)
        .select("uscc", c.event_time, c.arrival_time, *(spec.label or {})[source])
        .collect()
        for source, c in contracts.items()
    }
    times = {source: (c.event_time, c.arrival_time) for source, c in contracts.items()}
    return source_events(frames, times, spec)


def training_outcomes(
    settings: Settings, spec: IndustrySpec, known_until: dt.date, version: int
) -> pl.DataFrame:
    """The label source's events (or the spec's own label sources') and the inspections that
    confirmed a risk, together."""
    if spec.label:
        lake = read_label_sources(settings.lake, spec).cast(OUTCOME_SCHEMA)
    else:
        lake = read_outcomes(settings.lake).cast(OUTCOME_SCHEMA)
    return pl.concat([lake, inspection_outcomes(settings, spec, known_until, version)])


def gate(
    tracker: Tracker,
    spec: IndustrySpec,
    version: int,
    candidate_metrics: Mapping[str, Any],
    predictions: pl.DataFrame,
    test_frame: pl.DataFrame,
    seed: int,
) -> GateOutcome:
    """The gate for ``version`` (models.promotion.gate): against its own baseline, then against
    the current champion, both re-scored on the version's test rows.

    ``predictions`` are the version's test predictions (uscc, as_of, label, p_model,
    p_baseline); ``test_frame`` the same rows with their features.
    """
    metric, margin = spec.promotion.metric, spec.promotion.margin
    held_to = spec.promotion.baseline_metric
    compared = compare_on_test(predictions, spec, seed)["pairs"]["model/baseline"]
    candidate = beats_baseline(compared.get(held_to, {}).get("difference"), held_to)
    champion_version = tracker.version_for(spec.key, CHAMPION)
    if champion_version == version:
        raise ValueError(f"{model_name(spec.key)} v{version} is the champion: nothing to gate")
    incumbent = None
    if champion_version is not None:
        champion, _ = tracker.load_version(spec.key, champion_version)
        incumbent = champion_evidence(
            champion, champion_version, predictions, test_frame, spec, seed
        )
    return gate_outcome(candidate_metrics, candidate, incumbent, metric, margin)


def champion_evidence(
    champion: Scorer,
    version: int,
    predictions: pl.DataFrame,
    test_frame: pl.DataFrame,
    spec: IndustrySpec,
    seed: int,
) -> Incumbent:
    """The champion re-scored on the candidate's test rows, and held to the candidate's baseline;
    undefined (and never better) when it needs features the history no longer has (it cannot
    score today's firms either)."""
    kind = getattr(champion, "kind", "gradient_boosting")
    metric, held_to = spec.promotion.metric, spec.promotion.baseline_metric
    if set(frame_inputs(champion)) - set(test_frame.columns):
        missing = BaselineVerdict(False, f"champion v{version} lacks features of the test rows")
        return Incumbent(version, kind, {metric: math.nan}, missing)
    rescored = predictions.with_columns(p_model=pl.Series(champion.predict_proba(test_frame)))
    compared = compare_on_test(rescored, spec, seed)
    paired = compared["pairs"]["model/baseline"].get(held_to, {})
    verdict = beats_baseline(paired.get("difference"), held_to, f"champion v{version}")
    return Incumbent(version, kind, compared["scorers"]["model"], verdict)


def baseline_folder(source: Path, target: Path) -> Path:
    """A candidate folder for the logistic baseline trained beside the candidate in ``source``:
    the baseline as the model, its own metrics, predictions and calibration, so it can be logged,
    registered, carded and published like any candidate."""
    result = io.read_json(source / RESULT_FILE)
    predictions = pl.read_parquet(source / PREDICTIONS_FILE)
    target.mkdir(parents=True, exist_ok=True)
    (target / MODEL_FILE).write_bytes((source / BASELINE_FILE).read_bytes())
    (target / BASELINE_FILE).write_bytes((source / BASELINE_FILE).read_bytes())
    baseline_predictions = predictions.with_columns(p_model=pl.col("p_baseline"))
    baseline_predictions.write_parquet(target / PREDICTIONS_FILE)
    calibration_table(
        predictions.get_column("label"), predictions.get_column("p_baseline"), CALIBRATION_BINS
    ).write_parquet(target / CALIBRATION_FILE)
    metrics = {"model": result["metrics"]["baseline"], "baseline": result["metrics"]["baseline"]}
    baseline = scorer_from_bytes((source / BASELINE_FILE).read_bytes())
    params = {
        "kind": baseline.kind,
        **dict(baseline.metadata),
        "split": result["params"].get("split"),
        "known_until": result["params"].get("known_until"),
        "seed": result["params"].get("seed"),
    }
    io.write_json(
        target / RESULT_FILE,
        json_safe({**result, "metrics": metrics, "params": params, "comparisons": {}}),
    )
    return target


# ---------------------------------------------------------------- tasks


@task(name="training-inputs", cache_policy=NO_CACHE, **TRANSIENT_RETRIES)
def inputs_task(workdir: str, as_of: dt.date | None, industries: list[str] | None = None) -> dict:
    """The feature histories of the models to train (``industries``: their keys, default all;
    ``histories``: key -> path), the lake ledger, the label cut-off (``known_until``, a date)
    and the hash naming the inputs. ``history`` is the industries' weekly history (the general
    model's own when only it is trained), whose last as-of date is the default cut-off."""
    settings = Settings(workdir=Path(workdir))
    specs = select_industries(industries)
    paths = histories(settings, specs)
    general = [key for key, spec in specs.items() if spec.history is not None]
    weekly = [key for key in specs if key not in general]
    history = Path(paths[weekly[0]] if weekly else paths[general[0]])
    if as_of is None:
        latest = pl.scan_parquet(history).select(pl.col("as_of").max()).collect().item()
        if latest is None:
            raise ValueError(f"the feature history {history} has no rows")
        known_until = latest
    else:
        known_until = as_of
    ledger = io.ledger_path(settings.lake)
    version = case_store_version(settings, known_until)
    general_history = Path(paths[general[0]]) if general and weekly else None
    return {
        "history": str(history),
        "histories": paths,
        "ledger": str(ledger),
        "known_until": known_until,
        "case_store_version": version,
        "snapshot_hash": snapshot_hash(history, ledger, version, general_history),
    }


@task(name="train-industry", task_run_name="train-{industry}", cache_policy=NO_CACHE)
def train_task(
    workdir: str, industry: str, history: str, known_until: dt.date, case_store_version: int = 0
) -> str:
    """Label, split, fit and evaluate one industry; returns its candidate folder."""
    settings = Settings(workdir=Path(workdir))
    spec = load_models()[industry]
    rows = read_history(Path(history), spec)
    result = train_industry(
        rows,
        training_outcomes(settings, spec, known_until, case_store_version),
        spec,
        known_until=known_until,
        directions=risk_directions(),
        descriptors=registry.descriptor_names(),
        seed=settings.seed,
        stress=simulator_stress(settings, rows),
    )
    return str(save_candidate(result, settings.models / industry))


@task(name="train-pool", cache_policy=NO_CACHE)
def train_pool_task(
    workdir: str,
    industries: list[str],
    history: str,
    known_until: dt.date,
    case_store_version: int = 0,
) -> dict[str, str]:
    """One booster over every pooled industry's rows (models.pooled); the candidate folders of
    ``industries`` (pool members), by industry. The whole pool's rows train the booster even when
    only some members are asked for (their models are the same booster); only those asked for
    are calibrated and evaluated."""
    settings = Settings(workdir=Path(workdir))
    specs = load_models()
    members = {
        key: pool_member(
            settings,
            specs[key],
            read_history(Path(history), specs[key]),
            known_until,
            case_store_version,
        )
        for key in load_config().pool.members
    }
    results = train_pooled(
        members,
        known_until=known_until,
        directions=risk_directions(),
        descriptors=registry.descriptor_names(),
        seed=settings.seed,
        wanted=industries,
    )
    return {key: str(save_candidate(results[key], settings.models / key)) for key in industries}


@task(name="log-run", task_run_name="log-{industry}", cache_policy=NO_CACHE)
def log_task(workdir: str, industry: str, folder: str, history: str, snapshot: str) -> LoggedRun:
    """One MLflow run: params, metrics with bounds, features, plots, tables and the model."""
    settings = Settings(workdir=Path(workdir))
    spec = load_models()[industry]
    candidate = load_candidate(folder)
    sample = test_rows(Path(history), candidate.test_predictions.head(SAMPLE_ROWS), spec)
    record = RunRecord(
        industry=industry,
        model=candidate.model,
        metrics=candidate.metrics,
        params={
            **candidate.params,
            "industry": {"horizon_days": spec.horizon_days, "capacity_k": spec.capacity_k},
            "class_balance": candidate.class_balance,
        },
        calibration=candidate.calibration,
        sample_input=sample,
        snapshot_hash=snapshot,
        trained_at=dt.datetime.now(dt.UTC),
        test_period=candidate.test_period,
        attachments=candidate.attachments(),
        figures={
            CALIBRATION_CHART: calibration_figure(
                candidate.calibration, f"{model_name(industry)} calibration"
            )
        },
    )
    return tracker_for(settings).log_run(record)


@task(name="register-version", task_run_name="register-{logged.industry}", cache_policy=NO_CACHE)
def register_task(workdir: str, logged: LoggedRun) -> int:
    return tracker_for(Settings(workdir=Path(workdir))).register(logged)


@task(name="gate", task_run_name="gate-{industry}-v{version}", cache_policy=NO_CACHE)
def gate_task(
    workdir: str,
    industry: str,
    version: int,
    history: str,
    folder: str | None = None,
    snapshot: str | None = None,
) -> dict[str, Any]:
    """Champion or challenger for one version, with the reason recorded on it; and, when
    neither the version nor the champion is shown better than the baseline, the baseline
    registered as a version of its own and made champion.

    With the candidate's folder (right after training) its own metrics are used; without it
    (``ews promote``) the version and the champion are both re-scored on the version's test rows.
    """
    settings = Settings(workdir=Path(workdir))
    spec = load_models()[industry]
    tracker = tracker_for(settings)
    champion_before = tracker.version_for(industry, CHAMPION)
    if champion_before == version:  # gating it again would only overwrite its recorded reason
        info = tracker.info(industry, version)
        return {
            "name": info.name,
            "version": version,
            "alias": CHAMPION,
            "promote": False,
            "reason": f"v{version} is already the champion ({info.reason})",
            "champion_before": champion_before,
            "baseline": None,
        }
    with tempfile.TemporaryDirectory() as scratch:
        if folder is not None:
            source = Path(folder)
            candidate = load_candidate(folder)
            predictions = candidate.test_predictions
            frame = test_rows(Path(history), predictions, spec)
            metrics = candidate.metrics["model"]
        else:
            source = Path(scratch) / "version"
            for name in (PREDICTIONS_FILE, RESULT_FILE, BASELINE_FILE):
                tracker.export_file(industry, version, name, source)
            model, info = tracker.load_version(industry, version)
            if getattr(model, "kind", None) == BASELINE_KIND:
                raise ValueError(
                    f"{model_name(industry)} v{version} is a logistic baseline: the gate makes "
                    "a baseline champion by itself when nothing better is at hand"
                )
            snapshot = snapshot or info.snapshot_hash
            stored = pl.read_parquet(source / PREDICTIONS_FILE)
            frame = test_rows(Path(history), stored, spec)
            predictions = stored.with_columns(p_model=pl.Series(model.predict_proba(frame)))
            metrics = evaluate_on(model, frame, spec, settings.seed)
        outcome = gate(tracker, spec, version, metrics, predictions, frame, settings.seed)
        info = tracker.assign(industry, version, outcome.candidate)
        baseline = None
        if outcome.serve_baseline:
            baseline = serve_baseline(
                workdir,
                industry,
                source,
                settings.models / industry / BASELINE_FOLDER,
                history,
                snapshot or "",
                outcome.baseline_reason or "",
            )
    return {
        "name": info.name,
        "version": info.version,
        "alias": outcome.candidate.alias,
        "promote": outcome.candidate.promote,
        "reason": outcome.candidate.reason,
        "champion_before": champion_before,
        "baseline": baseline,
    }


def serve_baseline(
    workdir: str,
    industry: str,
    source: Path,
    target: Path,
    history: str,
    snapshot: str,
    reason: str,
) -> dict[str, Any]:
    """Register the baseline trained beside the version in ``source`` and make it champion."""
    folder = baseline_folder(source, target)
    logged = log_task.fn(workdir, industry, str(folder), history, snapshot)
    tracker = tracker_for(Settings(workdir=Path(workdir)))
    version = tracker.register(logged)
    decision = Decision(True, f"the logistic baseline serves: {reason}")
    info = tracker.assign(industry, version, decision)
    return {"name": info.name, "version": version, "alias": CHAMPION, "reason": decision.reason}


@task(name="write-metrics", cache_policy=NO_CACHE)
def metrics_task(
    workdir: str, folders: dict[str, str], serving: dict[str, dict[str, Any]] | None = None
) -> str:
    """models/metrics.json: each trained industry's test metrics, bounds, baseline and (on a
    simulated park) oracle, and the model serving after the gate (version, kind, why)."""
    settings = Settings(workdir=Path(workdir))
    specs = load_models()
    entries = {
        industry: metrics_summary(load_candidate(folder), specs[industry].capacity_k)
        for industry, folder in folders.items()
    }
    for industry, entry in entries.items():
        if serving and industry in serving:
            entry["serving"] = serving[industry]
    return str(write_metrics(settings.models / METRICS_FILE, entries))


@task(name="serving-models", cache_policy=NO_CACHE)
def serving_task(workdir: str, industries: list[str]) -> dict[str, dict[str, Any]]:
    """The champion of each industry after the gate: version, kind and the recorded reason."""
    tracker = tracker_for(Settings(workdir=Path(workdir)))
    serving = {}
    for industry in industries:
        version = tracker.version_for(industry, CHAMPION)
        if version is None:
            continue
        model, info = tracker.load_version(industry, version)
        serving[industry] = {"version": version, "kind": model.kind, "reason": info.reason}
    return serving


@task(name="promotion-target", cache_policy=NO_CACHE)
def promote_target_task(workdir: str, industry: str, version: int | None) -> dict[str, Any]:
    """The version to gate (the challenger unless named) and the history to re-score it on."""
    settings = Settings(workdir=Path(workdir))
    if version is None:
        version = tracker_for(settings).version_for(industry, CHALLENGER)
        if version is None:
            raise LookupError(
                f"{model_name(industry)} has no challenger to promote; name a --version"
            )
    spec = select_industries([industry])[industry]
    return {"version": version, "history": str(history_path(settings, spec))}


@task(name="audit-record", cache_policy=NO_CACHE)
def audit_task(
    workdir: str, kind: str, inputs: list[str], outputs: list[str], details: dict[str, Any]
) -> None:
    audit.record_run(workdir, kind, inputs, outputs, details)


# ---------------------------------------------------------------- flows


@flow(name="train")
@holds_workdir("train")
def train_flow(
    workdir: str, industries: list[str] | None = None, as_of: dt.date | str | None = None
) -> dict[str, Any]:
    """Train every configured industry and the general model (or the given ones) and gate each
    new version. The industries of the declared pool train one booster together (one run for
    the whole pool), then each is logged, registered and gated as its own model. ``as_of`` (a
    date or ``YYYY-MM-DD``): the label cut-off; default the last as-of date of the feature
    history."""
    specs = select_industries(industries)
    known_until = None if as_of is None else parse_day(as_of)
    inputs = inputs_task(workdir, known_until, list(specs))
    models: dict[str, dict[str, Any]] = {}
    folders: dict[str, str] = {}
    pooled = list(load_config().pooled(specs))
    trained = {}
    if pooled:
        trained = train_pool_task(
            workdir,
            pooled,
            inputs["histories"][pooled[0]],
            inputs["known_until"],
            inputs["case_store_version"],
        )
    for industry in specs:
        history = inputs["histories"][industry]
        folder = trained.get(industry) or train_task(
            workdir, industry, history, inputs["known_until"], inputs["case_store_version"]
        )
        logged = log_task(workdir, industry, folder, history, inputs["snapshot_hash"])
        version = register_task(workdir, logged)
        gated = gate_task(workdir, industry, version, history, folder, inputs["snapshot_hash"])
        models[industry] = {key: gated[key] for key in ("name", "version", "alias", "reason")}
        if gated["baseline"] is not None:
            models[industry]["baseline"] = gated["baseline"]
        folders[industry] = folder
    metrics = metrics_task(workdir, folders, serving_task(workdir, list(folders)))
    registered = [f"models:/{m['name']}/{m['version']}" for m in models.values()]
    registered += [
        f"models:/{m['baseline']['name']}/{m['baseline']['version']}"
        for m in models.values()
        if "baseline" in m
    ]
    audit_task(
        workdir,
        "train",
        inputs=[*sorted(set(inputs["histories"].values())), inputs["ledger"]],
        outputs=[metrics, *folders.values(), *registered],
        details={
            "snapshot_hash": inputs["snapshot_hash"],
            "known_until": inputs["known_until"].isoformat(),
            "case_store_version": inputs["case_store_version"],
            "models": models,
        },
    )
    return {"models": models, "metrics": metrics}


@flow(name="promote")
@holds_workdir("promote")
def promote_flow(workdir: str, industry: str, version: int | None = None) -> dict[str, Any]:
    """Apply the promotion gate to a registered version (the challenger by default)."""
    spec = select_industries([industry])[industry]
    target = promote_target_task(workdir, spec.key, version)
    gated = gate_task(workdir, spec.key, target["version"], target["history"])
    audit_task(
        workdir,
        "promote",
        inputs=[target["history"], f"models:/{gated['name']}/{target['version']}"],
        outputs=[],
        details={"industry": spec.key, **gated},
    )
    return {"industry": spec.key, **gated}
