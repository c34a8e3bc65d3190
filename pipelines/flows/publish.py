"""`ews publish`: the week's ranked, explained risk list for every industry's regulator.

scoring table (built by the features flow when missing) -> per industry: score with the champion,
rank, explain, reasons and facts -> SHAP charts -> list files and manifest, put in place
atomically -> the static site rebuilt from every publication -> one audit record.

The week ``YYYY-Www`` uses the data as of the Sunday before its Monday (see
``pipelines.weekly_list``). Each industry is written into a hidden folder beside
``publish/<week>/<industry>/`` and swapped in only when complete: a failure leaves last
publication of that list as it was.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from models.baseline import scorer_from_bytes
from models.config import IndustryConfig, IndustrySpec, load_config
from models.rank import RANK_ORDER
from models.tiering import load_tier_policy
from models.train import frame_inputs
from pipelines import audit, datasets, publish_io, publish_list, tracking
from pipelines.cases import AsOf, open_store
from pipelines.cases.listings import record_publication
from pipelines.cases.objections import publication_decisions
from pipelines.feedback.report import publication_view, write_publication_feedback
from pipelines.flows.features import build_features_flow
from pipelines.flows.shards import current_task_runner, sharded_scores
from pipelines.general_scores import publish_general_scores
from pipelines.io import lake_sources
from pipelines.retries import TRANSIENT_RETRIES
from pipelines.settings import Settings
from pipelines.site import build_site
from pipelines.stage_clock import StageClock
from pipelines.tiers import publish_tiers, week_lists
from pipelines.timeline import Week, parse_week
from pipelines.workdir_lock import holds_workdir


def scoring_table_path(settings: Settings, as_of: dt.date) -> Path:
    return datasets.SCORING_TABLE.path(settings.workdir, as_of=as_of)


@task(
    name="champion", task_run_name="champion-{industry}", cache_policy=NO_CACHE, **TRANSIENT_RETRIES
)
def champion_task(workdir: str, industry: str) -> tuple[bytes, tracking.ModelInfo]:
    """The industry's champion as bytes (sent to every shard) and its registry information."""
    model, info = tracking.tracker_for(Settings(workdir=Path(workdir))).load_model(industry)
    return model.to_bytes(), info


@task(name="score-and-explain", cache_policy=NO_CACHE, **TRANSIENT_RETRIES)
def score_task(
    workdir: str,
    spec: IndustrySpec,
    week: Week,
    table: str,
    folder: str,
    sharded: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Score the industry with its champion; write scores, explanations, reasons, history.
    Overrides and objections apply as the case store stood at the week's cut-off (that view is
    recorded in the manifest, so the week can be re-derived whatever is decided later).
    ``sharded``: the champion (``model`` bytes, ``info``) and the scores and explanations its
    shards computed (``scores``), used instead of loading and scoring here."""
    settings = Settings(workdir=Path(workdir))
    if sharded is None:
        model, info = tracking.tracker_for(settings).load_model(spec.key)
    else:
        model, info = scorer_from_bytes(sharded["model"]), sharded["info"]
    store = open_store(settings)
    try:
        view = publication_view(store, week.label)
        decisions = publication_decisions(store, view)
    finally:
        store.dispose()
    written = publish_list.write_tables(
        Path(folder),
        spec=spec,
        week=week.label,
        as_of=week.as_of,
        table=pl.read_parquet(table),
        model=model,
        sources=lake_sources(settings.lake),
        publish_root=settings.publish,
        decisions=decisions,
        scores=sharded["scores"] if sharded is not None else None,
    )
    written["case_store"] = view.as_dict()
    written["model"] = model_record(info, model)
    written["feature_names"] = list(frame_inputs(model))
    return written


@task(name="shap-charts", cache_policy=NO_CACHE)
def plots_task(folder: str, table: str, feature_names: list[str]) -> int:
    return publish_list.write_plots(Path(folder), pl.read_parquet(table), feature_names)


@task(name="list-files-and-manifest", cache_policy=NO_CACHE)
def finalize_task(
    workdir: str,
    config: IndustryConfig,
    industry: str,
    week: Week,
    folder: str,
    written: dict[str, Any],
) -> str:
    """risk_list.xlsx/.csv/.parquet, manifest.json, then the folder replaces the last version."""
    settings = Settings(workdir=Path(workdir))
    spec = config.industries[industry]
    day = week.as_of
    staged = Path(folder)
    publish_list.write_list_files(
        staged, spec, config.inspection_frequency, week.label, day, written["previous"]["kind"]
    )
    # The regulator's earlier lists as inspections found them, from the case store as it stood
    # at this week's cut-off (recorded, so the week can be re-derived whatever comes back later).
    view = AsOf.from_dict(written["case_store"])
    write_publication_feedback(staged, settings, industry, week.label, day, view)
    lineage = {
        "week": week.label,
        "as_of": day.isoformat(),
        "industry": industry,
        "regulator": spec.regulator.zh,
        "model": written["model"],
        "ranking": RANK_ORDER,
        "lake_snapshot": {
            "ledger": datasets.LAKE_LEDGER.pattern,
            **publish_io.ledger_snapshot(datasets.LAKE_LEDGER.path(settings.workdir)),
        },
        "ingest": publish_io.snapshot_ingest(
            datasets.LAKE_LEDGER.path(settings.workdir), settings.ingest_runs
        ),
        "scoring_table": scoring_table_path(settings, day).relative_to(settings.workdir).as_posix(),
        "code_version": audit.code_version(),
        "config_sha256": publish_io.config_hash(),
        "previous": written["previous"],
        "case_store": view.as_dict(),
        "history": written["history"],
        "counts": written["counts"],
        "decisions": written["decisions"],
        "repairs": written["repairs"],
    }
    publish_list.write_manifest(staged, lineage)
    target = settings.publish / week.label / industry
    publish_io.commit(staged, target)
    return str(target / publish_io.MANIFEST)


@task(name="record-listings", cache_policy=NO_CACHE, **TRANSIENT_RETRIES)
def listings_task(workdir: str, manifests: list[str]) -> list[dict[str, Any]]:
    """Each new list's firms into the case store, where inspection outcomes will meet them."""
    settings = Settings(workdir=Path(workdir))
    store = open_store(settings)
    try:
        return [
            record_publication(
                store,
                Path(manifest).parent,
                settings.operator,
                Path(manifest).relative_to(settings.workdir).as_posix(),
            )
            for manifest in manifests
        ]
    finally:
        store.dispose()


def model_record(info: tracking.ModelInfo, model: tracking.Scorer) -> dict[str, Any]:
    """The manifest's ``model`` block: which registered version scored the week, and why it
    serves."""
    return {
        "name": info.name,
        "version": info.version,
        "alias": info.alias,
        "run_id": info.run_id,
        "training_snapshot_hash": info.snapshot_hash,
        "feature_count": len(model.feature_names),
        "kind": model.kind,
        "promotion_reason": info.reason,
    }


@task(name="general-scores", cache_policy=NO_CACHE, **TRANSIENT_RETRIES)
def general_task(workdir: str, week: Week, table: str) -> str:
    """Every enterprise outside the industries scored by the general model's champion:
    ``publish/<week>/general/`` (no list; the scores feed the credit classes)."""
    settings = Settings(workdir=Path(workdir))
    spec = load_config().general
    if spec is None:
        raise ValueError("no general model is declared in models/industries.yaml")
    model, info = tracking.tracker_for(settings).load_model(spec.key)
    manifest = publish_general_scores(
        settings.publish / week.label / spec.key,
        spec=spec,
        model=model,
        model_record=model_record(info, model),
        table_path=Path(table),
        workdir=settings.workdir,
        week=week.label,
        as_of=week.as_of,
        policy=load_tier_policy(),
    )
    return str(manifest)


@task(name="credit-tiers", cache_policy=NO_CACHE)
def tiers_task(workdir: str, week: Week, table: str, manifests: dict[str, str]) -> str:
    """Every enterprise's credit risk class for the week, from the lists just published, with
    the classes people set (overrides, upheld objections) as the case store stood at the week's
    cut-off."""
    settings = Settings(workdir=Path(workdir))
    store = open_store(settings)
    try:
        view = publication_view(store, week.label)
        decisions = publication_decisions(store, view)
    finally:
        store.dispose()
    manifest = publish_tiers(
        settings,
        week.label,
        week.as_of,
        Path(table),
        {industry: Path(path) for industry, path in manifests.items()},
        lake_sources(settings.lake),
        load_config(),
        load_tier_policy(),
        decisions,
        view.as_dict(),
    )
    return str(manifest)


@task(name="build-site", cache_policy=NO_CACHE)
def site_task(workdir: str, config: IndustryConfig) -> str:
    return str(build_site(Settings(workdir=Path(workdir)), config))


@task(name="audit-record", cache_policy=NO_CACHE)
def audit_task(
    workdir: str,
    inputs: list[str],
    manifests: list[str],
    details: dict,
    tiers: str | None = None,
) -> None:
    """One publish record: the inputs, each list's folder (and the credit classes' folder), and
    the model versions used."""
    models = []
    for manifest in manifests:
        model = json.loads(Path(manifest).read_text(encoding="utf-8"))["model"]
        models.append(f"models:/{model['name']}/{model['version']}")
    outputs = [str(Path(manifest).parent) for manifest in [*manifests, *([tiers] if tiers else [])]]
    audit.record_run(workdir, "publish", [*inputs, *models], outputs, details)


class PublishIncomplete(RuntimeError):
    """Some industry got no new list (or the store or the tiers were not updated); the others
    were published. ``ews publish`` exits 3 on it (``pipelines.exit_codes``)."""


@flow(name="publish")
@holds_workdir("publish")
def publish_flow(
    workdir: str, week: Week | str | None = None, shards: int | None = None
) -> dict[str, Any]:
    """Publish ``week`` (a ``Week`` or its label ``2026-W49``; default: the park's current ISO
    week) for every configured industry.

    ``shards``: the scoring table (when missing), the scores and the SHAP contributions are
    computed shard by shard of firms on the flow's task runner (a Dask cluster with ``ews
    publish --runner dask``), the ranking and everything after on the gathered shards: the
    same files byte for byte as without (docs/scaling.md).

    Returns ``week``, ``as_of``, ``lists`` ({industry: manifest path}), ``general`` (the manifest
    of the general model's scores of every other enterprise, ``publish/<week>/general/``; None
    when no general model is declared), ``tiers`` (the manifest of every enterprise's credit
    risk class, ``publish/<week>/tiers/``, made from every list and the general scores of the
    week; None when no list was published), ``site`` (the index) and ``stages`` (wall and CPU
    seconds of each step, summed over the industries).
    An industry that fails (e.g. no champion yet) keeps its previous publication; the others
    are still published, and the flow then raises naming the failures.
    """
    settings = Settings(workdir=Path(workdir))
    config = load_config()
    parsed = parse_week(week)
    label, as_of = parsed.label, parsed.as_of
    table = scoring_table_path(settings, as_of)
    clock = StageClock()
    placed: dict[str, Any] = {}
    if not table.is_file():
        with clock.stage("features"):
            if shards:
                built = build_features_flow.with_options(task_runner=current_task_runner())(
                    workdir=str(settings.workdir), as_of=as_of, shards=shards
                )
                placed["features"] = built["shards"]
            else:
                build_features_flow(workdir=str(settings.workdir), as_of=as_of)
    lists: dict[str, str] = {}
    failures: dict[str, str] = {}
    for industry, spec in config.industries.items():
        folder = publish_io.begin(settings.publish / label / industry)
        try:
            with clock.stage("score_explain"):
                sharded = None
                if shards:
                    model, info = champion_task(workdir, industry)
                    scored, explained, placed[industry] = sharded_scores(table, spec, model, shards)
                    sharded = {"model": model, "info": info, "scores": (scored, explained)}
                written = score_task(workdir, spec, parsed, str(table), str(folder), sharded)
            with clock.stage("shap_charts"):
                plots_task(str(folder), str(table), written["feature_names"])
            with clock.stage("list_files_manifest"):
                lists[industry] = finalize_task(
                    workdir, config, industry, parsed, str(folder), written
                )
        except Exception as error:  # one regulator's failure must not withhold the others' lists
            publish_io.abandon(folder)
            failures[industry] = f"{type(error).__name__}: {error}"
    try:
        with clock.stage("record_listings"):
            recorded = listings_task(workdir, list(lists.values()))
    except Exception as error:  # the lists are out; say that the store did not get them
        recorded = []
        failures["case_store"] = f"listings not recorded: {type(error).__name__}: {error}"
    general = None
    if config.general is not None:
        try:
            with clock.stage("general_scores"):
                general = general_task(workdir, parsed, str(table))
        except Exception as error:  # the lists are out; the general model's firms wait
            failures[config.general.key] = f"{type(error).__name__}: {error}"
    tiers = None
    if lists:  # the classes follow the lists: with no new list, the week's classes stand
        published = {k: str(v) for k, v in week_lists(settings.publish, label, config).items()}
        try:
            with clock.stage("credit_tiers"):
                tiers = tiers_task(workdir, parsed, str(table), published)
        except Exception as error:  # the lists are out; the week's classes stay as they were
            failures["tiers"] = f"{type(error).__name__}: {error}"
    with clock.stage("site"):
        site = site_task(workdir, config)
    audit_task(
        workdir,
        inputs=[str(table), str(datasets.LAKE_LEDGER.path(settings.workdir))],
        manifests=[*lists.values(), *([general] if general else [])],
        details={
            "week": label,
            "as_of": as_of.isoformat(),
            "failures": failures,
            "listings": recorded,
        },
        tiers=tiers,
    )
    if failures:
        raise PublishIncomplete(
            f"publish {label}: no new list for {', '.join(sorted(failures))}: "
            + "; ".join(f"{k}: {v}" for k, v in sorted(failures.items()))
        )
    return {
        "week": label,
        "as_of": as_of.isoformat(),
        "lists": lists,
        "general": general,
        "tiers": tiers,
        "site": site,
        "stages": clock.stages,
        **({"shards": placed} if shards else {}),
    }
