from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from data_contracts.simulate.config import SimScale, world_params
from data_contracts.simulate.stress import ACTIVE
from data_contracts.simulate.world import World, build_world

from .conftest import END_DATE, SEED

PARK_INDUSTRIES = {"finance": 555, "manufacturing": 3407, "education": 1180}


def test_small_and_sip_keep_the_parks_industry_counts():
    params = world_params()
    for name in ("small", "sip"):
        populations = params.scale(name).populations
        assert {k: populations[k] for k in PARK_INDUSTRIES} == PARK_INDUSTRIES
    assert params.scale("small").populations["other"] == 4000


def test_sip_has_about_190_thousand_entities_and_over_100_thousand_enterprises():
    sip = world_params().scale("sip")
    assert 185_000 <= sip.entities <= 195_000
    assert sip.enterprises > 100_000
    assert sip.history_months >= 36


def test_province_has_a_million_entities_and_the_year_the_longest_window_needs():
    province = world_params().scale("province")
    assert province.entities >= 1_000_000
    assert {k: province.populations[k] for k in PARK_INDUSTRIES} == PARK_INDUSTRIES
    # 365-day windows (complaints, penalties, capital) are full only on a year of history
    assert province.history_months >= 12


def test_small_world_has_exactly_the_configured_population(small_world):
    world = small_world
    counts = dict(world.firms.group_by("industry").len().iter_rows())
    assert counts == {**PARK_INDUSTRIES, "other": 4000}
    sectors = world.firms.group_by("industry").agg(pl.col("sector").unique())
    assert {r[0]: r[1] for r in sectors.iter_rows()} == {
        "finance": ["金融"],
        "manufacturing": ["制造业"],
        "education": ["教育培训"],
        "other": ["其他"],
    }


def test_unknown_scale_names_the_known_ones():
    with pytest.raises(KeyError, match="small"):
        world_params().scale("huge")


def test_a_custom_scale_needs_every_industry():
    with pytest.raises(ValueError, match="populations"):
        SimScale(name="x", populations={"finance": 1})


def test_same_seed_same_world_other_seed_other_world(tiny_world):
    again = build_world("tiny", SEED, END_DATE)
    assert_frame_equal(again.firms, tiny_world.firms)
    assert np.array_equal(again.stress, tiny_world.stress)
    other = build_world("tiny", SEED + 1, END_DATE)
    assert other.firms["uscc"].to_list() != tiny_world.firms["uscc"].to_list()


def test_world_survives_its_truth_files(tiny_world):
    frames = tiny_world.truth_frames()
    rebuilt = World.from_truth(tiny_world.meta(), frames["firms"], frames["monthly_stress"])
    assert rebuilt.calendar == tiny_world.calendar
    assert np.array_equal(rebuilt.stress, tiny_world.stress)
    assert_frame_equal(rebuilt.firms, tiny_world.firms)


def test_stress_is_a_share_for_every_entity_and_month(tiny_world):
    assert tiny_world.stress.shape == (tiny_world.n, tiny_world.calendar.n_months)
    assert tiny_world.stress.min() >= 0.0
    assert tiny_world.stress.max() <= 1.0


def test_entities_are_registered_after_the_park_was_founded_and_before_the_end(tiny_world):
    established = tiny_world.firms["established_date"]
    assert established.min() >= world_params().park.founded
    assert established.max() <= END_DATE


def _stress_before_event(world: World, months_before: int) -> tuple[np.ndarray, np.ndarray]:
    """Stress `months_before` the event for distressed firms; at a matching month for others."""
    cal = world.calendar
    event = world.array("distress_date")
    distressed = np.flatnonzero(~np.isnat(event) & (event <= cal.end_day))
    month = cal.month_index(event[distressed]) - months_before
    healthy = np.flatnonzero(np.isnat(event))
    at = np.clip(month, 0, None)
    return world.stress[distressed, at], world.stress[healthy][:, at].reshape(-1)


def test_distressed_firms_are_more_stressed_before_their_event_but_not_all(small_world):
    distressed, healthy = _stress_before_event(small_world, 2)
    assert distressed.mean() > healthy.mean() + 0.2
    # Not trivially separable: silent failures sit below the healthy firms' upper tail.
    assert (distressed < np.quantile(healthy, 0.95)).mean() > 0.1
    assert (healthy > np.median(distressed)).mean() > 0.005


def test_industries_fail_at_about_their_annual_hazard(small_world):
    world = small_world
    years = world.scale.history_months / 12
    window = (pl.col("distress_date") >= world.calendar.window_start.astype(dt.date)) & (
        pl.col("distress_date") <= END_DATE
    )
    rates = (
        world.firms.filter(pl.col("entity_kind").is_in(["enterprise", "school"]))
        .group_by("industry")
        .agg((window.sum() / pl.len() / years).alias("rate"))
    )
    for industry, rate in rates.iter_rows():
        nominal = world_params().industries[industry].annual_hazard
        assert 0.5 * nominal < rate < 1.6 * nominal, industry


def test_failed_firms_vanish_and_some_lose_their_registration(tiny_world):
    firms = tiny_world.firms.filter(pl.col("distress_date").is_not_null())
    assert (firms["vanish_date"] > firms["distress_date"]).all()
    assert {"吊销", "注销"} <= set(firms["exit_status"].to_list())
    changed = firms.filter(pl.col("exit_status") != ACTIVE)
    assert (changed["status_date"] >= changed["distress_date"]).all()


def test_status_follows_the_calendar(tiny_world):
    firms = tiny_world.firms.with_row_index("i").filter(pl.col("status_date").is_not_null())
    index = firms["i"].to_numpy()
    before = firms["status_date"].to_numpy().astype("datetime64[D]") - 1
    after = firms["status_date"].to_numpy().astype("datetime64[D]")
    assert set(tiny_world.status_at(index, before).to_list()) == {ACTIVE}
    assert tiny_world.status_at(index, after).to_list() == firms["exit_status"].to_list()
