"""An analyst's table made ready for training, and the files a train-table run is read back from.

``load_table_inputs`` reads the file, checks the label/segment/id/time columns, decides which
columns are model inputs and writes nothing: ``ews train-table`` calls it before anything starts
so that a bad table fails in a second with one line, and the flow calls it again as its first
step. ``schema_document`` is what ``ews score-table`` needs to read and encode a new table
exactly as the model saw its training table.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from models.table_columns import ColumnPlan, plan_columns
from models.table_report import table_report
from models.tabular import (
    ROW,
    TableLayout,
    outer_folds,
    prepare_table,
    segment_frame,
    segment_values,
)
from pipelines.tables import ReadOptions, TableRead, read_table

SCHEMA = "schema.json"
SCHEMA_FORMAT = "ews-table-schema/1"
METRICS = "metrics.json"
DATA_REPORT_JSON = "data_report.json"
DATA_REPORT_HTML = "data_report.html"
MODEL_FRAME = "table.parquet"


class RunFolderError(ValueError):
    """An output or model folder that cannot be used (names the folder and why)."""


@dataclass(frozen=True)
class TableInputs:
    read: TableRead
    layout: TableLayout
    frame: pl.DataFrame  # prepared: label 0/1, _row, the columns as read
    plan: ColumnPlan
    report: dict[str, Any]

    def model_frame(self) -> pl.DataFrame:
        """What the models see: _row, the special columns and the encoded inputs."""
        special = [
            c
            for c in (
                self.layout.label,
                self.layout.segment,
                self.layout.id_col,
                self.layout.time_col,
            )
            if c
        ]
        return self.plan.encode(self.frame).select(ROW, *special, *self.plan.feature_names)


def load_table_inputs(
    table: str | Path,
    layout: TableLayout,
    options: ReadOptions | None = None,
    keep: Sequence[str] = (),
    drop: Sequence[str] = (),
) -> TableInputs:
    """Read, check and plan the table; raises a ValueError naming file, column and row."""
    read = read_table(table, options)
    frame = prepare_table(read.frame, layout)
    plan = plan_columns(frame, layout, keep=keep, drop=drop)
    report = table_report(frame, layout, plan, read.describe())
    return TableInputs(read=read, layout=layout, frame=frame, plan=plan, report=report)


def check_table_folds(inputs: TableInputs, folds: int, seed: int) -> None:
    """Every segment has both classes and enough rows (or periods) for ``folds`` outer folds."""
    for value in segment_values(inputs.frame, inputs.layout):
        rows = segment_frame(inputs.frame, inputs.layout, value)
        try:
            outer_folds(rows, inputs.layout, folds, seed)
        except ValueError as error:
            if value is None:
                raise
            segment = f"segment {inputs.layout.segment}={value!r}: "
            raise ValueError(str(error).replace(": ", f": {segment}", 1)) from None


def check_out_folder(out: str | Path, marker: str = SCHEMA, what: str = "train-table run") -> Path:
    """The resolved output folder, refused when it holds anything but an earlier output (a
    folder with ``marker`` in it).

    A successful run replaces the folder as a whole, so a folder with other files in it (the
    analyst's own, or a typo such as ``--out .``) is never used.
    """
    target = Path(out).expanduser().resolve()
    if target.exists() and not target.is_dir():
        raise RunFolderError(f"--out {target} is a file, not a folder")
    if target.is_dir() and any(target.iterdir()) and not (target / marker).is_file():
        raise RunFolderError(
            f"--out {target} exists and is not a {what} (no {marker}); it would be replaced "
            "as a whole, so choose a new or empty folder"
        )
    return target


def schema_document(
    inputs: TableInputs, settings: Mapping[str, Any], segments: Mapping[str, str]
) -> dict[str, Any]:
    """How to read and encode a new table for this run's models (``segments``: key -> file)."""
    layout = inputs.layout
    return {
        "format": SCHEMA_FORMAT,
        "label": layout.label,
        "segment": layout.segment,
        "id": layout.id_col,
        "time": layout.time_col,
        "reading": inputs.read.describe(),
        "columns": inputs.plan.to_dict(),
        "segments": dict(segments),
        "settings": dict(settings),
    }


def read_run(model_dir: str | Path) -> dict[str, Any]:
    """A finished run's schema.json, checked; refuses folders that are not train-table runs."""
    folder = Path(model_dir).expanduser()
    path = folder / SCHEMA
    if not folder.is_dir():
        raise RunFolderError(f"--model {folder}: no such folder")
    if not path.is_file():
        raise RunFolderError(
            f"--model {folder}: not a train-table run (no {SCHEMA}); pass the --out folder of "
            "`ews train-table`"
        )
    schema = json.loads(path.read_text(encoding="utf-8"))
    if schema.get("format") != SCHEMA_FORMAT:
        raise RunFolderError(
            f"--model {folder}: {SCHEMA} has format {schema.get('format')!r}, expected "
            f"{SCHEMA_FORMAT!r}"
        )
    for key, file in schema["segments"].items():
        if not (folder / file).is_file():
            raise RunFolderError(
                f"--model {folder}: the model of segment {key!r} ({file}) is missing"
            )
    return schema
