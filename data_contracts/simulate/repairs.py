"""Credit repairs of simulated records: which penalties and listings get repaired, and when.

A repair source's contract names, through ``refers_to``, the sources whose records it can repair
(the allowed values of its source column). Each of those sources is simulated exactly as it is
delivered (same seed and stream), and each of its records is repaired with probability ``rate``,
scaled by exp(``stress_sensitivity`` x (stress - typical)) at the record's day: with a negative
sensitivity healthy firms repair more, as they can meet the conditions. A record stays public at
least ``lag_days`` before its repair; the wait beyond that is exponential
(``REPAIR_WAIT_MEAN_DAYS``). Repairs after the end date, or after the firm has vanished, never
happen. Arrivals follow ``delay_days`` like any event.

The repair rows name their record (source id and record number) and the kind of record; the
canonical frame of the repair source is the truth of which record was repaired when (the
simulate flow writes it to ``sim_truth/credit_repairs.parquet``). A named record may still fail
ingest (an injected defect): its repair then names a record the lake does not hold, which the
feature build reports.

Pure: the world in, rows out.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from data_contracts.catalog import load_all
from data_contracts.schema import Domain, SourceContract
from data_contracts.simulate.generators import Rows, arrival_times, concat_rows
from data_contracts.simulate.sources import simulate_source
from data_contracts.simulate.world import World

REPAIR_WAIT_MEAN_DAYS = 180.0
# The kind of record a repair names, as the credit centre codes it (credit_repair.repaired_record):
# by the named source's domain, or by its id for the lists.
KIND_BY_DOMAIN = {Domain.penalties: "行政处罚"}
KIND_BY_SOURCE = {
    "credit_abnormal_operation": "经营异常名录",
    "credit_serious_dishonest": "严重失信主体名单",
    "credit_black_list": "严重失信主体名单",
}
OTHER_KIND = "其他"


def record_kind(contract: SourceContract) -> str:
    return KIND_BY_SOURCE.get(contract.id, KIND_BY_DOMAIN.get(contract.domain, OTHER_KIND))


def repairs_of_named_records(
    contract: SourceContract, world: World, rng: np.random.Generator
) -> Rows:
    ref = contract.refers_to
    if ref is None:
        raise ValueError(f"{contract.id}: the repairs generator needs refers_to in the contract")
    contracts = load_all()
    named = contract.column(ref.source).allowed or []
    index = pl.DataFrame({"uscc": world.firms["uscc"]}).with_row_index("_firm")
    parts = [
        _repairs_of(contract, contracts[source_id], world, rng, index)
        for source_id in named
        if source_id in contracts
    ]
    return concat_rows(parts)


def _repairs_of(
    contract: SourceContract,
    target: SourceContract,
    world: World,
    rng: np.random.Generator,
    index: pl.DataFrame,
) -> Rows:
    ref = contract.refers_to
    assert ref is not None
    sim = contract.simulation
    key = target.unique_key[0]
    records = (
        simulate_source(world, target)
        .select(target.entity_key, key, target.event_time)
        .join(index, left_on=target.entity_key, right_on="uscc", how="inner", maintain_order="left")
    )
    firm = records["_firm"].to_numpy().astype(np.int64)
    day = records[target.event_time].cast(pl.Date).to_numpy().astype("datetime64[D]")
    typical = world.params.stress.baseline_beta[0] / sum(world.params.stress.baseline_beta)
    chance = np.clip(
        sim.rate * np.exp(sim.stress_sensitivity * (world.stress_at(firm, day) - typical)), 0, 1
    )
    repaired = rng.random(len(firm)) < chance
    wait = sim.lag_days + rng.exponential(REPAIR_WAIT_MEAN_DAYS, len(firm))
    repair_day = day + np.floor(wait).astype("timedelta64[D]")
    alive = world.alive_until()[firm] >= repair_day
    keep = np.flatnonzero(repaired & alive & (repair_day <= world.calendar.end_day))
    firm, repair_day = firm[keep], repair_day[keep]
    numbers = records[key].gather(keep).to_numpy().astype(object)
    fixed = {
        ref.source: np.full(len(keep), target.id, dtype=object),
        ref.record: numbers,
    }
    if ref.kind is not None:
        fixed[ref.kind] = np.full(len(keep), record_kind(target), dtype=object)
    return Rows(
        firm=firm,
        day=repair_day,
        arrival=arrival_times(rng, world.params.arrivals, repair_day, sim.delay_days),
        stress=world.stress_at(firm, repair_day, sim.lag_days),
        fixed=fixed,
    )
