"""The week's credit risk class of every enterprise: ``publish/<week>/tiers/``.

Run by the publish flow after the week's lists: every firm of the scoring table that the tier
policy classes (``models/tiering.yaml``) gets its class from the policy (``models.tiering``),
with the probability and model class its own model gave it this week (an industry's firm: its
published list's ``scores.parquet``; every other enterprise: the general model's scores,
``publish/<week>/general/scores.parquet``, ``pipelines.general_scores``; never re-scored),
and the credit evaluation and credit lists read from the lake as of the week's as-of date
(``models.tier_inputs``).

Files: ``tiers.parquet`` (one row per firm, by uscc: every component, the class, what set it and
that sentence in Chinese and English) and ``manifest.json`` (the inputs' hashes, the models used,
counts by class and basis, each file's SHA-256). The folder is written beside its target and
swapped in whole, like a list.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from models.config import IndustryConfig
from models.objections import Decisions, tier_settings
from models.tier_inputs import missing_sources, tier_components
from models.tiering import TierPolicy, basis_text, tier_firms
from pipelines import audit, datasets, file_io, publish_io
from pipelines.cases.objections import cited
from pipelines.io import read_json
from pipelines.settings import Settings
from pipelines.timeline import published_on
from pipelines.weekly_list import master_at

FOLDER = "tiers"
TIERS_FILE = datasets.TIERS.name
OTHER = "other"  # the industry key of every firm outside the configured industries
OTHER_NAME = {"zh": "其他行业", "en": "Other industries"}
SCORE_COLUMNS = ("uscc", "probability", "tier", "insufficient_data")


def industry_of(table: pl.DataFrame, config: IndustryConfig) -> pl.Expr:
    """Each scoring-table row's industry key, from its sector (``other`` outside the config)."""
    by_sector = {spec.sector_value: key for key, spec in config.industries.items()}
    return pl.col("sector").replace_strict(by_sector, default=OTHER, return_dtype=pl.String)


def industry_names(config: IndustryConfig) -> dict[str, tuple[str, str]]:
    """Every industry key's name (Chinese, English), ``other`` included."""
    names = {key: (spec.name.zh, spec.name.en) for key, spec in config.industries.items()}
    return {**names, OTHER: (OTHER_NAME["zh"], OTHER_NAME["en"])}


def model_scores(lists: Mapping[str, Path]) -> pl.DataFrame:
    """Probability and model class of every firm a published list of this week scored (a firm
    with insufficient data has neither), with the list's industry as ``model``."""
    frames = []
    for industry, scores_path in sorted(lists.items()):
        scores = pl.read_parquet(scores_path, columns=list(SCORE_COLUMNS))
        frames.append(
            scores.select(
                "uscc",
                model=pl.lit(industry),
                probability=pl.when(~pl.col("insufficient_data")).then(pl.col("probability")),
                model_tier=pl.when(~pl.col("insufficient_data")).then(pl.col("tier")),
            )
        )
    schema = {
        "uscc": pl.String,
        "model": pl.String,
        "probability": pl.Float64,
        "model_tier": pl.String,
    }
    if not frames:
        return pl.DataFrame(schema=schema)
    return pl.concat(frames).cast(schema)


def classed_firms(table: pl.DataFrame, policy: TierPolicy, config: IndustryConfig) -> pl.DataFrame:
    """uscc, industry and district of every scoring-table firm the policy classes, by uscc."""
    return (
        table.filter(~policy.excluded(pl.col("uscc")))
        .select("uscc", industry=industry_of(table, config), district=pl.col("district"))
        .sort("uscc")
    )


def tier_snapshot(
    table: pl.DataFrame,
    lists: Mapping[str, Path],
    sources: Mapping[str, pl.LazyFrame],
    as_of: dt.date,
    config: IndustryConfig,
    policy: TierPolicy,
    overrides: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every classed firm's components, class, basis and the basis as a sentence (zh, en)."""
    firms = classed_firms(table, policy, config)
    scores = firms.select("uscc").join(
        model_scores(lists).unique("uscc", keep="first"), on="uscc", how="left"
    )
    classed = tier_firms(tier_components(scores, sources, as_of, policy), policy, overrides)
    names = master_at(sources, firms["uscc"].to_list(), as_of).select("uscc", "name")
    zh = {k: s.name.zh for k, s in config.models().items()}
    en = {k: s.name.en for k, s in config.models().items()}
    rows = classed.to_dicts()
    # The sentences are made row by row from ``classed``, so they join to it before anything
    # else can change its order.
    explained = classed.with_columns(
        pl.Series("basis_zh", [basis_text(r, policy, "zh", zh) for r in rows], pl.String),
        pl.Series("basis_en", [basis_text(r, policy, "en", en) for r in rows], pl.String),
    )
    return (
        firms.join(names, on="uscc", how="left", maintain_order="left")
        .join(explained, on="uscc", how="left", maintain_order="left")
        .sort("uscc")
    )


def counts(tiers: pl.DataFrame) -> dict[str, Any]:
    """Firms by class, by class and basis, and by industry and class (for the manifest)."""

    def nested(*keys: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for row in tiers.group_by(*keys).len().sort(*keys).iter_rows():
            level = out
            for key in row[:-2]:
                level = level.setdefault(str(key), {})
            level[str(row[-2])] = row[-1]
        return out

    return {
        "firms": tiers.height,
        "by_tier": nested("tier"),
        "by_tier_and_basis": nested("tier", "basis"),
        "by_industry_and_tier": nested("industry", "tier"),
    }


def policy_hash() -> str:
    """SHA-256 of the shipped tier policy (``models/tiering.yaml``)."""
    data = (resources.files("models") / "tiering.yaml").read_bytes()
    return hashlib.sha256(data).hexdigest()


def write_tier_snapshot(
    folder: Path,
    tiers: pl.DataFrame,
    lineage: Mapping[str, Any],
    sources: Mapping[str, pl.LazyFrame],
    policy: TierPolicy,
) -> Path:
    """tiers.parquet and manifest.json into ``folder`` (a staged folder); returns the manifest."""
    publish_io.write_parquet(tiers, folder / TIERS_FILE)
    hashes = publish_io.file_hashes(folder)
    manifest = {
        **lineage,
        "policy": {"file": "models/tiering.yaml", "sha256": policy_hash()},
        "sources_missing": missing_sources(sources, policy),
        "counts": counts(tiers),
        "code_version": audit.code_version(),
        "files": hashes,
    }
    return file_io.write_json(folder / publish_io.MANIFEST, manifest)


def week_lists(publish_root: Path, week: str, config: IndustryConfig) -> dict[str, Path]:
    """The manifest of every configured industry's list published for ``week``, and of the
    general model's scores: this run's and earlier runs' alike (a list that failed this time
    keeps its last publication)."""
    found = {}
    for industry in config.models():
        manifest = publish_root / week / industry / publish_io.MANIFEST
        if manifest.is_file():
            found[industry] = manifest
    return found


def publish_tiers(
    settings: Settings,
    week: str,
    as_of: dt.date,
    table_path: Path,
    manifests: Mapping[str, Path],
    sources: Mapping[str, pl.LazyFrame],
    config: IndustryConfig,
    policy: TierPolicy,
    decisions: Decisions | None = None,
    view: Mapping[str, Any] | None = None,
    into: Path | None = None,
) -> Path:
    """Class every firm for ``week`` from its published lists (``manifests``: industry -> the
    list's manifest) and put ``publish/<week>/tiers/`` in place whole; returns its manifest.
    ``decisions``: classes set by overrides and upheld objections (the case store as the week
    saw it, at ``view``, recorded), cited in the manifest. ``into``: write ``tiers.parquet``
    and ``manifest.json`` into that folder instead (``ews audit verify`` re-derives there)."""
    lists = {industry: Path(m).parent / publish_io.SCORES for industry, m in manifests.items()}
    people, cites = None, {"objections": [], "overrides": []}
    if decisions is not None:
        people = tier_settings(decisions.objections, decisions.overrides, published_on(week))
        ids = people["decision_id"].implode()
        cites = {
            "objections": cited(
                decisions.objections.filter(pl.col("objection_id").is_in(ids)), "objection_id"
            ),
            "overrides": cited(
                decisions.overrides.filter(pl.col("override_id").is_in(ids)), "override_id"
            ),
        }
    tiers = tier_snapshot(
        pl.read_parquet(table_path), lists, sources, as_of, config, policy, people
    )
    used = {}
    for industry, manifest_path in sorted(manifests.items()):
        manifest = read_json(Path(manifest_path))
        used[industry] = {
            "model": f"models:/{manifest['model']['name']}/{manifest['model']['version']}",
            "scores": manifest["files"][publish_io.SCORES],
        }
    lineage = {
        "week": week,
        "as_of": as_of.isoformat(),
        "scoring_table": {
            "path": table_path.relative_to(settings.workdir).as_posix(),
            "sha256": file_io.file_sha256(table_path),
        },
        "lists": used,
        "lists_missing": sorted(set(config.models()) - set(manifests)),
        "lake_snapshot": publish_io.ledger_snapshot(datasets.LAKE_LEDGER.path(settings.workdir)),
        "decisions": cites,
    }
    if view is not None:
        lineage["case_store"] = dict(view)
    if into is not None:
        return write_tier_snapshot(into, tiers, lineage, sources, policy)
    target = settings.publish / week / FOLDER
    with publish_io.atomic_directory(target) as staged:
        write_tier_snapshot(staged, tiers, lineage, sources, policy)
    return target / publish_io.MANIFEST
