"""`ews features`: the point-in-time feature table of one week, and the weekly training history.

Two tasks, each reading the lake itself and writing one Parquet file (paths in, paths out):
``features/as_of=<T>.parquet`` (every active firm at T, for scoring) and
``features/history.parquet`` (weekly as-of dates from six months after the data start up to T,
firms of the modelled industries only, for training) and, when the general model is declared,
``features/history_general.parquet`` (its firms, every other enterprise the tier policy classes,
sampled by its ``history`` block: every few weeks and at most so many firms, chosen by a hash of
the credit code; models.config.HistorySample). The history is built in blocks of weeks
of about a million firm-weeks each, so memory stays bounded however many firms are modelled.
Repairs naming a record the lake does not hold are listed in ``features/unresolved_repairs.csv``
(docs/credit_repair.md).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from data_contracts import catalog
from data_contracts.schema import Grain
from features.build import active_firm_count, build_feature_table
from features.credit_repair import unresolved_repairs
from models.config import IndustrySpec, load_config
from models.tiering import load_tier_policy
from pipelines import datasets, io
from pipelines.fact_corrections import read_corrections, write_fact_corrections
from pipelines.file_io import replaced_on_success
from pipelines.flows.shards import sharded_feature_table
from pipelines.settings import Settings
from pipelines.timeline import parse_day
from pipelines.workdir_lock import holds_workdir

# The history starts this long after the first month of data. Six months fill the 90- and
# 180-day windows; 12-month windows are still filling for the first half year (a feature reads
# what was known at the time, like a park whose sources joined recently). Waiting a full year
# would leave too few weeks for an out-of-time split with a 180-day horizon on three years.
WARM_UP_DAYS = 182
# Firm-weeks built per query when writing the history. Each query reads every source once, so
# fewer, larger blocks are faster (the demo park's 129 weeks: 17.8 s in blocks of 13 weeks, 6.0 s
# in one), while a block's output (~1 KB a firm-week) bounds memory for large industries.
HISTORY_BLOCK_ROWS = 1_000_000
# The history's blocks are written to ``.<history stem>.parts/`` beside it, removed once gathered.
PARTS_SUFFIX = ".parts"


def history_blocks(dates: Sequence[dt.date], firms_per_week: int) -> list[list[dt.date]]:
    """Consecutive blocks of ``dates``, each about ``HISTORY_BLOCK_ROWS`` firm-weeks."""
    weeks = max(1, HISTORY_BLOCK_ROWS // max(1, firms_per_week))
    return [list(dates[start : start + weeks]) for start in range(0, len(dates), weeks)]


def data_start(sources: dict[str, pl.LazyFrame]) -> dt.date | None:
    """The first month any monthly panel covers (the start of the simulated history)."""
    contracts = catalog.load_all()
    # One small query per source: a single plan over every source would open them all at once.
    firsts = [
        frame.select(pl.col(contracts[s].event_time).cast(pl.Date).min()).collect().item()
        for s, frame in sources.items()
        if contracts[s].grain == Grain.monthly
    ]
    values = [f for f in firsts if f is not None]
    return min(values) if values else None


def history_dates(as_of: dt.date, start: dt.date | None, weeks: int | None) -> list[dt.date]:
    """Weekly as-of dates ending at ``as_of``: the last ``weeks`` weeks, or from WARM_UP_DAYS
    after ``start``."""
    if weeks is not None:
        if weeks < 1:
            raise ValueError(f"history_weeks must be at least 1, not {weeks}")
        return [as_of - dt.timedelta(weeks=k) for k in range(weeks - 1, -1, -1)]
    if start is None:
        return [as_of]
    first = start + dt.timedelta(days=WARM_UP_DAYS)
    count = max((as_of - first).days // 7, 0)
    return [as_of - dt.timedelta(weeks=k) for k in range(count, -1, -1)]


@task(name="feature-table", cache_policy=NO_CACHE)
def feature_table_task(
    lake_dir: str, as_of: dt.date, target: str, corrections: str | None = None
) -> str:
    """Every active firm at ``as_of`` (``corrections``: the run's fact_corrections.parquet)."""
    table = build_feature_table(
        io.lake_sources(Path(lake_dir)), [as_of], corrections=read_corrections(corrections)
    )
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replaced_on_success(path) as tmp:
        table.collect().write_parquet(tmp, compression="zstd", statistics=True)
    return str(path)


def general_firms(sources: dict[str, pl.LazyFrame], spec: IndustrySpec) -> list[str]:
    """The general model's training firms: every firm the registration master ever delivered in
    its sector that the tier policy classes, sampled by the spec's ``history`` block."""
    master = sources["reg_enterprise_master"]
    codes = (
        master.filter(pl.col("sector") == spec.sector_value)
        .filter(~load_tier_policy().excluded(pl.col("uscc")))
        .select(pl.col("uscc").unique())
        .collect()
        .get_column("uscc")
        .to_list()
    )
    return spec.history.firms(codes) if spec.history is not None else sorted(codes)


@task(name="feature-history", cache_policy=NO_CACHE)
def feature_history_task(
    lake_dir: str,
    dates: Sequence[dt.date],
    sectors: Sequence[str],
    target: str,
    corrections: str | None = None,
    sample: IndustrySpec | None = None,
) -> str:
    """Weekly snapshots of the modelled industries' firms, one block of weeks per query (block
    size from the firm count at the last date). ``sample``: the general model's spec, whose
    ``history`` block keeps only some dates and firms of its sector."""
    sources = io.lake_sources(Path(lake_dir))
    withdrawn = read_corrections(corrections)
    path = Path(target)
    parts_dir = path.parent / f".{path.stem}{PARTS_SUFFIX}"
    shutil.rmtree(parts_dir, ignore_errors=True)
    parts_dir.mkdir(parents=True)
    kept = None
    if sample is not None:
        if sample.history is not None:
            dates = sample.history.dates(dates)
        kept = pl.DataFrame({"uscc": general_firms(sources, sample)}, schema={"uscc": pl.String})
    try:
        parts = []
        firms = active_firm_count(sources, dates[-1], sectors=sectors)
        if kept is not None:
            firms = min(firms, kept.height)
        for number, block in enumerate(history_blocks(dates, firms)):
            part = parts_dir / f"part-{number:04d}.parquet"
            build_feature_table(
                sources, block, sectors=sectors, corrections=withdrawn, firms=kept
            ).collect().write_parquet(part)
            parts.append(part)
        with replaced_on_success(path) as tmp:
            pl.scan_parquet(parts).sink_parquet(tmp, compression="zstd", statistics=True)
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)
    return str(path)


@task(name="unresolved-repairs", cache_policy=NO_CACHE)
def unresolved_repairs_task(lake_dir: str, target: str) -> dict[str, Any]:
    """Repairs naming a record no delivery holds: kept in the lake (the record may still come;
    arriving after its repair it never counts), listed with source, delivery, column and key."""
    found = unresolved_repairs(io.lake_sources(Path(lake_dir)), catalog.load_all())
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    found.write_csv(path)
    for reason in found["reason"].head(5):
        print(f"[ews features] unresolved repair: {reason}")
    return {"path": str(path), "count": found.height}


@task(name="fact-corrections", cache_policy=NO_CACHE)
def fact_corrections_task(workdir: str) -> str | None:
    """The records upheld objections to a fact withdraw (``pipelines.fact_corrections``),
    resolved once for every build of the run."""
    settings = Settings(workdir=Path(workdir))
    path = write_fact_corrections(settings, io.lake_sources(settings.lake))
    return str(path) if path is not None else None


@flow(name="features")
@holds_workdir("features")
def build_features_flow(
    workdir: str,
    as_of: dt.date | str | None = None,
    history_weeks: int | None = None,
    with_history: bool = True,
    shards: int | None = None,
) -> dict[str, Any]:
    """Write the scoring table of ``as_of`` (a date or ``YYYY-MM-DD``; default the park's
    today) and the weekly history up to it
    (``with_history=False``: the scoring table only, the history left as it is).

    ``shards``: build both shard by shard on the flow's task runner (a Dask cluster with
    ``ews features --runner dask``), the same files byte for byte (docs/scaling.md).

    Returns ``feature_table`` and ``feature_history`` (paths), ``as_of``, ``history_dates``
    (first and last), the row counts and, when sharded, each shard's rows and worker.
    """
    settings = Settings(workdir=Path(workdir))
    day = parse_day(as_of)
    lake = settings.lake
    if not io.lake_files(lake, "reg_enterprise_master"):
        raise FileNotFoundError(
            f"no registration master in the lake at {lake}: run `ews ingest` first"
        )
    dates = history_dates(day, data_start(io.lake_sources(lake)), history_weeks)
    config = load_config()
    sectors = [spec.sector_value for spec in config.industries.values()]
    target = datasets.SCORING_TABLE.path(settings.workdir, as_of=day)
    placed: dict[str, Any] = {}
    corrections = fact_corrections_task(str(settings.workdir))
    if shards:
        built = sharded_feature_table(lake, [day], None, shards, target, corrections)
        table, placed["feature_table"] = built["path"], built["shards"]
    else:
        table = feature_table_task(str(lake), day, str(target), corrections)
    history_file = datasets.FEATURE_HISTORY.path(settings.workdir)
    general_history = None
    if with_history or not history_file.is_file():
        if shards:
            built = sharded_feature_table(lake, dates, sectors, shards, history_file, corrections)
            history, placed["feature_history"] = built["path"], built["shards"]
        else:
            history = feature_history_task(
                str(lake), dates, sectors, str(history_file), corrections
            )
    else:
        history = str(history_file)
        span = pl.scan_parquet(history_file).select(
            pl.col("as_of").min().alias("first"), pl.col("as_of").max().alias("last")
        )
        dates = list(span.collect().row(0))
    general_file = datasets.FEATURE_HISTORY_GENERAL.path(settings.workdir)
    if config.general is not None and (with_history or not general_file.is_file()):
        # Not sharded: a sample of firms every few weeks, about the industries' weekly size.
        general_history = feature_history_task(
            str(lake),
            history_dates(day, data_start(io.lake_sources(lake)), history_weeks),
            [config.general.sector_value],
            str(general_file),
            corrections,
            sample=config.general,
        )
    unresolved = unresolved_repairs_task(
        str(lake), str(datasets.UNRESOLVED_REPAIRS.path(settings.workdir))
    )
    return {
        "feature_table": table,
        "feature_history": history,
        "as_of": day.isoformat(),
        "history_dates": [dates[0].isoformat(), dates[-1].isoformat()],
        "rows": pl.scan_parquet(table).select(pl.len()).collect().item(),
        "history_rows": pl.scan_parquet(history).select(pl.len()).collect().item(),
        **(
            {
                "feature_history_general": general_history,
                "history_general_rows": pl.scan_parquet(general_history)
                .select(pl.len())
                .collect()
                .item(),
            }
            if general_history
            else {}
        ),
        "unresolved_repairs": unresolved,
        "fact_corrections": corrections,
        **({"shards": placed} if shards else {}),
    }
