"""`ews simulate`: write the simulated park's landing files and the simulator's truth.

landing/<source_id>/<delivery_id>.<csv|parquet>   every source's deliveries, raw as delivered
sim_truth/world.json                              seed, scale, calendar, defect plan
sim_truth/firms.parquet                           every entity with its latent fate
sim_truth/monthly_stress.parquet                  latent stress per entity and month
sim_truth/distress_events.parquet                 every distress event (also those after end)
sim_truth/defects.json                            every injected defect (source, delivery, kind,
                                                  column, rows)
sim_truth/deliveries.json                         every file written, with its rows and bytes
sim_truth/consistency.parquet                     every planted cross-source contradiction and
                                                  innocent near miss (rule, firm, period, kind,
                                                  visible from, corrected at, the two values)
sim_truth/repairs/<source_id>.parquet             the records each repair source repaired, when
                                                  (as generated, before defects)

The world is built once and handed to the source tasks through sim_truth (no pipeline
downstream reads sim_truth; it is for tests and diagnostics). Same seed, scale and end date:
byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from data_contracts.catalog import load_all
from data_contracts.rules import load_rules
from data_contracts.schema import SourceContract
from data_contracts.simulate.consistency import plant, planting_sources
from data_contracts.simulate.defects import DEFECT_KINDS, DefectPlan, plan_defects
from data_contracts.simulate.deliveries import render
from data_contracts.simulate.park import source_deliveries
from data_contracts.simulate.sources import simulate_source
from data_contracts.simulate.world import World, build_world
from pipelines import datasets, file_io
from pipelines.settings import Settings
from pipelines.timeline import parse_day
from pipelines.workdir_lock import holds_workdir

TRUTH_FRAMES = ("firms", "monthly_stress", "distress_events")
# Landing tasks: few enough to keep orchestration overhead small, two running at a time (the
# machine's cores); sources are dealt round-robin so heavy panels spread over the tasks.
LANDING_TASKS = 6
PARALLEL_TASKS = 2


def _write_bytes(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with file_io.replaced_on_success(path) as tmp:
        tmp.write_bytes(content)


def _write_truth(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with file_io.replaced_on_success(path) as tmp:
        frame.write_parquet(tmp, statistics=False)


@task(name="clear-simulated-landing", cache_policy=NO_CACHE)
def clear_previous_run(landing: str, sim_truth: str, source_ids: list[str]) -> None:
    """Remove what an earlier simulation wrote, so no stale delivery survives."""
    for source_id in source_ids:
        shutil.rmtree(Path(landing) / source_id, ignore_errors=True)
    shutil.rmtree(sim_truth, ignore_errors=True)


@task(name="build-world", cache_policy=NO_CACHE)
def build_world_task(
    sim_truth: str, scale: str, seed: int, end_date: dt.date, plan: dict[str, Any]
) -> dict[str, str]:
    """Build the park and write its truth; returns the truth files by name."""
    world = build_world(scale, seed, end_date)
    folder = Path(sim_truth)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, frame in world.truth_frames().items():
        path = datasets.SIM_TRUTH_FRAME.at(folder, name=name)
        _write_truth(frame, path)
        paths[name] = str(path)
    meta = {**world.meta(), "defects": plan}
    paths["world"] = str(file_io.write_json(datasets.SIM_WORLD.at(folder), meta))
    return paths


def _by_source(entry: dict[str, Any]) -> str:
    return entry["source"]


def load_world(truth: dict[str, str]) -> World:
    meta = json.loads(Path(truth["world"]).read_text(encoding="utf-8"))
    return World.from_truth(
        meta, pl.read_parquet(truth["firms"]), pl.read_parquet(truth["monthly_stress"])
    )


def _write_source(
    landing: str,
    truth_folder: Path,
    world: World,
    contract: SourceContract,
    plan: DefectPlan,
    canonical: pl.DataFrame | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """One source's delivery files written; their entries and the defects injected."""
    source_id = contract.id
    result = source_deliveries(world, contract, plan, canonical)
    files: list[dict[str, Any]] = []
    defects: list[dict[str, Any]] = []
    for delivery in result.deliveries:
        content = render(delivery)
        path = Path(landing) / source_id / delivery.file_name
        _write_bytes(path, content)
        files.append(
            {
                "source": source_id,
                "delivery": delivery.delivery_id,
                "file": f"landing/{source_id}/{delivery.file_name}",
                "rows": delivery.rows,
                "bytes": len(content),
            }
        )
    for record in result.defects:
        entry = record.to_json()
        if record.delivery is not None:
            suffix = contract.delivery.format.value
            entry["file"] = f"landing/{source_id}/{record.delivery}.{suffix}"
        defects.append(entry)
    if result.references is not None:
        _write_truth(result.references, datasets.SIM_REPAIRS.at(truth_folder, source=source_id))
    return files, defects


@task(name="write-landing", cache_policy=NO_CACHE)
def write_landing_task(
    landing: str, truth: dict[str, str], source_ids: list[str], plan: dict[str, Any]
) -> dict[str, list[dict[str, Any]]]:
    """Simulate a batch of sources and write their delivery files."""
    world = load_world(truth)
    contracts = load_all()
    defect_plan = DefectPlan.from_json(plan)
    folder = Path(truth["world"]).parent
    files: list[dict[str, Any]] = []
    defects: list[dict[str, Any]] = []
    for source_id in source_ids:
        written, injected = _write_source(landing, folder, world, contracts[source_id], defect_plan)
        files += written
        defects += injected
    return {"files": files, "defects": defects}


@task(name="plant-consistency", cache_policy=NO_CACHE)
def plant_consistency_task(
    landing: str, truth: dict[str, str], source_ids: list[str], plan: dict[str, Any]
) -> dict[str, Any]:
    """The sources the consistency rules compare, simulated together, reconciled and planted
    with contradictions and innocent near misses (``data_contracts/simulate/consistency.py``,
    rates from each rule's ``simulation``); their delivery files written and the planted truth
    in ``sim_truth/consistency.parquet``."""
    world = load_world(truth)
    contracts = load_all()
    rules = load_rules()
    defect_plan = DefectPlan.from_json(plan)
    folder = Path(truth["world"]).parent
    canonical = {s: simulate_source(world, contracts[s]) for s in source_ids}
    frames, planted = plant(world, rules, canonical, contracts)
    del canonical
    files: list[dict[str, Any]] = []
    defects: list[dict[str, Any]] = []
    for source_id in source_ids:
        written, injected = _write_source(
            landing, folder, world, contracts[source_id], defect_plan, frames.pop(source_id)
        )
        files += written
        defects += injected
    path = datasets.SIM_CONSISTENCY.at(folder)
    _write_truth(planted, path)
    return {"files": files, "defects": defects, "truth": str(path)}


@task(name="write-manifests", cache_policy=NO_CACHE)
def write_manifests_task(
    sim_truth: str, files: list[dict[str, Any]], defects: list[dict[str, Any]]
) -> dict[str, str]:
    folder = Path(sim_truth)
    return {
        "defects": str(file_io.write_json(datasets.SIM_DEFECTS.at(folder), defects)),
        "deliveries": str(file_io.write_json(datasets.SIM_DELIVERIES.at(folder), files)),
    }


@flow(name="simulate", task_runner=ThreadPoolTaskRunner(max_workers=PARALLEL_TASKS))
@holds_workdir("simulate")
def simulate_flow(
    workdir: str,
    scale: str = "small",
    seed: int = 20261121,
    end_date: str | dt.date | None = None,
    defect_rate: float = 0.02,
) -> dict[str, Any]:
    """Generate the simulated park's landing files (deterministic by seed, scale, end date)."""
    started = time.perf_counter()
    if not 0.0 <= defect_rate <= 1.0:
        raise ValueError(f"defect_rate must lie in [0, 1], got {defect_rate}")
    settings = Settings(workdir=Path(workdir), scale=scale, seed=seed, defect_rate=defect_rate)
    end = parse_day(end_date, "end_date")
    contracts = load_all()
    source_ids = sorted(contracts)
    plan = plan_defects(contracts, seed, defect_rate).to_json()

    clear_previous_run(str(settings.landing), str(settings.sim_truth), source_ids)
    truth = build_world_task(str(settings.sim_truth), scale, seed, end, plan)
    planted_sources = planting_sources(load_rules())
    others = [s for s in source_ids if s not in planted_sources]
    batches = [others[i::LANDING_TASKS] for i in range(LANDING_TASKS)]
    planted = plant_consistency_task.submit(str(settings.landing), truth, planted_sources, plan)
    futures = [
        write_landing_task.submit(str(settings.landing), truth, batch, plan) for batch in batches
    ]
    written = [planted.result(), *(future.result() for future in futures)]
    # Files and defects in source order (each source's in delivery order), however dealt.
    files = sorted((f for part in written for f in part["files"]), key=_by_source)
    defects = sorted((d for part in written for d in part["defects"]), key=_by_source)
    manifests = write_manifests_task(str(settings.sim_truth), files, defects)
    truth = {**truth, "consistency": written[0]["truth"]}
    return _summary(
        settings,
        scale,
        seed,
        end,
        defect_rate,
        truth,
        manifests,
        files,
        defects,
        time.perf_counter() - started,
    )


def _summary(
    settings: Settings,
    scale: str,
    seed: int,
    end: dt.date,
    defect_rate: float,
    truth: dict[str, str],
    manifests: dict[str, str],
    files: list[dict[str, Any]],
    defects: list[dict[str, Any]],
    seconds: float,
) -> dict[str, Any]:
    firms = pl.read_parquet(truth["firms"], columns=["industry", "entity_kind", "distress_date"])
    by_industry = dict(sorted(firms.group_by("industry").len().iter_rows()))
    by_kind = dict(sorted(firms.group_by("entity_kind").len().iter_rows()))
    events = firms.filter(pl.col("distress_date") <= end).height
    kinds = {kind: sum(d["kind"] == kind for d in defects) for kind in DEFECT_KINDS}
    planted = pl.read_parquet(truth["consistency"], columns=["rule_id", "kind"])
    return {
        "workdir": str(settings.workdir),
        "landing": str(settings.landing),
        "sim_truth": str(settings.sim_truth),
        "truth": {**truth, **manifests},
        "scale": scale,
        "seed": seed,
        "end_date": str(end),
        "defect_rate": defect_rate,
        "entities": firms.height,
        "entities_by_industry": by_industry,
        "entities_by_kind": by_kind,
        "distress_events_to_end_date": events,
        "sources": len({f["source"] for f in files}),
        "deliveries": len(files),
        "rows": sum(f["rows"] for f in files),
        "defects": len(defects),
        "defects_by_kind": kinds,
        "consistency_planted": {
            "rules": planted["rule_id"].n_unique(),
            **dict(sorted(planted.group_by("kind").len().iter_rows())),
        },
        "seconds": round(seconds, 2),
    }
