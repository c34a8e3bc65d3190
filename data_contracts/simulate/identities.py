"""Identifiers and names: credit codes, people (name, identity number, mobile), firm names,
addresses. Vectorised: arrays in, arrays out; every code carries a valid check character."""

from __future__ import annotations

import numpy as np

from data_contracts.checksums import (
    USCC_ALPHABET,
    id_number_check,
    org_code_check,
    uscc_check,
)
from data_contracts.simulate.config import Vocabulary

DIGITS = "0123456789"


def join_columns(*parts: np.ndarray | str) -> np.ndarray:
    """Concatenate string arrays (and scalars) element-wise."""
    out = np.asarray(parts[0], dtype=str)
    for part in parts[1:]:
        out = np.char.add(out, np.asarray(part, dtype=str))
    return out


def encode(values: np.ndarray, alphabet: str, width: int) -> np.ndarray:
    """Fixed-width strings of non-negative integers written in ``alphabet``'s base."""
    base = len(alphabet)
    values = np.asarray(values, dtype=np.int64)
    powers = base ** np.arange(width - 1, -1, -1, dtype=np.int64)
    digits = (values[:, None] // powers[None, :]) % base
    points = np.array([ord(c) for c in alphabet], dtype=np.uint32)[digits]
    return np.ascontiguousarray(points).view(f"<U{width}").reshape(-1)


def yyyymmdd(days: np.ndarray) -> np.ndarray:
    """Days as compact 8-digit dates (20240131)."""
    days = np.asarray(days, dtype="datetime64[D]")
    months = days.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    return encode(year * 10000 + month * 100 + day, DIGITS, 8)


def weighted_choice(rng: np.random.Generator, weights: dict, size: int) -> np.ndarray:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return np.array(keys)[rng.choice(len(keys), size=size, p=p / p.sum())]


def first_occurrence(values: np.ndarray) -> np.ndarray:
    """True where a value appears for the first time."""
    _, first = np.unique(values, return_index=True)
    mask = np.zeros(len(values), dtype=bool)
    mask[first] = True
    return mask


def uscc_codes(
    rng: np.random.Generator,
    prefixes: np.ndarray,
    region: str,
    new_style: np.ndarray,
) -> np.ndarray:
    """Unique unified social credit codes (GB 32100-2015).

    Characters 9-17 are an organisation code: entities registered before the 2015 reform keep
    their old numeric code; newer ones get the ``MA``-series codes. Both carry the GB 11714 check
    character, and the whole code its GB 32100 check character.
    """
    n = len(prefixes)
    old = ~new_style
    bodies = np.empty(n, dtype="<U8")
    bodies[old] = encode(rng.choice(10**8, size=int(old.sum()), replace=False), DIGITS, 8)
    bodies[new_style] = join_columns(
        "MA",
        encode(
            rng.choice(len(USCC_ALPHABET) ** 6, int(new_style.sum()), replace=False),
            USCC_ALPHABET,
            6,
        ),
    )
    first17 = join_columns(prefixes, region, bodies, org_code_check(bodies))
    return join_columns(first17, uscc_check(first17))


def person_names(rng: np.random.Generator, vocab: Vocabulary, size: int) -> np.ndarray:
    surnames = weighted_choice(rng, vocab.surnames, size)
    chars = np.array(list(vocab.given_name_chars))
    first = chars[rng.integers(0, len(chars), size)]
    second = chars[rng.integers(0, len(chars), size)]
    two = rng.random(size) < 0.65
    return join_columns(surnames, first, np.where(two, second, ""))


def id_numbers(rng: np.random.Generator, vocab: Vocabulary, birth_days: np.ndarray) -> np.ndarray:
    """Unique resident identity numbers for people born on ``birth_days`` (GB 11643-1999)."""
    size = len(birth_days)
    regions = weighted_choice(rng, vocab.birth_regions, size)
    births = yyyymmdd(birth_days)
    sequence = rng.integers(0, 1000, size)
    first17 = join_columns(regions, births, encode(sequence, DIGITS, 3))
    for _ in range(50):
        repeat = ~first_occurrence(first17)
        if not repeat.any():
            break
        sequence[repeat] = rng.integers(0, 1000, int(repeat.sum()))
        first17 = join_columns(regions, births, encode(sequence, DIGITS, 3))
    else:
        raise RuntimeError("could not draw unique identity numbers")
    return join_columns(first17, id_number_check(first17))


def mobile_numbers(rng: np.random.Generator, vocab: Vocabulary, size: int) -> np.ndarray:
    """Unique 11-digit mainland mobile numbers."""
    prefixes = np.array(vocab.mobile_prefixes)[rng.integers(0, len(vocab.mobile_prefixes), size)]
    numbers = prefixes.astype(np.int64) * 10**8 + rng.integers(0, 10**8, size)
    for _ in range(50):
        repeat = ~first_occurrence(numbers)
        if not repeat.any():
            break
        numbers[repeat] = (numbers[repeat] // 10**8) * 10**8 + rng.integers(
            0, 10**8, int(repeat.sum())
        )
    return numbers.astype(str)


def trade_names(rng: np.random.Generator, vocab: Vocabulary, size: int) -> np.ndarray:
    """Two-character trade names (字号)."""
    chars = np.array(list(vocab.trade_name_chars))
    return join_columns(
        chars[rng.integers(0, len(chars), size)], chars[rng.integers(0, len(chars), size)]
    )


def firm_names(
    rng: np.random.Generator,
    vocab: Vocabulary,
    *,
    kinds: np.ndarray,
    terms: np.ndarray,
    prefixes: np.ndarray,
    foreign: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Registered names, unique across the park, and the trade name (字号) inside each.

    ``terms`` is each entity's line of business (an industry term or a shop type); ``foreign``
    marks foreign-invested enterprises, named in the "X电子（苏州）有限公司" style.
    """
    size = len(kinds)
    forms = weighted_choice(rng, vocab.org_forms, size)
    cities = np.array(vocab.branch_cities)[rng.integers(0, len(vocab.branch_cities), size)]
    suffixes = np.array(vocab.branch_suffixes)[rng.integers(0, len(vocab.branch_suffixes), size)]

    def compose(trade: np.ndarray) -> np.ndarray:
        company = np.where(
            foreign,
            join_columns(trade, terms, vocab.foreign_marker, forms),
            join_columns(prefixes, trade, terms, forms),
        )
        local = join_columns("苏州工业园区", trade, terms)
        branch = join_columns(cities, trade, terms, "有限公司", suffixes)
        return np.select(
            [kinds == "individual", kinds == "school", kinds == "branch"],
            [local, local, branch],
            default=company,
        )

    trade = trade_names(rng, vocab, size).astype("<U12")
    names = compose(trade)
    for _ in range(50):
        repeat = ~first_occurrence(names)
        if not repeat.any():
            return names, trade
        # A third character makes the redrawn names far less likely to collide again.
        extra = trade_names(rng, vocab, int(repeat.sum()))
        trade[repeat] = join_columns(trade[repeat], extra.astype("<U1"))
        names = compose(trade)
    raise RuntimeError("could not draw unique firm names")


def addresses(rng: np.random.Generator, vocab: Vocabulary, districts: np.ndarray) -> np.ndarray:
    size = len(districts)
    roads = np.empty(size, dtype=object)
    for district in np.unique(districts):
        here = districts == district
        options = np.array(vocab.roads[str(district)])
        roads[here] = options[rng.integers(0, len(options), int(here.sum()))]
    numbers = rng.integers(1, 400, size).astype(str)
    buildings = np.array(vocab.buildings)[rng.integers(0, len(vocab.buildings), size)]
    unit = join_columns(
        buildings,
        rng.integers(1, 30, size).astype(str),
        "幢",
        rng.integers(1, 20, size).astype(str),
        encode(rng.integers(1, 30, size), DIGITS, 2),
        "室",
    )
    street = join_columns("苏州工业园区", roads.astype(str), numbers, "号")
    return np.where(rng.random(size) < 0.6, join_columns(street, unit), street)
