"""The simulated inspector roster and departments' monthly capacity (the inspection plan's
inputs)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from data_contracts.departments import load_departments, parse_departments
from data_contracts.simulate.generators import department_capacity, department_firms

from .conftest import END_DATE

ROSTER = "inspection_inspector_roster"
CAPACITY = "inspection_monthly_capacity"
DEPARTMENTS = load_departments()


def test_every_department_has_a_roster_on_every_snapshot(tiny_sources, tiny_world):
    roster = tiny_sources[ROSTER]
    latest = roster.filter(pl.col("snapshot_date") == pl.col("snapshot_date").max())
    counts = dict(latest.group_by("department").len().iter_rows())
    for department in DEPARTMENTS.departments.values():
        seats = 2 * department_capacity(tiny_world, department)
        expected = max(3, -(-seats // department.simulation.visits_per_inspector))
        assert counts[department.name.zh] == expected, department.key
    per_snapshot = roster.group_by("snapshot_date").agg(pl.col("department").n_unique())
    assert (per_snapshot["department"] == len(DEPARTMENTS.departments)).all()


def test_an_inspector_keeps_one_certificate_name_and_department(tiny_sources):
    people = (
        tiny_sources[ROSTER]
        .group_by("inspector_id")
        .agg(pl.col("inspector_name").n_unique(), pl.col("department").n_unique())
    )
    assert (people["inspector_name"] == 1).all() and (people["department"] == 1).all()
    assert tiny_sources[ROSTER]["inspector_id"].str.contains(r"^320594(19|20)\d{6}$").all()


def test_inspectors_come_and_go_over_three_years(tiny_sources):
    roster = tiny_sources[ROSTER]
    first = set(
        roster.filter(pl.col("snapshot_date") == pl.col("snapshot_date").min())["inspector_id"]
    )
    last = set(
        roster.filter(pl.col("snapshot_date") == pl.col("snapshot_date").max())["inspector_id"]
    )
    assert first - last and last - first
    assert len(first & last) > len(last) / 2


def test_most_inspectors_are_on_duty(tiny_sources):
    status = tiny_sources[ROSTER]["status"].value_counts(normalize=True)
    share = dict(status.iter_rows())
    assert 0.8 < share["在岗"] < 0.97


def test_each_department_declares_each_month_before_it_starts(tiny_sources, tiny_world):
    capacity = tiny_sources[CAPACITY]
    assert capacity.select("department", "period").is_duplicated().sum() == 0
    assert (capacity["declared_on"] < capacity["period"]).all()
    # Declared in the first days of the month before.
    month_before = capacity["period"].dt.offset_by("-1mo")
    lead = (capacity["declared_on"] - month_before).dt.total_days()
    assert lead.is_between(0, 4).all()
    assert (capacity["arrived_at"].dt.date() == capacity["declared_on"]).all()
    # Every month of the window, and the next one once declared.
    months = capacity.group_by("department").agg(pl.col("period").n_unique())
    history = tiny_world.calendar.history_months
    assert months["period"].is_between(history, history + 1).all()
    assert capacity["period"].dt.day().unique().to_list() == [1]
    ordinary = {
        d.name.zh: department_capacity(tiny_world, d) for d in DEPARTMENTS.departments.values()
    }
    for row in capacity.filter(pl.col("period").dt.month() != 2).iter_rows(named=True):
        assert (
            0.6 * ordinary[row["department"]]
            <= row["capacity"]
            <= 1.6 * ordinary[row["department"]] + 1
        )


def test_next_months_capacity_is_known_once_this_month_is_a_few_days_old(contracts):
    from data_contracts.simulate.sources import simulate_source
    from data_contracts.simulate.world import build_world

    world = build_world("tiny", 5, dt.date(2026, 11, 6))
    capacity = simulate_source(world, contracts[CAPACITY])
    december = capacity.filter(pl.col("period") == dt.date(2026, 12, 1))
    assert december.height == len(DEPARTMENTS.departments)
    assert capacity["period"].max() == dt.date(2026, 12, 1)


def test_capacity_follows_the_size_of_the_departments_scope(tiny_world):
    market = DEPARTMENTS.departments["market_supervision"]
    finance = DEPARTMENTS.departments["financial_supervision"]
    assert department_firms(tiny_world, market) > department_firms(tiny_world, finance)
    individuals = int((tiny_world.array("entity_kind") == "individual").sum())
    assert individuals > 0
    everyone = int((tiny_world.array("industry") != "").sum())
    assert department_firms(tiny_world, market) == everyone - individuals


def test_the_roster_ends_by_the_end_date(tiny_sources):
    assert tiny_sources[ROSTER]["arrived_at"].dt.date().max() <= END_DATE


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"departments": {}}, "no department"),
        (
            {
                "departments": {
                    "a": {
                        "name": {"zh": "同名", "en": "A"},
                        "industries": ["other"],
                        "simulation": {"capacity_share": 0.1, "visits_per_inspector": 5},
                    },
                    "b": {
                        "name": {"zh": "同名", "en": "B"},
                        "industries": ["other"],
                        "simulation": {"capacity_share": 0.1, "visits_per_inspector": 5},
                    },
                }
            },
            "share the name",
        ),
        (
            {
                "departments": {
                    "Bad-Key": {
                        "name": {"zh": "甲", "en": "A"},
                        "industries": ["other"],
                        "simulation": {"capacity_share": 0.1, "visits_per_inspector": 5},
                    }
                }
            },
            "snake_case",
        ),
    ],
)
def test_a_broken_departments_file_is_refused(data, message):
    with pytest.raises(ValueError, match=message):
        parse_departments(data)


def test_a_department_is_found_by_its_chinese_name():
    assert DEPARTMENTS.by_name("园区金融监管局").key == "financial_supervision"
    with pytest.raises(KeyError, match="no department named"):
        DEPARTMENTS.by_name("不存在的局")
