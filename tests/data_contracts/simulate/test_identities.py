from __future__ import annotations

import re

import numpy as np
import polars as pl

from data_contracts.checksums import id_number_is_valid, org_code_check, uscc_is_valid
from data_contracts.schema import USCC_PATTERN
from data_contracts.simulate import identities as ids
from data_contracts.simulate.config import vocabulary, world_params
from data_contracts.simulate.rng import stream


def test_every_entity_has_a_unique_valid_credit_code(tiny_world):
    codes = tiny_world.firms["uscc"].to_numpy().astype(str)
    assert len(set(codes)) == len(codes)
    assert uscc_is_valid(codes).all()
    assert all(re.match(USCC_PATTERN, c) for c in codes)
    # Characters 9-17 are an organisation code with its own check character.
    bodies = np.array([c[8:16] for c in codes])
    assert (org_code_check(bodies) == np.array([c[16] for c in codes])).all()


def test_credit_codes_name_the_entity_kind_and_the_park(tiny_world):
    params = world_params()
    firms = tiny_world.firms
    for kind, spec in params.entity_kinds.items():
        codes = firms.filter(pl.col("entity_kind") == kind)["uscc"].to_list()
        assert all(c.startswith(spec.uscc_prefix + params.park.registration_region) for c in codes)


def test_entities_registered_after_the_reform_carry_ma_codes(tiny_world):
    late = tiny_world.firms.filter(pl.col("established_date") >= pl.date(2015, 10, 1))
    assert all(code[8:10] == "MA" for code in late["uscc"].to_list())


def test_legal_representatives_have_valid_ids_phones_and_names(tiny_world):
    firms = tiny_world.firms
    assert id_number_is_valid(firms["legal_rep_id_number"].to_numpy().astype(str)).all()
    phones = firms["legal_rep_phone"].to_list()
    assert all(
        len(p) == 11 and p[:3].isdigit() and int(p[:3]) in vocabulary().mobile_prefixes
        for p in phones
    )
    assert all(2 <= len(n) <= 4 for n in firms["legal_rep_name"].to_list())


def test_one_person_represents_several_entities_with_the_same_identity(tiny_world):
    people = tiny_world.firms.group_by("legal_rep_person").agg(
        pl.len(), pl.col("legal_rep_id_number").n_unique().alias("ids")
    )
    assert (people["len"] > 1).any()
    assert (people["ids"] == 1).all()


def test_identity_numbers_encode_a_plausible_birth_date():
    days = np.array(["1961-02-28", "1999-12-31"], dtype="datetime64[D]")
    numbers = ids.id_numbers(stream(1, "t"), vocabulary(), days)
    assert [n[6:14] for n in numbers] == ["19610228", "19991231"]
    assert id_number_is_valid(numbers).all()


def test_firm_names_are_unique_even_when_drawn_many_times():
    rng = stream(5, "names")
    size = 20_000
    names, trades = ids.firm_names(
        rng,
        vocabulary(),
        kinds=np.full(size, "enterprise"),
        terms=np.full(size, "贸易"),
        prefixes=np.full(size, "苏州"),
        foreign=np.zeros(size, dtype=bool),
    )
    assert len(set(names.tolist())) == size
    assert all(t in n for n, t in zip(names.tolist(), trades.tolist(), strict=True))


def test_encode_writes_fixed_width_digits_and_handles_empty_input():
    assert ids.encode(np.array([7, 123]), ids.DIGITS, 4).tolist() == ["0007", "0123"]
    assert ids.encode(np.array([], dtype=np.int64), ids.DIGITS, 4).shape == (0,)
    assert ids.yyyymmdd(np.array(["2024-02-29"], dtype="datetime64[D]")).tolist() == ["20240229"]
