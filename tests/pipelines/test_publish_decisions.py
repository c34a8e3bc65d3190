"""People's decisions in a publication: an upheld objection takes a firm off the next list, an
override pins one on and sets a class, both cited in the manifest; a decision taken after the
week's cut-off changes nothing in that week, and `ews audit verify` re-derives it."""

from __future__ import annotations

import json

import polars as pl
import pytest

from pipelines import objections_io, publish_io, tracking
from pipelines import verify as verify_module
from pipelines.flows import publish as publish_module
from pipelines.flows.publish import publish_flow
from pipelines.site import build_site
from pipelines.verify import verify_publication
from tests.pipelines.publish_world import WEEK, build_world, world_config

pytestmark = pytest.mark.slow  # two publications with SHAP charts and one re-derivation

FIRST_WEEK = "2026-W46"  # published Monday 2026-11-09; WEEK's cut-off is 2026-11-16 00:00


@pytest.fixture(scope="module")
def decided(tmp_path_factory, prefect_harness):
    world = build_world(tmp_path_factory.mktemp("decisions"), seed=11)
    settings = world.settings
    workdir = str(settings.workdir)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tracking, "tracker_for", lambda s: world.tracker)
        patch.setattr(publish_module, "load_config", world_config)
        publish_flow(workdir=workdir, week=FIRST_WEEK)
        first = pl.read_parquet(settings.publish / FIRST_WEEK / "finance" / publish_io.SCORES)
        listed = first.filter("listed").sort("rank")["uscc"].to_list()
        unlisted = first.filter(~pl.col("listed") & pl.col("rank").is_not_null()).sort("rank")
        objecting, late, pinned = listed[0], listed[1], unlisted["uscc"][-1]
        filed = objections_io.file(
            settings,
            uscc=objecting,
            week=FIRST_WEEK,
            subject="listing",
            claim="欠税已补缴",
            at="2026-11-10T09:00:00",
        )
        objections_io.review(settings, filed["objection_id"], reviewer="li", at="2026-11-11T09:00")
        objections_io.decide(
            settings,
            filed["objection_id"],
            decision="upheld",
            reason="税务局确认",
            at="2026-11-12T09:00:00",
        )
        pin = objections_io.set_override(
            settings,
            uscc=pinned,
            action="list_on",
            industry="finance",
            reason="举报线索",
            expires="2026-12-31",
            at="2026-11-12T10:00:00",
        )
        classed = objections_io.set_override(
            settings,
            uscc=pinned,
            action="tier",
            tier="D",
            reason="涉嫌非法集资",
            expires="2026-12-31",
            at="2026-11-12T10:00:00",
        )
        publish_flow(workdir=workdir, week=WEEK)
        # Decided after WEEK's cut-off: it must not change WEEK, published or re-derived.
        later = objections_io.file(
            settings,
            uscc=late,
            week=FIRST_WEEK,
            subject="listing",
            claim="不服<script>alert(1)</script>",
            at="2026-11-13",
        )
        objections_io.review(settings, later["objection_id"], reviewer="li", at="2026-11-17")
        objections_io.decide(
            settings, later["objection_id"], decision="upheld", reason="核实", at="2026-11-18"
        )
        yield {
            "world": world,
            "objection": filed["objection_id"],
            "objecting": objecting,
            "late": late,
            "pinned": pinned,
            "pin": pin["override_id"],
            "classed": classed["override_id"],
        }


def finance(decided, name: str) -> pl.DataFrame:
    return pl.read_parquet(decided["world"].settings.publish / WEEK / "finance" / name)


def test_an_upheld_objection_takes_the_firm_off_the_next_list_its_score_still_shown(decided):
    scores = finance(decided, publish_io.SCORES)
    row = scores.filter(pl.col("uscc") == decided["objecting"]).row(0, named=True)
    # Listed last week; this week the model may or may not rank it in the top K: either way it
    # is off, and says why.
    assert (row["listed"], row["list_basis"]) == (False, "objection_upheld")
    assert row["decision_id"] == decided["objection"] and row["probability"] is not None
    assert scores.filter("listed").height == world_config().industries["finance"].capacity_k
    leavers = finance(decided, publish_io.LEAVERS)
    assert leavers.filter(pl.col("uscc") == decided["objecting"])["reason"].to_list() == [
        "objection_upheld"
    ]


def test_an_override_pins_a_firm_on_the_list_and_sets_its_class(decided):
    scores = finance(decided, publish_io.SCORES)
    row = scores.filter(pl.col("uscc") == decided["pinned"]).row(0, named=True)
    assert (row["listed"], row["model_listed"], row["list_basis"], row["decision_id"]) == (
        True,
        False,
        "override_on",
        decided["pin"],
    )
    tiers = pl.read_parquet(decided["world"].settings.publish / WEEK / "tiers" / "tiers.parquet")
    classed = tiers.filter(pl.col("uscc") == decided["pinned"]).row(0, named=True)
    assert (classed["tier"], classed["basis"]) == ("D", "override")


def test_the_manifests_cite_the_decisions_in_force_by_id_and_hash(decided):
    folder = decided["world"].settings.publish / WEEK
    manifest = json.loads((folder / "finance" / publish_io.MANIFEST).read_text("utf-8"))
    assert [c["id"] for c in manifest["decisions"]["objections"]] == [decided["objection"]]
    assert [c["id"] for c in manifest["decisions"]["overrides"]] == [decided["pin"]]
    assert all(len(c["sha256"]) == 64 for c in manifest["decisions"]["overrides"])
    assert manifest["counts"]["pinned_on"] == 1 and manifest["counts"]["removed_by_objection"] == 1
    assert publish_io.DECISIONS in manifest["files"]
    tiers = json.loads((folder / "tiers" / publish_io.MANIFEST).read_text("utf-8"))
    assert [c["id"] for c in tiers["decisions"]["overrides"]] == [decided["classed"]]


def test_a_later_decision_leaves_the_week_as_published_and_verify_re_derives_it(
    decided, tmp_path, monkeypatch
):
    world = decided["world"]
    scores = finance(decided, publish_io.SCORES)
    assert scores.filter(pl.col("uscc") == decided["late"])["list_basis"].to_list() == ["model"]
    monkeypatch.setattr(tracking, "tracker_for", lambda s: world.tracker)
    monkeypatch.setattr(verify_module, "load_config", world_config)
    report = verify_publication(world.settings, world.settings.publish / WEEK / "finance", tmp_path)
    assert report["problems"] == [] and report["rederived"]


def test_the_site_marks_decisions_and_lists_every_case_for_auditors(decided):
    settings = decided["world"].settings
    build_site(settings, world_config())
    site = settings.site
    page = (site / "objections" / "index.html").read_text("utf-8")
    for name in (decided["objection"], decided["pin"], decided["classed"], "OBJ-000002"):
        assert name in page
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    listing = (site / WEEK / "finance" / "index.html").read_text("utf-8")
    assert "人工列入" in listing and "异议成立移出" in listing
    firm = (site / WEEK / "finance" / "firms" / f"{decided['pinned']}.html").read_text("utf-8")
    assert decided["pin"] in firm and "举报线索" in firm
    assert "objections/index.html" in (site / "index.html").read_text("utf-8")


def test_the_workbook_and_the_csv_say_which_firms_people_listed_or_took_off(decided):
    from openpyxl import load_workbook

    folder = decided["world"].settings.publish / WEEK / "finance"
    pinned, objecting = decided["pinned"], decided["objecting"]
    book = load_workbook(folder / publish_io.RISK_LIST_XLSX)
    sheet = book["风险名单"]
    headers = [c.value for c in sheet[1]]
    rows = {
        r[headers.index("统一社会信用代码")]: r
        for r in sheet.iter_rows(min_row=2, values_only=True)
    }
    basis = headers.index("列入依据")
    assert rows[pinned][basis] == f"人工列入（{decided['pin']}：举报线索）"
    assert {rows[u][basis] for u in rows if u != pinned} == {"模型排名"}
    model_rank = finance(decided, publish_io.SCORES).filter(pl.col("uscc") == pinned)["rank"]
    assert rows[pinned][headers.index("排名")] == model_rank.item()  # the model's, outside K
    off = book["人工移出企业"]
    off_headers = [c.value for c in off[2]]  # the sheet's note is row 1
    off_rows = [
        dict(zip(off_headers, r, strict=True)) for r in off.iter_rows(min_row=3, values_only=True)
    ]
    assert [(r["统一社会信用代码"], r["移出依据"], r["决定编号"]) for r in off_rows] == [
        (objecting, "异议成立移出", decided["objection"])
    ]
    assert off_rows[0]["风险评分"] is not None and off_rows[0]["理由"] == "税务局确认"
    csv = pl.read_csv(folder / publish_io.RISK_LIST_CSV, infer_schema=False)
    marked = csv.filter(pl.col("列入依据") != "模型排名")
    assert marked.select("统一社会信用代码", "列入依据").rows() == [
        (pinned, f"人工列入（{decided['pin']}：举报线索）")
    ]
