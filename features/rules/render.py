"""Anomalies for people: each violated row as a question an inspector can put to the firm.

``anomaly_list`` turns examined rows into the list's columns: who follows it up (department),
topic, rule, severity, the firm, the period, both values with their labels, sources (the
contracts' own titles) and dates, and the rule's text in Chinese and English with the values
filled in. Values are formatted once here (thousands separators, percentages), so every output
(Excel, Parquet, the site) shows the same words.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import polars as pl

from data_contracts.rules import (
    SEVERITY_NAMES,
    CompareRule,
    GapCheck,
    LapseRule,
    LicenceState,
    Period,
    ScopeRule,
    Topics,
    anomaly_key,
)
from data_contracts.schema import SourceContract
from features.point_in_time import AS_OF, USCC
from features.rules.examined import MEASURE, PERIOD_KEY, PERIOD_START, RULE_ID, VIOLATED

Rule = CompareRule | LapseRule | ScopeRule
LANGS = ("zh", "en")
ANOMALY_SCHEMA: dict[str, pl.DataType] = {
    "anomaly_key": pl.String(),
    AS_OF: pl.Date(),
    "department": pl.String(),
    "department_zh": pl.String(),
    "topic": pl.String(),
    "topic_zh": pl.String(),
    "topic_en": pl.String(),
    RULE_ID: pl.String(),
    "rule_zh": pl.String(),
    "rule_en": pl.String(),
    "severity": pl.String(),
    "severity_zh": pl.String(),
    USCC: pl.String(),
    "firm_name": pl.String(),
    "sector": pl.String(),
    "district": pl.String(),
    "status": pl.String(),
    PERIOD_KEY: pl.String(),
    PERIOD_START: pl.Date(),
    "period_zh": pl.String(),
    "period_en": pl.String(),
    **{
        f"{side}_{field}": dtype
        for side in ("left", "right")
        for field, dtype in (
            ("label_zh", pl.String()),
            ("label_en", pl.String()),
            ("value_zh", pl.String()),
            ("value_en", pl.String()),
            ("source", pl.String()),
            ("source_zh", pl.String()),
            ("date", pl.Date()),
            ("arrived", pl.Datetime("us")),
        )
    },
    MEASURE: pl.Float64(),
    "measure_text": pl.String(),
    "text_zh": pl.String(),
    "text_en": pl.String(),
}
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def number(value: float | None) -> str:
    """12,345 / 12,345.67: no decimals for whole numbers, two otherwise."""
    if value is None:
        return ""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def percent(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value * 100:.0f}%"


def signed_percent(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value * 100:+.0f}%"


def period_text(rule: Rule, key: str, start: date | None) -> tuple[str, str]:
    """The period for the zh and en texts (2025 / 2025年3月 / 2025年第1季度)."""
    if not isinstance(rule, CompareRule) or start is None:
        return "", ""
    if rule.period == Period.year:
        return str(start.year), str(start.year)
    if rule.period == Period.month:
        return f"{start.year}年{start.month}月", f"{start:%Y-%m}"
    quarter = (start.month - 1) // 3 + 1
    return f"{start.year}年第{quarter}季度", f"{start.year} Q{quarter}"


def _compare_value(rule: CompareRule, side: str, row: dict[str, Any]) -> tuple[str, str]:
    spec = rule.side(side)
    text, value = row[f"{side}_text"], row[f"{side}_number"]
    if text is not None:
        return text, text
    shown = signed_percent(value) if spec.change else number(value)
    return shown, shown


def _licence(contracts: Mapping[str, SourceContract], source: str, number_: str) -> tuple[str, str]:
    title = contracts[source].title if source in contracts else None
    zh, en = (title.zh, title.en) if title else (source, source)
    return f"{zh}（编号 {number_}）", f"{en} no. {number_}"


def _values(
    rule: Rule, row: dict[str, Any], contracts: Mapping[str, SourceContract]
) -> dict[str, str]:
    """left/right value and label in zh and en, and the measure's text."""
    out: dict[str, str] = {}
    if isinstance(rule, CompareRule):
        for side in ("left", "right"):
            out[f"{side}_value_zh"], out[f"{side}_value_en"] = _compare_value(rule, side, row)
            label = rule.side(side).label
            out[f"{side}_label_zh"], out[f"{side}_label_en"] = label.zh, label.en
        out["measure_text"] = percent(row[MEASURE]) if isinstance(rule.check, GapCheck) else ""
        return out
    since = row["left_date"]
    if isinstance(rule, LapseRule):
        if isinstance(rule.state, LicenceState):
            zh, en = _licence(contracts, row["left_source"], row["left_text"] or "")
            out["left_value_zh"] = f"{zh}自 {since} 起已过期且未续期"
            out["left_value_en"] = f"the {en} lapsed on {since} and was not renewed"
            out["left_label_zh"], out["left_label_en"] = "证照状态", "licence status"
        else:
            status = row["left_text"] or ""
            out["left_value_zh"] = f"登记状态自 {since} 起为{status}"
            out["left_value_en"] = f"registration status {status} since {since}"
            out["left_label_zh"], out["left_label_en"] = "登记状态", "registration status"
        value = number(row["right_number"])
        out["right_value_zh"] = out["right_value_en"] = value
        label = rule.activity.label
        out["right_label_zh"], out["right_label_en"] = label.zh, label.en
        out["measure_text"] = number(row[MEASURE])
        return out
    zh, en = _licence(contracts, row["left_source"], row["left_text"] or "")
    out["left_value_zh"] = f"{zh}，有效期至 {since}"
    out["left_value_en"] = f"a {en}, valid to {since}"
    out["left_label_zh"], out["left_label_en"] = "持有许可证", "licence held"
    out["right_value_zh"] = out["right_value_en"] = row["right_text"] or ""
    out["right_label_zh"], out["right_label_en"] = "登记监管行业", "registered sector"
    out["measure_text"] = ""
    return out


def anomaly_list(
    examined: pl.DataFrame,
    rules: Mapping[str, Rule],
    topics: Topics,
    contracts: Mapping[str, SourceContract],
) -> pl.DataFrame:
    """The violated rows of ``examined`` as the anomaly list (``ANOMALY_SCHEMA``), ordered by
    department, topic, severity, rule, firm and period (a total order: the key is unique)."""
    return describe(examined.filter(pl.col(VIOLATED)), rules, topics, contracts)


def describe(
    examined: pl.DataFrame,
    rules: Mapping[str, Rule],
    topics: Topics,
    contracts: Mapping[str, SourceContract],
) -> pl.DataFrame:
    """Examined rows, violated or not, in the anomaly list's columns and order (the text of a
    row that is not violated still reads as the rule's question: it is for the record)."""
    rows = []
    for row in examined.iter_rows(named=True):
        rule = rules[row[RULE_ID]]
        topic = topics.topic(rule.topic)
        department = topics.department(rule.department)
        values = _values(rule, row, contracts)
        period_zh, period_en = period_text(rule, row[PERIOD_KEY], row[PERIOD_START])
        texts = {
            lang: getattr(rule.text, lang).format(
                left=values[f"left_value_{lang}"],
                right=values[f"right_value_{lang}"],
                period=period_zh if lang == "zh" else period_en,
                measure=values["measure_text"],
            )
            for lang in LANGS
        }
        sources = {}
        for side in ("left", "right"):
            source = row[f"{side}_source"]
            sources[f"{side}_source_zh"] = (
                contracts[source].title.zh if source in contracts else source
            )
        rows.append(
            {
                "anomaly_key": anomaly_key(rule.id, row[USCC], row[PERIOD_KEY]),
                AS_OF: row[AS_OF],
                "department": department.key,
                "department_zh": department.name.zh,
                "topic": topic.key,
                "topic_zh": topic.name.zh,
                "topic_en": topic.name.en,
                RULE_ID: rule.id,
                "rule_zh": rule.title.zh,
                "rule_en": rule.title.en,
                "severity": rule.severity.value,
                "severity_zh": SEVERITY_NAMES[rule.severity].zh,
                USCC: row[USCC],
                "firm_name": row["name"],
                "sector": row["sector"],
                "district": row["district"],
                "status": row["status"],
                PERIOD_KEY: row[PERIOD_KEY],
                PERIOD_START: row[PERIOD_START],
                "period_zh": period_zh,
                "period_en": period_en,
                **values,
                **sources,
                **{
                    f"{side}_{field}": row[f"{side}_{field}"]
                    for side in ("left", "right")
                    for field in ("source", "date", "arrived")
                },
                MEASURE: row[MEASURE],
                "text_zh": texts["zh"],
                "text_en": texts["en"],
            }
        )
    frame = pl.DataFrame(rows, schema=ANOMALY_SCHEMA, orient="row")
    topic_order = {t.key: i for i, t in enumerate(topics.topics)}
    department_order = {d.key: i for i, d in enumerate(topics.departments)}
    return frame.sort(
        pl.col("department").replace_strict(department_order, return_dtype=pl.Int32),
        pl.col("topic").replace_strict(topic_order, return_dtype=pl.Int32),
        pl.col("severity").replace_strict(SEVERITY_ORDER, return_dtype=pl.Int32),
        RULE_ID,
        USCC,
        PERIOD_KEY,
    )
