import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.config import IndustrySpec, load_industries
from models.rank import RankingInputError, compare_with_previous, leavers, rank_firms


def _spec(k: int = 2) -> IndustrySpec:
    base = load_industries()["finance"]
    return base.model_copy(update={"capacity_k": k})


def _scored(rows: list[tuple[str, float | None, bool]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={"uscc": pl.String, "probability": pl.Float64, "insufficient_data": pl.Boolean},
        orient="row",
    )


def test_highest_probability_ranks_first_and_top_k_is_listed():
    ranked = rank_firms(
        _scored([("a", 0.01, False), ("b", 0.30, False), ("c", 0.07, False)]), _spec(2)
    )
    assert ranked["uscc"].to_list() == ["b", "c", "a"]
    assert ranked["rank"].to_list() == [1, 2, 3]
    assert ranked["listed"].to_list() == [True, True, False]


def test_tiers_follow_the_industry_thresholds():
    spec = _spec()
    probabilities = [0.001, spec.tiers["B"], spec.tiers["C"], spec.tiers["D"], 0.99]
    rows = [(f"f{i}", p, False) for i, p in enumerate(probabilities)]
    ranked = rank_firms(_scored(rows), spec).sort("probability")
    assert ranked["tier"].to_list() == ["A", "B", "C", "D", "D"]


def test_tied_probabilities_rank_by_uscc_so_order_is_reproducible():
    ranked = rank_firms(
        _scored([("z", 0.2, False), ("m", 0.2, False), ("a", 0.2, False)]), _spec(2)
    )
    assert ranked["uscc"].to_list() == ["a", "m", "z"]
    assert ranked["listed"].to_list() == [True, True, False]


def test_tied_probabilities_follow_the_model_margin_before_the_code():
    scored = _scored([("a", 0.108, False), ("b", 0.108, False), ("c", 0.2, False)]).with_columns(
        margin=pl.Series([-2.5, -1.9, -1.0])
    )
    ranked = rank_firms(scored, _spec(2))
    assert ranked["uscc"].to_list() == ["c", "b", "a"]
    assert ranked["listed"].to_list() == [True, True, False]


def test_insufficient_data_firm_is_never_ranked_tiered_or_listed_even_if_model_says_high():
    ranked = rank_firms(_scored([("a", 0.05, False), ("x", 0.99, True)]), _spec(5))
    row = ranked.filter(pl.col("uscc") == "x").row(0, named=True)
    assert row["rank"] is None and row["tier"] is None and row["probability"] is None
    assert row["listed"] is False
    assert ranked["uscc"].to_list() == ["a", "x"]  # kept, in its own place after ranked firms


def test_insufficient_data_firm_does_not_take_a_top_k_slot():
    ranked = rank_firms(
        _scored([("a", 0.05, False), ("b", 0.04, False), ("x", None, True)]), _spec(2)
    )
    assert ranked.filter(pl.col("listed"))["uscc"].to_list() == ["a", "b"]


def test_fewer_firms_than_capacity_lists_them_all():
    ranked = rank_firms(_scored([("a", 0.05, False)]), _spec(10))
    assert ranked["listed"].to_list() == [True]


def test_empty_industry_gives_an_empty_ranking():
    ranked = rank_firms(_scored([]), _spec())
    assert ranked.height == 0
    assert {"rank", "tier", "listed"} <= set(ranked.columns)


def test_missing_probability_for_a_sufficient_firm_names_the_firm():
    with pytest.raises(RankingInputError, match=r"probability.*firm b"):
        rank_firms(_scored([("a", 0.1, False), ("b", None, False)]), _spec())


def test_probability_outside_unit_interval_names_the_firm():
    with pytest.raises(RankingInputError, match=r"probability is 1\.5 for firm a"):
        rank_firms(_scored([("a", 1.5, False)]), _spec())


def test_repeated_firm_is_rejected_with_its_code():
    with pytest.raises(RankingInputError, match=r"uscc repeats.*'a'"):
        rank_firms(_scored([("a", 0.1, False), ("a", 0.2, False)]), _spec())


def test_missing_column_is_named():
    with pytest.raises(RankingInputError, match="insufficient_data"):
        rank_firms(pl.DataFrame({"uscc": ["a"], "probability": [0.1]}), _spec())


def test_rank_change_is_positive_when_a_firm_moves_up():
    spec = _spec(2)
    before = rank_firms(_scored([("a", 0.3, False), ("b", 0.2, False), ("c", 0.1, False)]), spec)
    now = rank_firms(_scored([("a", 0.1, False), ("b", 0.2, False), ("c", 0.3, False)]), spec)
    compared = compare_with_previous(now, before)
    change = dict(zip(compared["uscc"], compared["rank_change"], strict=True))
    assert change == {"c": 2, "b": 0, "a": -2}
    entrants = compared.filter(pl.col("new_entrant"))["uscc"].to_list()
    assert entrants == ["c"]


def test_firm_absent_last_week_is_a_new_entrant_without_rank_change():
    spec = _spec(1)
    before = rank_firms(_scored([("a", 0.3, False)]), spec)
    now = rank_firms(_scored([("n", 0.5, False), ("a", 0.3, False)]), spec)
    row = compare_with_previous(now, before).filter(pl.col("uscc") == "n").row(0, named=True)
    assert row["new_entrant"] is True
    assert row["previous_rank"] is None and row["rank_change"] is None


def test_first_publication_marks_no_one_as_new():
    now = rank_firms(_scored([("a", 0.3, False)]), _spec(1))
    compared = compare_with_previous(now, None)
    assert compared["new_entrant"].to_list() == [None]
    assert compared["rank_change"].to_list() == [None]


def test_leavers_name_why_each_firm_left():
    spec = _spec(3)
    before = rank_firms(
        _scored([("cut", 0.3, False), ("gone", 0.2, False), ("thin", 0.1, False)]), spec
    )
    now = rank_firms(
        _scored(
            [
                ("cut", 0.01, False),
                ("thin", None, True),
                ("x", 0.5, False),
                ("y", 0.4, False),
                ("z", 0.3, False),
            ]
        ),
        spec,
    )
    left = leavers(now, before)
    assert dict(zip(left["uscc"], left["reason"], strict=True)) == {
        "cut": "below_cut",
        "gone": "not_scored",
        "thin": "insufficient_data",
    }
    assert left["previous_rank"].to_list() == [1, 2, 3]


def test_without_last_week_no_one_has_left():
    left = leavers(rank_firms(_scored([("a", 0.3, False)]), _spec(1)), None)
    assert left.height == 0
    assert left.columns == [
        "uscc",
        "previous_rank",
        "previous_probability",
        "rank",
        "probability",
        "reason",
    ]


@settings(max_examples=60, deadline=None)
@given(
    probabilities=st.lists(
        st.floats(min_value=0, max_value=1, allow_nan=False), min_size=0, max_size=40
    ),
    insufficient=st.lists(st.booleans(), min_size=40, max_size=40),
    k=st.integers(min_value=1, max_value=50),
)
def test_ranking_invariants_hold_for_any_scores(probabilities, insufficient, k):
    rows = [(f"u{i:03d}", p, insufficient[i]) for i, p in enumerate(probabilities)]
    ranked = rank_firms(_scored(rows), _spec(k))
    scored = ranked.filter(~pl.col("insufficient_data"))
    assert scored["rank"].to_list() == list(range(1, scored.height + 1))
    assert scored["probability"].is_sorted(descending=True)
    assert ranked["listed"].sum() == min(k, scored.height)
    assert ranked.filter(pl.col("insufficient_data"))["rank"].null_count() == (
        ranked.height - scored.height
    )
    assert sorted(ranked["uscc"].to_list()) == sorted(r[0] for r in rows)


def test_the_margin_orders_firms_even_where_the_probability_says_otherwise():
    # A calibrator is monotone in the margin; should a stored probability disagree (rounding,
    # an isotonic plateau), the margin, the model's own total order, decides.
    scored = _scored([("a", 0.30, False), ("b", 0.29, False), ("c", 0.29, False)]).with_columns(
        margin=pl.Series([-1.0, -0.5, -0.5])
    )
    ranked = rank_firms(scored, _spec(2))
    assert ranked["uscc"].to_list() == ["b", "c", "a"]  # equal margins: by code
    assert ranked["probability"].to_list() == [0.29, 0.29, 0.30]  # shown as calibrated


def test_the_rank_order_is_stated_for_the_manifest():
    from models.rank import RANK_ORDER

    assert RANK_ORDER["keys"] == ["margin desc", "uscc asc"]
    assert "margin" in RANK_ORDER["statement"] and "calibrated" in RANK_ORDER["statement"]
