"""A small synthetic workdir for the audit tests: a finance feature history with the feature
table's descriptive columns and two registered features, and the outcomes in the lake."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from data_contracts import catalog
from pipelines import io
from pipelines.settings import Settings

FIRMS = 160
WEEKS = 150
FIRST_WEEK = date(2023, 1, 2)
DISTRICTS = ("湖东", "湖西", "独墅湖")
SIGNAL = "si_arrears_months_6m"  # a registered feature, higher is riskier
NOISE = "complaint_count_90d"


def write_audit_workdir(root: Path, seed: int) -> Settings:
    """Finance firms whose latent stress drives both a feature and a distress event."""
    rng = np.random.default_rng(seed)
    firms = [f"91320594MA{i:07d}X" for i in range(FIRMS)]
    stress = rng.normal(size=FIRMS)
    hazard = 1 / (1 + np.exp(-(stress * 2.0 - 6.5)))  # weekly event probability
    event_week = [
        next((w for w in range(WEEKS) if rng.random() < hazard[i]), None) for i in range(FIRMS)
    ]
    age = rng.uniform(0.5, 20, size=FIRMS)
    known = rng.integers(3, 40, size=FIRMS)
    rows, events = [], []
    for i, uscc in enumerate(firms):
        last = WEEKS if event_week[i] is None else event_week[i]
        for week in range(last):
            rows.append(
                {
                    "uscc": uscc,
                    "as_of": FIRST_WEEK + timedelta(weeks=week),
                    "sector": "金融",
                    "district": DISTRICTS[i % len(DISTRICTS)],
                    "ownership_type": "国有" if i % 5 == 0 else "私营",
                    "size_band": ("small", "medium", "large")[i % 3],
                    "firm_age_years": float(age[i] + week / 52),
                    "n_sources_known": int(known[i]),
                    SIGNAL: float(max(0.0, round(stress[i] * 2 + rng.normal(scale=1.0) + 2))),
                    NOISE: float(rng.poisson(1.0)),
                }
            )
        if event_week[i] is not None:
            happened = FIRST_WEEK + timedelta(weeks=event_week[i], days=3)
            events.append(
                {
                    "event_id": f"E{i:05d}",
                    "uscc": uscc,
                    "event_date": happened,
                    "event_type": "金融风险事件",
                    "industry": "finance",
                    "confirmed_by": "联合核查组现场核实",
                    "arrived_at": datetime.combine(
                        happened + timedelta(days=14), datetime.min.time()
                    ),
                }
            )
    settings = Settings(workdir=root, operator="analyst-wang")
    settings.features.mkdir(parents=True)
    pl.DataFrame(rows).write_parquet(settings.features / "history.parquet")
    schema = io.lake_schema(catalog.get("outcome_distress_event"))
    outcomes = pl.DataFrame(events).cast({name: schema[name] for name in events[0]})
    io.write_partition(settings.lake, "outcome_distress_event", "2026-01-05", outcomes)
    io.append_ledger(
        settings.lake,
        [{"source": "outcome_distress_event", "delivery_id": "2026-01-05", "rows": len(events)}],
    )
    return settings
