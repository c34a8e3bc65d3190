"""The demo end to end on the tiny park: every stage runs and every artefact it names exists."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from pipelines.flows.demo import DEMO_END_DATE, demo_flow
from tests.pipelines.cases.test_store import HEAD

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def summary(prefect_harness, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("demo")
    return workdir, demo_flow(workdir=str(workdir), scale="tiny", seed=7)


def _paths(value):
    if isinstance(value, dict):
        for inner in value.values():
            yield from _paths(inner)
    elif isinstance(value, str) and "/" in value and not value.startswith("models:"):
        yield value


def test_the_park_ends_on_the_fixed_demo_date_and_its_two_newest_weeks_are_published(summary):
    _, result = summary
    assert result["end_date"] == DEMO_END_DATE.isoformat() == "2026-11-29"
    assert result["live"] is False
    assert result["weeks"] == ["2026-W48", "2026-W49"]  # 2026-W49's as-of is the end date


def test_run_summary_is_written_with_every_stage_timed(summary):
    workdir, result = summary
    on_disk = json.loads((workdir / "run_summary.json").read_text(encoding="utf-8"))
    assert on_disk == result
    stages = {"simulate", "ingest", "features", "train", "publish", "consistency", "model_cards"}
    assert stages <= set(on_disk["timings_s"])
    assert all(seconds >= 0 for seconds in on_disk["timings_s"].values())


def test_every_named_artefact_exists_relative_to_the_workdir(summary):
    workdir, result = summary
    artifacts = result["artifacts"]
    expected = {"ingest_summary", "data_docs", "feature_table", "models", "metrics", "lists"}
    expected |= {"consistency"}
    assert expected | {"site", "model_cards"} <= set(artifacts)
    paths = list(_paths(artifacts))
    assert paths
    for relative in paths:
        assert not Path(relative).is_absolute()
        assert (workdir / relative).exists(), relative


def test_every_industry_has_a_champion_metrics_and_a_list(summary):
    workdir, result = summary
    artifacts = result["artifacts"]
    industries = {"finance", "manufacturing", "education"}
    assert set(artifacts["models"]) == {*industries, "general"}
    assert set(artifacts["lists"]) == industries
    metrics = json.loads((workdir / artifacts["metrics"]).read_text(encoding="utf-8"))
    for industry in industries:
        assert {"roc_auc", "pr_auc", "ks", "brier", "precision_at_k", "k"} <= set(metrics[industry])
        assert "roc_auc" in metrics[industry]["baseline"]


def test_every_enterprise_of_the_park_has_a_credit_class(summary):
    workdir, result = summary
    tiers = pl.read_parquet(workdir / Path(result["artifacts"]["tiers"]).parent / "tiers.parquet")
    table = pl.read_parquet(workdir / result["artifacts"]["feature_table"])
    enterprises = table.filter(~pl.col("uscc").str.starts_with("92"))["uscc"]
    assert enterprises.len() > 100
    assert sorted(tiers["uscc"].to_list()) == sorted(enterprises.to_list())
    assert tiers["tier"].is_in(["A", "B", "C", "D"]).all()
    # Every enterprise outside the industries has the general model's probability as its model
    # step, and its page says so where the model set the class.
    others = tiers.filter(pl.col("industry") == "other")
    assert others.height > 0 and (others["model"] == "general").all()
    general = pl.read_parquet(
        workdir / Path(result["artifacts"]["general_scores"]).parent / "scores.parquet"
    )
    assert others["uscc"].to_list() == general["uscc"].to_list()
    set_by_model = others.filter(pl.col("basis") == "model")
    assert set_by_model.height > 0 and set_by_model["basis_zh"].str.contains("通用模型").all()
    # The simulated park delivers credit evaluations: firms without a probability (insufficient
    # data) take their grade, and the evaluation holds the model within one class.
    unscored = tiers.filter(pl.col("probability").is_null())
    assert (unscored["basis"] != "model").all()
    assert unscored["basis"].is_in(["credit_evaluation", "default", "floor", "cap"]).all()
    assert tiers["basis"].is_in(["credit_limit", "credit_evaluation"]).sum() > 0


def test_the_demo_draws_next_months_plan_and_it_verifies(summary):
    from pipelines.flows.inspect import verify_plan_flow

    workdir, result = summary
    plan = result["artifacts"]["inspection_plan"]
    tiers = json.loads((workdir / result["artifacts"]["tiers"]).read_text(encoding="utf-8"))
    assert plan["tier_snapshot"] == tiers["week"]
    assert f"{plan['month']}-01" > tiers["as_of"]  # the month after the classes' data
    assert set(plan["departments"]) == {
        "market_supervision",
        "financial_supervision",
        "education",
        "emergency_management",
        "ecology_environment",
    }
    for key, workbook in plan["workbooks"].items():
        assert (workdir / workbook).is_file(), key
    assert (workdir / plan["page"]).is_file()
    assert verify_plan_flow(workdir=str(workdir), month=plan["month"])["ok"]


def test_two_weeks_run_and_the_second_shows_the_first_weeks_accuracy(summary):
    """Per industry, from the workbooks the regulators returned: the second week's list page,
    its feedback.json, the industry's feedback page and a line on the index."""
    workdir, result = summary
    first, second = result["weeks"]
    assert {"feedback", "publish_second_week", "feedback_report"} <= set(result["timings_s"])
    index = (workdir / "site" / "index.html").read_text(encoding="utf-8")
    assert "名单核查反馈" in index
    inspected = 0
    for industry in ("finance", "manufacturing", "education"):
        feedback = json.loads(
            (workdir / "publish" / second / industry / "feedback.json").read_text(encoding="utf-8")
        )
        last = feedback["last_week"]
        assert last["week"] == first and last["listed"] > 0, industry
        assert (
            last["inspected"] + last["reported_not_inspected"] + last["awaiting"] == last["listed"]
        )
        inspected += last["inspected"]
        page = (workdir / "site" / second / industry / "index.html").read_text(encoding="utf-8")
        assert "上周名单核查情况" in page and f"{first} 名单 {last['listed']} 家" in page, industry
        assert (workdir / "site" / "feedback" / f"{industry}.html").is_file()
        assert f"{first}：检查 {last['inspected']}/{last['listed']}" in index, industry
    assert inspected > 0  # the returned workbooks reported inspections


def test_the_summary_names_the_feedback_report_the_case_store_and_the_truth(summary):
    workdir, result = summary
    artifacts = result["artifacts"]
    report = json.loads((workdir / artifacts["feedback"]).read_text(encoding="utf-8"))
    first, second = result["weeks"]
    weeks = report["industries"]["finance"]["weeks"]
    assert [w["week"] for w in weeks] == [first, second]
    assert weeks[1]["inspected"] == 0  # the second week's list has just gone out
    store = artifacts["case_store"]
    assert store["path"] == "cases.db" and store["revision"] == HEAD
    assert store["rows"]["listings"] > 0
    assert store["rows"]["inspections"] > 0
    truth = result["feedback_vs_truth"]["finance"]
    assert truth["listed"] == weeks[0]["listed"]
    assert 0 <= truth["truly_at_risk_share_of_listed"] <= 1


def test_the_second_week_shows_an_upheld_objection_taking_its_firm_off(summary):
    workdir, result = summary
    second = result["weeks"][1]
    objections = result["artifacts"]["objections"]
    assert objections["upheld"] >= 1 and objections["removed_from_second_week"] >= 1
    removed = next(
        o
        for o in objections["objections"]
        if o["second_week"] and o["second_week"]["list_basis"] == "objection_upheld"
    )
    assert removed["rightful"] and not removed["second_week"]["listed"]
    leavers = pl.read_parquet(
        workdir / "publish" / second / removed["industry"] / "leavers.parquet"
    )
    assert leavers.filter(pl.col("uscc") == removed["uscc"])["reason"].to_list() == [
        "objection_upheld"
    ]
    manifest = json.loads(
        (workdir / "publish" / second / removed["industry"] / "manifest.json").read_text("utf-8")
    )
    assert removed["objection_id"] in {c["id"] for c in manifest["decisions"]["objections"]}
    page = (workdir / objections["page"]).read_text(encoding="utf-8")
    assert all(o["objection_id"] in page for o in objections["objections"])


def test_both_weeks_re_derive_after_later_decisions(summary):
    from pipelines import objections_io
    from pipelines.flows.audit import verify_flow
    from pipelines.settings import Settings

    workdir, result = summary
    second = result["weeks"][1]
    settings = Settings(workdir=workdir)
    # Decided after both weeks' cut-offs: neither week may change.
    listed = pl.read_parquet(workdir / "publish" / second / "finance" / "scores.parquet")
    firm = listed.filter("listed").sort("rank")["uscc"][0]
    late = objections_io.file(settings, uscc=firm, week=second, subject="listing", claim="不服")
    objections_io.review(settings, late["objection_id"], reviewer="审核员")
    objections_io.decide(settings, late["objection_id"], decision="upheld", reason="核实")
    for week in result["weeks"]:
        report = verify_flow(workdir=str(workdir), week=week)
        assert report["ok"], report["problems"]


def test_the_demo_runs_the_consistency_pilot_on_the_riskiest_listed_firms(summary):
    workdir, result = summary
    checked = result["artifacts"]["consistency"]
    pilot = pl.read_csv(workdir / checked["pilot_firms"])
    assert pilot.height == min(151, checked["firms"]) > 0
    assert checked["anomalies"] == sum(checked["by_topic"].values())
    manifest = json.loads((workdir / checked["manifest"]).read_text(encoding="utf-8"))
    assert manifest["scope"].startswith("pilot-")
    assert manifest["firms_listed"] == pilot.height
    assert (workdir / checked["site"]).is_file()


def test_the_pilot_finds_the_contradictions_the_simulator_planted(summary):
    """`ews simulate` plants contradictions from the rules; through delivery files, ingest and
    the lake, the pilot flags them, scored against sim_truth/consistency.parquet."""
    workdir, result = summary
    checked = result["artifacts"]["consistency"]
    truth = pl.read_parquet(workdir / "sim_truth" / "consistency.parquet")
    assert {"violation", "near_miss"} == set(truth["kind"])
    score = checked["vs_truth"]
    assert checked["anomalies"] == score["flagged"] > 0
    assert score["true_positives"] > 0
    # Defects injected into deliveries may quarantine a planted row or its correction, so the
    # figures need not be 1; a rule engine flagging what nobody planted would show here.
    assert score["precision"] >= 0.9 and score["recall"] >= 0.9, score


def test_the_second_week_no_longer_counts_the_repaired_records(summary):
    workdir, result = summary
    first, second = result["weeks"]
    repair = result["artifacts"]["credit_repair"]
    assert repair.get("uscc") and repair.get("repairs"), "no listed firm had a repairable record"
    truth = json.loads(
        (workdir / "sim_truth" / "repairs" / "demo.json").read_text(encoding="utf-8")
    )
    assert truth["uscc"] == repair["uscc"] and truth["repairs"] == repair["repairs"]
    assert repair[first]["listed"]
    assert repair[first]["repaired_records_shown"] >= 1
    assert repair[first]["value"] > 0
    assert repair[second]["repaired_records_shown"] == 0
    assert repair[second]["value"] < repair[first]["value"]
    lake = pl.read_parquet(workdir / "lake" / "credit_repair" / "*" / "*.parquet")
    assert {r["repair_no"] for r in repair["repairs"]} <= set(lake["repair_no"])


def test_the_readme_figures_render_from_the_run(summary):
    from pipelines.demo_metrics import load_run, render

    workdir, result = summary
    record = load_run(workdir)
    assert record["run"]["weeks"] == result["weeks"]
    block = render(record)
    assert "ends on 2026-11-29 (tiny scale, seed 7); the lists are 2026-W48 and 2026-W49" in block
    for industry, row in record["metrics"].items():
        assert f"| {industry} (K = {row['k']}) | {row['test_period']} |" in block


def test_ews_audit_verify_passes_on_the_demo_week_in_a_process_of_its_own(summary):
    """What an auditor runs after the demo, as the README says: the command, in a process of
    its own (with another number of polars threads), re-derives every file of the demo's week
    byte for byte and exits 0 (both weeks also re-derive in process, above)."""
    from prefect.settings import PREFECT_API_URL

    workdir, result = summary
    demo_week = result["weeks"][1]
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "POLARS_MAX_THREADS": "1"}
    verify = [sys.executable, "-m", "pipelines.cli", "audit", "verify", "--workdir", str(workdir)]
    run = subprocess.run(
        [*verify, "--week", demo_week],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, (run.stdout[-3000:], run.stderr[-3000:])
    assert '"ok": true' in run.stdout
