"""The documented encoding of text columns: one code per frequent category."""

from __future__ import annotations

import polars as pl

from models.categorical import OTHER, CategoricalEncoding, fit_encoding


def column(counts: dict[str, int], name: str = "sector") -> pl.Series:
    return pl.Series(name, [value for value, n in counts.items() for _ in range(n)])


def test_codes_follow_descending_counts_with_ties_broken_by_text():
    encoding = fit_encoding(column({"steel": 12, "retail": 30, "banking": 12, "mining": 15}))
    assert encoding.levels == ("retail", "mining", "banking", "steel")
    assert encoding.other_code == 4 and encoding.pooled == 0


def test_rare_categories_share_the_other_code_and_are_counted():
    encoding = fit_encoding(column({"retail": 40, "steel": 10, "a": 9, "b": 1}))
    assert encoding.levels == ("retail", "steel")
    assert encoding.pooled == 2
    codes = encoding.encode(pl.Series("sector", ["a", "retail", "b", "steel"]))
    assert codes.to_list() == [2.0, 0.0, 2.0, 1.0]


def test_at_most_max_levels_get_their_own_code():
    counts = {f"c{i:02d}": 20 + i for i in range(8)}
    encoding = fit_encoding(column(counts), max_levels=3)
    assert encoding.levels == ("c07", "c06", "c05")
    assert encoding.pooled == 5


def test_unseen_categories_get_the_other_code_and_missing_stays_missing():
    encoding = fit_encoding(column({"retail": 20, "steel": 20}))
    new = pl.Series("sector", ["shipping", None, "steel", "shipping", "aero"])
    assert encoding.encode(new).to_list() == [2.0, None, 1.0, 2.0, 2.0]
    assert encoding.unseen(new) == {"shipping": 2, "aero": 1}
    assert encoding.label_of(2.0) == OTHER and encoding.label_of(0.0) == "retail"
    assert encoding.label_of(float("nan")) is None


def test_numbers_in_a_text_column_are_compared_as_text():
    encoding = fit_encoding(pl.Series("code", ["10"] * 12 + ["20"] * 11))
    assert encoding.encode(pl.Series("code", [10, 20, 30])).to_list() == [0.0, 1.0, 2.0]


def test_round_trip_through_a_dict():
    encoding = fit_encoding(column({"retail": 20, "steel": 15, "x": 2}))
    again = CategoricalEncoding.from_dict(encoding.to_dict())
    assert again == encoding
