"""A published weekly list to send out and get back: the publish code itself (tables, list
files, manifest; no charts) on the tiny publish world, for one industry."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from openpyxl import load_workbook

from pipelines import publish_io, publish_list
from pipelines.io import lake_sources
from pipelines.timeline import resolve_week
from tests.pipelines.publish_world import WEEK, World, build_world, world_config


@dataclass(frozen=True)
class Published:
    world: World
    week: str
    industry: str
    folder: Path

    @property
    def workbook(self) -> Path:
        return self.folder / publish_io.RISK_LIST_XLSX

    def returned_copy(self, target: Path) -> Path:
        """A copy of the workbook, as a regulator would send it back untouched."""
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.workbook, target)
        return target


def publish_one(
    root: Path,
    industry: str = "finance",
    week: str = WEEK,
    seed: int = 5,
    names: Mapping[str, str] | None = None,
):
    world = build_world(root, seed=seed, names=names)
    config = world_config()
    spec = config.industries[industry]
    _, as_of = resolve_week(week)
    settings = world.settings
    table = pl.read_parquet(settings.features / f"as_of={as_of.isoformat()}.parquet")
    model, info = world.tracker.load_model(industry)
    folder = settings.publish / week / industry
    folder.mkdir(parents=True)
    written = publish_list.write_tables(
        folder,
        spec=spec,
        week=week,
        as_of=as_of,
        table=table,
        model=model,
        sources=lake_sources(settings.lake),
        publish_root=settings.publish,
    )
    publish_list.write_list_files(
        folder, spec, config.inspection_frequency, week, as_of, written["previous"]["kind"]
    )
    publish_list.write_manifest(
        folder,
        {
            "week": week,
            "as_of": as_of.isoformat(),
            "industry": industry,
            "regulator": spec.regulator.zh,
            "model": {"name": info.name, "version": info.version},
        },
    )
    return Published(world, week, industry, folder)


def fill(path: Path, cells: dict[str, object], sheet: str = "风险名单") -> Path:
    """Type values into a workbook as a regulator would (cell address -> value) and save."""
    book = load_workbook(path)
    for address, value in cells.items():
        book[sheet][address] = value
    book.save(path)
    return path
