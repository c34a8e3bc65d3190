"""What the credit evaluation and the credit lists say about each firm at an as-of date (pure).

``tier_components`` reads the sources the tier policy names (``models/tiering.yaml``) with the
same point-in-time rule as the features: a row counts at T once its event time and its arrival
are both on or before T, and a revised row replaces the earlier version from its own arrival.

* the public credit evaluation: the grade of the latest evaluation year in force at T, unless
  that year began more than ``max_age_days`` before T;
* each list: the earliest listing of the firm still in force at T (from its listing date for
  ``in_force_days``, or until the row's ``valid_until_column`` date when that comes first).

A source absent from ``sources`` contributes nothing; ``missing_sources`` names them, so the
caller can say so instead of reading "not listed" into a list it never saw.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import polars as pl

from data_contracts import catalog
from features.credit_repair import repair_sources
from features.point_in_time import EVENT_DATE, USCC, valid_at
from features.source_set import SourceSet
from models.tiering import COMPONENT_SCHEMA, TierPolicy

SCORE_COLUMNS = ("uscc", "model", "probability", "model_tier")


def policy_sources(policy: TierPolicy) -> list[str]:
    """Every source the policy reads, in policy order."""
    return list(
        dict.fromkeys(
            [policy.credit_evaluation.source, *(lst.source for lst in policy.lists.values())]
        )
    )


def missing_sources(sources: Mapping[str, pl.LazyFrame], policy: TierPolicy) -> list[str]:
    return [s for s in policy_sources(policy) if s not in sources]


def tier_components(
    scores: pl.DataFrame,
    sources: Mapping[str, pl.LazyFrame],
    as_of: dt.date,
    policy: TierPolicy,
) -> pl.DataFrame:
    """One row per firm of ``scores`` (uscc, model, probability, model_tier; null where no model
    scored the firm) with the credit evaluation and each list's in-force date added."""
    missing = [c for c in SCORE_COLUMNS if c not in scores.columns]
    if missing:
        raise ValueError(f"scores lack column(s) {missing}")
    firms = scores.select(SCORE_COLUMNS).cast(
        {c: t for c, t in COMPONENT_SCHEMA.items() if c in SCORE_COLUMNS}
    )
    # The repair sources too: a repaired listing stops counting from its repair
    # (features/credit_repair.py).
    read = [*policy_sources(policy), *repair_sources(catalog.load_all())]
    present = {s: sources[s] for s in read if s in sources}
    source_set = SourceSet(present)
    wanted = firms.select(USCC).lazy()
    frame = firms.join(
        _credit(source_set, wanted, as_of, policy), on=USCC, how="left", maintain_order="left"
    )
    for key, lst in policy.lists.items():
        column = policy.list_column(key)
        if lst.source in present:
            listed = _in_force(
                source_set,
                wanted,
                as_of,
                lst.source,
                lst.in_force_days,
                lst.valid_until_column,
                column,
            )
            frame = frame.join(listed, on=USCC, how="left", maintain_order="left")
        else:
            frame = frame.with_columns(pl.lit(None, dtype=pl.Date).alias(column))
    return frame.select(list(policy.component_schema())).sort(USCC)


def _credit(
    sources: SourceSet, wanted: pl.LazyFrame, as_of: dt.date, policy: TierPolicy
) -> pl.DataFrame:
    spec = policy.credit_evaluation
    empty = pl.DataFrame(
        schema={USCC: pl.String, "credit_grade": pl.String, "credit_year": pl.Date}
    )
    if spec.source not in sources:
        return empty
    oldest = as_of - dt.timedelta(days=spec.max_age_days)
    return (
        sources.versions(spec.source, [spec.grade_column])
        .join(wanted, on=USCC, how="semi")
        .filter(valid_at(pl.lit(as_of)) & (pl.col(EVENT_DATE) >= oldest))
        .sort(USCC, EVENT_DATE)
        .group_by(USCC, maintain_order=True)
        .last()
        .select(
            USCC,
            pl.col(spec.grade_column).cast(pl.String).alias("credit_grade"),
            pl.col(EVENT_DATE).alias("credit_year"),
        )
        .collect()
    )


def _in_force(
    sources: SourceSet,
    wanted: pl.LazyFrame,
    as_of: dt.date,
    source_id: str,
    in_force_days: int,
    valid_until_column: str | None,
    column: str,
) -> pl.DataFrame:
    columns = [valid_until_column] if valid_until_column else []
    rows = (
        sources.versions(source_id, columns)
        .join(wanted, on=USCC, how="semi")
        .filter(
            valid_at(pl.lit(as_of))
            & (pl.col(EVENT_DATE) + pl.duration(days=in_force_days) > pl.lit(as_of))
        )
    )
    if valid_until_column:
        until = pl.col(valid_until_column).cast(pl.Date)
        rows = rows.filter(until.is_null() | (until >= pl.lit(as_of)))
    return rows.group_by(USCC).agg(pl.col(EVENT_DATE).min().alias(column)).collect()
