"""Upheld objections to a fact, as the records they withdraw from the features.

An objection to a fact quotes one fact of a week's page (``ews objection file --subject fact``).
When it is upheld, the publication withdraws that text from the firm's reasons
(``models.objections.withdraw_facts``); this module also finds the **record** behind the fact, so
that the features stop counting it from the decision day, like a credit repair
(``features.credit_repair``; ``SourceSet(corrections=...)``): the fact is matched, in either
language, against every fact the firm's reasons could show that week (``facts.fact_records``, the
lake read as of the week's as-of date, exactly as the page was made).

A fact that is not one record (a count over a window, a month of a panel such as social
insurance arrears) cannot be withdrawn from a feature: the objection still withdraws the text,
and ``not_one_record`` lists it (the source has to deliver the correction, which the lake then
reads point in time).

The features flow writes what it applied to ``features/fact_corrections.parquet`` (one row per
upheld fact objection: the record, or why none) before building, and every build of the run reads
it: the scoring table, the history (a record counts for every as-of date before its decision, so
training stays honest) and each shard.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from features.credit_repair import REPAIRED_FROM, REPAIRED_RECORD, REPAIRED_SOURCE, REPAIRS_SCHEMA
from features.facts import fact_records
from models.objections import FACT, WITHDRAW_FACT, upheld
from pipelines import datasets, publish_io
from pipelines.cases import NOW, case_store_exists, open_store
from pipelines.cases.objections import objections as stored_objections
from pipelines.settings import Settings
from pipelines.timeline import park_today, resolve_week

FACT_NOT_FOUND = "fact_not_found"  # the page's facts no longer hold it (the lake was rewritten)
NOT_ONE_RECORD = "not_one_record"  # a summary or a panel month: no one record to withdraw
SCHEMA = {
    "objection_id": pl.String,
    "uscc": pl.String,
    "week": pl.String,
    "industry": pl.String,
    "fact_text": pl.String,
    "decided_on": pl.Date,
    REPAIRED_SOURCE: pl.String,
    REPAIRED_RECORD: pl.String,
    "unresolved": pl.String,  # null when the record was found, else why not
}


def resolve(
    objections: pl.DataFrame, sources: Mapping[str, pl.LazyFrame], publish_root: Path
) -> pl.DataFrame:
    """One row per upheld objection to a fact: the record it withdraws (source and key), or
    ``unresolved`` saying why there is none; by objection id."""
    decided = upheld(objections).filter(
        (pl.col("subject") == FACT) & (pl.col("remedy") == WITHDRAW_FACT)
    )
    rows: list[dict[str, Any]] = []
    for case in decided.sort("objection_id").iter_rows(named=True):
        _, as_of = resolve_week(case["week"])
        reasons = publish_root / case["week"] / case["industry"] / publish_io.REASONS
        features = (
            pl.read_parquet(reasons).filter(pl.col("uscc") == case["uscc"])["feature"].to_list()
            if reasons.is_file()
            else []
        )
        found = fact_records(sources, [case["uscc"]], as_of, features)
        text = (case["fact_text"] or "").strip()
        matched = found.filter(
            (pl.col("fact_zh").str.strip_chars() == text)
            | (pl.col("fact_en").str.strip_chars() == text)
        )
        records = matched.filter(pl.col("record").is_not_null())
        base = {k: case[k] for k in ("objection_id", "uscc", "week", "industry", "fact_text")}
        base["decided_on"] = case["decided_on"]
        if records.height:
            for source, record in records.select("source", "record").unique().sort("*").rows():
                rows.append(
                    {**base, REPAIRED_SOURCE: source, REPAIRED_RECORD: record, "unresolved": None}
                )
        else:
            why = NOT_ONE_RECORD if matched.height else FACT_NOT_FOUND
            rows.append({**base, REPAIRED_SOURCE: None, REPAIRED_RECORD: None, "unresolved": why})
    return pl.DataFrame(rows, schema=SCHEMA)


def as_corrections(resolved: pl.DataFrame) -> pl.DataFrame:
    """The records to withdraw, each from its decision day (``features.credit_repair``'s
    ``REPAIRS_SCHEMA``)."""
    return (
        resolved.filter(pl.col("unresolved").is_null())
        .select("uscc", REPAIRED_SOURCE, REPAIRED_RECORD, pl.col("decided_on").alias(REPAIRED_FROM))
        .cast(REPAIRS_SCHEMA)
        .sort("uscc", REPAIRED_SOURCE, REPAIRED_RECORD)
    )


def write_fact_corrections(settings: Settings, sources: Mapping[str, pl.LazyFrame]) -> Path | None:
    """``features/fact_corrections.parquet`` from the case store as it stands (a decision counts
    from its day, so an earlier as-of date is unaffected); None when no store exists yet."""
    path = datasets.FACT_CORRECTIONS.path(settings.workdir)
    if not case_store_exists(settings):
        path.unlink(missing_ok=True)
        return None
    store = open_store(settings)
    try:
        current = stored_objections(store, NOW, at=park_today())
    finally:
        store.dispose()
    resolved = resolve(current, sources, settings.publish)
    path.parent.mkdir(parents=True, exist_ok=True)
    resolved.write_parquet(path)
    return path


def read_corrections(path: str | Path | None) -> pl.DataFrame | None:
    """The records ``write_fact_corrections`` resolved, for a feature build (None: none)."""
    if path is None or not Path(path).is_file():
        return None
    return as_corrections(pl.read_parquet(path))
