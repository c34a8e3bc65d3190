"""Reading the credit evaluation and the lists at an as-of date, point in time."""

from __future__ import annotations

import datetime as dt

import polars as pl

from models.tier_inputs import missing_sources, tier_components
from models.tiering import load_tier_policy
from tests.features.tiny_lake import frames, rec

POLICY = load_tier_policy()
AS_OF = dt.date(2026, 11, 29)


def at(day: str, hour: int = 9) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(hour))


def scores(*uscc: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "uscc": list(uscc),
            "model": ["finance"] * len(uscc),
            "probability": [0.05] * len(uscc),
            "model_tier": ["B"] * len(uscc),
        }
    )


def evaluations(rows: list[tuple[str, str, str, dt.datetime]]) -> pl.LazyFrame:
    return pl.LazyFrame(
        [
            {"uscc": u, "evaluation_year": dt.date.fromisoformat(y), "grade": g, "arrived_at": a}
            for u, y, g, a in rows
        ],
        schema={
            "uscc": pl.String,
            "evaluation_year": pl.Date,
            "grade": pl.String,
            "arrived_at": pl.Datetime("us"),
        },
    )


def listings(rows: list[tuple[str, str, str, dt.datetime, str | None]]) -> pl.LazyFrame:
    return pl.LazyFrame(
        [
            {
                "record_no": r,
                "uscc": u,
                "listed_date": dt.date.fromisoformat(d),
                "arrived_at": a,
                "valid_until": None if v is None else dt.date.fromisoformat(v),
            }
            for r, u, d, a, v in rows
        ],
        schema={
            "record_no": pl.String,
            "uscc": pl.String,
            "listed_date": pl.Date,
            "arrived_at": pl.Datetime("us"),
            "valid_until": pl.Date,
        },
    )


def components(sources: dict[str, pl.LazyFrame], *uscc: str) -> dict[str, dict]:
    frame = tier_components(scores(*uscc), sources, AS_OF, POLICY)
    return {row["uscc"]: row for row in frame.iter_rows(named=True)}


def test_the_latest_evaluation_in_force_gives_the_grade():
    sources = {
        "credit_public_evaluation": evaluations(
            [
                ("F1", "2024-01-01", "A", at("2024-06-01")),
                ("F1", "2025-01-01", "C", at("2025-06-01")),
            ]
        )
    }
    row = components(sources, "F1")["F1"]
    assert (row["credit_grade"], row["credit_year"]) == ("C", dt.date(2025, 1, 1))


def test_an_evaluation_that_arrived_after_the_as_of_date_does_not_count_yet():
    sources = {
        "credit_public_evaluation": evaluations(
            [
                ("F1", "2025-01-01", "B", at("2025-05-01")),
                ("F1", "2026-01-01", "D", at("2026-11-30")),
            ]
        )
    }
    assert components(sources, "F1")["F1"]["credit_grade"] == "B"


def test_a_revised_grade_replaces_the_first_from_its_arrival():
    sources = {
        "credit_public_evaluation": evaluations(
            [
                ("F1", "2026-01-01", "D", at("2026-05-01")),
                ("F1", "2026-01-01", "B", at("2026-08-01")),
            ]
        )
    }
    assert components(sources, "F1")["F1"]["credit_grade"] == "B"


def test_an_evaluation_too_old_no_longer_counts():
    sources = {
        "credit_public_evaluation": evaluations([("F1", "2023-01-01", "A", at("2023-05-01"))])
    }
    row = components(sources, "F1")["F1"]
    assert (row["credit_grade"], row["credit_year"]) == (None, None)


def test_a_listing_counts_from_its_arrival_until_its_term_ends():
    sources = {
        "credit_serious_dishonest": listings(
            [
                ("R1", "F1", "2025-02-01", at("2025-02-03"), None),  # in force
                ("R2", "F2", "2023-06-01", at("2023-06-02"), None),  # beyond 1095 days
                ("R3", "F3", "2026-11-20", at("2026-11-30"), None),  # arrives after T
                ("R4", "F4", "2024-01-10", at("2024-01-11"), None),  # two listings: earliest
                ("R5", "F4", "2026-01-10", at("2026-01-11"), None),
            ]
        )
    }
    rows = components(sources, "F1", "F2", "F3", "F4", "F5")
    column = POLICY.list_column("serious_dishonesty")
    assert rows["F1"][column] == dt.date(2025, 2, 1)
    assert rows["F2"][column] is None
    assert rows["F3"][column] is None
    assert rows["F4"][column] == dt.date(2024, 1, 10)
    assert rows["F5"][column] is None


def test_a_listing_ends_at_its_valid_until_date_when_that_comes_first():
    sources = {
        "credit_red_list": listings(
            [
                (
                    "R1",
                    "F1",
                    "2026-01-01",
                    at("2026-01-02"),
                    "2026-11-28",
                ),  # expired the day before
                ("R2", "F2", "2026-01-01", at("2026-01-02"), "2026-11-29"),  # last day
                ("R3", "F3", "2026-01-01", at("2026-01-02"), None),
            ]
        )
    }
    rows = components(sources, "F1", "F2", "F3")
    column = POLICY.list_column("red_list")
    assert [rows[f][column] for f in ("F1", "F2", "F3")] == [
        None,
        dt.date(2026, 1, 1),
        dt.date(2026, 1, 1),
    ]


def test_absent_sources_are_named_and_contribute_nothing():
    frame = tier_components(scores("F1"), {}, AS_OF, POLICY)
    assert frame.columns == list(POLICY.component_schema())
    assert frame.row(0, named=True)["credit_grade"] is None
    assert missing_sources({}, POLICY)[0] == "credit_public_evaluation"
    assert set(missing_sources({}, POLICY)) == {
        POLICY.credit_evaluation.source,
        *(lst.source for lst in POLICY.lists.values()),
    }


def test_firms_are_kept_in_code_order_with_their_scores():
    frame = tier_components(scores("F2", "F1"), {}, AS_OF, POLICY)
    assert frame["uscc"].to_list() == ["F1", "F2"]
    assert frame["model_tier"].to_list() == ["B", "B"]


def test_a_repaired_listing_no_longer_counts_from_its_repair():
    listed = [("R1", "F1", "2025-02-01", at("2025-02-03"), None)]

    def repaired_on(day: str) -> pl.LazyFrame:
        repair = rec(
            "credit_repair",
            uscc="F1",
            repaired_date=dt.date.fromisoformat(day),
            repaired_record="严重失信主体名单",
            original_source="credit_serious_dishonest",
            original_record_no="R1",
        )
        return frames([repair])["credit_repair"]

    column = POLICY.list_column("serious_dishonesty")
    before = {
        "credit_serious_dishonest": listings(listed),
        "credit_repair": repaired_on("2026-12-01"),
    }
    after = {
        "credit_serious_dishonest": listings(listed),
        "credit_repair": repaired_on("2026-11-02"),
    }
    assert components(before, "F1")["F1"][column] == dt.date(2025, 2, 1)
    assert components(after, "F1")["F1"][column] is None
