"""The published static site in headless Chromium: index, a sortable list page, a firm page."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines import tracking
from pipelines.flows import publish as publish_module
from pipelines.flows.publish import publish_flow
from pipelines.timeline import previous_week
from tests.browser import assert_shows_something, chromium
from tests.pipelines.publish_world import WEEK, build_world, world_config

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def site(tmp_path_factory, prefect_harness) -> Path:
    world = build_world(tmp_path_factory.mktemp("site"), seed=5)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tracking, "tracker_for", lambda settings: world.tracker)
        patch.setattr(publish_module, "load_config", world_config)
        publish_flow(workdir=str(world.settings.workdir), week=previous_week(WEEK))
        result = publish_flow(workdir=str(world.settings.workdir), week=WEEK)
    return Path(result["site"]).parent


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    opened = context.new_page()
    requested: list[str] = []
    opened.on("request", lambda request: requested.append(request.url))
    opened.requested = requested
    yield opened
    context.close()


def test_index_lists_each_regulator_for_the_week(site, page, tmp_path):
    page.goto((site / "index.html").as_uri())
    assert "EWS" in page.title()
    links = page.locator(f"a[href='{WEEK}/finance/index.html']")
    assert links.count() == 1
    assert "园区金融监管局" in links.first.inner_text()
    shot = tmp_path / "index.png"
    page.screenshot(path=str(shot), full_page=True)
    assert_shows_something(shot)
    assert all(url.startswith("file://") for url in page.requested)


def _column(page, index: int) -> list[str]:
    return page.locator("#risk-list tbody tr").evaluate_all(
        f"rows => rows.map(r => r.cells[{index}].dataset.sort)"
    )


def test_clicking_a_header_sorts_the_list(site, page, tmp_path):
    page.goto((site / WEEK / "finance" / "index.html").as_uri())
    ranks = [int(v) for v in _column(page, 0)]
    assert ranks == sorted(ranks) and len(ranks) == world_config().industries["finance"].capacity_k
    score_header = page.locator("#risk-list th", has_text="风险评分")
    score_header.click()
    ascending = [float(v) for v in _column(page, 4)]
    assert ascending == sorted(ascending)
    assert [int(v) for v in _column(page, 0)] != ranks  # the order changed
    assert score_header.get_attribute("aria-sort") == "ascending"
    score_header.click()
    assert [float(v) for v in _column(page, 4)] == sorted(ascending, reverse=True)
    shot = tmp_path / "list.png"
    page.screenshot(path=str(shot), full_page=True)
    assert_shows_something(shot)
    assert all(url.startswith("file://") for url in page.requested)


def test_firm_page_shows_reasons_waterfall_and_history(site, page, tmp_path):
    page.goto((site / WEEK / "finance" / "index.html").as_uri())
    page.locator("#risk-list tbody tr").first.locator("a").click()
    page.wait_for_load_state()
    assert "/firms/" in page.url
    assert page.locator("ol.reasons li").count() >= 1
    loaded = page.locator("img.plot").evaluate("img => img.complete && img.naturalWidth > 0")
    assert loaded
    assert page.locator("svg.history circle").count() == 2  # last week's list and this one
    assert "*" in page.locator("dl.facts-grid").inner_text()  # masked legal representative
    shot = tmp_path / "firm.png"
    page.screenshot(path=str(shot), full_page=True)
    assert_shows_something(shot)
    assert all(url.startswith("file://") for url in page.requested)


def test_tier_lookup_finds_a_firm_by_code_and_by_name(site, page, tmp_path):
    import polars as pl

    tiers = pl.read_parquet(site.parent / "publish" / WEEK / "tiers" / "tiers.parquet")
    firm = tiers.filter(pl.col("name").is_not_null()).row(0, named=True)
    page.goto((site / WEEK / "tiers" / "index.html").as_uri())
    page.fill("#query", firm["uscc"])
    page.press("#query", "Enter")
    page.wait_for_selector("#firm-card:not([hidden])")
    assert page.locator("#firm-tier").inner_text() == firm["tier"]
    assert page.locator("#firm-basis-zh").inner_text() == firm["basis_zh"]
    page.fill("#query", firm["name"][2:6])
    page.press("#query", "Enter")
    page.wait_for_selector("#results:not([hidden])")
    codes = page.locator("#results tbody tr td:nth-child(2)").all_inner_texts()
    assert firm["uscc"] in codes
    shot = tmp_path / "tiers.png"
    page.screenshot(path=str(shot), full_page=True)
    assert_shows_something(shot)
    assert all(url.startswith("file://") for url in page.requested)


def test_a_listed_firms_page_links_to_its_credit_class(site, page):
    page.goto((site / WEEK / "finance" / "index.html").as_uri())
    page.locator("#risk-list tbody tr").first.locator("a").click()
    page.wait_for_load_state()
    assert "信用风险分类由" in page.content()
    page.locator("a[href*='tiers/index.html#']").first.click()
    page.wait_for_selector("#firm-card:not([hidden])")
    assert page.locator("#firm-uscc").inner_text() in page.url
