"""Model cards on disk: gather one registered version's evidence, build its card, write it.

The evidence is the version's own MLflow run (metrics, the exported result, test predictions and
calibration table), its model re-applied to its out-of-time test rows from the feature history
(per-row contributions, subgroup columns) and the registry's other versions (previous champion,
change log). Files: ``reports/model_cards/<industry>/v<version>.{json,md,html}`` and two PNGs.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from data_contracts.feedback import load_feedback
from features.build import build_feature_table
from models import card
from models.config import IndustrySpec, load_models
from models.evaluate import METRICS
from models.objections import oversight_counts
from models.outcomes import evaluation_sample, rates
from models.pipeline import evaluate_on
from models.promotion import CHAMPION
from models.train import RiskModel, feature_matrix, frame_inputs
from pipelines import audit, file_io
from pipelines.calibration_plot import calibration_figure
from pipelines.card_render import render_card
from pipelines.cases import NOW, case_store_exists, open_store
from pipelines.cases.inspections import inspections
from pipelines.cases.listings import listings
from pipelines.cases.objections import objections as store_objections
from pipelines.feedback.report import store_accuracy
from pipelines.io import lake_sources, read_json
from pipelines.model_exports import CALIBRATION_FILE, PREDICTIONS_FILE, RESULT_FILE
from pipelines.publish_io import MANIFEST, SCORES
from pipelines.settings import Settings
from pipelines.shap_plots import draw_beeswarm
from pipelines.timeline import parse_moment, stored_day, week_label
from pipelines.tracking import ModelInfo, Tracker
from pipelines.training_rows import test_rows

# The folder of a version's MLflow run that holds its card.
CARD_ARTIFACT = "model_card"
# Contributions are exact per row; a seeded sample this large pins the mean |SHAP| ranking down
# while keeping a card of the largest industry to seconds.
MAX_EXPLAINED_ROWS = 20_000
# A beeswarm of more dots than this is an unreadable smear, and slow to draw.
MAX_PLOTTED_ROWS = 2_000
PLOT_DPI = 100


@dataclass(frozen=True)
class WrittenCard:
    industry: str
    version: int
    json: Path
    markdown: Path
    html: Path
    plots: tuple[Path, ...]

    @property
    def files(self) -> list[Path]:
        return [self.json, self.markdown, self.html, *self.plots]


def card_folder(settings: Settings, industry: str) -> Path:
    return settings.model_cards / industry


def unflatten_metrics(flat: Mapping[str, float], prefix: str = "") -> dict[str, dict[str, float]]:
    """MLflow's flat ``pr_auc``, ``pr_auc_ci_low``, ... back to ``{metric: {value, ci_*}}``."""
    return {
        metric: {
            "value": flat[f"{prefix}{metric}"],
            "ci_low": flat.get(f"{prefix}{metric}_ci_low", float("nan")),
            "ci_high": flat.get(f"{prefix}{metric}_ci_high", float("nan")),
        }
        for metric in METRICS
        if f"{prefix}{metric}" in flat
    }


def previous_champion(infos: Sequence[ModelInfo], version: int) -> int | None:
    """The champion this version was gated against: the latest earlier version the gate (or an
    analyst) made champion."""
    earlier = [i.version for i in infos if i.version < version and i.decision == CHAMPION]
    return max(earlier, default=None)


def trainers(settings: Settings, industry: str) -> dict[int, str]:
    """Who trained each version, from the audit log's train records."""
    found: dict[int, str] = {}
    for entry in audit.read_log(settings):
        if entry.get("kind") != "train":
            continue
        model = entry.get("details", {}).get("models", {}).get(industry)
        if model and "version" in model:
            found[int(model["version"])] = entry.get("operator", card.UNKNOWN)
        if model and "baseline" in model:  # the baseline the gate registered to serve
            found[int(model["baseline"]["version"])] = entry.get("operator", card.UNKNOWN)
    return found


def version_facts(info: ModelInfo, owner: str) -> card.VersionFacts:
    created = parse_moment(info.trained_at, "trained_at") if info.trained_at else datetime.min
    return card.VersionFacts(
        name=info.name,
        version=info.version,
        run_id=info.run_id,
        created_at=created.astimezone(UTC) if created.tzinfo else created,
        aliases=info.aliases,
        owner=owner,
        data_snapshot=info.snapshot_hash or None,
        code_version=info.code_version or None,
        promotion_reason=info.reason,
        status=info.alias or "superseded",
    )


def evaluation_rows(
    settings: Settings, history: Path, predictions: pl.DataFrame, spec: IndustrySpec, scratch: Path
) -> pl.DataFrame:
    """The version's labelled test snapshots with every feature, in prediction order.

    From the feature history when it still holds them; otherwise (the history was rebuilt on
    other weekdays since, e.g. by a publish) rebuilt point-in-time from the lake for the test
    dates, which gives the same rows as long as the lake has not been rewritten.
    """
    try:
        return test_rows(history, predictions, spec)
    except ValueError:
        dates = predictions.get_column("as_of").unique().sort().to_list()
        rebuilt = scratch / "test_snapshots.parquet"
        build_feature_table(
            lake_sources(settings.lake), dates, sectors=[spec.sector_value]
        ).collect().write_parquet(rebuilt)
        return test_rows(rebuilt, predictions, spec)


def build_version_card(
    settings: Settings, tracker: Tracker, industry: str, version: int, history: Path
) -> WrittenCard:
    """Build and write the card of one registered version; returns the files written."""
    spec = load_models()[industry]
    # info() per version: the registry's version search does not fill in aliases.
    infos = [tracker.info(industry, found.version) for found in tracker.versions(industry)]
    by_version = {info.version: info for info in infos}
    if version not in by_version:
        raise LookupError(f"ews-{industry} has no registered version {version}")
    info = by_version[version]
    model, _ = tracker.load_version(industry, version)
    with tempfile.TemporaryDirectory() as scratch:
        exported = {
            name: tracker.export_file(industry, version, name, Path(scratch))
            for name in (RESULT_FILE, PREDICTIONS_FILE, CALIBRATION_FILE)
        }
        result = read_json(exported[RESULT_FILE])
        predictions = pl.read_parquet(exported[PREDICTIONS_FILE])
        calibration = pl.read_parquet(exported[CALIBRATION_FILE])
        test = evaluation_rows(settings, history, predictions, spec, Path(scratch))
    scored = predictions.select("uscc", "as_of", "label", probability=pl.col("p_model"))
    explained = _sample(test, MAX_EXPLAINED_ROWS, settings.seed)
    contributions = model.contributions(explained)

    previous = previous_champion(infos, version)
    previous_metrics = _rescore(tracker, spec, previous, test, settings.seed)

    folder = card_folder(settings, industry)
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"v{version}"
    calibration_png = _calibration_plot(calibration, folder / f"{stem}_calibration.png", info)
    shap_png = _beeswarm(explained, contributions, model, folder / f"{stem}_shap.png")

    owners = trainers(settings, industry)
    built = card.build_card(
        spec=spec,
        version=version_facts(info, owners.get(version, card.UNKNOWN)),
        training=card.TrainingFacts(
            split=result["boundaries"],
            class_balance=result["class_balance"],
            feature_names=model.feature_names,
            calibration_method=model.calibrator.method,
            params=result["params"],
            kind=model.kind,
            seeds=model.metadata.get("seeds", ()),
        ),
        perf=card.Performance(
            model=unflatten_metrics(info.metrics),
            baseline=unflatten_metrics(info.metrics, "baseline_"),
            previous_champion=previous_metrics,
            previous_champion_version=previous if previous_metrics else None,
            comparisons=result.get("comparisons") or None,
        ),
        predictions=scored,
        firm_facts=test,
        calibration_table=calibration,
        contributions=contributions,
        history=[version_facts(i, owners.get(i.version, card.UNKNOWN)) for i in infos],
        simulated=settings.sim_truth.is_dir(),
        plots={"calibration": calibration_png.name, "explanation": shap_png.name},
        feedback_facts=feedback_facts(settings, spec, version, scored),
        oversight=oversight_facts(settings, spec),
    )
    written = WrittenCard(
        industry=industry,
        version=version,
        json=file_io.write_json(folder / f"{stem}.json", built),
        markdown=folder / f"{stem}.md",
        html=folder / f"{stem}.html",
        plots=(calibration_png, shap_png),
    )
    file_io.write_text(written.markdown, render_card(built, html=False))
    file_io.write_text(written.html, render_card(built, html=True))
    return written


def published_snapshots(settings: Settings, spec: IndustrySpec, version: int) -> pl.DataFrame:
    """Every firm's probability in the weeks this version published (publish/*/scores)."""
    frames = []
    for manifest_path in sorted(settings.publish.glob(f"*/{spec.key}/{MANIFEST}")):
        manifest = read_json(manifest_path)
        if int(manifest["model"]["version"]) != version:
            continue
        scores = pl.read_parquet(manifest_path.parent / SCORES, columns=["uscc", "probability"])
        frames.append(
            scores.filter(pl.col("probability").is_not_null()).with_columns(
                as_of=pl.lit(stored_day(manifest["as_of"], f"{manifest_path} as_of"))
            )
        )
    schema = {"uscc": pl.String, "probability": pl.Float64, "as_of": pl.Date}
    return pl.concat(frames) if frames else pl.DataFrame(schema=schema)


def feedback_facts(
    settings: Settings, spec: IndustrySpec, version: int, scored: pl.DataFrame
) -> dict | None:
    """What inspections said, for the card: the lists' accuracy, and each tier's event rate
    from inspections (models.outcomes) over the version's out-of-time test weeks and the weeks
    it published. None when nothing has been recorded."""
    if not case_store_exists(settings):
        return None
    contract = load_feedback()
    store = open_store(settings)
    try:
        reports = inspections(store, NOW, industry=spec.key)
        if reports.height == 0:
            return None
        listed = listings(store, NOW, industry=spec.key)
        at = reports["inspection_date"].max()
        lists = store_accuracy(store, contract, as_of=NOW, at=at, industries=[spec.key])
    finally:
        store.dispose()
    snapshots = pl.concat(
        [
            scored.select("uscc", "probability", "as_of"),
            published_snapshots(settings, spec, version),
        ]
    ).unique(["uscc", "as_of"], keep="last", maintain_order=True)
    snapshots = snapshots.with_columns(
        tier=spec.tier_expression(pl.col("probability")).fill_null("A")
    )
    days = snapshots["as_of"].unique().sort().to_list()
    week_of = {day: week_label(day + dt.timedelta(days=1)) for day in days}
    sample = evaluation_sample(
        snapshots,
        reports,
        listed,
        inspected=contract.inspected(),
        confirming=contract.confirming(),
        week_of=week_of,
    )
    return {
        "at": at.isoformat(),
        "confirming": contract.confirming(),
        "lists": lists["industries"][spec.key],
        "tier_rates": rates(sample, ["tier"]),
        "snapshots": {
            "firm_weeks": sample.height,
            "first_as_of": days[0].isoformat() if days else None,
            "last_as_of": days[-1].isoformat() if days else None,
        },
    }


def oversight_facts(settings: Settings, spec: IndustrySpec) -> dict[str, int] | None:
    """Overrides and objections of the industry's lists, for the card (None when none was ever
    recorded): the published lists' ``list_basis`` and the store's current objections (a class
    objection counts for the industry whose list last named the firm)."""
    if not case_store_exists(settings):
        return None
    store = open_store(settings)
    try:
        objections = store_objections(store)
        named = listings(store, NOW, industry=spec.key).select("uscc").unique()
    finally:
        store.dispose()
    mine = objections.filter(
        (pl.col("industry") == spec.key)
        | (pl.col("industry").is_null() & pl.col("uscc").is_in(named["uscc"].implode()))
    )
    frames = []
    for manifest_path in sorted(settings.publish.glob(f"*/{spec.key}/{MANIFEST}")):
        scores = pl.read_parquet(manifest_path.parent / SCORES)
        if "list_basis" in scores.columns:
            frames.append(
                scores.select("uscc", "list_basis").with_columns(
                    week=pl.lit(manifest_path.parent.parent.name)
                )
            )
    bases = (
        pl.concat(frames)
        if frames
        else pl.DataFrame(schema={"uscc": pl.String, "list_basis": pl.String, "week": pl.String})
    )
    counts = oversight_counts(mine, bases)
    return counts if any(counts.values()) else None


def _sample(frame: pl.DataFrame, rows: int, seed: int) -> pl.DataFrame:
    """A seeded random sample in random order, so that any head of it is random too."""
    return frame.sample(n=min(rows, frame.height), seed=seed, shuffle=True)


def _rescore(
    tracker: Tracker, spec: IndustrySpec, version: int | None, test: pl.DataFrame, seed: int
) -> dict[str, dict[str, float]] | None:
    """The earlier champion's metrics on this version's test rows (like for like); None when
    there is none or it needs features the history no longer has."""
    if version is None:
        return None
    model, _ = tracker.load_version(spec.key, version)
    if set(frame_inputs(model)) - set(test.columns):
        return None
    return evaluate_on(model, test, spec, seed)


def _calibration_plot(calibration: pl.DataFrame, path: Path, info: ModelInfo) -> Path:
    figure = calibration_figure(calibration, f"{info.name} v{info.version}: reliability")
    figure.savefig(path, dpi=PLOT_DPI, metadata={"Software": None})
    return path


def _beeswarm(
    explained: pl.DataFrame, contributions: np.ndarray, model: RiskModel, path: Path
) -> Path:
    """The firms' evidence only: a fixed input (a pooled model's industry indicator) is the
    same for every firm the model scores and explains none of them apart."""
    rows = min(len(contributions), MAX_PLOTTED_ROWS)
    names = list(frame_inputs(model))
    shown = [model.feature_names.index(name) for name in names]
    values = feature_matrix(explained.head(rows), names)
    return draw_beeswarm(contributions[:rows, shown], contributions[:rows, -1], values, names, path)
