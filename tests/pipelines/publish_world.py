"""A tiny workdir to publish from: a lake (registration master with PII, 12345 complaints with
callers' phones, legal-representative changes, pension contributions), a ledger and an ingest
summary, weekly scoring tables with every registry column (this week's and three before, also
stacked as the feature history), and a small champion per industry and for the general model in
an in-memory registry.
Finance has more firms than its capacity K, so its list has a cut, entrants and leavers.

Firms' names never contain a person's name, so any raw PII value found in an output is a leak.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import xgboost as xgb

from data_contracts import catalog
from data_contracts.checksums import id_number_check
from features import registry
from models.calibrate import Calibrator
from models.config import IndustryConfig, load_config, load_models
from models.promotion import Decision
from models.train import RiskModel
from pipelines import io
from pipelines.settings import Settings
from pipelines.tracking import NullTracker, RunRecord

WEEK = "2026-W47"
INGEST_RUN = "20261111T020000-bbbbbb"  # the ingest run that wrote the ledger's lines
AS_OF = date(2026, 11, 15)  # the Sunday before 2026-W47's Monday
FIRMS_PER_INDUSTRY = {"finance": 12, "manufacturing": 7, "education": 5, "other": 3}
FINANCE_CAPACITY = 5  # fewer than the finance firms, so the list has a cut
SECTOR = {"finance": "金融", "manufacturing": "制造业", "education": "教育培训", "other": "其他"}
DISTRICTS = ("湖西", "湖东", "金鸡湖商务区", "独墅湖科教创新区", "斜塘", "娄葑", "唯亭", "胜浦")
TRADE = ("锦程", "恒达", "瑞丰", "鼎新", "华腾", "博远", "嘉和", "启明", "晨曦", "远航")
LINE = {
    "finance": "融资租赁",
    "manufacturing": "精密机械",
    "education": "培训学校",
    "other": "商贸",
}
SURNAMES = ("欧阳", "司马", "诸葛", "上官", "皇甫", "东方", "慕容", "令狐")
GIVEN = ("子涵", "雨桐", "浩然", "思远", "梓萱", "若曦", "俊杰", "嘉懿")
EARLIER_WEEKS = 3  # scoring tables before this week, so earlier weeks can be published


@dataclass(frozen=True)
class World:
    settings: Settings
    tracker: NullTracker
    firms: pl.DataFrame  # uscc, name, sector key, PII columns
    pii_values: tuple[str, ...]  # every raw PII value in the lake


def world_config() -> IndustryConfig:
    """The shipped industries with a finance capacity small enough for this world."""
    config = load_config()
    finance = config.industries["finance"].model_copy(update={"capacity_k": FINANCE_CAPACITY})
    return config.model_copy(update={"industries": {**config.industries, "finance": finance}})


def uscc_for(i: int) -> str:
    return f"91320594MA{i:07d}Y"


def build_world(root: Path, seed: int, names: Mapping[str, str] | None = None) -> World:
    """The world; ``names`` replaces the registered names of some firms (uscc -> name), e.g. to
    plant names that a spreadsheet would run as formulas."""
    rng = np.random.default_rng(seed)
    settings = Settings(workdir=root, operator="publisher-test")
    firms = _firms(rng)
    if names:
        firms = firms.with_columns(
            pl.col("uscc").replace_strict(names, default=pl.col("name")).alias("name")
        )
    _write_lake(settings, firms, rng)
    _write_ingest_summary(settings)
    names = registry.feature_names()
    snapshots = [AS_OF - timedelta(weeks=k) for k in range(EARLIER_WEEKS, -1, -1)]
    tables = {day: _feature_table(firms, day, names, rng) for day in snapshots}
    settings.features.mkdir(parents=True, exist_ok=True)
    for day, table in tables.items():
        table.write_parquet(settings.features / f"as_of={day.isoformat()}.parquet")
    # The weekly feature history, as the features flow writes it (the audit tests read it).
    history = pl.concat([tables[d] for d in snapshots]).filter(pl.col("sector") != "其他")
    history.write_parquet(settings.features / "history.parquet")
    tracker = _champions(names, seed)
    pii = tuple(
        sorted(
            {
                *firms["legal_rep_name"],
                *firms["legal_rep_id_number"],
                *firms["legal_rep_phone"],
                *firms["caller_phone"],
                *firms["new_legal_rep_name"],
            }
        )
    )
    return World(settings, tracker, firms, pii)


def _firms(rng: np.random.Generator) -> pl.DataFrame:
    rows = []
    i = 0
    for industry, count in FIRMS_PER_INDUSTRY.items():
        for j in range(count):
            rows.append(
                {
                    "uscc": uscc_for(i),
                    "name": f"苏州{TRADE[j % len(TRADE)]}{LINE[industry]}有限公司{i:02d}号",
                    "industry": industry,
                    "sector": SECTOR[industry],
                    "district": DISTRICTS[i % len(DISTRICTS)],
                    "legal_rep_name": SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 3) % len(GIVEN)],
                    "legal_rep_id_number": _id_number(i, rng),
                    "legal_rep_phone": f"139{i:04d}{int(rng.integers(1000, 9999))}",
                    "caller_phone": f"137{i:04d}{int(rng.integers(1000, 9999))}",
                    "new_legal_rep_name": SURNAMES[(i + 3) % len(SURNAMES)] + GIVEN[i % len(GIVEN)],
                }
            )
            i += 1
    return pl.DataFrame(rows)


def _id_number(i: int, rng: np.random.Generator) -> str:
    """A well-formed resident ID (birth date and check character), so shape detection applies."""
    first17 = f"3205831985{1 + i % 12:02d}{1 + i % 28:02d}{int(rng.integers(0, 1000)):03d}"
    return first17 + str(id_number_check([first17])[0])


def _lake_frame(source_id: str, rows: list[dict]) -> pl.DataFrame:
    """Rows typed as the lake stores the source (absent columns null)."""
    schema = io.lake_schema(catalog.get(source_id))
    frame = pl.DataFrame(rows)
    return frame.select(
        pl.col(n).cast(t) if n in frame.columns else pl.lit(None, dtype=t).alias(n)
        for n, t in schema.items()
    )


def _write_lake(settings: Settings, firms: pl.DataFrame, rng: np.random.Generator) -> None:
    delivery = "2026-11-10"
    arrived = datetime.combine(date(2026, 11, 10), time(9))
    ingested = datetime.combine(date(2026, 11, 11), time(2))
    common = {"arrived_at": arrived, "_delivery_id": delivery, "_ingested_at": ingested}
    master = [
        {
            "uscc": f["uscc"],
            "name": f["name"],
            "sector": f["sector"],
            "district": f["district"],
            "ownership_type": "民营",
            "established_date": date(2015, 3, 1),
            "registered_capital": 1000.0,
            "status": "存续",
            "registered_address": f"苏州工业园区星湖街{k + 1}号",
            "legal_rep_name": f["legal_rep_name"],
            "legal_rep_id_number": f["legal_rep_id_number"],
            "legal_rep_phone": f["legal_rep_phone"],
            "snapshot_date": date(2026, 11, 9),
            **common,
        }
        for k, f in enumerate(firms.iter_rows(named=True))
    ]
    complaints = [
        {
            "ticket_id": f"T{k:05d}{n}",
            "uscc": f["uscc"],
            "received_date": date(2026, 10, 1) + timedelta(days=int(rng.integers(0, 30))),
            "category": "拖欠工资",
            "caller_phone": f["caller_phone"],
            **common,
        }
        for k, f in enumerate(firms.iter_rows(named=True))
        for n in range(k % 3)
    ]
    changes = [
        {
            "change_id": f"C{k:05d}",
            "uscc": f["uscc"],
            "firm_name": f["name"],
            "change_date": date(2026, 9, 20),
            "old_legal_rep_name": f["legal_rep_name"],
            "new_legal_rep_name": f["new_legal_rep_name"],
            **common,
        }
        for k, f in enumerate(firms.iter_rows(named=True))
        if k % 2 == 0
    ]
    pension = [
        {
            "uscc": f["uscc"],
            "firm_name": f["name"],
            "period": date(2026, month, 1),
            "insured_count": 40,
            "contribution_base": 6000.0,
            "amount_due": 38_400.0,
            "amount_paid": 38_400.0 if (k + month) % 3 else 12_000.0,
            "arrears_amount": 0.0 if (k + month) % 3 else 26_400.0,
            **common,
        }
        for k, f in enumerate(firms.iter_rows(named=True))
        for month in range(5, 11)
    ]
    ledger = []
    for source_id, rows in (
        ("reg_enterprise_master", master),
        ("complaint_12345", complaints),
        ("reg_legal_rep_change", changes),
        ("si_pension", pension),
    ):
        io.write_partition(settings.lake, source_id, delivery, _lake_frame(source_id, rows))
        ledger.append(
            {
                "source": source_id,
                "delivery_id": delivery,
                "sha256": f"{len(rows):064d}",
                "rows": len(rows),
                "run_id": INGEST_RUN,
            }
        )
    io.append_ledger(settings.lake, ledger)


def _write_ingest_summary(settings: Settings) -> None:
    for run, ids in (
        ("20261110T020000-aaaaaa", ["gx-old-1"]),
        (INGEST_RUN, ["gx-result-2", "gx-result-1"]),
    ):
        folder = settings.ingest_runs / run
        folder.mkdir(parents=True, exist_ok=True)
        summary = {"run_id": run, "validation_result_ids": ids}
        (folder / "ingest_summary.json").write_text(json.dumps(summary), encoding="utf-8")


def _feature_table(
    firms: pl.DataFrame, day: date, names: list[str], rng: np.random.Generator
) -> pl.DataFrame:
    n = firms.height
    insufficient = np.zeros(n, dtype=bool)
    insufficient[[1, FIRMS_PER_INDUSTRY["finance"] + 2]] = True  # one finance, one manufacturing
    columns: dict[str, object] = {
        "uscc": firms["uscc"],
        "as_of": [day] * n,
        "sector": firms["sector"],
        "district": firms["district"],
        "ownership_type": ["民营"] * n,
        "size_band": ["小型"] * n,
        "insufficient_data": insufficient,
    }
    for name in names:
        values = rng.poisson(1.0, n).astype(np.float64)
        values[rng.random(n) < 0.1] = np.nan
        columns[name] = values
    columns["n_sources_known"] = np.where(insufficient, 1.0, 12.0)
    ordered = ["uscc", "as_of", *registry.column_names()]
    return pl.DataFrame(columns).with_columns(pl.col(pl.Float64).fill_nan(None)).select(ordered)


def _champions(names: list[str], seed: int) -> NullTracker:
    """One tiny champion per industry and the general model: risk rises with arrears months and
    complaints."""
    tracker = NullTracker()
    rng = np.random.default_rng(seed + 1)
    x = rng.poisson(1.0, size=(600, len(names))).astype(np.float64)
    drivers = [names.index("si_arrears_months_6m"), names.index("complaint_count_365d")]
    logit = x[:, drivers].sum(axis=1) * 0.9 - 3.0
    y = (rng.random(600) < 1 / (1 + np.exp(-logit))).astype(np.float64)
    for k, industry in enumerate(load_models()):
        params = {"objective": "binary:logistic", "max_depth": 3, "nthread": 1, "seed": k}
        booster = xgb.train(params, xgb.DMatrix(x, label=y, feature_names=names), 25)
        model = RiskModel(booster, Calibrator("none"), tuple(names))
        record = RunRecord(
            industry=industry,
            model=model,
            metrics={"model": {"pr_auc": {"value": 0.5, "ci_low": 0.4, "ci_high": 0.6}}},
            params={"max_depth": 3},
            calibration=pl.DataFrame({"mean_predicted": [0.1], "observed_rate": [0.1]}),
            sample_input=pl.DataFrame({n: [0.0] for n in names}),
            snapshot_hash="f" * 64,
            trained_at=datetime(2026, 11, 1, 3),
            test_period="2026-01-01/2026-05-01",
            code_version="test",
        )
        version = tracker.register(tracker.log_run(record))
        tracker.assign(industry, version, Decision(True, "first version"))
    return tracker
