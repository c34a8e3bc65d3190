"""One source from world to files: rows, deliveries, defects (pure; the flow writes the bytes)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from data_contracts.schema import SourceContract
from data_contracts.simulate.defects import DefectPlan, DefectRecord, inject_defects
from data_contracts.simulate.deliveries import Delivery, split_deliveries
from data_contracts.simulate.sources import simulate_source
from data_contracts.simulate.world import World


@dataclass(frozen=True)
class SourceDeliveries:
    source_id: str
    rows: int  # rows generated (before defects)
    deliveries: list[Delivery]
    defects: list[DefectRecord]
    # For a source naming records of others (a repair): every row as generated, before defects
    # and delivery, the truth of which record was repaired when.
    references: pl.DataFrame | None = None


def source_deliveries(
    world: World,
    contract: SourceContract,
    plan: DefectPlan,
    canonical: pl.DataFrame | None = None,
) -> SourceDeliveries:
    """The files one source delivers up to the world's end date, with their defects.

    ``canonical``: the source's rows when already simulated (the consistency plants rewrite the
    sources their rules compare); simulated here otherwise."""
    if canonical is None:
        canonical = simulate_source(world, contract)
    deliveries = split_deliveries(contract, canonical, world.calendar)
    weekly = [str(d) for d in world.calendar.weekly_dates]
    deliveries, defects = inject_defects(contract, deliveries, plan, world.seed, weekly)
    references = None
    if contract.refers_to is not None:
        ref = contract.refers_to
        references = canonical.select(
            *contract.unique_key,
            contract.entity_key,
            contract.event_time,
            contract.arrival_time,
            ref.source,
            ref.record,
        ).filter(pl.col(ref.record).is_not_null())
    return SourceDeliveries(contract.id, canonical.height, deliveries, defects, references)
