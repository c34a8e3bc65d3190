"""One source from world to files: rows, deliveries, defects (pure; the flow writes the bytes)."""

from __future__ import annotations

from dataclasses import dataclass

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


def source_deliveries(world: World, contract: SourceContract, plan: DefectPlan) -> SourceDeliveries:
    """The files one source delivers up to the world's end date, with their defects."""
    canonical = simulate_source(world, contract)
    deliveries = split_deliveries(contract, canonical, world.calendar)
    weekly = [str(d) for d in world.calendar.weekly_dates]
    deliveries, defects = inject_defects(contract, deliveries, plan, world.seed, weekly)
    return SourceDeliveries(contract.id, canonical.height, deliveries, defects)
