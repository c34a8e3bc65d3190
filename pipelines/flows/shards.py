"""Shard tasks: submitted by the features and publish flows to their task runner (threads, or a
Dask cluster through prefect-dask), one per shard of firms, then gathered in the flow's process.

Phase one is per shard (features without the peer comparisons; scores and SHAP contributions);
what crosses firms comes after, on the gathered shards: the sector medians of the peer features,
the ranking, the lists. Every gathered result equals the single-process one byte for byte.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext

from models.config import IndustrySpec
from pipelines import sharding


@task(name="feature-shard", task_run_name="feature-shard-{shard}", cache_policy=NO_CACHE)
def feature_shard_task(
    lake_dir: str,
    as_of_dates: list[dt.date],
    sectors: list[str] | None,
    shard: int,
    shards: int,
    target: str,
    corrections: str | None = None,
) -> dict[str, Any]:
    return sharding.feature_shard(
        Path(lake_dir),
        as_of_dates,
        sectors,
        shard,
        shards,
        Path(target),
        Path(corrections) if corrections else None,
    )


@task(name="score-shard", task_run_name="score-{spec.key}-shard-{shard}", cache_policy=NO_CACHE)
def score_shard_task(
    table: str, spec: IndustrySpec, model: bytes, shard: int, shards: int
) -> dict[str, Any]:
    return sharding.score_shard(Path(table), spec, model, shard, shards)


def sharded_feature_table(
    lake_dir: Path,
    as_of_dates: Sequence[dt.date],
    sectors: Sequence[str] | None,
    shards: int,
    target: Path,
    corrections: str | None = None,
) -> dict[str, Any]:
    """The feature table built shard by shard on the flow's task runner and gathered into
    ``target``; returns the shards' rows, part bytes and workers. Call from within a flow.
    ``corrections``: the run's ``fact_corrections.parquet``."""
    parts_dir = target.parent / f".{target.stem}.shards"
    shutil.rmtree(parts_dir, ignore_errors=True)
    try:
        futures = [
            feature_shard_task.submit(
                str(lake_dir),
                list(as_of_dates),
                list(sectors) if sectors is not None else None,
                shard,
                shards,
                str(parts_dir / f"shard-{shard:04d}.parquet"),
                corrections,
            )
            for shard in range(shards)
        ]
        parts = [future.result() for future in futures]
        sharding.gather_feature_shards([p["path"] for p in parts], target)
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)
    return {
        "path": str(target),
        "shards": [{k: p[k] for k in ("shard", "rows", "bytes", "worker")} for p in parts],
    }


def sharded_scores(
    table: Path, spec: IndustrySpec, model: bytes, shards: int
) -> tuple[Any, Any, list[dict[str, Any]]]:
    """Scores and explanations of the industry, shard by shard on the flow's task runner; with
    the shards' rows, workers and the bytes each returned (its two frames in memory, about what
    crosses from the worker). Call from within a flow."""
    futures = [
        score_shard_task.submit(str(table), spec, model, shard, shards) for shard in range(shards)
    ]
    results = [future.result() for future in futures]
    scored, explanations = sharding.gather_scores(results)
    placed = [
        {
            "shard": r["shard"],
            "rows": r["scored"].height,
            "bytes": r["scored"].estimated_size() + r["explanations"].estimated_size(),
            "worker": r["worker"],
        }
        for r in results
    ]
    return scored, explanations, placed


def current_task_runner() -> Any:
    """A fresh runner like the running flow's, for a subflow (None outside a flow)."""
    context = FlowRunContext.get()
    return context.task_runner.duplicate() if context is not None else None
