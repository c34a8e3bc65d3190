"""The site's feedback pages: a page per regulator from its newest publication's feedback.json,
the wording of a share with its interval, and escaping of what came back."""

from __future__ import annotations

import json
from pathlib import Path

from models.config import load_config
from pipelines.site import Publication, _feedback_row, _render_feedback_pages
from pipelines.site_audit import page_environment

ROW = {
    "week": "2026-W48",
    "listed": 22,
    "inspected": 14,
    "confirmed": 9,
    "reported_not_inspected": 1,
    "awaiting": 7,
    "median_days_to_inspection": 4.0,
    "max_days_to_inspection": 9,
    "confirmed_share": 0.6429,
    "ci_low": 0.3878,
    "ci_high": 0.8366,
    "outcomes": {"no_risk_found": 4, "risk_confirmed": 8, "closed_or_unreachable": 1},
}


def test_a_row_is_worded_with_its_interval_and_outcomes_in_contract_order():
    row = _feedback_row(ROW)
    assert row["share_zh"] == "64%（39–84%）"
    assert row["ci_en"] == "64% (95% CI 39–84%)"
    assert row["days_zh"] == "4 / 9"
    assert [o["key"] for o in row["outcome_list"]] == [
        "risk_confirmed",
        "no_risk_found",
        "closed_or_unreachable",
    ]
    empty = _feedback_row({"listed": 3, "inspected": 0, "confirmed_share": None})
    assert (empty["share_zh"], empty["days_zh"]) == ("—", "—")


def _publication(root: Path, week: str, feedback: dict | None) -> Publication:
    folder = root / week / "finance"
    folder.mkdir(parents=True)
    if feedback is not None:
        (folder / "feedback.json").write_text(json.dumps(feedback, ensure_ascii=False))
    return Publication(week, "finance", folder)


def test_the_regulator_page_comes_from_the_newest_publication_with_feedback(tmp_path):
    body = {
        "week": "2026-W49",
        "at": "2026-11-29",
        "follow_up_days": 90,
        "rolling_weeks": 8,
        "last_week": ROW,
        "weeks": [{**ROW, "outcomes": {"risk_confirmed": 8}}],
        "rolling": {**ROW, "weeks": ["2026-W48"]},
    }
    newest = _publication(tmp_path / "publish", "2026-W49", body)
    older = _publication(tmp_path / "publish", "2026-W48", None)
    out = tmp_path / "site"
    out.mkdir()
    rows = _render_feedback_pages([newest, older], out, load_config(), page_environment())
    assert [(r["week"], r["href"]) for r in rows] == [("2026-W49", "feedback/finance.html")]
    page = (out / "feedback" / "finance.html").read_text(encoding="utf-8")
    assert "园区金融监管局 · 名单核查反馈" in page
    assert "64%（39–84%）" in page and "风险属实 8" in page
    assert 'href="../2026-W48/finance/index.html"' in page
    assert "“风险属实”或“已关停或失联”" in page


def test_no_feedback_no_page(tmp_path):
    older = _publication(tmp_path / "publish", "2026-W48", None)
    out = tmp_path / "site"
    out.mkdir()
    assert _render_feedback_pages([older], out, load_config(), page_environment()) == []
    assert not (out / "feedback").exists()
