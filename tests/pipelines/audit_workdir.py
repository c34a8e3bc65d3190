"""A small synthetic workdir for the audit tests: a finance feature history with the feature
table's descriptive columns and two registered features, and the outcomes in the lake."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pipelines.settings import Settings
from tests.pipelines.finance_workdir import FIRMS, distress_weeks, write_finance_workdir

DISTRICTS = ("湖东", "湖西", "独墅湖")
SIGNAL = "si_arrears_months_6m"  # a registered feature, higher is riskier
NOISE = "complaint_count_90d"


def write_audit_workdir(root: Path, seed: int) -> Settings:
    """Finance firms whose latent stress drives both a feature and a distress event."""
    rng = np.random.default_rng(seed)
    stress = rng.normal(size=FIRMS)
    event_weeks = distress_weeks(rng, stress, slope=2.0, offset=6.5)
    age = rng.uniform(0.5, 20, size=FIRMS)
    known = rng.integers(3, 40, size=FIRMS)

    def columns(i: int, week: int) -> dict:
        return {
            "district": DISTRICTS[i % len(DISTRICTS)],
            "ownership_type": "国有" if i % 5 == 0 else "私营",
            "size_band": ("small", "medium", "large")[i % 3],
            "firm_age_years": float(age[i] + week / 52),
            "n_sources_known": int(known[i]),
            SIGNAL: float(max(0.0, round(stress[i] * 2 + rng.normal(scale=1.0) + 2))),
            NOISE: float(rng.poisson(1.0)),
        }

    settings = Settings(workdir=root, operator="analyst-wang")
    write_finance_workdir(settings, event_weeks, columns)
    return settings
