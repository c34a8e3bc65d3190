from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl
import pytest

from models.labels import label_snapshots

AS_OF = date(2024, 1, 1)
KNOWN = date(2025, 12, 31)


def history(*rows: tuple[str, date, str]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"uscc": pl.String, "as_of": pl.Date, "sector": pl.String}, orient="row"
    )


def outcomes(*rows: tuple[str, date, str, datetime]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "uscc": pl.String,
            "event_date": pl.Date,
            "event_type": pl.String,
            "arrived_at": pl.Datetime("us"),
        },
        orient="row",
    )


def one_firm_label(finance, event_date: date, **event) -> pl.DataFrame:
    arrived = event.get("arrived_at", datetime.combine(event_date, datetime.min.time()))
    return label_snapshots(
        history(("A", AS_OF, "金融")),
        outcomes(("A", event_date, event.get("event_type", finance.event_type), arrived)),
        finance,
        event.get("known_until", KNOWN),
    )


def test_event_exactly_at_as_of_drops_the_row_as_already_failed(finance):
    assert one_firm_label(finance, AS_OF).is_empty()


def test_event_the_day_after_as_of_is_positive(finance):
    assert one_firm_label(finance, AS_OF + timedelta(days=1))["label"].to_list() == [1]


def test_event_exactly_at_as_of_plus_horizon_is_positive(finance):
    at_horizon = AS_OF + timedelta(days=finance.horizon_days)
    assert one_firm_label(finance, at_horizon)["label"].to_list() == [1]


def test_event_one_day_after_the_horizon_is_negative(finance):
    after = AS_OF + timedelta(days=finance.horizon_days + 1)
    assert one_firm_label(finance, after)["label"].to_list() == [0]


def test_firm_that_failed_before_as_of_is_dropped_even_with_a_later_event(finance):
    labelled = label_snapshots(
        history(("A", AS_OF, "金融")),
        outcomes(
            ("A", AS_OF - timedelta(days=30), finance.event_type, datetime(2023, 12, 5)),
            ("A", AS_OF + timedelta(days=30), finance.event_type, datetime(2024, 2, 5)),
        ),
        finance,
        KNOWN,
    )
    assert labelled.is_empty()


def test_window_not_yet_observable_is_censored_not_negative(finance):
    known_until = AS_OF + timedelta(days=finance.horizon_days - 1)
    labelled = label_snapshots(history(("A", AS_OF, "金融")), outcomes(), finance, known_until)
    assert labelled.is_empty()


def test_window_ending_exactly_at_known_until_is_kept(finance):
    known_until = AS_OF + timedelta(days=finance.horizon_days)
    labelled = label_snapshots(history(("A", AS_OF, "金融")), outcomes(), finance, known_until)
    assert labelled["label"].to_list() == [0]


def test_outcome_arriving_after_known_until_is_not_known_yet(finance):
    event = AS_OF + timedelta(days=10)
    late = datetime.combine(KNOWN + timedelta(days=1), datetime.min.time())
    assert one_firm_label(finance, event, arrived_at=late)["label"].to_list() == [0]


def test_outcome_arriving_during_the_last_known_day_counts(finance):
    event = AS_OF + timedelta(days=10)
    evening = datetime.combine(KNOWN, datetime.min.time()) + timedelta(hours=23)
    assert one_firm_label(finance, event, arrived_at=evening)["label"].to_list() == [1]


def test_other_event_types_and_other_sectors_are_ignored(finance):
    labelled = label_snapshots(
        history(("A", AS_OF, "金融"), ("B", AS_OF, "制造业")),
        outcomes(("A", AS_OF + timedelta(days=5), "经营困难", datetime(2024, 1, 20))),
        finance,
        KNOWN,
    )
    assert labelled.select("uscc", "label").rows() == [("A", 0)]


def test_rows_keep_their_feature_columns_and_order(finance):
    frame = history(("B", AS_OF, "金融"), ("A", AS_OF, "金融")).with_columns(
        pl.Series("f", [1.0, 2.0])
    )
    labelled = label_snapshots(frame, outcomes(), finance, KNOWN)
    assert labelled.columns == ["uscc", "as_of", "sector", "f", "label"]
    assert labelled["uscc"].to_list() == ["B", "A"]
    assert labelled["label"].dtype == pl.Int8


def test_missing_outcome_column_names_the_frame_and_column(finance):
    with pytest.raises(ValueError, match=r"outcomes lacks column\(s\) \['arrived_at'\]"):
        label_snapshots(
            history(("A", AS_OF, "金融")), outcomes().drop("arrived_at"), finance, KNOWN
        )
