"""The park's population: every market entity with its static attributes and legal representative.

Returns one polars row per entity (the row position is the entity's index everywhere else in
the simulator). Time-varying facts (distress, exits, status) are added by ``stress.py``.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from data_contracts.simulate import identities as ids
from data_contracts.simulate.calendar import SimCalendar
from data_contracts.simulate.config import SimScale, Vocabulary, WorldParams

FOREIGN_OWNERSHIP = ("外资", "港澳台")
# The credit-code reform (GB 32100-2015) took effect in October 2015: later entities get
# MA-series organisation codes.
CODE_REFORM = np.datetime64("2015-10-01", "D")


def _kinds_and_industries(
    rng: np.random.Generator, params: WorldParams, scale: SimScale
) -> tuple[np.ndarray, np.ndarray]:
    industries, kinds = [], []
    for industry in params.industries:
        n = scale.populations[industry]
        industries.append(np.full(n, industry))
        school = rng.random(n) < params.industries[industry].school_share
        kinds.append(np.where(school, "school", "enterprise"))
    for kind, n in (("individual", scale.individual_businesses), ("branch", scale.branches)):
        industries.append(np.full(n, "other"))
        kinds.append(np.full(n, kind))
    return np.concatenate(industries).astype("<U13"), np.concatenate(kinds).astype("<U10")


def _by_group(
    rng: np.random.Generator,
    groups: np.ndarray,
    weights_of: dict[str, dict[str, float]],
    dtype: str = "<U16",
) -> np.ndarray:
    """Draw one value per entity from its group's weights."""
    out = np.empty(len(groups), dtype=dtype)
    for group, weights in weights_of.items():
        here = groups == group
        if here.any():
            out[here] = ids.weighted_choice(rng, weights, int(here.sum()))
    return out


def _employees(rng: np.random.Generator, params: WorldParams, bands: np.ndarray) -> np.ndarray:
    """Log-uniform headcount within each entity's size band."""
    out = np.empty(len(bands), dtype=np.int64)
    for band, spec in params.size_bands.items():
        here = bands == band
        lo, hi = spec.employees
        draw = np.exp(rng.uniform(np.log(lo), np.log(hi + 1), int(here.sum())))
        out[here] = np.clip(np.floor(draw), lo, hi).astype(np.int64)
    return out


def _round_capital(values: np.ndarray) -> np.ndarray:
    """Registered capital is declared in round numbers of 10,000 CNY."""
    step = np.select([values < 100, values < 1000], [1.0, 10.0], default=100.0)
    return np.round(values / step) * step


def _legal_rep_persons(rng: np.random.Generator, params: WorldParams, n: int) -> np.ndarray:
    """Person index per entity: most people represent one entity, a few several."""
    table = params.legal_reps.firms_per_person
    sizes = np.array(list(table), dtype=np.int64)
    p = np.array(list(table.values()), dtype=float)
    draws = sizes[rng.choice(len(sizes), size=n, p=p / p.sum())]
    n_people = int(np.searchsorted(np.cumsum(draws), n) + 1)
    person = np.repeat(np.arange(n_people), draws[:n_people])[:n]
    return person[rng.permutation(n)]


def build_population(
    rng: np.random.Generator,
    params: WorldParams,
    vocab: Vocabulary,
    scale: SimScale,
    calendar: SimCalendar,
) -> pl.DataFrame:
    industries, kinds = _kinds_and_industries(rng, params, scale)
    n = len(industries)
    # Individual businesses and branches draw from their own parameters, keyed by kind.
    group = np.where(np.isin(kinds, ["individual", "branch"]), kinds, industries)
    size_weights = {k: dict(v.size_bands) for k, v in params.industries.items()}
    size_weights |= {k: dict(v.size_bands) for k, v in params.non_enterprises.items()}
    bands = _by_group(rng, group, size_weights, "<U6")
    employees = _employees(rng, params, bands)

    ownership = _by_group(
        rng, industries, {k: dict(v.ownership) for k, v in params.industries.items()}
    )
    ownership[kinds == "individual"] = "民营"
    districts = _by_group(
        rng, industries, {k: dict(v.districts) for k, v in params.industries.items()}
    )

    founded = np.datetime64(params.park.founded, "D")
    age_days = rng.gamma(params.age.gamma_shape, params.age.gamma_scale_years, n) * 365.25
    established = calendar.end_day - age_days.astype("timedelta64[D]")
    # Firms older than the park arrived in its first years rather than all on its first day.
    early = established < founded
    first_years = rng.uniform(0, 5 * 365.25, n).astype("timedelta64[D]")
    established = np.minimum(np.where(early, founded + first_years, established), calendar.end_day)

    capital_median = np.empty(n, dtype=float)
    for industry in params.industries:
        capital_median[industries == industry] = params.industries[industry].capital_median_wan
    for kind, spec in params.non_enterprises.items():
        capital_median[kinds == kind] = spec.capital_median_wan
    band_factor = np.array([params.size_bands[str(b)].capital_factor for b in bands])
    capital = _round_capital(capital_median * band_factor * rng.lognormal(0.0, 0.8, n))
    capital = np.clip(capital, 0.0, 1e7)

    person = _legal_rep_persons(rng, params, n)
    n_people = int(person.max()) + 1
    lo, hi = params.legal_reps.age_years
    rep_age_days = rng.uniform(lo * 365.25, hi * 365.25, n_people).astype("timedelta64[D]")
    rep_names = ids.person_names(rng, vocab, n_people)
    rep_ids = ids.id_numbers(rng, vocab, calendar.end_day - rep_age_days)
    rep_phones = ids.mobile_numbers(rng, vocab, n_people)

    terms = np.empty(n, dtype=object)
    for industry in params.industries:
        here = industries == industry
        options = np.array(params.industries[industry].name_terms)
        terms[here] = options[rng.integers(0, len(options), int(here.sum()))]
    for kind, options in (
        ("individual", vocab.individual_shops),
        ("school", vocab.school_terms),
    ):
        here = kinds == kind
        terms[here] = np.array(options)[rng.integers(0, len(options), int(here.sum()))]
    prefixes = ids.weighted_choice(rng, params.park.name_prefixes, n)
    foreign = np.isin(ownership, FOREIGN_OWNERSHIP) & (kinds == "enterprise")
    foreign &= rng.random(n) < 0.6
    names, trade = ids.firm_names(
        rng, vocab, kinds=kinds, terms=terms.astype(str), prefixes=prefixes, foreign=foreign
    )

    kind_prefix = {k: v.uscc_prefix for k, v in params.entity_kinds.items()}
    uscc = ids.uscc_codes(
        rng,
        np.array([kind_prefix[str(k)] for k in kinds]),
        params.park.registration_region,
        new_style=established >= CODE_REFORM,
    )
    sectors = {k: v.sector for k, v in params.industries.items()}
    event_types = {k: v.distress_event_type for k, v in params.industries.items()}
    return pl.DataFrame(
        {
            "uscc": uscc,
            "name": names,
            "trade_name": trade,
            "industry": industries,
            "sector": [sectors[str(i)] for i in industries],
            "entity_kind": kinds,
            "district": districts,
            "ownership_type": ownership,
            "established_date": established,
            "size_band": bands,
            "employees": employees,
            "registered_capital": capital,
            "registered_address": ids.addresses(rng, vocab, districts),
            "legal_rep_person": person,
            "legal_rep_name": rep_names[person],
            "legal_rep_id_number": rep_ids[person],
            "legal_rep_phone": rep_phones[person],
            "distress_event_type": [event_types[str(i)] for i in industries],
        }
    )
