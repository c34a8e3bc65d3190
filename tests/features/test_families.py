"""Feature families: each computes exactly the columns it registers, nothing is filled or dropped
silently, and a family that does not add up is refused where it is declared."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from features.build import FeatureTableError, build_feature_table, step_columns, step_inputs
from features.family import (
    NONE,
    STEP_KEYS,
    Family,
    Step,
    Unit,
    days,
    event_columns,
    feature,
    months,
)
from features.point_in_time import GRID_ROW
from features.profile import OUTCOMES
from features.registry import FAMILIES, KEY_COLUMNS, SPECS, column_names
from features.source_set import SourceSet, one
from tests.features.random_lake import START, random_day, random_lake, to_frames
from tests.features.tiny_lake import build, master, rec, value

SOURCES = sorted({s for spec in SPECS for s in spec.sources} | {OUTCOMES})
FIRMS = [f"91320594MA{i:07d}X" for i in range(4)]
T = date(2024, 6, 30)


@settings(
    max_examples=3,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32 - 1))
def test_on_a_random_lake_computed_columns_are_the_registered_columns(seed):
    """Every source the registry reads is present: every step computes (none is left unknown
    for want of a source) exactly its declared columns, and together they are the registry."""
    rng = np.random.default_rng(seed)
    frames = to_frames(random_lake(SOURCES, rng, FIRMS))
    as_of = random_day(rng, START + timedelta(days=200))
    dates = [as_of - timedelta(days=30), as_of]
    grid, coded_grid, coded = step_inputs(SourceSet(frames), dates)
    computed: list[str] = []
    for family in FAMILIES:
        for step in family.steps:
            part = step.compute(coded_grid, coded)
            assert part is not None, f"{family.name}/{step.label} had no source"
            columns = [c for c in part.collect_schema().names() if c not in STEP_KEYS]
            assert sorted(columns) == sorted(step.columns), f"{family.name}/{step.label}"
            computed += step.features
        computed += [*family.derived, *family.peers]
    assert sorted(computed) == sorted(column_names())
    table = build_feature_table(frames, dates).collect()
    assert table.columns == [*KEY_COLUMNS, *column_names()]
    assert table.height == grid.height


def test_registry_order_is_the_families_in_order():
    assert [s.name for s in SPECS] == [s.name for f in FAMILIES for s in f.features]
    assert len({f.name for f in FAMILIES}) == len(FAMILIES)


def _spec(name: str):
    return feature(
        name,
        "test",
        [one("si_pension")],
        Unit.count,
        NONE,
        ("测试", "test"),
        ("{value}", "{value}"),
    )


def _grid_step(*columns: str) -> Step:
    return Step(lambda grid, sources: grid, columns)


def test_family_without_a_computation_for_a_feature_is_refused():
    with pytest.raises(ValueError, match=r"features without a computation \['b'\]"):
        Family("test", (_spec("a"), _spec("b")), steps=(_grid_step("a"),))


def test_family_computing_a_column_it_does_not_register_is_refused():
    with pytest.raises(ValueError, match=r"computed columns without a spec \['c'\]"):
        Family("test", (_spec("a"),), steps=(_grid_step("a", "c"),))


def test_family_computing_a_feature_twice_is_refused():
    with pytest.raises(ValueError, match=r"\['a'\] computed more than once"):
        Family("test", (_spec("a"),), steps=(_grid_step("a"),), derived={"a": pl.lit(1.0)})


def test_internal_column_must_be_marked_with_an_underscore():
    with pytest.raises(ValueError, match="internal columns must start with '_'"):
        Family("test", (_spec("a"),), steps=(Step(lambda g, s: g, ("a",), ("helper",)),))


FAMILY = Family(
    "test", (_spec("a"), _spec("b")), steps=(Step(lambda g, s: g, ("a", "b"), ("_x",)),)
)
STEP = FAMILY.steps[0]


def test_a_step_returning_an_undeclared_column_is_an_error_naming_family_and_column():
    part = pl.LazyFrame({GRID_ROW: [0], "a": [1.0], "b": [2.0], "_x": [0.0], "c": [3.0]})
    with pytest.raises(FeatureTableError, match=r"family test.*computed but not declared \['c'\]"):
        step_columns(FAMILY, STEP, part, 1)


def test_a_step_missing_a_declared_column_is_an_error_naming_it():
    part = pl.LazyFrame({GRID_ROW: [0], "a": [1.0], "_x": [0.0]})
    with pytest.raises(FeatureTableError, match=r"declared but not computed \['b'\]"):
        step_columns(FAMILY, STEP, part, 1)


def test_a_step_without_grid_rows_is_an_error():
    part = pl.LazyFrame({"a": [1.0], "b": [2.0], "_x": [0.0]})
    with pytest.raises(FeatureTableError, match="no _grid_row"):
        step_columns(FAMILY, STEP, part, 1)


def test_a_step_whose_sources_are_absent_leaves_its_columns_unknown_for_every_row():
    columns = step_columns(FAMILY, STEP, None, 3)
    assert list(columns) == ["a", "b", "_x"]
    assert all(c.null_count() == 3 and c.dtype == pl.Float64 for c in columns.values())


def test_a_step_places_values_at_their_grid_rows_and_nulls_elsewhere():
    part = pl.LazyFrame({GRID_ROW: [2, 0], "as_of": [T, T], "a": [5.0, 7.0], "b": [1.0, None]})
    step = Step(lambda g, s: g, ("a", "b"))
    columns = step_columns(Family("t", (_spec("a"), _spec("b")), steps=(step,)), step, part, 3)
    assert columns["a"].to_list() == [7.0, None, 5.0]
    assert columns["b"].to_list() == [None, None, 1.0]


def test_lake_without_a_familys_sources_gives_its_features_as_unknown_not_zero():
    """Only the master: every count of an absent source is null (unknown), not zero."""
    table = build([master()], [T])
    assert value(table, "capital_reduction_count_90d", T) is None
    assert value(table, "penalty_count_365d", T) is None
    assert value(table, "consistency_licence_validity_rules_violated", T) is None
    assert value(table, "size_band", T) == "未知"


def test_a_present_source_with_no_rows_for_the_firm_counts_zero():
    other = rec("reg_capital_change", uscc="F2", change_date=date(2024, 1, 1))
    table = build([master(), master(uscc="F2"), other], [T])
    assert value(table, "capital_reduction_count_90d", T) == 0.0


def test_specs_read_as_the_same_plain_data_in_every_process():
    """The publish config hash is made of the specs: nothing in them may print differently from
    one process to the next (a function or an object address would)."""
    code = (
        "import json; from dataclasses import asdict; from features.registry import SPECS; "
        "print(json.dumps([asdict(s) for s in SPECS], ensure_ascii=False, default=str))"
    )
    here = json.dumps([asdict(s) for s in SPECS], ensure_ascii=False, default=str)
    there = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert there == here
    assert " at 0x" not in here


def test_event_columns_read_each_specs_window_in_days():
    specs = [
        feature(f"n_{w}", "t", [], Unit.count, NONE, ("x", "x"), ("{value}", "{value}"), window=w)
        for w in (days(90), days(365))
    ]
    to_date = feature("n", "t", [], Unit.count, NONE, ("x", "x"), ("{value}", "{value}"))
    assert event_columns([*specs, to_date], "m") == {
        "n_90d": ("m", 90),
        "n_365d": ("m", 365),
        "n": ("m", None),
    }


def test_an_event_count_over_reported_months_is_refused():
    monthly = feature(
        "n_3m", "t", [], Unit.count, NONE, ("x", "x"), ("{value}", "{value}"), window=months(3)
    )
    with pytest.raises(ValueError, match="n_3m: an event count needs a window in days, not 3m"):
        event_columns([monthly], "m")
