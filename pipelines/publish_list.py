"""Writing one industry's weekly publication folder, step by step.

``write_tables`` (scores, explanations, reasons with facts, leavers, history, masked profiles),
``write_plots`` (SHAP charts), ``write_list_files`` (risk_list.xlsx/.csv/.parquet) and
``write_manifest`` (lineage and the SHA-256 of every file) each fill the same folder, which the
publish flow then puts in place atomically. File names: ``pipelines.publish_io``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from data_contracts import catalog
from data_contracts.feedback import FeedbackContract, load_feedback
from data_contracts.schema import Bilingual
from features import registry
from features.credit_repair import repairs_in_force
from models.config import IndustrySpec
from models.explain import BASE_COLUMN
from models.objections import (
    EFFECT_SCHEMA,
    Decisions,
    apply_to_list,
    list_effects,
    withdraw_facts,
    withdrawn_facts,
)
from models.rank import compare_with_previous, leavers, rank_firms
from models.train import RiskModel, frame_inputs
from pipelines import file_io, timeline, weekly_list
from pipelines import publish_io as files
from pipelines.cases.objections import cited
from pipelines.feedback.workbook import inspection_inputs, notes_rows
from pipelines.site import change_label

HISTORY_NOTE = {
    "note_zh": "每个点为当周正式发布名单中的评分；未发布或数据不足的周没有点。",
    "note_en": "Each point is the score in that week's published list; weeks without one are gaps.",
}


def write_tables(
    folder: Path,
    *,
    spec: IndustrySpec,
    week: str,
    as_of: dt.date,
    table: pl.DataFrame,
    model: RiskModel,
    sources: dict[str, pl.LazyFrame],
    publish_root: Path,
    decisions: Decisions | None = None,
    scores: tuple[pl.DataFrame, pl.DataFrame] | None = None,
) -> dict[str, Any]:
    """Score, rank and explain the industry's firms and write the list's tables into ``folder``.

    Last week's list and the score history come from earlier publications under
    ``publish_root`` only (never re-scored), so the list can be re-derived exactly. People's
    ``decisions`` (overrides, upheld objections, as the case store stood at the week's cut-off)
    pin firms on or off the list and withdraw facts; ``decisions.json`` says which and why.
    ``scores``: the industry's scores and explanations as ``weekly_list.score_rows`` gives them,
    computed elsewhere (shard by shard); scored here otherwise.

    Returns what the manifest needs to say about the inputs (previous week, counts).
    """
    rows = weekly_list.industry_rows(table, spec)
    scored, explanations = weekly_list.score_rows(model, rows) if scores is None else scores
    ranked, applied, withdrawn = _apply_decisions(rank_firms(scored, spec), decisions, spec, week)

    previous, previous_meta = _previous(spec, week, publish_root)
    compared = compare_with_previous(ranked, previous)
    listed = compared.filter(pl.col("listed")).get_column("uscc").to_list()
    left = leavers(compared, previous)

    everyone = sorted({*rows["uscc"], *left["uscc"]})
    master = weekly_list.master_at(sources, everyone, as_of)
    names = master.select("uscc", "name")
    scrub = weekly_list.scrubber_for(sources, listed)

    # Written in rank order (the insufficient-data firms last, by uscc), a total order.
    scores = (
        compared.join(names, on="uscc", how="left", maintain_order="left")
        .join(rows.select("uscc", "district"), on="uscc", how="left", maintain_order="left")
        .select(
            "uscc",
            "name",
            "district",
            "probability",
            "margin",
            "rank",
            "tier",
            "listed",
            "insufficient_data",
            "n_sources_known",
            "previous_rank",
            "rank_change",
            "new_entrant",
            "model_listed",
            "list_basis",
            "decision_id",
            "decision_reason",
        )
    )
    reasons = weekly_list.reasons_with_facts(
        explanations, rows, frame_inputs(model), listed, sources, as_of, scrub
    )
    reasons = withdraw_facts(reasons, withdrawn)
    people = _decisions_file(decisions, week, spec.key, applied, reasons)
    history = weekly_list.score_history(publish_root, spec.key, week, ranked, listed)
    profiles = weekly_list.masked_profiles(master.filter(pl.col("uscc").is_in(listed)))

    files.write_parquet(scores, folder / files.SCORES)
    files.write_parquet(explanations, folder / files.EXPLANATIONS)
    files.write_parquet(reasons, folder / files.REASONS)
    leaving = left.join(names, on="uscc", how="left", maintain_order="left")
    files.write_parquet(leaving, folder / files.LEAVERS)
    files.write_parquet(history, folder / files.HISTORY)
    files.write_parquet(profiles, folder / files.FIRMS)
    file_io.write_json(folder / files.DECISIONS, people)
    return {
        "previous": previous_meta,
        "counts": {
            "firms": rows.height,
            "scored": scored.filter(~pl.col("insufficient_data")).height,
            "insufficient_data": scored.filter(pl.col("insufficient_data")).height,
            "listed": len(listed),
            "new_entrants": compared.filter(pl.col("new_entrant").fill_null(False)).height,
            "leavers": left.height,
            "pinned_on": applied.filter(pl.col("effect") == "override_on")["applied"].sum(),
            "pinned_off": applied.filter(pl.col("effect") == "override_off").height,
            "removed_by_objection": applied.filter(pl.col("effect") == "objection_upheld").height,
            "facts_withdrawn": reasons["facts_withdrawn"].list.len().sum(),
        },
        "decisions": people["cited"],
        "repairs": _repairs_cited(sources, as_of, rows),
        "history": {"weeks": history.get_column("as_of").n_unique(), **HISTORY_NOTE},
    }


def _repairs_cited(
    sources: dict[str, pl.LazyFrame], as_of: dt.date, rows: pl.DataFrame
) -> dict[str, Any]:
    """The credit repairs in force at ``as_of`` for the industry's firms (their records no
    longer count; docs/credit_repair.md), each cited by source, key and the SHA-256 of what it
    repairs and from when."""
    found = repairs_in_force(sources, catalog.load_all(), as_of).filter(
        pl.col("uscc").is_in(rows["uscc"].implode())
    )
    return {
        "count": found.height,
        "in_force": [
            {"source": r["repair_source"], "id": r["repair_key"], "sha256": r["sha256"]}
            for r in found.iter_rows(named=True)
        ],
    }


def _apply_decisions(
    ranked: pl.DataFrame, decisions: Decisions | None, spec: IndustrySpec, week: str
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The list after people's decisions, the effects (with ``applied``) and withdrawn facts."""
    day = timeline.published_on(week)
    if decisions is None:
        effects = pl.DataFrame(schema=EFFECT_SCHEMA)
        withdrawn = pl.DataFrame(schema={"uscc": pl.String, "fact_text": pl.String})
    else:
        effects = list_effects(
            decisions.objections, decisions.overrides, spec.key, day, decisions.policy
        )
        mine = decisions.objections.filter(pl.col("industry") == spec.key)
        withdrawn = withdrawn_facts(mine, day)
    listed, applied = apply_to_list(ranked, effects, spec.capacity_k)
    return listed, applied, withdrawn


def _decisions_file(
    decisions: Decisions | None,
    week: str,
    industry: str,
    applied: pl.DataFrame,
    reasons: pl.DataFrame,
) -> dict[str, Any]:
    """decisions.json: the overrides and objections this list applied, each cited by id and the
    SHA-256 of its state in the case store, and what each did."""
    withdrew = sorted({i for ids in reasons["facts_withdrawn"] for i in ids})
    used_objections = {*applied["decision_id"], *withdrew}
    cites = {"objections": [], "overrides": []}
    if decisions is not None:
        objections = decisions.objections.filter(pl.col("objection_id").is_in(used_objections))
        overrides = decisions.overrides.filter(
            pl.col("override_id").is_in(applied["decision_id"].implode())
        )
        cites = {
            "objections": cited(objections, "objection_id"),
            "overrides": cited(overrides, "override_id"),
        }
    return {
        "week": week,
        "industry": industry,
        "list": applied.sort("uscc").to_dicts(),
        "facts_withdrawn": [
            {"uscc": row["uscc"], "feature": row["feature"], "objections": row["facts_withdrawn"]}
            for row in reasons.filter(pl.col("facts_withdrawn").list.len() > 0)
            .sort("uscc", "feature")
            .iter_rows(named=True)
        ],
        "cited": cites,
    }


def _previous(
    spec: IndustrySpec, week: str, publish_root: Path
) -> tuple[pl.DataFrame | None, dict[str, Any]]:
    """Last week's published ranking, or None: "new" and "left" are relative to the list the
    regulator actually received."""
    last_week = timeline.previous_week(week)
    published = weekly_list.published_scores(publish_root, spec.key, last_week)
    if published is None:
        return None, {"kind": "none", "week": last_week}
    previous = pl.read_parquet(published).select("uscc", "probability", "rank", "listed")
    return previous, {
        "kind": "published",
        "week": last_week,
        "sha256": files.file_sha256(published),
    }


def feature_labels(names: list[str], chinese: bool) -> list[str]:
    """Chart labels: the registry's Chinese description when a Chinese font can draw it."""
    return [registry.spec(n).description.zh if chinese else n for n in names]


def write_plots(folder: Path, table: pl.DataFrame, feature_names: list[str]) -> int:
    """A SHAP waterfall per listed firm and a beeswarm of the list; returns the chart count."""
    from pipelines import shap_plots  # shap's import costs seconds: only when charts are drawn

    scores = pl.read_parquet(folder / files.SCORES)
    listed = scores.filter(pl.col("listed")).sort("rank").get_column("uscc").to_list()
    if not listed:
        return 0
    explanations = (
        pl.read_parquet(folder / files.EXPLANATIONS)
        .filter(pl.col("uscc").is_in(listed))
        .sort("uscc")
    )
    values = (
        table.filter(pl.col("uscc").is_in(listed))
        .sort("uscc")
        .select(pl.col(n).cast(pl.Float64) for n in feature_names)
        .to_numpy()
    )
    shap_values = explanations.select(feature_names).to_numpy()
    base = explanations.get_column(BASE_COLUMN).to_numpy()
    chinese = shap_plots.chinese_font() is not None
    labels = feature_labels(feature_names, chinese)
    missing = "无数据" if chinese else "no data"
    charts = [
        shap_plots.Waterfall(
            shap_values[i],
            float(base[i]),
            [missing if np.isnan(v) else f"{v:.4g}" for v in values[i]],
            folder / files.waterfall_path(u),
        )
        for i, u in enumerate(explanations.get_column("uscc"))
    ]
    shap_plots.draw_waterfalls(charts, labels)
    shap_plots.draw_beeswarm(shap_values, base, values, labels, folder / files.BEESWARM)
    return len(charts) + 1


def write_list_files(
    folder: Path,
    spec: IndustrySpec,
    inspection: dict[str, Bilingual],
    week: str,
    as_of: dt.date,
    previous_kind: str,
) -> None:
    """risk_list.parquet (canonical names, zh and en reasons), .xlsx and .csv (Chinese)."""
    scores = pl.read_parquet(folder / files.SCORES)
    reasons = pl.read_parquet(folder / files.REASONS)
    profiles = pl.read_parquet(folder / files.FIRMS)
    has_previous = previous_kind != "none"
    listed = scores.filter(pl.col("listed")).sort("rank")
    changes = [
        change_label(row["rank_change"], row["new_entrant"], has_previous).zh
        for row in listed.iter_rows(named=True)
    ]
    table = weekly_list.risk_list(scores, profiles, reasons, spec.name.zh, changes)
    files.write_parquet(table, folder / files.RISK_LIST_PARQUET)

    chinese = table.select(list(weekly_list.LIST_HEADERS)).rename(weekly_list.LIST_HEADERS)
    files.write_csv(chinese, folder / files.RISK_LIST_CSV)
    insufficient = (
        scores.filter(pl.col("insufficient_data"))
        .sort("uscc")
        .select(
            pl.col("uscc").alias("统一社会信用代码"),
            pl.col("name").alias("企业名称"),
            pl.col("district").alias("所属片区"),
            pl.col("n_sources_known").alias("有数据的来源数"),
        )
    )
    taken = weekly_list.taken_off(scores).rename(weekly_list.TAKEN_OFF_HEADERS)
    contract = load_feedback()
    layout = contract.workbook
    files.write_xlsx(
        [
            files.Sheet(
                layout.list_sheet,
                chinese,
                {"风险评分": "0.0%"},
                inputs=inspection_inputs(contract, week),
                protect=True,
            ),
            files.Sheet(
                "人工移出企业",
                taken,
                {"风险评分": "0.0%"},
                note="以下企业按模型排名在检查能力K之内，经分析人员调整或企业异议成立移出本周名单。",
                protect=True,
            ),
            files.Sheet(
                "数据不足企业",
                insufficient,
                note="以下企业数据来源过少，未评分、未排名，不代表低风险。",
                protect=True,
            ),
            files.Sheet(
                layout.notes_sheet,
                _notes(spec, inspection, week, as_of, contract),
                protect=True,
            ),
        ],
        folder / files.RISK_LIST_XLSX,
        stamp=dt.datetime.combine(as_of, dt.time()),
    )


def _notes(
    spec: IndustrySpec,
    inspection: dict[str, Bilingual],
    week: str,
    as_of: dt.date,
    contract: FeedbackContract,
) -> pl.DataFrame:
    bounds = {"A": f"< {spec.tiers['B']:.0%}"}
    for lower, upper in (("B", "C"), ("C", "D")):
        bounds[lower] = f"{spec.tiers[lower]:.0%} – {spec.tiers[upper]:.0%}"
    bounds["D"] = f"≥ {spec.tiers['D']:.0%}"
    rows = [
        (contract.workbook.week_item, week),
        ("数据截至", as_of.isoformat()),
        (contract.workbook.regulator_item, spec.regulator.zh),
        ("风险评分", f"未来{spec.horizon_days}天内发生“{spec.event_type}”的校准概率"),
        ("检查能力K", str(spec.capacity_k)),
        *(
            (f"{tier}级", f"风险评分 {bounds[tier]}；{inspection[tier].zh}")
            for tier in ("A", "B", "C", "D")
        ),
        ("个人信息", "法定代表人姓名、证件号码、电话均已脱敏"),
        *notes_rows(contract, spec),
    ]
    return pl.DataFrame(rows, schema={"项目": pl.String, "说明": pl.String}, orient="row")


def write_manifest(folder: Path, lineage: dict[str, Any]) -> Path:
    """manifest.json: the lineage given plus the SHA-256 of every other file in the folder."""
    hashes = {
        name: digest for name, digest in files.file_hashes(folder).items() if name != files.MANIFEST
    }
    return file_io.write_json(folder / files.MANIFEST, {**lineage, "files": hashes})
