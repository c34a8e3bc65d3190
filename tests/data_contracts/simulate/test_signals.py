"""Signals respond to stress: distressed firms look worse before their event, but not all of
them, and some healthy firms look bad too (the park is learnable, not trivially separable)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from data_contracts.simulate.sources import simulate_source

from .conftest import END_DATE

WINDOW_DAYS = 180


@pytest.fixture(scope="module")
def firms_with_reference_day(small_world):
    """Distressed firms keyed to their event day; healthy firms to a day drawn from those."""
    firms = small_world.firms.select("uscc", "distress_date", "established_date")
    start = small_world.calendar.window_start.astype(dt.date) + dt.timedelta(days=365)
    distressed = firms.filter(pl.col("distress_date").is_between(start, END_DATE))
    days = distressed["distress_date"].to_numpy()
    healthy = firms.filter(pl.col("distress_date").is_null() & (pl.col("established_date") < start))
    rng = np.random.default_rng(0)
    healthy = healthy.with_columns(
        pl.Series("distress_date", rng.choice(days, healthy.height)).cast(pl.Date)
    )
    return pl.concat(
        [
            distressed.with_columns(distressed=pl.lit(True)),
            healthy.with_columns(distressed=pl.lit(False)),
        ]
    ).rename({"distress_date": "reference_day"})


def _before(frame: pl.DataFrame, day_column: str, firms: pl.DataFrame) -> pl.DataFrame:
    window = pl.col(day_column).is_between(
        pl.col("reference_day") - pl.duration(days=WINDOW_DAYS),
        pl.col("reference_day"),
        closed="left",
    )
    return frame.join(firms, on="uscc").filter(window)


def test_distressed_firms_fall_into_arrears_more_often_with_overlap(
    small_world, contracts, firms_with_reference_day
):
    pension = simulate_source(small_world, contracts["si_pension"])
    rows = _before(pension, "period", firms_with_reference_day)
    share = rows.group_by("uscc", "distressed").agg(
        (pl.col("arrears_amount") > 0).mean().alias("arrears_share")
    )
    sick = share.filter(pl.col("distressed"))["arrears_share"]
    well = share.filter(~pl.col("distressed"))["arrears_share"]
    assert sick.mean() > 3 * well.mean()
    assert (sick == 0).mean() > 0.05  # some fail without falling into arrears
    assert (well > 0).mean() > 0.02  # some healthy firms pay late anyway


def test_distressed_firms_draw_more_complaints_with_overlap(
    small_world, contracts, firms_with_reference_day
):
    complaints = pl.concat(
        [
            simulate_source(small_world, contracts[s]).select("uscc", "received_date")
            for s in ("complaint_12345", "complaint_wage_arrears")
        ]
    )
    counts = _before(complaints, "received_date", firms_with_reference_day).group_by("uscc").len()
    per_firm = firms_with_reference_day.join(counts, on="uscc", how="left").with_columns(
        pl.col("len").fill_null(0)
    )
    sick = per_firm.filter(pl.col("distressed"))["len"]
    well = per_firm.filter(~pl.col("distressed"))["len"]
    assert sick.mean() > 1.5 * well.mean()
    assert (sick == 0).mean() > 0.05
    assert (well > 0).mean() > 0.05


def test_headcount_falls_under_stress(small_world, contracts):
    pension = simulate_source(small_world, contracts["si_pension"])
    firms = small_world.firms.filter(pl.col("distress_date").is_not_null()).select(
        "uscc", "distress_date"
    )
    rows = pension.join(firms, on="uscc")
    year_before = rows.filter(
        pl.col("period").is_between(
            pl.col("distress_date") - pl.duration(days=420),
            pl.col("distress_date") - pl.duration(days=300),
        )
    )
    at_event = rows.filter(
        pl.col("period").is_between(
            pl.col("distress_date") - pl.duration(days=60), pl.col("distress_date")
        )
    )
    before = year_before.group_by("uscc").agg(pl.col("insured_count").mean().alias("before"))
    after = at_event.group_by("uscc").agg(pl.col("insured_count").mean().alias("after"))
    change = before.join(after, on="uscc").select(pl.col("after") / pl.col("before"))
    assert change.median().item() < 0.9
    assert (change.to_series() > 1.0).mean() > 0.02  # not every failing firm shrinks
