"""The publish flow end to end on a tiny workdir: two weeks published, the second twice.

One published workdir per module (building it runs the flow three times); tests only read it,
except the failure test, which runs last and checks that nothing changed.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from openpyxl import load_workbook

from features import registry
from pipelines import audit, publish_io, tracking
from pipelines.flows import publish as publish_module
from pipelines.flows.publish import publish_flow
from pipelines.masking import PHONE, find_id_numbers
from pipelines.timeline import Week
from tests.pipelines.publish_world import AS_OF, WEEK, build_world, world_config

pytestmark = pytest.mark.slow  # Prefect harness and three publications with SHAP charts

FIRST_WEEK = "2026-W46"
HEX_DIGEST = re.compile(r"\b[0-9a-f]{32,64}\b")
INDUSTRIES = list(world_config().industries)


def _tree_hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def published(tmp_path_factory, prefect_harness):
    world = build_world(tmp_path_factory.mktemp("publish"), seed=11)
    workdir = str(world.settings.workdir)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tracking, "tracker_for", lambda settings: world.tracker)
        patch.setattr(publish_module, "load_config", world_config)
        first = publish_flow(workdir=workdir, week=FIRST_WEEK)
        second = publish_flow(workdir=workdir, week=WEEK)
        hashes = _tree_hashes(world.settings.publish / WEEK)
        # The week given as a Week this time: the flow's edge takes the type or its label alike.
        again = publish_flow(workdir=workdir, week=Week.parse(WEEK))
        yield {
            "world": world,
            "first": first,
            "second": second,
            "again": again,
            "hashes_before_rerun": hashes,
        }


def _folder(published, industry: str, week: str = WEEK) -> Path:
    return published["world"].settings.publish / week / industry


def test_flow_returns_a_manifest_per_industry_and_the_site_index(published):
    result = published["second"]
    assert result["week"] == WEEK and result["as_of"] == AS_OF.isoformat()
    assert sorted(result["lists"]) == sorted(INDUSTRIES)
    for industry, manifest in result["lists"].items():
        assert Path(manifest) == _folder(published, industry) / "manifest.json"
    assert Path(result["site"]).is_file()


def test_republishing_the_same_week_reproduces_every_file_byte_for_byte(published):
    after = _tree_hashes(published["world"].settings.publish / WEEK)
    assert after == published["hashes_before_rerun"]
    assert len(after) > 3 * 8
    assert published["again"]["week"] == published["second"]["week"] == WEEK
    assert published["again"]["as_of"] == published["second"]["as_of"]


@pytest.mark.parametrize("week", ["2026-W54", "2026-49", "next week"])
def test_a_bad_week_is_refused_by_name_before_anything_is_written(prefect_harness, tmp_path, week):
    with pytest.raises(ValueError, match=f"week '{week}'"):
        publish_flow(workdir=str(tmp_path), week=week)
    assert not (tmp_path / "publish").exists()


def test_manifest_records_lineage_and_the_hash_of_every_published_file(published):
    folder = _folder(published, "finance")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["week"] == WEEK and manifest["as_of"] == AS_OF.isoformat()
    assert manifest["model"]["name"] == "ews-finance"
    assert manifest["model"]["alias"] == "champion" and manifest["model"]["version"] == 1
    assert manifest["model"]["run_id"]
    assert manifest["ingest"] == {
        "run_id": "20261111T020000-bbbbbb",
        "validation_result_ids": ["gx-result-1", "gx-result-2"],
    }
    ledger = published["world"].settings.lake / "_ledger.jsonl"
    assert manifest["lake_snapshot"]["sha256"] == hashlib.sha256(ledger.read_bytes()).hexdigest()
    assert manifest["config_sha256"] == publish_io.config_hash()
    assert manifest["code_version"]
    on_disk = {
        name: digest for name, digest in _tree_hashes(folder).items() if name != "manifest.json"
    }
    assert manifest["files"] == on_disk
    assert {"risk_list.xlsx", "risk_list.csv", "risk_list.parquet", "explanations.parquet"} <= set(
        on_disk
    )


def test_audit_log_records_the_publication_with_its_inputs_and_models(published):
    records = [
        r
        for r in audit.read_log(published["world"].settings)
        if r["kind"] == "publish" and r["details"]["week"] == WEEK
    ]
    assert len(records) == 2  # published twice
    record = records[-1]
    assert {o["path"] for o in record["outputs"]} == {
        *(f"publish/{WEEK}/{i}" for i in INDUSTRIES),
        f"publish/{WEEK}/general",
        f"publish/{WEEK}/tiers",
    }
    refs = {i.get("ref") for i in record["inputs"]}
    assert {f"models:/ews-{i}/1" for i in [*INDUSTRIES, "general"]} <= refs
    assert f"features/as_of={AS_OF.isoformat()}.parquet" in {
        i.get("path") for i in record["inputs"]
    }
    assert record["details"]["failures"] == {}


def test_every_firm_of_the_scoring_table_gets_a_credit_class_from_its_lists_model(published):
    world = published["world"]
    folder = world.settings.publish / WEEK / "tiers"
    assert Path(published["second"]["tiers"]) == folder / "manifest.json"
    tiers = pl.read_parquet(folder / "tiers.parquet")
    table = pl.read_parquet(world.settings.features / f"as_of={AS_OF.isoformat()}.parquet")
    assert tiers["uscc"].to_list() == sorted(table["uscc"].to_list())
    assert tiers["tier"].is_in(["A", "B", "C", "D"]).all()
    assert tiers["basis_zh"].str.len_chars().min() > 0
    for industry in INDUSTRIES:
        scores = pl.read_parquet(_folder(published, industry) / "scores.parquet")
        mine = tiers.filter(pl.col("industry") == industry).join(scores, on="uscc")
        assert mine.height == scores.height
        scored = mine.filter(~pl.col("insufficient_data"))
        assert (scored["model_tier"] == scored["tier_right"]).all()
        assert (scored["model"] == industry).all()
        assert mine.filter(pl.col("insufficient_data"))["model_tier"].null_count() == (
            mine["insufficient_data"].sum()
        )
    # No credit sources in this lake: the model decides every class; every other enterprise's
    # model is the general one, and its page says so.
    general = pl.read_parquet(_folder(published, "general") / "scores.parquet")
    others = tiers.filter(pl.col("industry") == "other")
    assert others.height > 0 and others["uscc"].to_list() == general["uscc"].to_list()
    assert (others["model"] == "general").all() and (others["basis"] == "model").all()
    assert (others["probability"] == general["probability"]).all()
    assert (others["model_tier"] == general["tier"]).all()
    assert others["basis_zh"].str.contains("通用模型").all()
    assert others["basis_en"].str.contains("General model").all()
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert "credit_public_evaluation" in manifest["sources_missing"]
    assert manifest["counts"]["firms"] == tiers.height
    assert set(manifest["lists"]) == {*INDUSTRIES, "general"}
    assert manifest["lists_missing"] == []
    assert manifest["files"] == {"tiers.parquet": _tree_hashes(folder)["tiers.parquet"]}


def test_finance_list_is_the_top_k_by_probability_with_configured_tiers(published):
    spec = world_config().industries["finance"]
    scores = pl.read_parquet(_folder(published, "finance") / "scores.parquet")
    ranked = scores.filter(~pl.col("insufficient_data")).sort("rank")
    assert ranked["probability"].is_sorted(descending=True)
    assert scores["listed"].sum() == spec.capacity_k < ranked.height
    assert ranked.filter(pl.col("listed"))["rank"].max() == spec.capacity_k
    assert [spec.tier(p) for p in ranked["probability"]] == ranked["tier"].to_list()


def test_insufficient_data_firm_is_flagged_unranked_and_shown_apart(published):
    folder = _folder(published, "finance")
    scores = pl.read_parquet(folder / "scores.parquet")
    flagged = scores.filter(pl.col("insufficient_data"))
    assert flagged.height == 1
    row = flagged.row(0, named=True)
    assert row["rank"] is None and row["tier"] is None and not row["listed"]
    sheet = load_workbook(folder / "risk_list.xlsx")["数据不足企业"]
    assert row["uscc"] in [c.value for c in sheet["A"]]
    page = (published["world"].settings.site / WEEK / "finance" / "index.html").read_text(
        encoding="utf-8"
    )
    assert 'id="insufficient"' in page and row["uscc"] in page


def test_xlsx_and_csv_carry_the_same_list_under_chinese_headers(published):
    folder = _folder(published, "finance")
    sheet = load_workbook(folder / "risk_list.xlsx")["风险名单"]
    headers = [c.value for c in sheet[1]]
    assert headers == [
        "排名",
        "统一社会信用代码",
        "企业名称",
        "行业",
        "所属片区",
        "风险评分",
        "风险等级",
        "较上周变化",
        "列入依据",  # model rank, a regulator's addition or a carried-over decision
        "主要原因1",
        "主要原因2",
        "主要原因3",
        # What the regulator fills in and sends back (data_contracts/feedback.yaml).
        "检查日期",
        "检查方式",
        "检查结果",
        "检查情况说明",
    ]
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["C"].width > 20  # names fit
    raw = (folder / "risk_list.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    csv = pl.read_csv(io.BytesIO(raw[3:]))
    assert csv.columns == headers[:-4]  # the CSV is the published list only
    assert csv["统一社会信用代码"].to_list() == [c.value for c in sheet["B"][1:]]
    assert csv.height == world_config().industries["finance"].capacity_k


def test_explanations_add_up_to_each_firms_score(published):
    folder = _folder(published, "manufacturing")
    explanations = pl.read_parquet(folder / "explanations.parquet")
    scores = pl.read_parquet(folder / "scores.parquet").filter(~pl.col("insufficient_data"))
    features = [c for c in explanations.columns if c not in ("uscc", "margin", "base_value")]
    assert features == registry.feature_names()
    total = explanations.select(pl.sum_horizontal("base_value", *features)).to_series()
    np.testing.assert_allclose(total, explanations["margin"], atol=1e-4)
    joined = scores.join(explanations, on="uscc")
    assert joined.height == scores.height
    # The test champions are uncalibrated: probability is the logistic of the margin.
    np.testing.assert_allclose(
        joined["probability"], 1 / (1 + np.exp(-joined["margin"])), atol=1e-6
    )


def test_each_listed_firm_has_up_to_three_reasons_in_both_languages_with_facts(published):
    folder = _folder(published, "finance")
    reasons = pl.read_parquet(folder / "reasons.parquet")
    listed = pl.read_parquet(folder / "scores.parquet").filter(pl.col("listed"))
    assert set(reasons["uscc"]) <= set(listed["uscc"])
    assert reasons.group_by("uscc").len()["len"].max() <= 3
    assert (reasons["contribution"] > 0).all()
    assert reasons["reason_zh"].str.contains(r"[\u4e00-\u9fff]").all()
    with_facts = reasons.filter(pl.col("facts_zh").list.len() > 0)
    assert with_facts.height > 0  # complaints and pension arrears are in the lake
    assert (with_facts["facts_zh"].list.len() == with_facts["facts_en"].list.len()).all()


def test_second_week_compares_with_the_published_first_week(published):
    now = pl.read_parquet(_folder(published, "finance") / "scores.parquet")
    before = pl.read_parquet(_folder(published, "finance", FIRST_WEEK) / "scores.parquet")
    manifest = json.loads((_folder(published, "finance") / "manifest.json").read_text())
    assert manifest["previous"]["kind"] == "published"
    assert manifest["previous"]["week"] == FIRST_WEEK
    was_listed = set(before.filter(pl.col("listed"))["uscc"])
    is_listed = set(now.filter(pl.col("listed"))["uscc"])
    assert set(now.filter(pl.col("new_entrant"))["uscc"]) == is_listed - was_listed
    leavers = pl.read_parquet(_folder(published, "finance") / "leavers.parquet")
    assert set(leavers["uscc"]) == was_listed - is_listed
    page = (published["world"].settings.site / WEEK / "finance" / "index.html").read_text(
        encoding="utf-8"
    )
    for uscc in leavers["uscc"]:
        assert uscc in page


def test_first_publication_compares_with_nothing(published):
    folder = _folder(published, "finance", FIRST_WEEK)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["previous"] == {"kind": "none", "week": "2026-W45"}
    scores = pl.read_parquet(folder / "scores.parquet")
    assert scores["new_entrant"].null_count() == scores.height
    assert pl.read_parquet(folder / "leavers.parquet").height == 0
    sheet = load_workbook(folder / "risk_list.xlsx")["风险名单"]
    assert {c.value for c in sheet["H"][1:]} == {"—"}
    page = published["world"].settings.site / FIRST_WEEK / "finance" / "index.html"
    assert "首次发布" in page.read_text(encoding="utf-8")


def test_score_history_shows_the_scores_each_week_published(published):
    history = pl.read_parquet(_folder(published, "finance") / "history.parquet")
    before = pl.read_parquet(_folder(published, "finance", FIRST_WEEK) / "scores.parquet")
    now = pl.read_parquet(_folder(published, "finance") / "scores.parquet")
    listed = now.filter(pl.col("listed"))
    assert set(history["uscc"]) == set(listed["uscc"])
    firm = listed.row(0, named=True)
    points = history.filter(pl.col("uscc") == firm["uscc"]).sort("as_of")
    last_week = before.filter(pl.col("uscc") == firm["uscc"])["probability"].to_list()
    assert points["probability"].to_list() == [*last_week, firm["probability"]]
    assert points["as_of"].to_list()[-1] == AS_OF


def test_site_has_an_index_a_list_page_and_a_page_per_listed_firm(published):
    site = published["world"].settings.site
    index = (site / "index.html").read_text(encoding="utf-8")
    assert f"{WEEK}/finance/index.html" in index and f"{FIRST_WEEK}/finance/index.html" in index
    listed = pl.read_parquet(_folder(published, "education") / "scores.parquet").filter(
        pl.col("listed")
    )
    for uscc in listed["uscc"]:
        page = site / WEEK / "education" / "firms" / f"{uscc}.html"
        assert page.is_file()
        chart = (site / WEEK / "education" / "img" / f"{uscc}.svg").read_text(encoding="utf-8")
        assert "<svg" in chart and "<dc:date>" not in chart  # shap's waterfall, undated
        assert f'src="../img/{uscc}.svg"' in page.read_text(encoding="utf-8")
    assert not re.search(r"https?://", index)  # no CDN, nothing fetched


def _texts(path: Path) -> list[str]:
    """Every piece of text a reader could see in one published file."""
    if path.suffix == ".parquet":
        frame = pl.read_parquet(path)
        texts = []
        for name, dtype in frame.schema.items():
            column = frame.get_column(name)
            if dtype == pl.List(pl.String):
                column = column.explode()
            elif dtype != pl.String:
                continue  # numbers are scores and SHAP values, not text
            texts.extend(column.drop_nulls().to_list())
        return texts
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as archive:
            return [archive.read(n).decode("utf-8") for n in archive.namelist()]
    if path.suffix in (".csv", ".json", ".html"):
        return [path.read_text(encoding="utf-8-sig")]
    return []


def test_no_published_file_contains_raw_personal_data(published):
    world = published["world"]
    files = [
        p
        for root in (world.settings.publish, world.settings.site)
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in (".parquet", ".xlsx", ".csv", ".json", ".html")
    ]
    assert len(files) > 40
    suffixes = {p.suffix for p in files}
    assert suffixes == {".parquet", ".xlsx", ".csv", ".json", ".html"}
    for path in files:
        for raw in _texts(path):
            text = HEX_DIGEST.sub("", raw)  # file hashes and run ids are not phone numbers
            for value in world.pii_values:
                assert value not in text, f"{path}: raw personal data {value!r}"
            assert not find_id_numbers(text), f"{path}: an ID number"
            assert not PHONE.search(text), f"{path}: a phone number"


def test_masked_legal_representative_is_shown_on_the_firm_page(published):
    world = published["world"]
    firm = world.firms.filter(pl.col("industry") == "education").row(0, named=True)
    page = world.settings.site / WEEK / "education" / "firms" / f"{firm['uscc']}.html"
    text = page.read_text(encoding="utf-8")
    assert firm["legal_rep_name"][0] + "*" in text
    assert firm["legal_rep_phone"][:3] + "****" + firm["legal_rep_phone"][-4:] in text


def test_failure_mid_write_keeps_the_previous_publication(published, monkeypatch):
    world = published["world"]
    before = _tree_hashes(world.settings.publish / WEEK)
    site_before = (world.settings.site / "index.html").read_bytes()

    write_parquet = publish_io.write_parquet
    calls = []

    def crash_on_the_fourth_file(frame, path):
        calls.append(path)
        if len(calls) % 4 == 0:
            raise OSError(f"disk full while writing {path.name}")
        return write_parquet(frame, path)

    monkeypatch.setattr(publish_io, "write_parquet", crash_on_the_fourth_file)
    with pytest.raises(RuntimeError, match=r"no new list for education, finance, manufacturing"):
        publish_flow(workdir=str(world.settings.workdir), week=WEEK)
    # Every industry got three files in before its write failed; the general model's scores (one
    # file, the same bytes as before) went in whole, and no class was made without new lists.
    assert len(calls) == 3 * 4 + 1
    assert _tree_hashes(world.settings.publish / WEEK) == before
    hidden = [p for p in (world.settings.publish / WEEK).iterdir() if p.name.startswith(".")]
    assert hidden == []
    assert (world.settings.site / "index.html").read_bytes() == site_before
