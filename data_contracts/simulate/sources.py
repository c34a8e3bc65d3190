"""One source's simulated rows as a canonical frame: the generator's rows, columns by role."""

from __future__ import annotations

import polars as pl

from data_contracts.schema import SourceContract
from data_contracts.simulate.columns import fill_columns
from data_contracts.simulate.generators import source_rows
from data_contracts.simulate.rng import stream
from data_contracts.simulate.world import World


def simulate_source(world: World, contract: SourceContract) -> pl.DataFrame:
    """Every row of the source that has arrived by the world's end date (canonical columns,
    contract types), deterministic in (world seed, source id)."""
    rng = stream(world.seed, "source", contract.id)
    rows = source_rows(contract, world, rng)
    return fill_columns(contract, world, rows, rng)
