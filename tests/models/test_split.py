from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from models.split import TrainingRows, out_of_time_split, purge_seen_positives


def weekly(weeks: int, firms: int = 2, start: date = date(2023, 1, 2)) -> pl.DataFrame:
    dates = [start + timedelta(weeks=w) for w in range(weeks)]
    return pl.DataFrame(
        {
            "uscc": [f"F{f}" for f in range(firms) for _ in dates],
            "as_of": dates * firms,
            "label": [0] * (weeks * firms),
        }
    )


@settings(max_examples=40, deadline=None)
@given(
    weeks=st.integers(min_value=60, max_value=200),
    horizon=st.integers(min_value=0, max_value=200),
    train_fraction=st.floats(min_value=0.3, max_value=0.7),
    valid_fraction=st.floats(min_value=0.1, max_value=0.25),
    valid_gap=st.integers(min_value=0, max_value=200),
)
def test_test_period_never_shares_a_label_window_with_training(
    weeks, horizon, train_fraction, valid_fraction, valid_gap
):
    frame = weekly(weeks)
    try:
        split = out_of_time_split(
            frame,
            horizon,
            train_fraction=train_fraction,
            valid_fraction=valid_fraction,
            valid_gap_days=valid_gap,
        )
    except ValueError as error:  # too short for this horizon: must say so, not split badly
        assert "horizon" in str(error) or "no as-of date" in str(error)
        return
    b = split.boundaries
    gap, before_valid = timedelta(days=horizon), timedelta(days=valid_gap)
    assert split.train["as_of"].max() <= b.train_end
    assert split.valid["as_of"].min() > b.train_end + before_valid
    assert split.valid["as_of"].max() == b.t0
    assert split.test["as_of"].min() > b.t0 + gap
    assert min(split.train.height, split.valid.height, split.test.height) > 0
    # Only the gaps are left out.
    in_gaps = frame.filter(
        pl.col("as_of").is_between(b.train_end, b.train_end + before_valid, closed="right")
        | pl.col("as_of").is_between(b.t0, b.t0 + gap, closed="right")
    )
    assert split.train.height + split.valid.height + split.test.height + in_gaps.height == (
        frame.height
    )


def test_boundaries_are_as_of_dates_present_in_the_data():
    frame = weekly(156)
    split = out_of_time_split(frame, 180)
    present = set(frame["as_of"].to_list())
    b = split.boundaries
    for day in (b.train_start, b.train_end, b.valid_start, b.valid_end, b.test_start, b.test_end):
        assert day in present
    assert b.to_dict()["t0"] == b.valid_end.isoformat()


def test_history_shorter_than_the_gaps_is_refused():
    with pytest.raises(ValueError, match="needs more than 180 days"):
        out_of_time_split(weekly(20), 180)
    with pytest.raises(ValueError, match="needs more than 360 days"):
        out_of_time_split(weekly(40), 180, valid_gap_days=180)


def test_validation_follows_training_directly_by_default():
    split = out_of_time_split(weekly(156), 180)
    b = split.boundaries
    assert b.valid_start == b.train_end + timedelta(weeks=1)
    assert b.test_start > b.t0 + timedelta(days=180)


def test_negative_validation_gap_is_refused():
    with pytest.raises(ValueError, match="valid_gap_days"):
        out_of_time_split(weekly(156), 30, valid_gap_days=-1)


def test_fractions_leaving_no_test_period_are_refused():
    with pytest.raises(ValueError, match="the rest is test"):
        out_of_time_split(weekly(156), 30, train_fraction=0.8, valid_fraction=0.2)


def test_purge_drops_every_valid_row_of_a_firm_positive_in_training():
    # F1's event falls just after train_end: positive in its last training week and in valid.
    train = pl.DataFrame({"uscc": ["F1", "F1", "F2"], "label": [0, 1, 0]})
    valid = pl.DataFrame({"uscc": ["F1", "F1", "F2", "F3"], "label": [1, 1, 0, 1]})
    kept = purge_seen_positives(train, valid)
    assert kept.get_column("uscc").to_list() == ["F2", "F3"]


def test_purge_keeps_a_firm_whose_first_event_comes_after_training():
    # Negative throughout training, positive in valid: an event the model has not seen.
    train = pl.DataFrame({"uscc": ["F1", "F1"], "label": [0, 0]})
    valid = pl.DataFrame({"uscc": ["F1"], "label": [1]})
    assert purge_seen_positives(train, valid).height == 1


def test_purge_names_a_missing_column():
    train = pl.DataFrame({"firm": ["F1"], "label": [1]})
    with pytest.raises(ValueError, match=r"train rows lack the columns \['uscc'\]"):
        purge_seen_positives(train, train)


def test_training_rows_gap_drops_the_newest_training_weeks_only():
    split = out_of_time_split(weekly(156), 30)
    train = TrainingRows(gap_days=28).select(split.train)
    end = split.boundaries.train_end
    assert train.get_column("as_of").max() == end - timedelta(days=28)
    # A week at exactly the gap's edge stays; the four after it go.
    assert train.height == split.train.height - 4 * 2


def test_training_rows_history_keeps_the_newest_weeks_before_the_gap():
    split = out_of_time_split(weekly(156), 30)
    train = TrainingRows(gap_days=7, history_days=70).select(split.train)
    dates = train.get_column("as_of").unique().sort()
    end = split.boundaries.train_end - timedelta(days=7)
    assert dates.to_list() == [end - timedelta(weeks=w) for w in range(9, -1, -1)]


def test_training_rows_defaults_keep_every_training_row():
    split = out_of_time_split(weekly(156), 30)
    assert TrainingRows().select(split.train).equals(split.train)


def test_training_rows_leaving_no_row_are_refused():
    split = out_of_time_split(weekly(60), 30)
    with pytest.raises(ValueError, match="no training rows left"):
        TrainingRows(gap_days=1000).select(split.train)


def test_training_rows_refuse_a_setting_they_do_not_have():
    with pytest.raises(ValidationError, match="gap_weeks"):
        TrainingRows.model_validate({"gap_weeks": 4})
