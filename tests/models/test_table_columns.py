"""Which columns of an analyst's table become model inputs, and why the others do not."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from models.table_columns import ColumnPlan, ColumnPlanError, plan_columns
from models.tabular import TableLayout, prepare_table

N = 120


def table(**extra) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    base = {
        "bad": [i % 3 == 0 for i in range(N)],
        "ratio": rng.normal(size=N),
    }
    return pl.DataFrame({**base, **extra})


def plan(frame: pl.DataFrame, **kwargs) -> ColumnPlan:
    layout_args = {k: kwargs.pop(k) for k in ("segment", "id_col", "time_col") if k in kwargs}
    layout = TableLayout(name="firms.csv", label="bad", **layout_args)
    return plan_columns(prepare_table(frame, layout), layout, **kwargs)


def test_numbers_and_flags_are_inputs_in_table_order():
    result = plan(table(flag=[i % 2 == 0 for i in range(N)], count=list(range(0, 3 * N, 3))))
    assert result.feature_names == ["ratio", "flag", "count"]
    assert [f.kind for f in result.features] == ["numeric", "boolean", "numeric"]


def test_text_is_encoded_not_dropped():
    result = plan(table(sector=["retail", "steel", "mining"] * (N // 3)))
    assert result.feature("sector").kind == "categorical"
    assert result.feature("sector").encoding.levels == ("mining", "retail", "steel")


def test_empty_and_constant_columns_are_left_out_but_a_flag_with_gaps_stays():
    result = plan(
        table(
            nothing=pl.Series([None] * N, dtype=pl.Float64),
            same=[7] * N,
            flagged=[1 if i % 4 == 0 else None for i in range(N)],
        )
    )
    assert result.dropped["nothing"] == "empty: no value in any row"
    assert result.dropped["same"].startswith("constant: every row holds 7")
    assert "flagged" in result.feature_names


def test_a_dense_distinct_integer_is_a_row_id_but_distinct_amounts_are_not():
    rng = np.random.default_rng(1)
    result = plan(
        table(row_number=list(range(1, N + 1)), revenue=rng.choice(10**7, size=N, replace=False))
    )
    assert "looks like a row number or id" in result.dropped["row_number"]
    assert result.suggestions["row_number"] == "--id"
    assert "revenue" in result.feature_names


def test_id_and_time_looking_columns_are_left_out_with_the_option_they_suggest():
    result = plan(
        table(
            firm_id=[f"F{i % 40}" for i in range(N)],
            name=[f"Firm {i}" for i in range(N)],
            eval_year=[2015 + i % 5 for i in range(N)],
            period=[201801 + i % 12 for i in range(N)],
            opened=[date(2020, 1, 1) + timedelta(days=i) for i in range(N)],
        )
    )
    assert "name looks like an identifier" in result.dropped["firm_id"]
    assert result.suggestions["firm_id"] == "--id"  # it repeats: an entity id
    assert "120 distinct values in 120 rows" in result.dropped["name"]
    assert "name" not in result.suggestions  # unique per row: not an entity id
    assert "looks like a time (2015..2019)" in result.dropped["eval_year"]
    assert "looks like a time (201801..201812)" in result.dropped["period"]
    assert result.suggestions["eval_year"] == "--time"
    assert "a date or time" in result.dropped["opened"]
    assert result.feature_names == ["ratio"]


def test_a_year_named_column_of_other_values_stays_an_input():
    result = plan(table(year_sales=[float(i) * 1e5 for i in range(N)]))
    assert "year_sales" in result.feature_names


def test_keep_and_drop_override_the_rules():
    frame = table(eval_year=[2015 + i % 5 for i in range(N)], noise=[0.1 * i for i in range(N)])
    result = plan(frame, keep=["eval_year"], drop=["noise"])
    assert "eval_year" in result.feature_names
    assert result.dropped["noise"] == "left out by --drop"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"keep": ["nope"]}, "--keep 'nope' is not a column"),
        ({"drop": ["bad"]}, "--drop 'bad' is the label, segment, id or time column"),
        ({"keep": ["ratio"], "drop": ["ratio"]}, "'ratio' is given to both --keep and --drop"),
    ],
)
def test_contradictory_options_are_refused(kwargs, message):
    with pytest.raises(ColumnPlanError, match=message):
        plan(table(), **kwargs)


def test_special_columns_are_never_inputs():
    frame = table(firm=[f"F{i % 30}" for i in range(N)], year=[2015 + i % 6 for i in range(N)])
    result = plan(frame, id_col="firm", time_col="year")
    assert result.feature_names == ["ratio"]


def test_a_table_without_any_usable_column_is_refused_with_the_reasons():
    frame = pl.DataFrame({"bad": [0, 1] * 30, "same": [1] * 60})
    with pytest.raises(ColumnPlanError, match=r"no column can be a model input; left out: same"):
        plan(frame)


def test_encode_turns_text_into_codes_and_flags_into_numbers():
    frame = table(sector=["retail", "steel", None] * (N // 3), flag=[True, False] * (N // 2))
    result = plan(frame)
    encoded = result.encode(frame)
    assert encoded.schema["sector"] == pl.Float64 and encoded.schema["flag"] == pl.Int8
    assert encoded["sector"].head(3).to_list() == [0.0, 1.0, None]


def test_plan_round_trips_through_a_dict():
    result = plan(table(sector=["a", "b"] * (N // 2), eval_year=[2015 + i % 5 for i in range(N)]))
    assert ColumnPlan.from_dict(result.to_dict()) == result
