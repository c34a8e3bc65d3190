"""One shard's work (its firms' features, scores and explanations) and the task runner that runs
the shards: threads in this process, or a Dask cluster through prefect-dask (docs/scaling.md).

A shard task reads the lake or the scoring table itself (every worker sees the workdir: a local
disk for a LocalCluster, shared storage for a cluster of machines) and returns a small frame or
writes one file, so what crosses the network is a shard's result, never the lake.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from features.build import build_feature_table
from features.point_in_time import USCC
from features.shards import deal, gather_shards, shard_numbers
from models.baseline import scorer_from_bytes
from models.config import IndustrySpec
from pipelines import io, weekly_list
from pipelines.fact_corrections import read_corrections
from pipelines.file_io import replaced_on_success
from pipelines.settings import Settings

MASTER = "reg_enterprise_master"


class RunnerError(RuntimeError):
    """The Dask runner cannot be used as configured (``ews`` exits 2 on it)."""


def shard_firms(lake_dir: Path, shard: int, shards: int) -> pl.DataFrame:
    """The codes of shard ``shard`` of every firm the registration master names."""
    firms = io.scan_source(lake_dir, MASTER).select(USCC).unique().collect()[USCC]
    return deal(firms, shards)[shard]


def feature_shard(
    lake_dir: Path,
    as_of_dates: Sequence[dt.date],
    sectors: Sequence[str] | None,
    shard: int,
    shards: int,
    target: Path,
    corrections: Path | None = None,
) -> dict[str, Any]:
    """One shard's feature table (peer features left for the gather), written to ``target``;
    ``corrections``: the run's ``fact_corrections.parquet``."""
    firms = shard_firms(lake_dir, shard, shards)
    table = build_feature_table(
        io.lake_sources(lake_dir),
        as_of_dates,
        sectors=sectors,
        firms=firms,
        peers=False,
        corrections=read_corrections(corrections),
    ).collect()
    target.parent.mkdir(parents=True, exist_ok=True)
    table.write_parquet(target, compression="zstd", statistics=True)
    return {
        "shard": shard,
        "path": str(target),
        "rows": table.height,
        "bytes": target.stat().st_size,
        "worker": worker_name(),
    }


def gather_feature_shards(parts: Sequence[str], target: Path) -> Path:
    """The shards' tables as the one table a build over every firm writes, byte for byte."""
    table = gather_shards([pl.read_parquet(part) for part in parts])
    target.parent.mkdir(parents=True, exist_ok=True)
    with replaced_on_success(target) as tmp:
        table.write_parquet(tmp, compression="zstd", statistics=True)
    return target


def score_shard(
    table: Path, spec: IndustrySpec, model: bytes, shard: int, shards: int
) -> dict[str, Any]:
    """Scores and SHAP contributions of the industry's firms of one shard (each firm's score
    and contributions depend on its own row only). ``model``: the champion's bytes, whichever
    kind of scorer serves (a booster, or the logistic baseline the promotion gate fell back to)."""
    rows = weekly_list.industry_rows(pl.read_parquet(table), spec)
    mine = rows.filter(shard_numbers(rows[USCC], shards) == shard)
    scored, explanations = weekly_list.score_rows(scorer_from_bytes(model), mine)
    return {
        "shard": shard,
        "scored": scored,
        "explanations": explanations,
        "worker": worker_name(),
    }


def gather_scores(results: Sequence[dict[str, Any]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The shards' scores and explanations in the order ``score_rows`` gives them (by uscc)."""
    ordered = sorted(results, key=lambda r: r["shard"])
    scored = pl.concat([r["scored"] for r in ordered], how="vertical").sort(USCC)
    explanations = pl.concat([r["explanations"] for r in ordered], how="vertical").sort(USCC)
    return scored.rechunk(), explanations.rechunk()


def worker_name() -> str:
    """The Dask worker running this, or ``local`` outside a cluster."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "local"


def task_runner(settings: Settings) -> Any:
    """The task runner of a run with ``settings.runner``: None (the flow's own) for local,
    else a prefect-dask DaskTaskRunner on ``settings.dask_address`` or a LocalCluster of
    ``settings.dask_workers`` single-threaded worker processes.

    Refused in Prefect's ephemeral mode: every Dask worker would start a Prefect server of its
    own. Set PREFECT_API_URL to a server (docs/deployment.md)."""
    if settings.runner == "local":
        return None
    from prefect.settings import get_current_settings

    if not get_current_settings().api.url:
        raise RunnerError(
            "the dask runner needs a Prefect server: set PREFECT_API_URL (e.g. "
            "http://127.0.0.1:4200/api after `prefect server start`); in ephemeral mode every "
            "Dask worker would start a Prefect server of its own"
        )
    from prefect_dask import DaskTaskRunner

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": settings.dask_workers,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        }
    )
