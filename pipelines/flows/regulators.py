"""The simulated park's regulators answer a published week: each fills in its risk_list.xlsx.

For every industry published in ``week``: the listed firms go to
``data_contracts.simulate.inspections.regulator_returns`` (the simulator's truth decides what
inspectors find), and the published workbook is filled in as a regulator would, in its editable
columns only, and written to ``returned/<week>/<industry>/risk_list.xlsx``: what comes back by
mail. The truth behind each row (the visit's real date, whether the firm was at risk) goes to
``sim_truth/returns/<week>/<industry>.parquet`` for diagnostics; no pipeline reads it.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import polars as pl
from openpyxl import load_workbook
from prefect import flow

from data_contracts.feedback import load_feedback
from data_contracts.simulate.config import world_params
from data_contracts.simulate.inspections import regulator_returns
from data_contracts.simulate.rng import stream
from models.config import load_industries
from pipelines import datasets
from pipelines.io import read_json
from pipelines.publish_io import RISK_LIST_XLSX, SCORES
from pipelines.settings import Settings
from pipelines.timeline import Week, parse_day, parse_week
from pipelines.workdir_lock import holds_workdir


def fill_workbook(published: Path, target: Path, answers: pl.DataFrame) -> Path:
    """A copy of the published workbook with each firm's answer typed into the editable
    columns (found by their headers); nothing else is touched."""
    layout = load_feedback().workbook
    contract = load_feedback()
    book = load_workbook(published)
    sheet = book[layout.list_sheet]
    headers = {cell.value: cell.column for cell in sheet[1]}
    key = headers[layout.key_column]
    columns = {name: headers[label.zh] for name, label in layout.editable().items()}
    by_firm = {row["uscc"]: row for row in answers.iter_rows(named=True)}
    for row in range(2, sheet.max_row + 1):
        answer = by_firm.get(sheet.cell(row, key).value)
        if answer is None or answer["outcome"] is None:
            continue
        if answer["inspection_date"] is not None:
            cell = sheet.cell(row, columns["inspection_date"], answer["inspection_date"])
            cell.number_format = "yyyy-mm-dd"
        if answer["method"] is not None:
            sheet.cell(row, columns["method"], contract.methods[answer["method"]].zh)
        sheet.cell(row, columns["outcome"], contract.outcomes[answer["outcome"]].zh)
        if answer["note"]:
            sheet.cell(row, columns["note"], answer["note"])
    target.parent.mkdir(parents=True, exist_ok=True)
    book.save(target)
    return target


@flow(name="simulated-regulators")
@holds_workdir("simulated-regulators")
def regulators_flow(workdir: str, week: Week | str, returned_on: dt.date | str) -> dict[str, Any]:
    """Every published list of ``week`` answered by ``returned_on`` (a date or ``YYYY-MM-DD``);
    returns the files."""
    settings = Settings(workdir=Path(workdir))
    day = parse_day(returned_on, "returned_on")
    parsed = parse_week(week)
    week = parsed.label
    truth = pl.read_parquet(datasets.SIM_FIRMS.path(settings.workdir)).select(
        "uscc", "distress_date", "silent"
    )
    seed = int(read_json(datasets.SIM_WORLD.path(settings.workdir))["seed"])
    params = world_params().inspections
    files: dict[str, str] = {}
    for industry in load_industries():
        folder = settings.publish / week / industry
        if not (folder / RISK_LIST_XLSX).is_file():
            continue
        listed = (
            pl.read_parquet(folder / SCORES)
            .filter(pl.col("listed"))
            .sort("rank")
            .select("uscc", published_on=pl.lit(parsed.monday))
        )
        answers = regulator_returns(
            stream(seed, "regulators", week, industry), params, listed, truth, day
        )
        diagnostics = datasets.SIM_RETURNS.path(settings.workdir, week=week, industry=industry)
        diagnostics.parent.mkdir(parents=True, exist_ok=True)
        answers.write_parquet(diagnostics)
        target = datasets.RETURNED_LIST.path(settings.workdir, week=week, industry=industry)
        shutil.rmtree(target.parent, ignore_errors=True)
        files[industry] = str(fill_workbook(folder / RISK_LIST_XLSX, target, answers))
    return {"week": week, "returned_on": day.isoformat(), "files": files}
