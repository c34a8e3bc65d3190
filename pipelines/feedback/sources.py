"""Departments' own inspection sources, read from the lake into the case store.

The sources ``data_contracts/feedback.yaml`` names under ``department_sources`` report on the
same question as a returned list; each row becomes an inspection report keyed by
``<source id>/<record id>``, with the outcome its result maps to and received when the row
reached the platform (its ``arrived_at``, the park's local time). A row delivered again with a
different result corrects the earlier report.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl

from data_contracts import catalog
from data_contracts.feedback import FeedbackContract
from models.config import IndustrySpec
from pipelines import io
from pipelines.cases.inspections import Report, record_reports
from pipelines.cases.store import CaseStore
from pipelines.cases.tables import DEPARTMENT_SOURCE, Inspection
from pipelines.timeline import PARK_TZ
from pipelines.weekly_list import MASTER

OTHER = "other"


def firm_industries(lake: Path, specs: dict[str, IndustrySpec]) -> pl.DataFrame:
    """Each registered firm's industry key (``other`` outside the modelled industries), from
    its latest registration snapshot."""
    contract = catalog.get(MASTER)
    sectors = {spec.sector_value: key for key, spec in specs.items()}
    return (
        io.scan_source(lake, MASTER)
        .select("uscc", "sector", contract.event_time)
        .sort("uscc", contract.event_time)
        .group_by("uscc", maintain_order=True)
        .last()
        .select(
            "uscc",
            pl.col("sector").replace_strict(sectors, default=OTHER).alias("industry"),
        )
        .collect()
    )


def source_reports(
    lake: Path, source_id: str, contract: FeedbackContract, industries: pl.DataFrame
) -> list[Report]:
    """One source's rows as reports, oldest arrival first (so a re-delivery corrects)."""
    mapping = contract.department_sources[source_id]
    source = catalog.get(source_id)
    key = source.unique_key[0]
    rows = (
        io.scan_source(lake, source_id)
        .select(
            pl.col(key).alias("record"),
            "uscc",
            pl.col(source.event_time).cast(pl.Date).alias("inspection_date"),
            pl.col(mapping.result_column).alias("result"),
            pl.col(source.arrival_time).alias("arrived_at"),
            pl.col(io.DELIVERY_ID).alias("delivery"),
        )
        .collect()
        .join(industries, on="uscc", how="left")
        .sort("arrived_at", "record", "delivery")
    )
    return [
        Report(
            report_key=f"{source_id}/{row['record']}",
            channel=source_id,
            uscc=row["uscc"],
            industry=row["industry"] or OTHER,
            week=None,
            inspection_date=row["inspection_date"],
            method=mapping.method,
            outcome=mapping.outcomes[row["result"]],
            note=None,
            origin=f"lake/{source_id}/delivery={row['delivery']}",
            received_at=_park_time(row["arrived_at"]),
        )
        for row in rows.iter_rows(named=True)
    ]


def _park_time(value: dt.datetime) -> dt.datetime:
    """A department's timestamp is the park's wall-clock time."""
    return value if value.tzinfo else value.replace(tzinfo=PARK_TZ)


def sync_department_sources(
    store: CaseStore,
    lake: Path,
    contract: FeedbackContract,
    specs: dict[str, IndustrySpec],
    operator: str,
) -> dict[str, Any]:
    """Record every new or changed row of the department sources; one batch per source that
    brought something (a source with nothing new writes nothing). Returns counts per source."""
    industries = firm_industries(lake, specs)
    result: dict[str, Any] = {}
    for source_id in contract.department_sources:
        if not io.lake_files(lake, source_id):
            result[source_id] = {"rows": 0, "added": 0, "corrected": 0, "unchanged": 0}
            continue
        reports = source_reports(lake, source_id, contract, industries)
        with store.write(DEPARTMENT_SOURCE, operator, f"lake/{source_id}") as change:
            counts = record_reports(change, reports, Inspection.channel == source_id)
            batch = change.batch.id if change.added else None
        result[source_id] = {"rows": len(reports), "batch": batch, **counts}
    return result
