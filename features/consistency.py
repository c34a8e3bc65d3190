"""Cross-source consistency: the rules of ``data_contracts/consistency`` as model features.

One feature per topic of the rules (headcount, revenue, licence validity, ...): how many of the
topic's rules the firm contradicts at T. Each rule is evaluated by the rule engine
(``features.rules.evaluate``) on the feature table's grid, so a feature counts exactly the rules
an anomaly list at T would show for the firm (the latest periods each rule examines, only what had
arrived by T, each row in its latest version then). Nothing here restates a rule: names, texts,
sources and evidence all come from the rule files and ``topics.yaml``; a new rule joins its
topic's count by itself.

A topic is unknown (null) when none of its rules can run for want of a source; a firm the rules
examined nothing of counts 0. The grid holds active firms only, so rules about a cancelled
registration never fire here (they are for the anomaly lists).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from data_contracts.catalog import load_all
from data_contracts.rules import (
    ATTRIBUTES,
    LICENCE_COLUMNS,
    MASTER,
    MONTHS_PER_PERIOD,
    CompareRule,
    LapseRule,
    Topic,
    load_rules,
    load_topics,
)
from data_contracts.schema import Grain
from features.family import UP, Evidence, Family, FeatureSpec, Step, Unit, feature
from features.point_in_time import AS_OF, GRID_ROW, USCC
from features.profile import ACTIVE_STATUS
from features.rules import evaluate
from features.rules.examined import VIOLATED
from features.source_set import SourceSet, one

FAMILY_NAME = "consistency"
# Evidence from event sources (dishonesty lists, arrears notices): their last year up to T.
EVENT_EVIDENCE_DAYS = 366
_TOPIC = "_topic"


def feature_name(topic: str) -> str:
    return f"consistency_{topic}_rules_violated"


def _rules_by_topic() -> list[tuple[Topic, list]]:
    """Topics in ``topics.yaml`` order with their rules (by id); topics without a rule left out."""
    rules = load_rules()
    return [
        (topic, [rules[r] for r in sorted(rules) if rules[r].topic == topic.key])
        for topic in load_topics().topics
        if any(rule.topic == topic.key for rule in rules.values())
    ]


def _evidence_lags(rule, source: str) -> tuple[int, ...]:
    """The periods of a panel source shown with a rule: those it examines (from the latest)."""
    if isinstance(rule, CompareRule):
        grain = load_all()[source].grain
        periods = rule.lookback * (MONTHS_PER_PERIOD[rule.period] if grain == Grain.monthly else 1)
        return tuple(range(periods))
    if isinstance(rule, LapseRule):
        return tuple(range(rule.window_months))
    return tuple(range(12))


def rule_evidence(rules: Sequence) -> tuple[Evidence, ...]:
    """The rules' declared evidence (source and columns), once each, as feature evidence: the
    master's latest snapshot, a periodic source's periods the rule examines, a licence source's
    licences, an event source's rows of the last year."""
    out: dict[tuple[str, tuple[str, ...]], Evidence] = {}
    contracts = load_all()
    for rule in rules:
        for item in rule.evidence:
            key = (item.source, tuple(item.columns))
            if key in out:
                continue
            grain = contracts[item.source].grain
            family = one(item.source)
            if item.source == MASTER or grain == Grain.snapshot:
                out[key] = Evidence(family, key[1], mode="latest")
            elif grain in (Grain.monthly, Grain.annual):
                lags = _evidence_lags(rule, item.source)
                out[key] = Evidence(family, key[1], mode="panel", lags=lags)
            elif set(LICENCE_COLUMNS) <= set(contracts[item.source].column_names):
                # every licence the firm holds or held, newest first (issued years ago)
                out[key] = Evidence(family, key[1])
            else:
                out[key] = Evidence(family, key[1], window_days=EVENT_EVIDENCE_DAYS)
    return tuple(out.values())


def _spec(topic: Topic, rules: Sequence) -> FeatureSpec:
    titles_zh = "；".join(rule.title.zh for rule in rules)
    titles_en = "; ".join(rule.title.en for rule in rules)
    name_en = topic.name.en[0].lower() + topic.name.en[1:]
    sources = sorted({source for rule in rules for source in rule.sources()})
    return feature(
        feature_name(topic.key),
        FAMILY_NAME,
        [one(source) for source in sources],
        Unit.count,
        UP,
        (
            f"截至评估日不一致的{topic.name.zh}核对规则条数（共 {len(rules)} 条：{titles_zh}）",
            f"{topic.name.en} cross-source rules contradicted at the as-of date "
            f"(of {len(rules)}: {titles_en})",
        ),
        (
            f"{{value}} 条{topic.name.zh}跨部门核对规则不一致",
            f"{{value}} cross-source [check|checks] on {name_en} contradicted",
        ),
        evidence=rule_evidence(rules),
    )


TOPIC_RULES = _rules_by_topic()
SPECS = tuple(_spec(topic, rules) for topic, rules in TOPIC_RULES)


def rules_violated(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    """Per grid row and topic, how many of the topic's rules are violated at T (null for a topic
    none of whose rules can run); None when no rule can run."""
    present = set(grid.collect_schema().names())
    status = pl.col("status") if "status" in present else pl.lit(ACTIVE_STATUS)
    rule_grid = (
        grid.select(
            GRID_ROW, USCC, AS_OF, *(a for a in ATTRIBUTES if a in present and a != "status")
        )
        .with_columns(status.alias("status"))
        .collect()
        .lazy()
    )
    flagged: list[pl.DataFrame] = []
    runnable: set[str] = set()
    for topic, rules in TOPIC_RULES:
        for rule in rules:
            examined = evaluate(rule, rule_grid, sources)
            if examined is None:
                continue
            runnable.add(topic.key)
            # Collected rule by rule: one rule's intermediate frames in memory at a time.
            flagged.append(
                examined.filter(pl.col(VIOLATED))
                .select(GRID_ROW)
                .unique()
                .with_columns(pl.lit(topic.key).alias(_TOPIC))
                .collect()
            )
    if not runnable:
        return None
    counts = (
        pl.concat(flagged)
        .group_by(GRID_ROW, _TOPIC)
        .agg(pl.len().cast(pl.Float64).alias("_n"))
        .pivot(on=_TOPIC, index=GRID_ROW, values="_n")
    )
    out = rule_grid.select(GRID_ROW).collect().join(counts, on=GRID_ROW, how="left")
    columns = []
    for topic, _ in TOPIC_RULES:
        name = feature_name(topic.key)
        if topic.key not in runnable:
            columns.append(pl.lit(None, dtype=pl.Float64).alias(name))
        elif topic.key in out.columns:
            columns.append(pl.col(topic.key).fill_null(0.0).alias(name))
        else:  # runnable, violated nowhere
            columns.append(pl.lit(0.0).alias(name))
    return out.select(GRID_ROW, *columns).lazy()


FAMILY = Family(FAMILY_NAME, SPECS, steps=(Step(rules_violated, tuple(s.name for s in SPECS)),))
