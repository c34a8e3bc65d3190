"""The rows behind each anomaly, as an inspector reads them: the rule's ``evidence`` columns of
its sources for the firm, as they stood at the as-of date.

For a compare rule the rows of the anomaly's period; for a lapse or scope rule those of the
licence in question (or, for other sources, the last year up to the as-of date). Newest first, at
most ``limit`` rows per anomaly and source (the registration master, a snapshot a week: its
latest row); labels come from the contracts. Point in time like the rules: only rows usable at
the as-of date, each key in its latest version then. One query per rule and source, however many
anomalies.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

import polars as pl

from data_contracts.rules import MASTER, CompareRule, period_index, period_start
from data_contracts.schema import SourceContract
from features.point_in_time import EVENT_DATE, USCC, valid_at
from features.rules.render import number
from features.source_set import SourceSet

EVIDENCE_SCHEMA: dict[str, pl.DataType] = {
    "anomaly_key": pl.String(),
    "source": pl.String(),
    "source_zh": pl.String(),
    "date": pl.Date(),
    "column": pl.String(),
    "column_zh": pl.String(),
    "column_en": pl.String(),
    "value": pl.String(),
}
LOOKBACK_DAYS = 366  # lapse and scope anomalies: the last year of the other sources
_ORDER = "_order"
_RANK = "_rank"


def _text(column: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A column as the text shown (numbers as the anomaly list writes them)."""
    if dtype.is_numeric():
        return column.cast(pl.Float64).map_elements(number, return_dtype=pl.String)
    return column.cast(pl.String).fill_null("")


def evidence(
    anomalies: pl.DataFrame,
    rules: Mapping[str, object],
    sources: Mapping[str, pl.LazyFrame],
    as_of: date,
    *,
    contracts: Mapping[str, SourceContract],
    limit: int = 12,
) -> pl.DataFrame:
    """One row per value shown (``EVIDENCE_SCHEMA``), in anomaly-list order; within an anomaly
    its sources in the rule's order, newest rows first, columns in the rule's order."""
    if anomalies.is_empty():
        return pl.DataFrame(schema=EVIDENCE_SCHEMA)
    firms = anomalies.select(USCC).unique().sort(USCC)
    source_set = SourceSet(sources, contracts).for_firms(firms)
    listed = anomalies.select(
        "anomaly_key", "rule_id", USCC, "period", "period_start"
    ).with_row_index(_ORDER)
    parts = []
    for rule_id in listed["rule_id"].unique().sort().to_list():
        rule = rules[rule_id]
        mine = listed.filter(pl.col("rule_id") == rule_id)
        for position, item in enumerate(rule.evidence):  # type: ignore[attr-defined]
            if item.source not in source_set:
                continue
            rows = _rows(rule, item.source, item.columns, mine, source_set, as_of, limit)
            contract = source_set.contracts[item.source]
            for column_position, column in enumerate(item.columns):
                label = contract.column(column).description
                parts.append(
                    rows.select(
                        _ORDER,
                        pl.lit(position).alias("_source_order"),
                        _RANK,
                        pl.lit(column_position).alias("_column_order"),
                        "anomaly_key",
                        pl.lit(item.source).alias("source"),
                        pl.lit(contract.title.zh).alias("source_zh"),
                        pl.col(EVENT_DATE).cast(pl.Date).alias("date"),
                        pl.lit(column).alias("column"),
                        pl.lit(label.zh).alias("column_zh"),
                        pl.lit(label.en).alias("column_en"),
                        _text(pl.col(column), rows.schema[column]).alias("value"),
                    )
                )
    if not parts:
        return pl.DataFrame(schema=EVIDENCE_SCHEMA)
    return (
        pl.concat(parts, how="vertical")
        .sort(_ORDER, "_source_order", _RANK, "_column_order")
        .select(list(EVIDENCE_SCHEMA))
    )


def _rows(
    rule,
    source: str,
    columns: list[str],
    anomalies: pl.DataFrame,
    sources: SourceSet,
    as_of: date,
    limit: int,
) -> pl.DataFrame:
    """The source's rows shown for each anomaly: ``_order`` (the anomaly's), ``_rank`` (0 =
    newest), anomaly_key, the event date and ``columns``."""
    contract = sources.contracts[source]
    arrival = contract.arrival_time
    keys = [k for k in contract.unique_key if k != contract.entity_key]
    wanted = list(dict.fromkeys([*columns, arrival, *keys]))
    rows = (
        sources.versions(source, wanted)
        .filter(valid_at(pl.lit(as_of)))
        .join(anomalies.lazy(), on=USCC, how="inner")
    )
    day = pl.col(EVENT_DATE)
    if isinstance(rule, CompareRule):
        start = pl.col("period_start")
        end = period_start(rule.period, period_index(rule.period, start) + 1)
        rows = rows.filter((day >= start) & (day < end))
    elif "licence_no" in contract.column_names:
        prefix = f"{source}/"
        mine = pl.col("period").str.starts_with(prefix)
        number_ = pl.col("period").str.slice(len(prefix))
        rows = rows.filter(~mine | (pl.col("licence_no") == number_))
        rows = rows.filter(mine | (day >= as_of - timedelta(days=LOOKBACK_DAYS)))
    else:
        rows = rows.filter(day >= as_of - timedelta(days=LOOKBACK_DAYS))
    shown = 1 if source == MASTER else limit
    newest = [EVENT_DATE, arrival, *keys]
    return (
        rows.sort([_ORDER, *newest], descending=[False] + [True] * len(newest))
        .with_columns(pl.int_range(pl.len()).over(_ORDER).alias(_RANK))
        .filter(pl.col(_RANK) < shown)
        .collect()
    )
