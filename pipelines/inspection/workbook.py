"""A department's monthly plan as the workbook it works from (Chinese headers).

Sheets: 抽查名单 (the firms, their class, how each was chosen and its two inspectors),
顺延必查企业 (mandatory firms beyond the capacity, when any), 抽查比例 (each class's firms,
exclusions, rate and draw) and 说明 (month, seed, tier snapshot, capacity, warnings). Inspectors
appear by certificate number with a masked name. Every text cell that could start a formula is
neutralised when written (``publish_io.write_xlsx``, ``pipelines.spreadsheet_safety``); the
document's clock is the month's first day, so the same plan gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl

from models.config import load_config
from models.inspection_plan import BY_SCORE, CENSUS, MANDATORY, DepartmentDraw
from pipelines import publish_io
from pipelines.site_tiers import BASIS_NAMES
from pipelines.tiers import industry_names
from pipelines.timeline import stored_day

SELECTION = {MANDATORY: "必查", "random": "随机抽取"}
DESIGN = {CENSUS: "全部必查", "random_sample": "简单随机抽样", BY_SCORE: "能力不足，按评分排序"}


def _inspector(roster: pl.DataFrame) -> dict[str, str]:
    return {
        row["inspector_id"]: f"{row['name']}（{row['inspector_id']}）"
        for row in roster.iter_rows(named=True)
    }


def plan_sheet(plan: pl.DataFrame, roster: pl.DataFrame) -> pl.DataFrame:
    names = {k: v[0] for k, v in industry_names(load_config()).items()}
    who = _inspector(roster)
    columns = sorted(c for c in plan.columns if c.startswith("inspector_"))
    return plan.with_row_index("序号", offset=1).select(
        "序号",
        pl.col("uscc").alias("统一社会信用代码"),
        pl.col("name").alias("企业名称"),
        pl.col("industry").replace_strict(names, default=None).alias("行业"),
        pl.col("district").alias("所属片区"),
        pl.col("tier").alias("信用风险分类"),
        pl.col("basis").replace_strict({k: v[0] for k, v in BASIS_NAMES.items()}).alias("分类依据"),
        pl.col("selection").replace_strict(SELECTION).alias("抽取方式"),
        pl.col("probability").alias("模型评分"),
        *[
            pl.col(c).replace_strict(who, default=pl.col(c)).alias(f"检查人员{c.rsplit('_', 1)[1]}")
            for c in columns
        ],
    )


def deferred_sheet(deferred: pl.DataFrame) -> pl.DataFrame:
    return deferred.with_row_index("顺延序号", offset=1).select(
        "顺延序号",
        pl.col("uscc").alias("统一社会信用代码"),
        pl.col("name").alias("企业名称"),
        pl.col("tier").alias("信用风险分类"),
        pl.col("probability").alias("模型评分"),
    )


def strata_sheet(strata: pl.DataFrame, months: int) -> pl.DataFrame:
    return strata.sort("tier", descending=True).select(
        pl.col("tier").alias("信用风险分类"),
        pl.col("firms").alias("所辖企业"),
        pl.col("excluded").alias(f"近{months}个月已检查或抽取"),
        pl.col("eligible").alias("可抽取"),
        pl.col("rate").alias("配置抽查比例"),
        pl.col("drawn").alias("实际抽取"),
        pl.col("inclusion").alias("实际抽取比例"),
        pl.col("design").replace_strict(DESIGN).alias("抽取方式"),
    )


def notes_sheet(summary: dict[str, Any]) -> pl.DataFrame:
    snapshot = summary["tier_snapshot"]
    rows = [
        ("计划月份", summary["month"]),
        ("执法部门", summary["department"]["zh"]),
        ("所辖行业", "、".join(summary["industries"])),
        ("随机种子", summary["seed"]),
        ("种子与抽取规则", summary["seed_rule"]),
        ("数据截至", summary["as_of"]),
        ("信用风险分类快照", f"{snapshot['week']}（数据截至 {snapshot['as_of']}）"),
        ("快照SHA-256", snapshot["sha256"]),
        ("当月检查能力（户）", str(summary["capacity"])),
        ("在岗检查人员", str(summary["roster"]["on_duty"])),
        ("每户检查人员", "2 名，随机选派；回避申报冲突及上次检查该企业的人员"),
        ("检查人员", "以执法证号标识，姓名已脱敏"),
        *(("提示", w["zh"]) for w in summary["warnings"]),
    ]
    return pl.DataFrame(rows, schema={"项目": pl.String, "说明": pl.String}, orient="row")


def write_plan_workbook(
    path: Path,
    summary: dict[str, Any],
    draw: DepartmentDraw,
    roster: pl.DataFrame,
    exclude_months: int,
) -> Path:
    sheets = [
        publish_io.Sheet(
            "抽查名单",
            plan_sheet(draw.plan, roster),
            {"模型评分": "0.0%"},
            note=None if draw.plan.height else "本月无抽查对象，见“说明”。",
        )
    ]
    if draw.deferred.height:
        sheets.append(
            publish_io.Sheet(
                "顺延必查企业",
                deferred_sheet(draw.deferred),
                {"模型评分": "0.0%"},
                note="检查能力不足，以下必查企业顺延至下月，按模型评分从高到低排列。",
            )
        )
    sheets += [
        publish_io.Sheet(
            "抽查比例",
            strata_sheet(draw.strata, exclude_months),
            {"配置抽查比例": "0.00%", "实际抽取比例": "0.00%"},
        ),
        publish_io.Sheet("说明", notes_sheet(summary)),
    ]
    first = stored_day(summary["as_of"], "plan summary as_of") + dt.timedelta(days=1)
    return publish_io.write_xlsx(sheets, path, stamp=dt.datetime.combine(first, dt.time()))
