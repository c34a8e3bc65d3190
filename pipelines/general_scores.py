"""The general model's weekly scores: ``publish/<week>/general/``.

Every enterprise outside the configured industries that the tier policy classes gets the general
model's calibrated probability each week (``models/industries.yaml``, block ``general``). There is
no regulator list and no explanation: the scores are the model step of each firm's credit risk
class (``pipelines.tiers`` reads them as it reads a list's ``scores.parquet``).

Files: ``scores.parquet`` (uscc, probability, tier by the model's own bounds, insufficient_data,
n_sources_known; by uscc) and ``manifest.json`` (week, as-of date, the model version, the scoring
table's hash, the code version, each file's SHA-256). The folder is written beside its target and
swapped in whole, like a list; ``ews audit verify`` scores the table again with the recorded model
version and compares.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl

from models.config import IndustrySpec
from models.pipeline import Scorer
from models.tiering import TierPolicy
from pipelines import audit, file_io, publish_io

SCORES = publish_io.SCORES
SCORE_SCHEMA = {
    "uscc": pl.String,
    "probability": pl.Float64,
    "tier": pl.String,
    "insufficient_data": pl.Boolean,
    "n_sources_known": pl.Int64,
}


def general_rows(table: pl.DataFrame, spec: IndustrySpec, policy: TierPolicy) -> pl.DataFrame:
    """The scoring table's rows the general model scores: its sector's firms the tier policy
    classes (individual businesses get no class, so no score), by uscc."""
    return table.filter(
        (pl.col("sector") == spec.sector_value) & ~policy.excluded(pl.col("uscc"))
    ).sort("uscc")


def score_general(model: Scorer, rows: pl.DataFrame, spec: IndustrySpec) -> pl.DataFrame:
    """The calibrated probability and the model's class of every row, by uscc. A firm with
    insufficient data keeps its row, with neither (as on a list)."""
    if rows.height:
        probability = pl.Series("probability", model.predict_proba(rows), dtype=pl.Float64)
    else:
        probability = pl.Series("probability", [], dtype=pl.Float64)
    insufficient = pl.col("insufficient_data").cast(pl.Boolean)
    return (
        rows.select(
            "uscc",
            probability,
            insufficient.alias("insufficient_data"),
            pl.col("n_sources_known").cast(pl.Int64),
        )
        .with_columns(probability=pl.when(~insufficient).then(pl.col("probability")))
        .with_columns(tier=spec.tier_expression(pl.col("probability")))
        .select(list(SCORE_SCHEMA))
        .cast(SCORE_SCHEMA)
        .sort("uscc")
    )


def write_general_scores(
    folder: Path,
    *,
    spec: IndustrySpec,
    model: Scorer,
    model_record: dict[str, Any],
    table_path: Path,
    workdir: Path,
    week: str,
    as_of: dt.date,
    policy: TierPolicy,
) -> Path:
    """scores.parquet and manifest.json into ``folder`` (a staged folder); returns the manifest.
    ``model_record``: name, version, run_id, kind, ... of the model version used."""
    rows = general_rows(pl.read_parquet(table_path), spec, policy)
    scores = score_general(model, rows, spec)
    publish_io.write_parquet(scores, folder / SCORES)
    scored = scores.filter(~pl.col("insufficient_data"))
    manifest = {
        "week": week,
        "as_of": as_of.isoformat(),
        "model_key": spec.key,
        "model": model_record,
        "scoring_table": {
            "path": table_path.relative_to(workdir).as_posix(),
            "sha256": file_io.file_sha256(table_path),
        },
        "counts": {
            "firms": scores.height,
            "scored": scored.height,
            "insufficient_data": scores.height - scored.height,
            "by_tier": {
                str(tier): count
                for tier, count in scored.group_by("tier").len().sort("tier").iter_rows()
            },
        },
        "code_version": audit.code_version(),
        "files": publish_io.file_hashes(folder),
    }
    return file_io.write_json(folder / publish_io.MANIFEST, manifest)


def publish_general_scores(target: Path, **arguments: Any) -> Path:
    """``write_general_scores`` into a folder swapped in at ``target`` whole; its manifest."""
    with publish_io.atomic_directory(target) as staged:
        write_general_scores(staged, **arguments)
    return target / publish_io.MANIFEST
