"""Tiny synthetic inputs for the models tests: a weekly snapshot history with outcomes."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np
import polars as pl
import pytest

from models.config import load_industries


@pytest.fixture(scope="session")
def finance():
    return load_industries()["finance"]


def snapshot_park(
    seed: int,
    *,
    firms: int = 240,
    weeks: int = 156,
    sector: str = "金融",
    event_type: str = "金融风险事件",
    start: date = date(2023, 1, 2),
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(history, outcomes): firms whose latent risk drives both a noisy feature and the hazard
    of a distress event; a pure-noise feature; some feature values missing."""
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=firms)
    usccs = [f"91320594MA{i:08d}" for i in range(firms)]
    as_of = [start + timedelta(weeks=w) for w in range(weeks)]
    weeks_to_event = rng.exponential(1.0 / (0.004 * np.exp(1.5 * risk)))
    events = [
        (usccs[i], start + timedelta(days=int(weeks_to_event[i] * 7)))
        for i in range(firms)
        if weeks_to_event[i] < weeks
    ]
    outcomes = pl.DataFrame(
        {
            "uscc": [u for u, _ in events],
            "event_date": [d for _, d in events],
            "event_type": [event_type] * len(events),
            "arrived_at": [datetime.combine(d + timedelta(days=14), time(9)) for _, d in events],
        },
        schema={
            "uscc": pl.String,
            "event_date": pl.Date,
            "event_type": pl.String,
            "arrived_at": pl.Datetime("us"),
        },
    )
    n = firms * weeks
    signal = np.repeat(risk, weeks) + rng.normal(scale=0.5, size=n)
    signal[rng.random(n) < 0.05] = np.nan
    history = pl.DataFrame(
        {
            "uscc": np.repeat(usccs, weeks),
            "as_of": as_of * firms,
            "sector": [sector] * n,
            "district": ["湖东"] * n,
            "f_signal": signal,
            "f_noise": rng.normal(size=n),
        }
    ).with_columns(pl.col("f_signal").fill_nan(None))
    return history, outcomes
