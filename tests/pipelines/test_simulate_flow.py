"""`ews simulate`: the landing layout, the truth files, determinism, and the flow itself."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from data_contracts.catalog import load_all
from data_contracts.simulate.defects import DEFECT_KINDS, plan_defects
from data_contracts.simulate.sources import simulate_source
from pipelines.flows import simulate as sim
from pipelines.flows.ingest import ingest_flow
from pipelines.timeline import park_today, parse_day

END = dt.date(2026, 11, 20)
SEED = 11


def _simulate_without_orchestration(workdir: Path, source_ids: list[str]) -> None:
    """The flow's tasks as plain functions: the same files, no Prefect server."""
    plan = plan_defects(load_all(), SEED, 0.02).to_json()
    truth = sim.build_world_task.fn(str(workdir / "sim_truth"), "tiny", SEED, END, plan)
    sim.write_landing_task.fn(str(workdir / "landing"), truth, source_ids, plan)


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*.*"))}


def test_same_seed_gives_byte_identical_files(tmp_path):
    sources = [
        "reg_enterprise_master",
        "si_pension",
        "complaint_12345",
        "energy_electricity",
        "licence_school_running",
        "reg_legal_rep_other_firms",
    ]
    _simulate_without_orchestration(tmp_path / "a", sources)
    _simulate_without_orchestration(tmp_path / "b", sources)
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert first.keys() == second.keys()
    assert any(name.startswith("landing/si_pension/backfill-") for name in first)
    assert first == second


def test_end_date_defaults_to_today_and_must_be_a_date():
    assert parse_day(None, "end_date") == park_today()
    assert parse_day("2026-01-31") == dt.date(2026, 1, 31)
    with pytest.raises(ValueError, match="2026-13-01"):
        parse_day("2026-13-01")


@pytest.fixture(scope="module")
def run(prefect_harness, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("simulate")
    stale = workdir / "landing" / "si_pension" / "2020-01-01.csv"
    stale.parent.mkdir(parents=True)
    stale.write_text("left over from an earlier run")
    result = sim.simulate_flow(workdir=str(workdir), scale="tiny", seed=SEED, end_date="2026-11-20")
    return workdir, result


@pytest.mark.slow  # the Prefect harness and one whole tiny park
class TestSimulateFlow:
    def test_summary_names_the_paths_and_counts(self, run):
        workdir, result = run
        assert result["landing"] == str(workdir / "landing")
        assert result["end_date"] == "2026-11-20"
        assert result["entities"] == 200
        # A rare source of the tiny park may have no row at all, hence no file.
        assert 0.9 * len(load_all()) < result["sources"] <= len(load_all())
        for path in result["truth"].values():
            assert Path(path).is_file()

    def test_landing_holds_one_folder_per_source_with_dated_deliveries(self, run):
        workdir, result = run
        folders = {p.name for p in (workdir / "landing").iterdir()}
        files = json.loads(Path(result["truth"]["deliveries"]).read_text(encoding="utf-8"))
        assert folders == {f["source"] for f in files}
        assert folders <= set(load_all())
        names = {p.name for p in (workdir / "landing" / "reg_enterprise_master").iterdir()}
        assert names == {
            "backfill-2026-10-23.csv",
            "2026-10-30.csv",
            "2026-11-06.csv",
            "2026-11-13.csv",
            "2026-11-20.csv",
        }

    def test_an_earlier_runs_files_are_gone(self, run):
        workdir, _ = run
        assert not (workdir / "landing" / "si_pension" / "2020-01-01.csv").exists()

    def test_the_delivery_manifest_matches_the_files(self, run):
        workdir, result = run
        files = json.loads(Path(result["truth"]["deliveries"]).read_text(encoding="utf-8"))
        assert len(files) == result["deliveries"]
        for entry in files:
            assert (workdir / entry["file"]).stat().st_size == entry["bytes"]
        on_disk = {p.relative_to(workdir).as_posix() for p in (workdir / "landing").rglob("*.*")}
        assert on_disk == {entry["file"] for entry in files}

    def test_every_defect_kind_is_recorded_once_at_least(self, run):
        workdir, result = run
        defects = json.loads(Path(result["truth"]["defects"]).read_text(encoding="utf-8"))
        assert {d["kind"] for d in defects} == set(DEFECT_KINDS)
        assert result["defects_by_kind"] == {
            k: sum(d["kind"] == k for d in defects) for k in DEFECT_KINDS
        }
        for record in defects:
            if record["kind"] != "missing_delivery":
                assert (workdir / record["file"]).is_file()

    def test_truth_holds_firms_stress_and_events(self, run):
        _, result = run
        firms = pl.read_parquet(result["truth"]["firms"])
        stress = pl.read_parquet(result["truth"]["monthly_stress"])
        events = pl.read_parquet(result["truth"]["distress_events"])
        assert firms.height == 200
        assert stress.height % firms.height == 0
        assert set(events["uscc"].to_list()) <= set(firms["uscc"].to_list())
        assert (
            result["distress_events_to_end_date"] == events.filter(pl.col("before_end_date")).height
        )

    def test_truth_holds_each_repair_naming_a_record_its_firm_has(self, run):
        workdir, result = run
        repairs = pl.read_parquet(workdir / "sim_truth" / "repairs" / "credit_repair.parquet")
        assert repairs.height > 0
        world = sim.load_world(result["truth"])
        for (source_id,), named in repairs.group_by("original_source"):
            contract = load_all()[source_id]
            records = simulate_source(world, contract).select(
                pl.col(contract.entity_key).alias("uscc"),
                pl.col(contract.unique_key[0]).alias("original_record_no"),
                pl.col(contract.event_time).cast(pl.Date).alias("record_date"),
            )
            found = named.join(records, on=["uscc", "original_record_no"], how="inner")
            assert found.height == named.height, source_id
            assert (found["repaired_date"] > found["record_date"]).all(), source_id
        assert (repairs["repaired_date"] <= dt.date(2026, 11, 20)).all()


def _defects(run) -> list[dict]:
    _, result = run
    return json.loads(Path(result["truth"]["defects"]).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def ingested(run) -> dict:
    workdir, _ = run
    result = ingest_flow.fn(workdir=str(workdir), as_of="2026-11-20", run_id="check")
    return json.loads(Path(result["ingest_summary"]).read_text(encoding="utf-8"))


@pytest.mark.slow  # ingests the whole tiny park: 174 GX validations
class TestIngestingTheSimulatedPark:
    def test_every_injected_defect_is_caught(self, run, ingested):
        for record in _defects(run):
            report = ingested["sources"][record["source"]]
            if record["kind"] == "missing_delivery":
                assert report["late"], record
                continue
            (outcome,) = [
                o
                for o in ingested["deliveries"][record["source"]]
                if o["delivery_id"] == record["delivery"]
            ]
            assert outcome["status"] in ("partial", "rejected"), (record, outcome)
            assert outcome["rows_quarantined"] > 0 or outcome["rows_in"] == 0, (record, outcome)

    def test_only_the_source_whose_deliveries_never_came_is_late(self, run, ingested):
        never_came = {d["source"] for d in _defects(run) if d["kind"] == "missing_delivery"}
        late = {source for source, r in ingested["sources"].items() if r["late"]}
        assert late == never_came  # quiet sources send nil returns and are not late

    def test_every_delivered_row_is_accepted_or_quarantined(self, ingested):
        totals = ingested["totals"]
        assert totals["rows_in"] == totals["rows_accepted"] + totals["rows_quarantined"] > 0
        assert totals["sources"] == len(load_all())
        assert totals["failed"] == 0
