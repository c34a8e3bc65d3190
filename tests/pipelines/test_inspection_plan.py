"""Drawing, publishing and verifying a month's double-random plan on a tiny workdir."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import polars as pl
import pytest
from openpyxl import load_workbook

from models.inspection_plan import load_plan_policy
from pipelines import exit_codes, file_io, publish_io
from pipelines.cases import open_store
from pipelines.cases.plans import planned
from pipelines.inspection.inputs import PlanMonth, plan_seed
from pipelines.inspection.plan import PlanError, draw_plans, publish_plans
from pipelines.inspection.verify import verify_department
from tests.pipelines.plan_world import (
    FINANCE,
    FORMULA_NAME,
    MARKET,
    MONTH,
    build_plan_world,
    copy_world,
    inspector,
)

DECEMBER = PlanMonth.parse(MONTH)


@pytest.fixture(scope="module")
def base_world(tmp_path_factory):
    return build_plan_world(tmp_path_factory.mktemp("plan-base"))


@pytest.fixture
def world(base_world, tmp_path):
    return copy_world(base_world, tmp_path / "work")


@pytest.fixture(scope="module")
def published(base_world, tmp_path_factory):
    world = copy_world(base_world, tmp_path_factory.mktemp("plan-published"))
    result = publish_plans(world.settings, draw_plans(world.settings, DECEMBER))
    return world, result


def _tree(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _plan(world, key: str = MARKET) -> pl.DataFrame:
    return pl.read_parquet(world.settings.inspection / MONTH / key / "plan.parquet")


# ---------------------------------------------------------------- the month's plan


def test_a_month_plan_is_a_folder_per_department_with_its_manifest(published):
    world, result = published
    assert result["seed"] == str(plan_seed(world.settings.seed, DECEMBER))
    assert result["tier_snapshot"] == "2026-W49"
    for key, entry in result["departments"].items():
        folder = Path(entry["folder"])
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["month"] == MONTH and manifest["department"]["key"] == key
        assert manifest["seed"] == result["seed"]
        assert manifest["files"] == {k: v for k, v in _tree(folder).items() if k != "manifest.json"}
        assert manifest["cutoff"] == "2026-12-01T00:00:00+08:00"
    assert result["departments"][MARKET]["planned"] > 15
    assert result["departments"]["education"]["warnings"] == ["no_firms"]


def test_the_plan_is_recorded_in_the_case_store(published):
    world, result = published
    store = open_store(world.settings)
    try:
        rows = planned(store).filter(pl.col("month") == MONTH)
    finally:
        store.dispose()
    for key in (MARKET, FINANCE):
        mine = rows.filter(pl.col("department") == key)
        assert sorted(mine["uscc"]) == sorted(_plan(world, key)["uscc"])
        assert mine["inspectors"].str.split(",").list.len().min() == 2
        assert (mine["seed"] == result["seed"]).all()
    d = rows.filter(pl.col("tier") == "D")
    assert (d["design"] == "census").all() and (d["inclusion"] == 1.0).all()


def test_firms_inspected_or_drawn_lately_by_the_department_are_not_drawn(published):
    world, _ = published
    plan = set(_plan(world)["uscc"])
    assert not plan & set(world.inspected)  # October: within three months
    assert not plan & set(world.november["uscc"])  # drawn in November
    assert set(world.inspected_long_ago) <= plan  # July: D firms, eligible and mandatory again
    excluded = pl.read_parquet(
        world.settings.inspection / MONTH / MARKET / "inputs/excluded.parquet"
    )
    assert set(excluded["uscc"]) == {*world.inspected, *world.november["uscc"]}


def test_another_departments_inspection_does_not_exclude_the_firm(published):
    world, _ = published
    # The financial regulator's own on-site inspection (another department) of an "other" firm
    # does not spare it the market supervisors' mandatory check.
    d_firms = world.firms.filter((pl.col("industry") == "other") & (pl.col("tier") == "D"))
    assert d_firms["uscc"][5] in set(_plan(world)["uscc"])


def test_only_the_departments_own_industries_and_inspectors_on_duty(published):
    world, _ = published
    finance = _plan(world, FINANCE)
    assert set(finance["industry"]) == {"finance"}
    staff = {inspector(1, i) for i in range(7)}  # the eighth is on leave
    assigned = set(finance["inspector_1"]) | set(finance["inspector_2"])
    assert assigned <= staff
    late = {inspector(1, i + 10) for i in range(8)}  # a roster that arrived after the cut-off
    assert not assigned & late


def test_the_workbook_has_chinese_headers_and_no_live_formula(published):
    world, _ = published
    path = world.settings.inspection / MONTH / MARKET / "plan.xlsx"
    book = load_workbook(path)
    assert book.sheetnames == ["抽查名单", "抽查比例", "说明"]
    sheet = book["抽查名单"]
    headers = [c.value for c in sheet[1]]
    assert headers[:3] == ["序号", "统一社会信用代码", "企业名称"]
    assert {"信用风险分类", "抽取方式", "检查人员1", "检查人员2"} <= set(headers)
    names = [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)]
    plan = _plan(world)
    if FORMULA_NAME in plan["name"].to_list():
        assert "'" + FORMULA_NAME in names
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f"
    inspectors = [row[9] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert all(v.startswith("王*（3205942020") for v in inspectors)  # masked name and certificate
    notes = {r[0]: r[1] for r in book["说明"].iter_rows(min_row=2, values_only=True)}
    assert notes["随机种子"] == str(plan_seed(world.settings.seed, DECEMBER))


def test_the_formula_named_firm_is_neutralised_wherever_it_is_drawn(world):
    assert world.firms.filter(pl.col("name") == FORMULA_NAME).height == 1
    set_capacity(world, 5000)  # and every firm drawn: it is surely in the plan
    drawn = draw_plans(world.settings, DECEMBER, department=MARKET, policy=_everything())
    publish_plans(world.settings, drawn)
    book = load_workbook(world.settings.inspection / MONTH / MARKET / "plan.xlsx")
    names = [row[2] for row in book["抽查名单"].iter_rows(min_row=2, values_only=True)]
    assert "'" + FORMULA_NAME in names and FORMULA_NAME not in names


def set_capacity(world, value: int) -> None:
    for part in (world.settings.lake / "inspection_monthly_capacity").rglob("part-0.parquet"):
        frame = pl.read_parquet(part)
        frame.with_columns(capacity=pl.lit(value, dtype=pl.Int64)).write_parquet(part)


def _everything():
    """A policy drawing every eligible firm (so a given firm is surely planned)."""
    policy = load_plan_policy()
    return policy.model_copy(
        update={"rates": dict.fromkeys("ABCD", 1.0), "mandatory": list("ABCD")}
    )


# ---------------------------------------------------------------- reproducible and refused twice


def test_drawing_the_same_month_again_changes_nothing(published, tmp_path):
    world, _ = published
    before = _tree(world.settings.inspection / MONTH)
    again = publish_plans(world.settings, draw_plans(world.settings, DECEMBER))
    assert _tree(world.settings.inspection / MONTH) == before
    assert all(
        entry["case_store"]["added"] == entry["case_store"]["corrected"] == 0
        for entry in again["departments"].values()
    )


def test_one_department_alone_is_drawn_exactly_as_in_the_whole_month(published, tmp_path):
    world, _ = published
    alone = copy_world(world, tmp_path / "alone")
    for key in (MARKET, FINANCE):
        drawn = draw_plans(alone.settings, DECEMBER, department=key)
        assert list(drawn.draws) == [key]
        assert drawn.draws[key].plan.equals(_plan(world, key))


def test_a_different_draw_over_a_published_plan_is_refused_unless_replaced(published, tmp_path):
    world = copy_world(published[0], tmp_path / "redraw")
    before = _tree(world.settings.inspection / MONTH)
    other_seed = draw_plans(world.settings, DECEMBER, seed=12345)
    with pytest.raises(PlanError, match="already published for market_supervision"):
        publish_plans(world.settings, other_seed)
    assert _tree(world.settings.inspection / MONTH) == before
    result = publish_plans(world.settings, other_seed, replace=True)
    assert result["seed"] == "12345"
    counts = result["departments"][MARKET]["case_store"]
    assert counts["added"] + counts["corrected"] > 0 and counts["withdrawn"] > 0
    store = open_store(world.settings)
    try:
        current = planned(store).filter(
            (pl.col("month") == MONTH) & (pl.col("department") == MARKET)
        )
    finally:
        store.dispose()
    assert sorted(current["uscc"]) == sorted(_plan(world)["uscc"])
    assert (current["seed"] == "12345").all()


def test_last_times_inspectors_are_not_sent_again(world):
    set_capacity(world, 5000)
    everything = _everything().model_copy(update={"exclude_inspected_months": 0})
    drawn = draw_plans(world.settings, DECEMBER, department=MARKET, policy=everything)
    plan = drawn.draws[MARKET].plan.filter(pl.col("uscc").is_in(world.november["uscc"].implode()))
    assert plan.height == world.november.height
    last = {inspector(0, 0), inspector(0, 1)}
    assert not (set(plan["inspector_1"]) | set(plan["inspector_2"])) & last


def test_declared_conflicts_are_respected(world):
    firm = world.firms.filter(pl.col("tier") == "D")["uscc"][0]
    world.settings.conflicts_file.parent.mkdir(parents=True, exist_ok=True)
    world.settings.conflicts_file.write_text(
        "conflicts:\n"
        + "".join(
            f"  - {{inspector_id: '{inspector(0, i)}', uscc: {firm}, reason: 亲属任职}}\n"
            for i in range(5)
        ),
        encoding="utf-8",
    )
    drawn = draw_plans(world.settings, DECEMBER, department=MARKET)
    row = drawn.draws[MARKET].plan.filter(pl.col("uscc") == firm).row(0, named=True)
    assert {row["inspector_1"], row["inspector_2"]} == {inspector(0, 5), inspector(0, 6)}
    assert drawn.conflicts_meta["pairs"] == 5 and drawn.conflicts_meta["present"]


# ---------------------------------------------------------------- bad input: nothing written


def _nothing_written(world) -> None:
    assert not (world.settings.inspection / MONTH).exists() or not any(
        (world.settings.inspection / MONTH).iterdir()
    )


def test_a_month_without_a_tier_snapshot_is_refused(world):
    with pytest.raises(PlanError, match="no tier snapshot for 2026-11"):
        draw_plans(world.settings, PlanMonth.parse("2026-11"))
    stale = load_plan_policy().model_copy(update={"snapshot_max_age_days": 20})
    with pytest.raises(PlanError, match="days older"):
        draw_plans(world.settings, PlanMonth.parse("2027-01"), policy=stale)
    _nothing_written(world)


def test_a_department_without_a_declared_capacity_stops_the_whole_month(world):
    with pytest.raises(PlanError, match="no capacity declared for 2027-01") as error:
        draw_plans(world.settings, PlanMonth.parse("2027-01"))
    assert "inspection_monthly_capacity" in str(error.value)
    _nothing_written(world)


def test_an_empty_roster_is_refused_naming_the_department(world):
    lake = world.settings.lake / "inspection_inspector_roster"
    for part in lake.rglob("part-0.parquet"):
        frame = pl.read_parquet(part).with_columns(status=pl.lit("借调外出"))
        frame.write_parquet(part)
    with pytest.raises(PlanError, match=r"market_supervision .*no inspector on duty"):
        draw_plans(world.settings, DECEMBER)
    _nothing_written(world)


def test_a_capacity_below_the_mandatory_firms_is_said_and_they_go_by_score(world, tmp_path):
    drawn = draw_plans(world.settings, DECEMBER, department=MARKET)
    mandatory = drawn.draws[MARKET].strata.filter(pl.col("tier") == "D")["eligible"][0]
    set_capacity(world, mandatory - 4)
    result = publish_plans(world.settings, draw_plans(world.settings, DECEMBER, department=MARKET))
    entry = result["departments"][MARKET]
    assert entry["warnings"] == ["capacity_below_mandatory"] and entry["deferred"] == 4
    book = load_workbook(Path(entry["workbook"]))
    assert "顺延必查企业" in book.sheetnames
    notes = [r[1] for r in book["说明"].iter_rows(min_row=2, values_only=True)]
    assert any("少于必查" in n for n in notes)


def test_a_malformed_conflicts_file_is_refused_naming_the_entry(world):
    world.settings.conflicts_file.parent.mkdir(parents=True, exist_ok=True)
    world.settings.conflicts_file.write_text(
        "conflicts:\n  - {inspector_id: '1', uscc: 'not-a-code', reason: x}\n", encoding="utf-8"
    )
    with pytest.raises(PlanError, match="entry 1: uscc 'not-a-code'"):
        draw_plans(world.settings, DECEMBER)


def test_an_unknown_department_is_refused():
    with pytest.raises(PlanError, match="unknown department 'tax'"):
        draw_plans(build_settings_only(), DECEMBER, department="tax")


def build_settings_only():
    from pipelines.settings import Settings

    return Settings(workdir=Path("/nonexistent-ews-workdir"))


# ---------------------------------------------------------------- verify


def test_verify_passes_on_an_untouched_plan(published):
    world, result = published
    for key in result["departments"]:
        report = verify_department(world.settings, DECEMBER, key)
        assert report == {"department": key, "ok": True, "problems": []}


def test_verify_names_a_tampered_file_and_a_plan_that_is_not_the_draw(published, tmp_path):
    world = copy_world(published[0], tmp_path / "tampered")
    folder = world.settings.inspection / MONTH / MARKET
    plan = pl.read_parquet(folder / "plan.parquet")
    swapped = plan.with_columns(inspector_1=pl.col("inspector_1").reverse())
    publish_io.write_parquet(swapped, folder / "plan.parquet")
    problems = verify_department(world.settings, DECEMBER, MARKET)["problems"]
    assert any("plan.parquet: sha256" in p for p in problems)
    # Re-sealing the manifest does not help: the re-draw from the seed differs.
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["plan.parquet"] = file_io.file_sha256(folder / "plan.parquet")
    file_io.write_json(folder / "manifest.json", manifest)
    problems = verify_department(world.settings, DECEMBER, MARKET)["problems"]
    assert problems and all("re-draw from seed" in p for p in problems)


def test_verify_notices_inputs_that_the_lake_and_store_do_not_give(published, tmp_path):
    world = copy_world(published[0], tmp_path / "inputs")
    folder = world.settings.inspection / MONTH / MARKET
    excluded = pl.read_parquet(folder / "inputs/excluded.parquet").head(1)
    publish_io.write_parquet(excluded, folder / "inputs/excluded.parquet")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["files"]["inputs/excluded.parquet"] = file_io.file_sha256(
        folder / "inputs/excluded.parquet"
    )
    file_io.write_json(folder / "manifest.json", manifest)
    problems = verify_department(world.settings, DECEMBER, MARKET)["problems"]
    assert any("inputs/excluded.parquet: re-read from the lake" in p for p in problems)


def test_the_plan_reads_the_store_as_it_stood_at_the_cut_off(published, tmp_path):
    """An inspection reported after the cut-off does not change December's plan: verify still
    passes, and the plan drawn again is the same."""
    world = copy_world(published[0], tmp_path / "later")
    from pipelines.cases.inspections import Report, record_reports
    from pipelines.cases.tables import DEPARTMENT_SOURCE
    from pipelines.timeline import PARK_TZ

    firm = _plan(world)["uscc"][0]
    store = open_store(world.settings)
    try:
        with store.write(DEPARTMENT_SOURCE, "tester", "lake/later") as change:
            record_reports(
                change,
                [
                    Report(
                        "inspection_random_check/LATE",
                        "inspection_random_check",
                        firm,
                        "other",
                        None,
                        dt.date(2026, 11, 20),
                        "double_random",
                        "no_risk_found",
                        None,
                        None,
                        dt.datetime(2026, 12, 3, 9, tzinfo=PARK_TZ),
                    )
                ],
            )
    finally:
        store.dispose()
    assert verify_department(world.settings, DECEMBER, MARKET)["ok"]
    again = draw_plans(world.settings, DECEMBER, department=MARKET)
    assert again.draws[MARKET].plan.equals(_plan(world))


# ---------------------------------------------------------------- the flow, the CLI, the site


@pytest.mark.slow
def test_the_flow_publishes_audits_and_shows_the_plan_and_the_cli_verifies_it(
    base_world, tmp_path, prefect_harness
):
    from typer.testing import CliRunner

    from pipelines import audit
    from pipelines.cli import app
    from pipelines.flows.inspect import plan_flow, verify_plan_flow

    world = copy_world(base_world, tmp_path / "flow")
    workdir = str(world.settings.workdir)
    result = plan_flow(workdir=workdir, month=MONTH)
    page = world.settings.site / "inspection" / MONTH / "index.html"
    text = page.read_text(encoding="utf-8")
    assert Path(result["site"]).is_file() and "园区市场监督管理局" in text
    assert result["seed"] in text and f"王*（{inspector(0, 0)}）" in text  # masked names
    assert (page.parent / f"{MARKET}.xlsx").is_file()
    index = (world.settings.site / "index.html").read_text(encoding="utf-8")
    assert f"inspection/{MONTH}/index.html" in index
    assert verify_plan_flow(workdir=workdir, month=MONTH)["ok"]
    records = [r for r in audit.read_log(world.settings) if r["kind"] == "inspection_plan"]
    assert records[-1]["details"]["ok"] and records[-1]["details"]["seed"] == result["seed"]
    assert {o["path"] for o in records[-1]["outputs"]} >= {f"inspection/{MONTH}/{MARKET}"}

    runner = CliRunner()
    refused = runner.invoke(
        app, ["inspect", "plan", "--workdir", workdir, "--month", MONTH, "--seed", "7"]
    )
    assert refused.exit_code == exit_codes.BAD_INPUT and "already published" in refused.output
    records = [r for r in audit.read_log(world.settings) if r["kind"] == "inspection_plan"]
    assert (
        not records[-1]["details"]["ok"] and "already published" in records[-1]["details"]["error"]
    )
    checked = runner.invoke(app, ["inspect", "verify-plan", "--workdir", workdir, "--month", MONTH])
    assert checked.exit_code == 0, checked.output
    (world.settings.inspection / MONTH / MARKET / "plan.xlsx").write_bytes(b"tampered")
    failed = runner.invoke(app, ["inspect", "verify-plan", "--workdir", workdir, "--month", MONTH])
    assert failed.exit_code == exit_codes.MISMATCH and "plan.xlsx" in failed.output
    missing = runner.invoke(
        app, ["inspect", "verify-plan", "--workdir", workdir, "--month", "2027-05"]
    )
    assert missing.exit_code == exit_codes.MISMATCH
    assert "no published plan for 2027-05" in missing.output


def test_the_plans_index_publishes_what_the_random_inspections_found(world, tmp_path):
    """一公开: outcomes reported for planned firms in the plan's month are counted per
    department and class on the plans' index, no firm named."""
    from pipelines.cases.inspections import Report, record_reports
    from pipelines.cases.tables import DEPARTMENT_SOURCE, Inspection
    from pipelines.site_audit import page_environment
    from pipelines.site_inspection import render_plan_pages, stored_results
    from tests.pipelines.publish_world import world_config

    publish_plans(world.settings, draw_plans(world.settings, DECEMBER))
    plan = _plan(world).sort("uscc")
    first, second = plan.row(0, named=True), plan.row(1, named=True)
    arrived = dt.datetime(2027, 1, 5, 9, tzinfo=dt.UTC)

    def report(key: str, row: dict, day: dt.date, outcome: str) -> Report:
        return Report(key, "inspection_random_check", row["uscc"], row["industry"], None, day,
                      "double_random", outcome, None, key, arrived)  # fmt: skip

    store = open_store(world.settings)
    try:
        with store.write(DEPARTMENT_SOURCE, "test", "lake/inspection_random_check") as change:
            record_reports(
                change,
                [
                    report("r1", first, dt.date(2026, 12, 9), "risk_confirmed"),
                    report("r2", second, dt.date(2026, 12, 10), "no_risk_found"),
                ],
                Inspection.channel == "inspection_random_check",
            )
    finally:
        store.dispose()
    results = stored_results(world.settings)
    market = results.filter((pl.col("department") == MARKET) & (pl.col("month") == MONTH))
    assert market["planned"].sum() == plan.height
    assert (market["inspected"].sum(), market["confirmed"].sum()) == (2, 1)
    out = tmp_path / "site"
    out.mkdir()
    render_plan_pages(world.settings.inspection, out, page_environment(), world_config(), results)
    index = (out / "inspection" / "index.html").read_text(encoding="utf-8")
    assert "抽查结果公示" in index and "园区市场监督管理局" in index
    assert first["uscc"] not in index and second["uscc"] not in index  # counts only
