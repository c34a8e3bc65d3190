"""Shared fixtures of the simulator tests: one tiny park (200 entities) and all its sources."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from data_contracts.catalog import load_all
from data_contracts.schema import SourceContract
from data_contracts.simulate.sources import simulate_source
from data_contracts.simulate.world import World, build_world

END_DATE = dt.date(2026, 11, 20)
SEED = 20261121


@pytest.fixture(scope="session")
def contracts() -> dict[str, SourceContract]:
    return load_all()


@pytest.fixture(scope="session")
def tiny_world() -> World:
    return build_world("tiny", SEED, END_DATE)


@pytest.fixture(scope="session")
def small_world() -> World:
    return build_world("small", SEED, END_DATE)


@pytest.fixture(scope="session")
def tiny_sources(
    tiny_world: World, contracts: dict[str, SourceContract]
) -> dict[str, pl.DataFrame]:
    """Every source of the tiny park as a canonical frame (before deliveries and defects)."""
    return {source_id: simulate_source(tiny_world, c) for source_id, c in contracts.items()}
