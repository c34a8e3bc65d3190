"""Facts: the lake rows behind a feature, as short zh/en sentences for listed firms.

``facts_for`` answers "why does this firm score high on feature X?" with the evidence usable at
the as-of date (the same point-in-time rule as the features): the capital reductions with their
dates and amounts, the months in arrears, complaints by category with the latest date, each
penalty with its department, date and fine, ... Which rows back a feature is declared with the
feature, in its family module (``FeatureSpec.evidence``). Column labels and source titles come
from the contracts, so facts read in the departments' own terms. PII columns are never shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

import polars as pl

from data_contracts.schema import PII, Grain, SourceContract
from features.credit_repair import correctable
from features.family import AS_OF_COLUMN, Evidence
from features.point_in_time import EVENT_DATE, USCC, month_index, valid_at
from features.registry import spec
from features.source_set import SourceSet

FACT_COLUMNS = ("uscc", "feature", "fact_zh", "fact_en")
# Facts shown per firm and feature. A family of sources (eight social-insurance schemes, three
# energy meters) can yield dozens of rows; past this many a reader stops reading, so the rest
# are counted in one closing line.
MAX_FACTS_PER_FEATURE = 8
INDEX = "_index"
LEADS = "_leads"


def evidence_for(feature: str) -> tuple[Evidence, ...]:
    """The evidence of a registered feature, as its family declares it (empty when it has none,
    e.g. a coverage count)."""
    return spec(feature).evidence


def facts_for(
    sources: Mapping[str, pl.LazyFrame],
    uscc_list: Sequence[str],
    as_of: date,
    feature_names: Sequence[str],
    *,
    contracts: Mapping[str, SourceContract] | None = None,
    max_per_feature: int = MAX_FACTS_PER_FEATURE,
) -> pl.DataFrame:
    """One row per fact: uscc, feature, fact_zh, fact_en (firms and features in the order
    given; within a feature, its evidence in declared order, each source's newest rows first).
    Past ``max_per_feature`` facts for a firm and feature, one last line says how many more
    records there are."""
    firms, source_set = _for_firms(sources, contracts, uscc_list)
    rows: list[tuple[str, str, str, str]] = []
    for feature in dict.fromkeys(feature_names):
        window = _window(feature)
        per_firm: dict[str, list[tuple[bool, str, str]]] = {u: [] for u in firms}
        for evidence in evidence_for(feature):
            for uscc, leading, zh, en in _facts(source_set, evidence, firms, as_of, window):
                per_firm[uscc].append((leading, zh, en))
        for uscc in firms:
            ordered = sorted(per_firm[uscc], key=lambda fact: not fact[0])  # stable
            shown = _capped([(zh, en) for _, zh, en in ordered], max_per_feature)
            rows.extend((uscc, feature, zh, en) for zh, en in shown)
    frame = pl.DataFrame(rows, schema=dict.fromkeys(FACT_COLUMNS, pl.String), orient="row")
    order = {u: i for i, u in enumerate(firms)}
    return (
        frame.with_row_index("_n")
        .sort(pl.col("uscc").replace_strict(order, return_dtype=pl.Int64), "_n")
        .drop("_n")
    )


RECORD_COLUMNS = ("uscc", "feature", "fact_zh", "fact_en", "source", "record")


def fact_records(
    sources: Mapping[str, pl.LazyFrame],
    uscc_list: Sequence[str],
    as_of: date,
    features: Sequence[str],
) -> pl.DataFrame:
    """Every fact ``facts_for`` could show (none left out for length), with the record behind
    it: ``source`` and ``record`` (its one-column key), or a null record for a fact that is not
    one record (a summary, a month of a panel). What an objection to a fact is matched
    against."""
    firms, source_set = _for_firms(sources, None, uscc_list)
    rows: list[tuple[Any, ...]] = []
    for feature in dict.fromkeys(features):
        window = _window(feature)
        for evidence in evidence_for(feature):
            for uscc, _, zh, en, source, record in _facts(
                source_set, evidence, firms, as_of, window, with_records=True
            ):
                rows.append((uscc, feature, zh, en, source, record))
    schema = dict.fromkeys(RECORD_COLUMNS, pl.String)
    return pl.DataFrame(rows, schema=schema, orient="row").unique(maintain_order=True)


def _for_firms(
    sources: Mapping[str, pl.LazyFrame],
    contracts: Mapping[str, SourceContract] | None,
    uscc_list: Sequence[str],
) -> tuple[list[str], SourceSet]:
    """The firms (each once, in order) and the sources narrowed to them."""
    firms = list(dict.fromkeys(uscc_list))
    frame = pl.DataFrame({USCC: firms}, schema={USCC: pl.String})
    return firms, SourceSet(sources, contracts).for_firms(frame)


def _capped(facts: list[tuple[str, str]], limit: int) -> list[tuple[str, str]]:
    if len(facts) <= limit:
        return facts
    more = len(facts) - (limit - 1)  # at least 2: one shown line gives way to the count
    return [*facts[: limit - 1], (f"另有 {more} 条记录未列出", f"{more} more records not shown")]


def _window(feature: str) -> tuple[int | None, int | None]:
    """(days, periods) of the feature's window."""
    window = spec(feature).window
    if window is None:
        return None, None
    return window.days, window.periods


def _facts(
    sources: SourceSet,
    evidence: Evidence,
    firms: list[str],
    as_of: date,
    window: tuple[int | None, int | None],
    with_records: bool = False,
) -> list[tuple[Any, ...]]:
    """(uscc, leads, zh, en) per fact; ``leads`` marks rows matching ``evidence.first``.
    ``with_records``: (uscc, leads, zh, en, source, record), the record's one-column key or
    None for a fact that is not one record."""
    out: list[tuple[Any, ...]] = []
    for source_id in sources.family(evidence.family):
        contract = sources.contracts[source_id]
        key = contract.unique_key[0] if correctable(contract) else None
        shown = [
            c
            for c in evidence.shown
            if c in contract.column_names and contract.column(c).pii == PII.none
        ] or _default_shown(contract)
        # The rest of the record's key breaks ties in date (two linked firms closed the same
        # day): the facts' order must not depend on the order rows came out of the lake.
        tie_breakers = [k for k in contract.unique_key if k != contract.entity_key]
        rows = _usable(sources, source_id, evidence, [*shown, *tie_breakers], firms, as_of)
        if evidence.where is not None:
            rows = rows.with_columns(pl.lit(as_of).alias(AS_OF_COLUMN)).filter(evidence.where)
        days = evidence.window_days or window[0]
        if evidence.mode == "panel":
            rows = _panel_rows(rows, contract, evidence.lags, window[1])
        elif evidence.mode == "latest":
            rows = rows.filter(pl.col(EVENT_DATE) == pl.col(EVENT_DATE).max().over(USCC))
        elif days is not None:
            rows = rows.filter(pl.col(EVENT_DATE) > as_of - timedelta(days=days))
        rows = rows.sort(
            USCC, EVENT_DATE, *tie_breakers, descending=[False, True, *[False] * len(tie_breakers)]
        )
        if evidence.mode == "summary":
            out.extend(
                (u, False, zh, en, *((source_id, None) if with_records else ()))
                for u, zh, en in _summaries(rows, contract, evidence, days)
            )
        else:
            leads = evidence.first if evidence.first is not None else pl.lit(False)
            rows = rows.with_columns(leads.fill_null(False).alias(LEADS)).sort(
                LEADS, descending=True, maintain_order=True
            )
            for row in (
                rows.group_by(USCC, maintain_order=True).head(evidence.limit).iter_rows(named=True)
            ):
                fact = (row[USCC], row[LEADS], *_sentence(row, contract, shown))
                if with_records:
                    record = None if key is None or evidence.mode == "panel" else row[key]
                    fact = (*fact, source_id, None if record is None else str(record))
                out.append(fact)
    return out


def _usable(
    sources: SourceSet,
    source_id: str,
    evidence: Evidence,
    columns: list[str],
    firms: list[str],
    as_of: date,
) -> pl.DataFrame:
    """The versions of the firms' rows usable at ``as_of`` (one per record key), with
    ``columns`` and whatever the evidence's filter reads."""
    read = set(evidence.where.meta.root_names()) if evidence.where is not None else set()
    needed = ({*columns, *read} - {AS_OF_COLUMN}) & set(sources.contracts[source_id].column_names)
    return (
        sources.versions(source_id, sorted(needed))
        .filter(pl.col(USCC).is_in(firms) & valid_at(pl.lit(as_of)))
        .collect()
    )


def _panel_rows(
    rows: pl.DataFrame, contract: SourceContract, lags: tuple[int, ...] | None, periods: int | None
) -> pl.DataFrame:
    yearly = contract.grain == Grain.annual
    index = pl.col(EVENT_DATE).dt.year() if yearly else month_index(pl.col(EVENT_DATE))
    chosen = lags if lags is not None else tuple(range(periods or 12))
    indexed = rows.with_columns(index.cast(pl.Int32).alias(INDEX))
    return indexed.filter((pl.col(INDEX).max().over(USCC) - pl.col(INDEX)).is_in(list(chosen)))


def _summaries(
    rows: pl.DataFrame, contract: SourceContract, evidence: Evidence, days: int | None
) -> list[tuple[str, str, str]]:
    group = evidence.group_by if evidence.group_by in contract.column_names else None
    keys = [USCC, *([group] if group else [])]
    # The most frequent first, then the most recent, then by name: one row per key, a total order.
    counted = (
        rows.group_by(keys)
        .agg(pl.len().alias("n"), pl.col(EVENT_DATE).max().alias("latest"))
        .sort(
            USCC, "n", "latest", *keys[1:], descending=[False, True, True, *[False] * len(keys[1:])]
        )
    )
    span_zh = f"近{days}天" if days else "累计"
    span_en = f"in the last {days} days" if days else "to date"
    out = []
    for row in counted.iter_rows(named=True):
        kind_zh = f"「{row[group]}」" if group else ""
        kind_en = f" '{row[group]}'" if group else ""
        out.append(
            (
                row[USCC],
                f"{span_zh}{contract.title.zh}{kind_zh} {row['n']} 件，最近一次 {row['latest']}",
                f"{row['n']} {contract.title.en}{kind_en} {span_en}, latest on {row['latest']}",
            )
        )
    return out


def _sentence(row: dict, contract: SourceContract, shown: list[str]) -> tuple[str, str]:
    when = _when(row[EVENT_DATE], contract.grain)
    parts_zh, parts_en = [], []
    for name in shown:
        column = contract.column(name)
        text = _text(row.get(name))
        parts_zh.append(f"{_label(column.description.zh)} {text}")
        parts_en.append(f"{_label(column.description.en)} {text}")
    zh = f"{when} {contract.title.zh}" + (f"：{'；'.join(parts_zh)}" if parts_zh else "")
    en = f"{when} {contract.title.en}" + (f": {'; '.join(parts_en)}" if parts_en else "")
    return zh, en


def _default_shown(contract: SourceContract) -> list[str]:
    """Up to three describing columns of a source: not keys, names, times or PII."""
    skip = {
        contract.entity_key,
        contract.event_time,
        contract.arrival_time,
        "firm_name",
        *contract.unique_key,
    }
    return [
        c.name
        for c in contract.columns
        if c.name not in skip and c.pii == PII.none and c.type.value != "datetime"
    ][:3]


def _label(description: str) -> str:
    """A column description cut to its first clause."""
    return re.split(r"[，,;；]", description, maxsplit=1)[0].strip()


def _when(day: date, grain: Grain) -> str:
    if grain == Grain.monthly:
        return f"{day:%Y-%m}"
    if grain == Grain.annual:
        return f"{day:%Y}"
    return day.isoformat()


def _text(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)
