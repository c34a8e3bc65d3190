"""One ingest run over a landing full of defects: each shows its reason and every row is counted.

The run goes through the real Prefect flow once (under the shared test harness); every test
below reads what that run left in the lake, quarantine, ledger, summary and Data Docs.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from data_contracts import catalog
from pipelines import exit_codes, io
from pipelines.flows.ingest import ingest_flow
from tests.pipelines.ingest_landing import land, land_bytes, valid_rows

AS_OF = "2026-11-02"
INGESTED_AT = dt.datetime(2026, 11, 2, 23, 59, 59)

MASTER = catalog.get("reg_enterprise_master")
PENSION = catalog.get("si_pension")
HOTLINE = catalog.get("complaint_12345")
PARQUET = next(c for c in catalog.load_all().values() if c.delivery.format == "parquet")
USED = {MASTER.id, PENSION.id, HOTLINE.id, PARQUET.id}
MISSING = next(s for s in sorted(catalog.load_all()) if s not in USED)


def _spoil(frame: pl.DataFrame, row: int, column: str, value: str) -> pl.DataFrame:
    """Replace one cell; ``row`` is the 1-based data row as the file will number it."""
    spoiled = pl.when(pl.int_range(pl.len()) == row - 1).then(pl.lit(value))
    return frame.with_columns(spoiled.otherwise(pl.col(column)).alias(column))


def _wrong_check(code: str) -> str:
    """The code with another check character: still matches the pattern."""
    return code[:17] + ("1" if code[17] != "1" else "2")


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _build_landing(landing: Path) -> None:
    # Registration master: an unknown code (plus an unknown extra column), a missing required
    # column, an empty file and one clean delivery.
    coded = _spoil(valid_rows(MASTER, 6, day=_day("2026-10-05")), 3, "sector", "矿业")
    land(landing, MASTER, "2026-10-05", coded.with_columns(pl.lit("x").alias("备注")))
    without_name = valid_rows(MASTER, 4, day=_day("2026-10-12")).drop("name")
    land(landing, MASTER, "2026-10-12", without_name)
    land_bytes(landing, MASTER, "2026-10-19.csv", b"")
    land(landing, MASTER, "2026-10-26", valid_rows(MASTER, 5, day=_day("2026-10-26")))
    # A credit code with the right shape and the wrong check character (row 2).
    coded = valid_rows(MASTER, 4, day=_day("2026-09-28"), start=300)
    land(landing, MASTER, "2026-09-28", _spoil(coded, 2, "uscc", _wrong_check(coded["uscc"][1])))

    # Pension (gb18030): a wrong type and an out-of-range value, duplicate keys, and a file
    # written in utf-8 instead of the declared gb18030.
    typed = _spoil(valid_rows(PENSION, 8, day=_day("2026-09-20")), 4, "amount_due", "N/A")
    land(landing, PENSION, "2026-09-20", _spoil(typed, 6, "insured_count", "-5"))
    dupes = valid_rows(PENSION, 8, day=_day("2026-10-20"), start=100)
    for row in (5, 7):
        for key in PENSION.unique_key:
            dupes = _spoil(dupes, row, key, dupes[key][1])
    land(landing, PENSION, "2026-10-20", dupes)
    utf8 = valid_rows(PENSION, 5, day=_day("2026-10-25"), start=200)
    land(landing, PENSION, "2026-10-25", utf8, encoding="utf-8")

    # Hotline (utf-8, fresh for 3 days): a malformed code, a gb18030 file, and a delivery dated
    # after the ingest time. Its newest due delivery is 13 days old: late.
    land(
        landing,
        HOTLINE,
        "2026-10-18",
        _spoil(valid_rows(HOTLINE, 5, day=_day("2026-10-18")), 2, "uscc", "NOT-A-CODE"),
    )
    land(
        landing,
        HOTLINE,
        "2026-10-20",
        valid_rows(HOTLINE, 4, day=_day("2026-10-20"), start=50),
        encoding="gb18030",
    )
    land(landing, HOTLINE, "2026-11-05", valid_rows(HOTLINE, 2, day=_day("2026-11-05"), start=90))

    # A parquet source: one corrupt file, one good one.
    land_bytes(landing, PARQUET, "2026-10-01.parquet", b"PAR1 this is not parquet")
    land(landing, PARQUET, "2026-10-28", valid_rows(PARQUET, 3, day=_day("2026-10-28")))


@pytest.fixture(scope="module")
def run(tmp_path_factory, prefect_harness):
    workdir = tmp_path_factory.mktemp("ingest_defects")
    _build_landing(workdir / "landing")
    result = ingest_flow(workdir=str(workdir), as_of=AS_OF, run_id="defects")
    summary = json.loads(Path(result["ingest_summary"]).read_text(encoding="utf-8"))
    return {"workdir": workdir, "result": result, "summary": summary}


def _delivery(run, source: str, delivery_id: str) -> dict:
    outcomes = run["summary"]["deliveries"][source]
    return next(o for o in outcomes if o["delivery_id"] == delivery_id)


def _quarantined(run, source: str, delivery_id: str) -> pl.DataFrame:
    return pl.read_parquet(run["workdir"] / "quarantine" / source / f"{delivery_id}.parquet")


def _lake_rows(run, source: str, delivery_id: str) -> int:
    lake = io.scan_source(run["workdir"] / "lake", source)
    return lake.filter(pl.col("_delivery_id") == delivery_id).collect().height


def test_flow_returns_summary_and_data_docs_paths_inside_the_run_folder(run):
    run_dir = run["workdir"] / "ingest" / "defects"
    assert Path(run["result"]["ingest_summary"]) == run_dir / "ingest_summary.json"
    assert Path(run["result"]["data_docs"]) == run_dir / "data_docs" / "index.html"


def test_wrong_type_is_quarantined_with_the_value_in_the_reason(run):
    rows = _quarantined(run, PENSION.id, "2026-09-20").filter(pl.col("_row") == 4)
    assert rows.select("_column", "_expectation", "_reason").rows() == [
        (
            "amount_due",
            "coerce_to_float",
            "si_pension file 2026-09-20.csv row 4 column amount_due: 'N/A' is not a number",
        )
    ]
    assert rows[PENSION.column("amount_due").raw].to_list() == ["N/A"]


def test_out_of_range_value_is_quarantined_by_the_between_expectation(run):
    rows = _quarantined(run, PENSION.id, "2026-09-20").filter(pl.col("_row") == 6)
    assert rows["_column"].to_list() == ["insured_count"]
    assert rows["_expectation"].to_list() == ["expect_column_values_to_be_between"]
    assert rows["_reason"][0].startswith(
        "si_pension file 2026-09-20.csv row 6 column insured_count: '-5' is not "
    )
    outcome = _delivery(run, PENSION.id, "2026-09-20")
    assert (outcome["rows_in"], outcome["rows_accepted"], outcome["rows_quarantined"]) == (8, 6, 2)
    assert _lake_rows(run, PENSION.id, "2026-09-20") == 6


def test_every_row_sharing_a_duplicate_key_is_quarantined_and_the_reason_counts_them(run):
    rows = _quarantined(run, PENSION.id, "2026-10-20")
    assert rows["_row"].to_list() == [2, 5, 7]
    assert set(rows["_expectation"]) == {"expect_compound_columns_to_be_unique"}
    assert set(rows["_column"]) == {", ".join(PENSION.unique_key)}
    reason = rows["_reason"][1]
    assert reason.startswith("si_pension file 2026-10-20.csv row 5: duplicate key (")
    assert reason.endswith("is shared by 3 rows of delivery 2026-10-20")
    assert _lake_rows(run, PENSION.id, "2026-10-20") == 5


def test_unknown_code_is_quarantined_and_extra_column_only_warns(run):
    rows = _quarantined(run, MASTER.id, "2026-10-05")
    assert rows.select("_row", "_column", "_expectation").rows() == [
        (3, "sector", "expect_column_values_to_be_in_set")
    ]
    assert rows["_reason"][0].startswith(
        "reg_enterprise_master file 2026-10-05.csv row 3 column sector: "
        "'矿业' is not an allowed value ("
    )
    assert rows["备注"].to_list() == ["x"]  # the delivered columns, unknown ones included
    warnings = run["summary"]["sources"][MASTER.id]["warnings"]
    assert any("unknown column '备注' not in the contract" in w for w in warnings)
    assert _lake_rows(run, MASTER.id, "2026-10-05") == 5


def test_missing_required_column_rejects_every_row_naming_the_column(run):
    outcome = _delivery(run, MASTER.id, "2026-10-12")
    assert outcome["status"] == "rejected"
    raw = MASTER.column("name").raw
    assert f"required column name (delivered as '{raw}') missing" in outcome["reason"]
    rows = _quarantined(run, MASTER.id, "2026-10-12")
    assert rows["_row"].to_list() == [1, 2, 3, 4]
    assert set(rows["_expectation"]) == {"expect_column_to_exist"}
    assert (outcome["rows_in"], outcome["rows_quarantined"]) == (4, 4)
    assert _lake_rows(run, MASTER.id, "2026-10-12") == 0


def test_empty_file_is_rejected_and_kept(run):
    outcome = _delivery(run, MASTER.id, "2026-10-19")
    assert outcome["status"] == "rejected"
    assert (
        outcome["reason"]
        == "reg_enterprise_master file 2026-10-19.csv: empty file (no header, no rows)"
    )
    assert outcome["rows_in"] == outcome["rows_quarantined"] == 0
    assert (run["workdir"] / "quarantine" / MASTER.id / "2026-10-19.raw").exists()


def test_wrong_encoding_is_quarantined_whole_with_a_reason_record(run):
    outcome = _delivery(run, PENSION.id, "2026-10-25")
    assert outcome["status"] == "rejected"
    assert outcome["reason"].startswith("si_pension file 2026-10-25.csv: ")
    assert "utf-8" in outcome["reason"] and "gb18030" in outcome["reason"]
    assert (outcome["rows_in"], outcome["rows_quarantined"]) == (5, 5)
    folder = run["workdir"] / "quarantine" / PENSION.id
    landed = run["workdir"] / "landing" / PENSION.id / "2026-10-25.csv"
    assert (folder / "2026-10-25.raw").read_bytes() == landed.read_bytes()
    record = json.loads((folder / "2026-10-25.reason.json").read_text(encoding="utf-8"))
    assert record["reason"] == outcome["reason"]
    assert record["kind"] == "encoding"


def test_undecodable_utf8_names_the_byte_offset(run):
    outcome = _delivery(run, HOTLINE.id, "2026-10-20")
    assert outcome["reason"].startswith(
        "complaint_12345 file 2026-10-20.csv: not valid utf-8 as the contract declares: byte offset"
    )
    assert (outcome["rows_in"], outcome["rows_quarantined"]) == (4, 4)


def test_malformed_code_fails_the_pattern(run):
    rows = _quarantined(run, HOTLINE.id, "2026-10-18")
    assert rows.select("_row", "_column", "_expectation").rows() == [
        (2, "uscc", "expect_column_values_to_match_regex")
    ]
    assert "'NOT-A-CODE' does not match the pattern" in rows["_reason"][0]


def test_a_credit_code_with_a_wrong_check_character_is_quarantined_saying_so(run):
    rows = _quarantined(run, MASTER.id, "2026-09-28")
    assert rows.select("_row", "_column", "_expectation").rows() == [
        (2, "uscc", "uscc_check_character")
    ]
    code = rows[MASTER.column("uscc").raw][0]
    reason = rows["_reason"][0]
    assert reason.startswith(f"{MASTER.id} file 2026-09-28.csv row 2 column uscc: '{code}' ends ")
    assert "GB 32100-2015" in reason and f"check character '{code[17]}'" in reason
    outcome = _delivery(run, MASTER.id, "2026-09-28")
    assert (outcome["rows_in"], outcome["rows_accepted"], outcome["rows_quarantined"]) == (4, 3, 1)
    assert outcome["quarantined_by_expectation"] == {"uscc_check_character": 1}


def test_unreadable_parquet_is_rejected_and_the_good_delivery_still_lands(run):
    bad = _delivery(run, PARQUET.id, "2026-10-01")
    assert bad["status"] == "rejected"
    assert bad["reason"].startswith(f"{PARQUET.id} file 2026-10-01.parquet: unreadable parquet")
    assert _lake_rows(run, PARQUET.id, "2026-10-28") == 3
    assert run["summary"]["sources"][PARQUET.id]["status"] == "degraded"


def test_missing_source_is_reported_and_the_others_still_ingest(run):
    missing = run["summary"]["sources"][MISSING]
    assert missing["status"] == "missing"
    assert missing["reason"] == f"{MISSING}: no delivery in landing/{MISSING}/"
    assert missing["rows_in"] == 0
    assert _lake_rows(run, MASTER.id, "2026-10-26") == 5


def test_late_source_is_degraded_with_its_age_and_delivery_after_as_of_waits(run):
    hotline = run["summary"]["sources"][HOTLINE.id]
    assert hotline["late"] is True
    assert hotline["status"] == "degraded"
    assert hotline["newest_delivery"] == "2026-10-20"
    assert (
        f"late: newest delivery 2026-10-20 is 13 days old at 2026-11-02, more than the "
        f"{HOTLINE.delivery.freshness_days} days the contract allows" in hotline["reason"]
    )
    assert hotline["deliveries_not_due"] == 1
    assert _lake_rows(run, HOTLINE.id, "2026-11-05") == 0


def test_the_run_is_incomplete_for_a_scheduler_naming_what_did_not_get_in(run):
    problems = exit_codes.ingest_problems(run["summary"])
    missing = len(catalog.load_all()) - len(USED)
    assert f"{missing} source(s) missing: {MISSING}, " in "; ".join(problems)
    (rejected,) = [p for p in problems if " deliveries rejected: " in p]
    assert f"{MASTER.id}/2026-10-12.csv" in rejected and f"{MASTER.id}/2026-10-19.csv" in rejected
    assert f"{PARQUET.id}/2026-10-01.parquet" in rejected


def test_rows_in_equals_accepted_plus_quarantined_everywhere(run):
    summary = run["summary"]
    for report in summary["sources"].values():
        assert report["rows_in"] == report["rows_accepted"] + report["rows_quarantined"]
    for outcomes in summary["deliveries"].values():
        for o in outcomes:
            assert o["rows_in"] == o["rows_accepted"] + o["rows_quarantined"]
    totals = summary["totals"]
    assert totals["rows_in"] == totals["rows_accepted"] + totals["rows_quarantined"]
    assert totals["sources"] == len(catalog.load_all())
    assert totals["rows_in"] == sum(r["rows_in"] for r in summary["sources"].values())
    lake_rows = sum(io.scan_source(run["workdir"] / "lake", s).collect().height for s in USED)
    assert lake_rows == totals["rows_accepted"]


def test_quarantine_counts_distinct_rows(run):
    for source in USED:
        for outcome in run["summary"]["deliveries"].get(source, []):
            path = run["workdir"] / "quarantine" / source / f"{outcome['delivery_id']}.parquet"
            if path.exists():
                assert pl.read_parquet(path)["_row"].n_unique() == outcome["rows_quarantined"]


def test_lake_rows_are_typed_and_stamped_with_delivery_and_ingest_time(run):
    lake = io.scan_source(run["workdir"] / "lake", PENSION.id).collect()
    assert lake.schema == io.lake_schema(PENSION)
    assert set(lake["_delivery_id"]) == {"2026-09-20", "2026-10-20"}
    assert set(lake["_ingested_at"]) == {INGESTED_AT}


def test_ledger_records_each_processed_delivery_with_hash_and_validation_id(run):
    ledger = io.read_ledger(run["workdir"] / "lake")
    processed = sum(r["deliveries_processed"] for r in run["summary"]["sources"].values())
    assert len(ledger) == processed
    validated = [e for e in ledger if e["validation_result_id"]]
    assert {e["validation_result_id"] for e in validated} <= set(
        run["summary"]["validation_result_ids"]
    )
    landed = run["workdir"] / "landing" / PENSION.id / "2026-09-20.csv"
    entry = next(
        e for e in ledger if e["source"] == PENSION.id and e["delivery_id"] == "2026-09-20"
    )
    assert entry["sha256"] == io.file_sha256(landed)


def test_validation_results_are_kept_in_the_gx_store(run):
    stored = run["workdir"] / "gx" / "uncommitted" / "validations"
    for result_id in run["summary"]["validation_result_ids"]:
        suite, run_name, run_time, batch = result_id.split("/")
        assert (stored / suite / run_name / run_time / f"{batch}.json").exists()


def test_data_docs_index_lists_the_validated_sources(run):
    index = Path(run["result"]["data_docs"])
    html = index.read_text(encoding="utf-8")
    for source in USED:
        assert source in html
    assert MISSING not in html
