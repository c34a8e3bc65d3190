"""The SHAP charts: drawn from given values, byte-reproducible, quiet on missing feature values."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from matplotlib import font_manager

from pipelines import shap_plots

LABELS = ["养老保险欠缴月数", "参保人数 12 个月变化", "12345 投诉数"]


def contributions(rows: int) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(7)
    values = generator.normal(0.0, 0.4, size=(rows, len(LABELS)))
    data = generator.normal(3.0, 1.0, size=(rows, len(LABELS)))
    return values, data


def test_beeswarm_with_a_feature_no_listed_firm_has_draws_without_warnings(tmp_path):
    values, data = contributions(20)
    data[:, 1] = np.nan  # e.g. no listed firm reports an insured headcount
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        path = shap_plots.draw_beeswarm(
            values, np.full(20, -2.0), data, LABELS, tmp_path / "beeswarm.png"
        )
    assert path.read_bytes().startswith(b"\x89PNG")


def test_beeswarm_is_byte_identical_and_leaves_the_global_random_state_alone(tmp_path):
    values, data = contributions(30)
    np.random.seed(123)
    expected_next = np.random.random()
    np.random.seed(123)
    first = shap_plots.draw_beeswarm(values, np.zeros(30), data, LABELS, tmp_path / "a.png")
    assert np.random.random() == expected_next  # the jitter's seeding was undone
    second = shap_plots.draw_beeswarm(values, np.zeros(30), data, LABELS, tmp_path / "b.png")
    assert first.read_bytes() == second.read_bytes()


def test_waterfall_shows_the_readers_value_not_nan(tmp_path):
    chart = shap_plots.Waterfall(
        values=np.array([0.8, -0.3, 0.1]),
        base_value=-2.5,
        shown=["6", "无数据", "12"],
        path=tmp_path / "plots" / "firm.svg",
    )
    (path,) = shap_plots.draw_waterfalls([chart], LABELS)
    svg = path.read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "无数据" in svg and ">nan<" not in svg
    assert "<dc:date>" not in svg  # no timestamp: publishing stays byte-reproducible


def test_charts_leave_the_callers_figure_alone_and_close_their_own(tmp_path):
    import matplotlib.pyplot as plt

    values, data = contributions(10)
    mine = plt.figure()  # e.g. an analyst's figure in a notebook
    try:
        shap_plots.draw_beeswarm(values, np.zeros(10), data, LABELS, tmp_path / "b.png")
        chart = shap_plots.Waterfall(values[0], 0.0, ["1", "2", "3"], tmp_path / "w.svg")
        shap_plots.draw_waterfalls([chart], LABELS)
        assert plt.get_fignums() == [mine.number]
        assert mine.axes == []
    finally:
        plt.close(mine)


def test_a_chart_that_fails_to_draw_leaves_no_figure_open(tmp_path):
    import matplotlib.pyplot as plt

    values, data = contributions(10)
    before = plt.get_fignums()
    with pytest.raises(Exception, match="does not match the shape"):  # shap's DimensionError
        shap_plots.draw_beeswarm(values, np.zeros(10), data[:, :2], LABELS, tmp_path / "b.png")
    assert plt.get_fignums() == before


class FontList:
    """A stand-in for matplotlib's font manager: its cached list, and the files added to it."""

    def __init__(self, names: list[str]):
        self.ttflist = [font_manager.FontEntry(name=name) for name in names]
        self.added: list[str] = []

    def addfont(self, path: str) -> None:
        self.added.append(path)
        if "NotoSansCJK" in path:
            self.ttflist.append(font_manager.FontEntry(name="Noto Sans CJK SC"))


@pytest.fixture
def font_list(monkeypatch):
    def install(names: list[str], files: list[str]) -> FontList:
        fonts = FontList(names)
        monkeypatch.setattr(font_manager, "fontManager", fonts)
        monkeypatch.setattr(font_manager, "findSystemFonts", lambda: files)
        return fonts

    shap_plots.chinese_font.cache_clear()
    yield install
    shap_plots.chinese_font.cache_clear()


def test_a_cjk_font_installed_after_matplotlib_cached_its_font_list_is_found(font_list):
    fonts = font_list(["DejaVu Sans"], ["/f/DejaVuSans.ttf", "/f/NotoSansCJK-Regular.ttc"])
    assert shap_plots.chinese_font() == "Noto Sans CJK SC"
    assert fonts.added == ["/f/NotoSansCJK-Regular.ttc"]


def test_a_cjk_font_already_listed_needs_no_search(font_list):
    fonts = font_list(["DejaVu Sans", "WenQuanYi Zen Hei"], ["/f/NotoSansCJK-Regular.ttc"])
    assert shap_plots.chinese_font() == "WenQuanYi Zen Hei"
    assert fonts.added == []


def test_no_cjk_font_on_the_system_gives_none(font_list):
    fonts = font_list(["DejaVu Sans"], ["/f/DejaVuSans.ttf"])
    assert shap_plots.chinese_font() is None
    assert fonts.added == []
