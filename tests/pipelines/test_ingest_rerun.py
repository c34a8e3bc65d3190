"""Ingesting again adds nothing; a changed file under a known delivery id replaces its partition."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import polars as pl
import pytest

from data_contracts import catalog
from pipelines import io, workdir_lock
from pipelines.flows.ingest import check_run_id, ingest_flow
from pipelines.ingest_source import STAGING, clear_dead_runs_staging
from pipelines.timeline import parse_ingest_time
from tests.pipelines.ingest_landing import ingest_steps, land, valid_rows

PENSION = catalog.get("si_pension")
MASTER = catalog.get("reg_enterprise_master")
DAY = dt.date(2026, 11, 1)


def _ingest(workdir: Path, run_id: str, as_of: str = "2026-11-02") -> dict:
    result = ingest_flow.fn(workdir=str(workdir), as_of=as_of, run_id=run_id)
    return json.loads(Path(result["ingest_summary"]).read_text(encoding="utf-8"))


def _lake_height(workdir: Path, source: str) -> int:
    return io.scan_source(workdir / "lake", source).collect().height


@pytest.fixture
def landed(tmp_path):
    land(tmp_path / "landing", PENSION, "2026-10-01", valid_rows(PENSION, 6, day=DAY))
    land(tmp_path / "landing", PENSION, "2026-11-01", valid_rows(PENSION, 4, day=DAY, start=10))
    land(tmp_path / "landing", MASTER, "2026-11-01", valid_rows(MASTER, 5, day=DAY))
    return tmp_path


def test_second_ingest_adds_nothing_and_leaves_the_ledger_alone(landed, prefect_harness):
    first = _ingest(landed, "first")
    ledger = (landed / "lake" / "_ledger.jsonl").read_bytes()
    heights = {s: _lake_height(landed, s) for s in (PENSION.id, MASTER.id)}
    assert heights == {PENSION.id: 10, MASTER.id: 5}
    assert first["totals"]["deliveries_processed"] == 3

    second = _ingest(landed, "second")
    assert (landed / "lake" / "_ledger.jsonl").read_bytes() == ledger
    assert {s: _lake_height(landed, s) for s in heights} == heights
    assert second["totals"]["deliveries_processed"] == 0
    assert second["totals"]["deliveries_skipped"] == 3
    assert second["totals"]["rows_in"] == 0
    pension = second["sources"][PENSION.id]
    assert pension["status"] == "ok"
    assert pension["reason"] == "si_pension: no new deliveries (2 already ingested)"
    assert second["validation_result_ids"] == []
    assert Path(landed / "ingest" / "second" / "data_docs" / "index.html").exists()


def test_changed_file_with_the_same_delivery_id_replaces_its_partition(landed, prefect_harness):
    _ingest(landed, "first")
    land(landed / "landing", PENSION, "2026-11-01", valid_rows(PENSION, 7, day=DAY, start=40))
    second = _ingest(landed, "second")

    assert second["totals"]["deliveries_processed"] == 1
    assert _lake_height(landed, PENSION.id) == 6 + 7
    partition = io.scan_source(landed / "lake", PENSION.id).filter(
        pl.col("_delivery_id") == "2026-11-01"
    )
    assert (
        partition.collect()["uscc"].to_list()
        == valid_rows(PENSION, 7, day=DAY, start=40)["uscc"].to_list()
    )
    entries = [
        e
        for e in io.read_ledger(landed / "lake")
        if e["source"] == PENSION.id and e["delivery_id"] == "2026-11-01"
    ]
    assert [e["redelivery"] for e in entries] == [False, True]
    assert entries[1]["replaced_sha256"] == entries[0]["sha256"]
    assert entries[1]["sha256"] == io.file_sha256(
        landed / "landing" / PENSION.id / "2026-11-01.csv"
    )


def test_redelivery_that_fixes_a_defect_clears_its_old_quarantine(landed, prefect_harness):
    broken = valid_rows(MASTER, 5, day=DAY).with_columns(pl.lit("??").alias("sector"))
    land(landed / "landing", MASTER, "2026-11-01", broken)
    first = _ingest(landed, "first")
    assert first["sources"][MASTER.id]["rows_quarantined"] == 5
    quarantine = landed / "quarantine" / MASTER.id / "2026-11-01.parquet"
    assert quarantine.exists()

    land(landed / "landing", MASTER, "2026-11-01", valid_rows(MASTER, 5, day=DAY))
    second = _ingest(landed, "second")
    assert second["sources"][MASTER.id]["rows_accepted"] == 5
    assert not quarantine.exists()
    assert _lake_height(landed, MASTER.id) == 5


def test_as_of_date_means_the_whole_day_and_bad_text_is_refused():
    assert parse_ingest_time("2026-11-02") == dt.datetime(2026, 11, 2, 23, 59, 59)
    assert parse_ingest_time("2026-11-02T08:30:00") == dt.datetime(2026, 11, 2, 8, 30)
    with pytest.raises(ValueError, match="as_of 'next tuesday' is neither"):
        parse_ingest_time("next tuesday")


def test_a_source_that_breaks_is_failed_the_others_land_and_it_retries_next_run(
    landed, prefect_harness
):
    blocker = landed / "lake" / PENSION.id
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a folder")
    first = _ingest(landed, "first")
    pension = first["sources"][PENSION.id]
    assert pension["status"] == "failed"
    assert pension["reason"].startswith("si_pension: ingestion stopped (")
    # where it broke, for the operator: a file of EWS's, its line and function
    assert re.search(r" at \w+\.py:\d+ in \w+\)", pension["reason"]), pension["reason"]
    assert pension["reason"].endswith("its deliveries will be retried")
    assert first["sources"][MASTER.id]["rows_accepted"] == 5
    assert all(e["source"] != PENSION.id for e in io.read_ledger(landed / "lake"))

    blocker.unlink()
    second = _ingest(landed, "second")
    assert second["sources"][PENSION.id]["rows_accepted"] == 10
    assert second["sources"][MASTER.id]["deliveries_skipped"] == 1


def test_a_source_that_breaks_outside_a_flow_run_is_failed_too(landed):
    """The ingest steps called without Prefect (as the tests' ingest_steps does): the broken
    source's traceback goes to the module's logger, its report says failed, the others land."""
    blocker = landed / "lake" / PENSION.id
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a folder")
    summary = ingest_steps(landed, "2026-11-02")
    assert summary["sources"][PENSION.id]["status"] == "failed"
    assert summary["sources"][MASTER.id]["rows_accepted"] == 5


def test_run_id_that_is_not_a_plain_name_is_refused():
    assert check_run_id("2026-W45.retry_1") == "2026-W45.retry_1"
    for bad in ("../x", "a/b", "", " x"):
        with pytest.raises(ValueError, match="may only hold letters"):
            check_run_id(bad)


def _killed_runs_staging(workdir: Path) -> Path:
    """What an ingest run killed mid-source leaves: the source's accepted rows, staged."""
    staged = workdir / "lake" / STAGING / f"20261102T235959-dead01-{PENSION.id}"
    (staged / PENSION.id).mkdir(parents=True)
    valid_rows(PENSION, 3, day=DAY).write_parquet(staged / PENSION.id / "2026-11-01.parquet")
    return staged


def test_the_next_run_removes_a_killed_runs_staging_and_ingests_as_if_it_were_not_there(
    landed, tmp_path_factory, prefect_harness
):
    clean = tmp_path_factory.mktemp("clean")
    shutil.copytree(landed / "landing", clean / "landing")
    staged = _killed_runs_staging(landed)

    summary = _ingest(landed, "after-the-kill")
    assert not (landed / "lake" / STAGING).exists() or not any(
        (landed / "lake" / STAGING).iterdir()
    )
    run = json.loads((landed / "ingest" / "after-the-kill" / "run.json").read_text("utf-8"))
    assert run["removed_dead_runs_staging"] == [staged.name]
    # The same lake and accounting as a workdir that never saw the killed run.
    assert summary["totals"] == _ingest(clean, "after-the-kill")["totals"]
    for source in (PENSION.id, MASTER.id):
        assert _lake_height(landed, source) == _lake_height(clean, source)


def test_staging_is_left_alone_without_the_workdir_lock(tmp_path):
    # Without the lock another run may be staging its rows there right now.
    staged = _killed_runs_staging(tmp_path)
    assert clear_dead_runs_staging(tmp_path / "lake", "now") == []
    assert staged.is_dir()
    with workdir_lock.exclusive(tmp_path, "ingest"):
        assert clear_dead_runs_staging(tmp_path / "lake", "now") == [staged.name]
        # ... and a folder of the run itself is its own.
        own = tmp_path / "lake" / STAGING / f"now-{PENSION.id}"
        own.mkdir()
        assert clear_dead_runs_staging(tmp_path / "lake", "now") == []
    assert own.is_dir() and not staged.exists()


def test_the_ingest_time_as_a_date_or_its_text_ingests_the_same(prefect_harness, tmp_path):
    """The flow's edge parses ``as_of`` once (after Prefect's parameter validation): a date and
    its ISO text are the same ingest time, in the summary and in the ledger."""
    runs = {}
    for name, as_of in (("text", "2026-11-02"), ("date", dt.date(2026, 11, 2))):
        root = tmp_path / name
        land(root / "landing", PENSION, "2026-11-01", valid_rows(PENSION, 4, day=DAY))
        result = ingest_flow(workdir=str(root), as_of=as_of, run_id="same")
        ledger = [json.loads(line) for line in (root / "lake" / "_ledger.jsonl").open()]
        summary = json.loads(Path(result["ingest_summary"]).read_text(encoding="utf-8"))
        # everything but the GX result ids, which carry the wall-clock time of validation
        sources = {k: {**v, "validation_result_ids": []} for k, v in summary["sources"].items()}
        runs[name] = (
            {"as_of": summary["as_of"], "totals": summary["totals"], "sources": sources},
            [entry["ingested_at"] for entry in ledger],
        )
    assert runs["text"] == runs["date"]
    assert runs["date"][0]["as_of"] == "2026-11-02T23:59:59"
    assert runs["date"][1] == ["2026-11-02T23:59:59"]


@pytest.mark.parametrize("as_of", ["2026-11-31", "2 Nov 2026"])
def test_a_bad_ingest_time_is_refused_by_name(prefect_harness, tmp_path, as_of):
    with pytest.raises(ValueError, match=f"as_of '{as_of}' is neither YYYY-MM-DD"):
        ingest_flow(workdir=str(tmp_path), as_of=as_of)
    assert not (tmp_path / "lake").exists()
