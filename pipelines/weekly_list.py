"""One industry's weekly list as tables: scores, explanations, reasons with facts, history.

The steps the publish flow composes. Each takes frames or paths and returns frames; the pure
parts (ranking, explanation, reasons) live in ``models``; this module adds what needs the lake,
the scoring table and earlier publications.

The week: an ISO week ``YYYY-Www`` is published on its Monday morning, so its list uses the data
as of the **Sunday before** (the end of the previous ISO week). The feature layer counts a row at
T when it arrived by the end of day T; a Monday as-of would depend on what arrives during the
Monday after the list went out, and re-deriving the list later would give a different answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import polars as pl

from data_contracts import catalog
from features.facts import facts_for
from features.point_in_time import EVENT_DATE, USCC, valid_at
from features.source_set import SourceSet
from models.config import IndustrySpec
from models.explain import check_additivity, explanation_frame, top_reasons
from models.objections import BY_MODEL, LIST_BASIS_TEXT, OBJECTION_UPHELD, PINNED_OFF
from models.train import RiskModel
from pipelines.masking import TextScrubber, known_pii, mask_frame
from pipelines.publish_io import SCORES
from pipelines.timeline import previous_week, resolve_week

MASTER = "reg_enterprise_master"
PROFILE_COLUMNS = (
    "name",
    "district",
    "ownership_type",
    "established_date",
    "registered_capital",
    "registered_address",
    "legal_rep_name",
    "legal_rep_phone",
)
HISTORY_WEEKS = 8
TOP_REASONS = 3


# ---------------------------------------------------------------- scoring


def industry_rows(table: pl.DataFrame, spec: IndustrySpec) -> pl.DataFrame:
    """The scoring table's rows of one industry, by uscc."""
    return table.filter(pl.col("sector") == spec.sector_value).sort("uscc")


def _probability_and_margin(model: RiskModel, rows: pl.DataFrame) -> list[pl.Series]:
    """The calibrated probability, and the margin that orders firms the calibration ties."""
    if rows.height == 0:
        return [pl.Series("probability", [], pl.Float64), pl.Series("margin", [], pl.Float64)]
    margin = model.margin(rows)
    return [
        pl.Series("probability", model.calibrator(margin), dtype=pl.Float64),
        pl.Series("margin", margin, dtype=pl.Float64),
    ]


def score_rows(model: RiskModel, rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Calibrated probabilities for every row, SHAP contributions for the rows with enough data.

    Returns ``scored`` (uscc, probability, margin, insufficient_data, n_sources_known) and the
    explanation frame of the scored firms. The additivity check runs on every explained firm.
    """
    scored = rows.select(
        "uscc",
        *_probability_and_margin(model, rows),
        pl.col("insufficient_data").cast(pl.Boolean),
        pl.col("n_sources_known").cast(pl.Int64),
    )
    sufficient = rows.filter(~pl.col("insufficient_data"))
    uscc = sufficient.get_column("uscc").to_list()
    if sufficient.height:
        contributions = model.contributions(sufficient)
        check_additivity(contributions, model.margin(sufficient), uscc)
    else:
        contributions = np.empty((0, len(model.feature_names) + 1))
    return scored, explanation_frame(uscc, model.feature_names, contributions)


# ---------------------------------------------------------------- the registration master


def master_at(
    sources: Mapping[str, pl.LazyFrame], uscc: Sequence[str], as_of: dt.date
) -> pl.DataFrame:
    """Each firm's latest registration snapshot usable at ``as_of`` (raw, PII unmasked)."""
    if MASTER not in sources:
        raise KeyError(f"the lake has no {MASTER}: the list cannot name its firms")
    source_set = SourceSet({MASTER: sources[MASTER]})
    contract = catalog.get(MASTER)
    columns = [c for c in contract.column_names if c not in ("uscc", contract.arrival_time)]
    return (
        source_set.versions(MASTER, columns)
        .filter(pl.col(USCC).is_in(list(uscc)) & valid_at(pl.lit(as_of)))
        .sort(USCC, EVENT_DATE)
        .group_by(USCC, maintain_order=True)
        .last()
        .drop(EVENT_DATE, "_visible_from", "_valid_to")
        .collect()
    )


def masked_profiles(master: pl.DataFrame) -> pl.DataFrame:
    """The master's describing columns with every contract-flagged PII column masked (and the
    ID number left out: nothing in a list needs it)."""
    masked = mask_frame(master, catalog.get(MASTER))
    return masked.select("uscc", *[c for c in PROFILE_COLUMNS if c in masked.columns]).sort("uscc")


def scrubber_for(sources: Mapping[str, pl.LazyFrame], uscc: Sequence[str]) -> TextScrubber:
    """Masks these firms' raw PII, from every source that flags a PII column, wherever it might
    appear in free text (facts never show PII columns; this is the second line of defence)."""
    known = []
    firms = list(uscc)
    for source_id, frame in sorted(sources.items()):
        contract = catalog.get(source_id)
        if not contract.pii_columns:
            continue
        rows = (
            frame.filter(pl.col(contract.entity_key).is_in(firms))
            .select(contract.pii_columns)
            .unique()
            .collect()
        )
        known.extend(known_pii(rows, contract))
    return TextScrubber(known)


# ---------------------------------------------------------------- reasons and facts


def reasons_with_facts(
    explanations: pl.DataFrame,
    values: pl.DataFrame,
    feature_names: Sequence[str],
    listed: Sequence[str],
    sources: Mapping[str, pl.LazyFrame],
    as_of: dt.date,
    scrub: TextScrubber,
) -> pl.DataFrame:
    """Top reasons of each listed firm with the lake facts behind each (lists of zh/en)."""
    chosen = explanations.filter(pl.col("uscc").is_in(list(listed)))
    reasons = top_reasons(chosen, values, feature_names, k=TOP_REASONS)
    facts_schema = {"facts_zh": pl.List(pl.String), "facts_en": pl.List(pl.String)}
    if reasons.height == 0:
        return reasons.with_columns(
            pl.lit([], dtype=pl.List(pl.String)).alias(name) for name in facts_schema
        )
    facts = facts_for(
        sources,
        sorted(set(reasons["uscc"])),
        as_of,
        sorted(set(reasons["feature"])),
    )
    grouped = (
        facts.with_columns(
            pl.col("fact_zh").map_elements(scrub, return_dtype=pl.String),
            pl.col("fact_en").map_elements(scrub, return_dtype=pl.String),
        )
        .group_by("uscc", "feature", maintain_order=True)
        .agg(facts_zh=pl.col("fact_zh"), facts_en=pl.col("fact_en"))
    )
    return (
        reasons.with_columns(
            pl.col("reason_zh").map_elements(scrub, return_dtype=pl.String),
            pl.col("reason_en").map_elements(scrub, return_dtype=pl.String),
        )
        .join(grouped, on=["uscc", "feature"], how="left", maintain_order="left")
        .with_columns(
            pl.col(name).fill_null(pl.lit([], dtype=pl.List(pl.String))) for name in facts_schema
        )
        .sort("uscc", "reason_rank")
    )


# ---------------------------------------------------------------- last week and the weeks before


def published_scores(publish_root: Path, industry: str, week: str) -> Path | None:
    """The scores a week's published list was made from, if that week was published."""
    path = publish_root / week / industry / SCORES
    return path if path.is_file() else None


def score_history(
    publish_root: Path,
    industry: str,
    week: str,
    current: pl.DataFrame,
    uscc: Sequence[str],
    weeks: int = HISTORY_WEEKS,
) -> pl.DataFrame:
    """Each firm's published probability over the last ``weeks`` weeks, this week's included
    (``current``: this week's ranking, insufficient-data firms without a probability).

    Only what was published counts: earlier lists are fixed files, so the history (and the list
    that shows it) can be re-derived exactly. A week without a list, or in which the firm had
    insufficient data, has no point (a gap, never a low score).
    """
    schema = {"uscc": pl.String, "as_of": pl.Date, "probability": pl.Float64}
    this_week = resolve_week(week)[1]
    frames = [current.select("uscc", "probability").with_columns(as_of=pl.lit(this_week))]
    earlier = week
    for _ in range(weeks - 1):
        earlier = previous_week(earlier)
        path = published_scores(publish_root, industry, earlier)
        if path is not None:
            scores = pl.read_parquet(path, columns=["uscc", "probability"])
            frames.append(scores.with_columns(as_of=pl.lit(resolve_week(earlier)[1])))
    return (
        pl.concat([f.select(list(schema)).cast(schema) for f in frames])
        .filter(pl.col("uscc").is_in(list(uscc)) & pl.col("probability").is_not_null())
        .sort("uscc", "as_of")
    )


# ---------------------------------------------------------------- the list itself

# Column order and Chinese headers of risk_list.xlsx / .csv (risk_list.parquet keeps the
# canonical names and adds the English reasons).
LIST_HEADERS = {
    "rank": "排名",
    "uscc": "统一社会信用代码",
    "name": "企业名称",
    "industry": "行业",
    "district": "所属片区",
    "probability": "风险评分",
    "tier": "风险等级",
    "change": "较上周变化",
    "basis_zh": "列入依据",
    **{f"reason_{i}_zh": f"主要原因{i}" for i in range(1, TOP_REASONS + 1)},
}
# The firms people took off the list (an override or an upheld objection), for the workbook's
# sheet of their own: the model's rank and score stay beside the decision.
TAKEN_OFF_HEADERS = {
    "rank": "模型排名",
    "uscc": "统一社会信用代码",
    "name": "企业名称",
    "probability": "风险评分",
    "tier": "风险等级",
    "basis_zh": "移出依据",
    "decision_id": "决定编号",
    "decision_reason": "理由",
}


def basis_text(basis: pl.Expr, decision_id: pl.Expr, reason: pl.Expr) -> pl.Expr:
    """How a firm came to be on (or off) the list, in Chinese: ``模型排名`` for the model's own
    cut, else the decision's label, id and reason (人工列入（OVR-000001：…）)."""
    label = basis.fill_null(BY_MODEL).replace_strict(
        {k: zh for k, (zh, _) in LIST_BASIS_TEXT.items()}, return_dtype=pl.String
    )
    decided = pl.format("{}（{}：{}）", label, decision_id.fill_null("-"), reason.fill_null("-"))
    return pl.when(basis.fill_null(BY_MODEL) == BY_MODEL).then(label).otherwise(decided)


def risk_list(
    ranked: pl.DataFrame,
    profiles: pl.DataFrame,
    reasons: pl.DataFrame,
    industry_name: str,
    change_labels: Sequence[str],
) -> pl.DataFrame:
    """The listed firms in rank order with name, district, tier, change, what listed them
    (``basis_zh``: the model's rank, or the override pinning it on, by id and reason; the rank
    and score stay the model's) and reasons 1..3.

    ``change_labels`` is 较上周变化 for each listed firm, in rank order.
    """
    listed = ranked.filter(pl.col("listed")).sort("rank")
    if len(change_labels) != listed.height:
        raise ValueError(f"{len(change_labels)} change labels for {listed.height} listed firms")
    wide = _reasons_wide(reasons)
    return (
        listed.join(profiles.select("uscc", "name", "district"), on="uscc", how="left")
        .join(wide, on="uscc", how="left")
        .sort("rank")
        .with_columns(
            industry=pl.lit(industry_name),
            change=pl.Series(list(change_labels), dtype=pl.String),
            probability=pl.col("probability").round(6),
            basis_zh=_basis(listed),
        )
        .select(
            *LIST_HEADERS,
            *[f"reason_{i}_en" for i in range(1, TOP_REASONS + 1)],
        )
    )


def _basis(scores: pl.DataFrame) -> pl.Expr:
    if "list_basis" not in scores.columns:  # a list published before decisions existed
        return pl.lit(LIST_BASIS_TEXT[BY_MODEL][0])
    return basis_text(pl.col("list_basis"), pl.col("decision_id"), pl.col("decision_reason"))


def taken_off(scores: pl.DataFrame) -> pl.DataFrame:
    """The firms people took off the list, by model rank, under ``TAKEN_OFF_HEADERS``' names."""
    if "list_basis" not in scores.columns:
        return pl.DataFrame(schema=dict.fromkeys(TAKEN_OFF_HEADERS, pl.String))
    return (
        scores.filter(pl.col("list_basis").is_in((PINNED_OFF, OBJECTION_UPHELD)))
        .sort("rank", "uscc", nulls_last=True)
        .with_columns(
            probability=pl.col("probability").round(6),
            basis_zh=pl.col("list_basis").replace_strict(
                {k: zh for k, (zh, _) in LIST_BASIS_TEXT.items()}, return_dtype=pl.String
            ),
        )
        .select(*TAKEN_OFF_HEADERS)
    )


def _reasons_wide(reasons: pl.DataFrame) -> pl.DataFrame:
    """uscc and reason_<i>_<zh|en> for i = 1..TOP_REASONS (null where a firm has fewer)."""
    names = [f"reason_{i}_{lang}" for i in range(1, TOP_REASONS + 1) for lang in ("zh", "en")]
    if reasons.height == 0:
        return pl.DataFrame(schema={"uscc": pl.String, **dict.fromkeys(names, pl.String)})
    long = reasons.unpivot(
        on=["reason_zh", "reason_en"],
        index=["uscc", "reason_rank"],
        variable_name="lang",
        value_name="text",
    ).with_columns(column=pl.format("reason_{}_{}", "reason_rank", pl.col("lang").str.slice(-2)))
    wide = long.pivot(on="column", index="uscc", values="text")
    return wide.with_columns(
        pl.lit(None, dtype=pl.String).alias(n) for n in names if n not in wide.columns
    ).select("uscc", *names)
