from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from data_contracts.checksums import (
    USCC_ALPHABET,
    id_number_check,
    id_number_is_valid,
    org_code_check,
    uscc_check,
    uscc_is_valid,
)

uscc_bodies = st.text(alphabet=USCC_ALPHABET, min_size=17, max_size=17)
id_bodies = st.text(alphabet="0123456789", min_size=17, max_size=17)


def test_published_examples_validate():
    # Examples printed in the standards' explanatory material.
    assert uscc_is_valid(["91350100M000100Y43"]).tolist() == [True]
    assert id_number_is_valid(["11010519491231002X"]).tolist() == [True]
    assert org_code_check(["D2143569"]).tolist() == ["X"]


def test_a_wrong_check_character_is_invalid():
    assert uscc_is_valid(["91350100M000100Y44"]).tolist() == [False]
    assert id_number_is_valid(["110105194912310021"]).tolist() == [False]


def test_malformed_codes_are_invalid_not_errors():
    codes = ["", "91350100M000100Y4", "91350100M000100Y43X", "9135010OM000100Y43"]
    assert uscc_is_valid(codes).tolist() == [False] * 4
    assert id_number_is_valid(["1101051949123100", "A1010519491231002X"]).tolist() == [False] * 2


def test_check_computation_rejects_characters_outside_the_alphabet():
    with pytest.raises(ValueError, match="0-9 and A-Y"):
        uscc_check(["9135010OM000100Y4"])  # the letter O is not in the alphabet
    with pytest.raises(ValueError, match="digits"):
        id_number_check(["1101051949123100A"])


@given(uscc_bodies)
def test_uscc_check_makes_any_body_valid(body):
    code = body + uscc_check([body])[0]
    assert uscc_is_valid([code]).tolist() == [True]


@given(uscc_bodies, st.integers(0, 17), st.integers(1, 30))
def test_uscc_check_detects_every_single_substitution(body, position, shift):
    code = body + uscc_check([body])[0]
    replaced = USCC_ALPHABET[(USCC_ALPHABET.index(code[position]) + shift) % 31]
    mutated = code[:position] + replaced + code[position + 1 :]
    assert uscc_is_valid([mutated]).tolist() == [False]


@given(id_bodies, st.integers(0, 16), st.integers(1, 9))
def test_id_check_detects_every_single_digit_substitution(body, position, shift):
    code = body + id_number_check([body])[0]
    assert id_number_is_valid([code]).tolist() == [True]
    digit = str((int(code[position]) + shift) % 10)
    mutated = code[:position] + digit + code[position + 1 :]
    assert id_number_is_valid([mutated]).tolist() == [False]


def test_checks_are_vectorised_over_empty_input():
    assert uscc_check(np.array([], dtype="<U17")).shape == (0,)
    assert id_number_check(np.array([], dtype="<U17")).shape == (0,)
