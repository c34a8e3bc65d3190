"""A source's deliveries are read and validated in batches of whole deliveries (memory holds one
batch), with the same outcome as one batch; a source that breaks in a later batch leaves the lake
as it was. Calls the planner and ``ingest_source`` directly: no Prefect.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from data_contracts import catalog
from pipelines import gx_context, io
from pipelines import ingest_source as ingest_module
from pipelines.ingest_source import STAGING, ingest_source
from tests.pipelines.ingest_landing import land, plan_landed, valid_rows

HOTLINE = catalog.get("complaint_12345")
AS_OF = dt.datetime(2026, 10, 26, 23, 59, 59)
WEEKS = ("2026-10-04", "2026-10-11", "2026-10-18", "2026-10-25")
ROWS = (6, 5, 7, 4)


def landed(workdir) -> None:
    start = 0
    for week, rows in zip(WEEKS, ROWS, strict=True):
        frame = valid_rows(HOTLINE, rows, day=dt.date.fromisoformat(week), start=start)
        if week == "2026-10-18":  # one bad row, so quarantine is part of the comparison
            frame = frame.with_columns(
                pl.when(pl.int_range(pl.len()) == 2)
                .then(pl.lit("not-a-code"))
                .otherwise(pl.col("uscc"))
                .alias("uscc")
            )
        land(workdir / "landing", HOTLINE, week, frame)
        start += rows


def outcome(workdir, report) -> dict:
    lake = io.scan_source(workdir / "lake", HOTLINE.id).collect().sort("_delivery_id", "ticket_id")
    quarantine = sorted(p.name for p in (workdir / "quarantine").rglob("*.parquet"))
    deliveries = [
        (o.delivery_id, o.status, o.rows_in, o.rows_accepted, o.rows_quarantined)
        for o in report.deliveries
    ]
    return {"lake": lake, "quarantine": quarantine, "deliveries": deliveries}


def test_batches_of_whole_deliveries_give_the_outcome_of_one_batch(tmp_path, monkeypatch):
    one, many = tmp_path / "one", tmp_path / "many"
    for workdir in (one, many):
        landed(workdir)
    whole = ingest_source(HOTLINE, plan_landed(one, HOTLINE, as_of=AS_OF, run_id="whole"))
    monkeypatch.setattr(ingest_module, "BATCH_ROWS", 10)  # batches: 6 | 5 | 7 | 4 rows
    batched = ingest_source(HOTLINE, plan_landed(many, HOTLINE, as_of=AS_OF, run_id="batched"))
    assert len(whole.validation_result_ids) == 1
    assert len(batched.validation_result_ids) == 4
    assert [o.validation_result_id for o in batched.deliveries] == batched.validation_result_ids
    expected, got = outcome(one, whole), outcome(many, batched)
    assert got["lake"].drop("_ingested_at").equals(expected["lake"].drop("_ingested_at"))
    assert got["quarantine"] == expected["quarantine"]
    assert got["deliveries"] == expected["deliveries"]
    assert (batched.rows_in, batched.rows_quarantined) == (sum(ROWS), 1)
    assert not (many / "lake" / STAGING).exists() or not any((many / "lake" / STAGING).iterdir())


def test_a_source_breaking_in_a_later_batch_leaves_the_lake_as_it_was(tmp_path, monkeypatch):
    landed(tmp_path)
    monkeypatch.setattr(ingest_module, "BATCH_ROWS", 10)
    real = gx_context.validate
    calls = []

    def third_batch_breaks(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise gx_context.ValidationError("complaint_12345: GX could not evaluate a rule")
        return real(*args, **kwargs)

    monkeypatch.setattr(gx_context, "validate", third_batch_breaks)
    plan = plan_landed(tmp_path, HOTLINE, as_of=AS_OF, run_id="broken")
    with pytest.raises(gx_context.ValidationError):
        ingest_source(HOTLINE, plan)
    assert io.lake_files(tmp_path / "lake", HOTLINE.id) == []  # the first two batches too
    assert io.read_ledger(tmp_path / "lake") == []
    staging = tmp_path / "lake" / STAGING
    assert not staging.exists() or not any(staging.iterdir())


def backfill(workdir) -> None:
    """One delivery of 11 rows: a key shared by rows 1 and 9 (slices 1 and 3 of 4 rows), a key
    shared by rows 2 and 3 (one slice), a bad credit code in row 6."""
    frame = valid_rows(HOTLINE, 11, day=dt.date(2026, 10, 20))
    tickets = frame["ticket_id"].to_list()
    tickets[8], tickets[2] = tickets[0], tickets[1]
    codes = frame["uscc"].to_list()
    codes[5] = "not-a-code"
    frame = frame.with_columns(pl.Series("ticket_id", tickets), pl.Series("uscc", codes))
    land(workdir / "landing", HOTLINE, "backfill-2026-10-20", frame)


def test_a_delivery_larger_than_a_batch_is_validated_in_slices_as_in_one_run(tmp_path, monkeypatch):
    one, sliced = tmp_path / "one", tmp_path / "sliced"
    for workdir in (one, sliced):
        backfill(workdir)
    whole = ingest_source(HOTLINE, plan_landed(one, HOTLINE, as_of=AS_OF, run_id="whole"))
    monkeypatch.setattr(ingest_module, "BATCH_ROWS", 4)
    parts = ingest_source(HOTLINE, plan_landed(sliced, HOTLINE, as_of=AS_OF, run_id="sliced"))
    assert len(parts.validation_result_ids) == 3  # rows 1-4, 5-8, 9-11
    (expected,), (got,) = whole.deliveries, parts.deliveries
    assert (got.rows_in, got.rows_accepted, got.rows_quarantined) == (11, 6, 5)
    for field in ("status", "rows_in", "rows_accepted", "rows_quarantined", "reason"):
        assert getattr(got, field) == getattr(expected, field), field
    assert got.quarantined_by_expectation == expected.quarantined_by_expectation
    assert got.warnings == expected.warnings and got.implausible == expected.implausible
    lake = {
        w: io.scan_source(w / "lake", HOTLINE.id).collect().drop("_ingested_at")
        for w in (one, sliced)
    }
    assert lake[sliced].equals(lake[one])
    rows = {w: pl.read_parquet(next((w / "quarantine").rglob("*.parquet"))) for w in (one, sliced)}
    assert rows[sliced].equals(rows[one])
    assert any(
        "row 9 column ticket_id: value 'ticket_id-0' appears in 2 rows" in reason
        for reason in rows[sliced]["_reason"]
    )
    staging = sliced / "lake" / STAGING
    assert not staging.exists() or not any(staging.iterdir())
