"""Text -> contract types, with a failure record for every present value that does not parse."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from data_contracts.coerce import FAILURE_SCHEMA, coerce
from data_contracts.schema import parse_contract


def _column(name: str, type_: str, **extra) -> dict:
    return {
        "name": name,
        "raw": name.upper(),
        "type": type_,
        "description": {"zh": name, "en": name},
        **extra,
    }


CONTRACT = parse_contract(
    {
        "id": "tiny_source",
        "title": {"zh": "小", "en": "tiny"},
        "department": {"zh": "部门", "en": "dept"},
        "domain": "complaints",
        "grain": "event",
        "event_time": "day",
        "unique_key": ["uscc"],
        "delivery": {"format": "csv", "cadence_days": 1, "freshness_days": 2},
        "simulation": {"generator": "events"},
        "columns": [
            _column("uscc", "string", nullable=False),
            _column("day", "date", nullable=False),
            _column("arrived_at", "datetime", nullable=False),
            _column("amount", "float"),
            _column("headcount", "int"),
            _column("flag", "bool"),
        ],
    }
)


def _frame(**values: list[str | None]) -> pl.DataFrame:
    n = len(next(iter(values.values())))
    base = {c.name: [None] * n for c in CONTRACT.columns}
    base.update(values)
    return pl.DataFrame(
        {"_row": list(range(1, n + 1)), **base},
        schema={"_row": pl.Int64, **{c.name: pl.String for c in CONTRACT.columns}},
    )


def test_not_a_number_is_a_row_failure_naming_source_row_column_and_value():
    result = coerce(_frame(amount=["12.5", "N/A"]), CONTRACT)
    assert result.frame["amount"].to_list() == [12.5, None]
    assert result.failures.to_dicts() == [
        {
            "_row": 2,
            "_column": "amount",
            "_expectation": "coerce_to_float",
            "_reason": "tiny_source row 2 column amount: 'N/A' is not a number",
        }
    ]


def test_dates_accept_dash_slash_and_compact_formats():
    result = coerce(_frame(day=["2024-03-05", "2024/03/05", "20240305"]), CONTRACT)
    assert result.frame["day"].to_list() == [dt.date(2024, 3, 5)] * 3
    assert result.failures.height == 0


def test_impossible_calendar_date_is_a_failure():
    result = coerce(_frame(day=["2024-02-30"]), CONTRACT)
    assert result.frame["day"].to_list() == [None]
    assert result.failures["_reason"].to_list() == [
        "tiny_source row 1 column day: '2024-02-30' is not a date "
        "(YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD)"
    ]


def test_datetimes_accept_department_formats_and_bare_dates():
    values = [
        "2024-03-05 08:09:10",
        "2024-03-05T08:09:10",
        "2024/03/05 08:09:10",
        "20240305080910",
        "2024-03-05 08:09:10.250000",
        "2024-03-05",
    ]
    result = coerce(_frame(arrived_at=values), CONTRACT)
    expected = dt.datetime(2024, 3, 5, 8, 9, 10)
    assert result.frame["arrived_at"].to_list() == [
        expected,
        expected,
        expected,
        expected,
        expected + dt.timedelta(milliseconds=250),
        dt.datetime(2024, 3, 5),
    ]
    assert result.frame.schema["arrived_at"] == pl.Datetime("us")
    assert result.failures.height == 0


def test_blank_and_whitespace_values_are_missing_not_failures():
    result = coerce(_frame(amount=["", "   ", None], uscc=[" A1 ", "", None]), CONTRACT)
    assert result.frame["amount"].to_list() == [None, None, None]
    assert result.frame["uscc"].to_list() == ["A1", None, None]
    assert result.failures.height == 0


def test_int_accepts_spreadsheet_whole_floats_but_not_fractions():
    result = coerce(_frame(headcount=["12", "12.0", "+3", "12.5"]), CONTRACT)
    assert result.frame["headcount"].to_list() == [12, 12, 3, None]
    assert result.failures["_reason"].to_list() == [
        "tiny_source row 4 column headcount: '12.5' is not a whole number"
    ]


def test_nan_and_infinity_are_not_numbers():
    result = coerce(_frame(amount=["nan", "inf", "-inf"]), CONTRACT)
    assert result.frame["amount"].to_list() == [None, None, None]
    assert result.failures["_row"].to_list() == [1, 2, 3]


def test_bool_words_in_both_languages():
    result = coerce(_frame(flag=["true", "是", "N", "0", "maybe"]), CONTRACT)
    assert result.frame["flag"].to_list() == [True, True, False, False, None]
    assert result.failures["_row"].to_list() == [5]


def test_several_failures_in_one_row_are_each_recorded_in_row_order():
    result = coerce(_frame(amount=["x", "1"], headcount=["y", "z"]), CONTRACT)
    assert result.failures.select("_row", "_column").rows() == [
        (1, "amount"),
        (1, "headcount"),
        (2, "headcount"),
    ]
    assert result.failures.schema == FAILURE_SCHEMA


def test_extra_columns_pass_through_and_row_order_is_kept():
    frame = _frame(amount=["3", "1", "2"]).with_columns(pl.lit("d1").alias("_delivery_id"))
    result = coerce(frame, CONTRACT)
    assert result.frame["_delivery_id"].to_list() == ["d1"] * 3
    assert result.frame["_row"].to_list() == [1, 2, 3]
    assert result.frame["amount"].to_list() == [3.0, 1.0, 2.0]


def test_missing_contract_column_is_a_clear_error():
    with pytest.raises(ValueError, match="tiny_source: frame to coerce has no column 'flag'"):
        coerce(_frame(amount=["1"]).drop("flag"), CONTRACT)


def test_typed_input_column_is_a_clear_error():
    frame = _frame(amount=["1"]).with_columns(pl.col("headcount").cast(pl.Int64))
    with pytest.raises(ValueError, match="column 'headcount' must arrive as text"):
        coerce(frame, CONTRACT)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_any_finite_float_written_as_text_reads_back_exactly(value):
    result = coerce(_frame(amount=[repr(value)]), CONTRACT)
    assert result.frame["amount"].to_list() == [value]
    assert result.failures.height == 0


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2199, 12, 31)))
def test_any_date_reads_the_same_in_all_three_formats(day):
    texts = [day.strftime("%Y-%m-%d"), day.strftime("%Y/%m/%d"), day.strftime("%Y%m%d")]
    result = coerce(_frame(day=texts), CONTRACT)
    assert result.frame["day"].to_list() == [day] * 3
