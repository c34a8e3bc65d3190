from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from pipelines.svg_charts import waterfall_svg

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on anything that is not well-formed XML


def bars(root: ET.Element) -> list[ET.Element]:
    return root.findall(f"{SVG}rect")


def test_bars_run_from_the_expected_value_to_the_firms_score():
    root = parse(waterfall_svg([0.5, -0.2, 0.1], -3.0, ["2", "无数据", "0.5"], ["a", "b", "c"]))
    assert float(root.get("data-base")) == pytest.approx(-3.0)
    assert float(root.get("data-score")) == pytest.approx(-3.0 + 0.5 - 0.2 + 0.1)
    assert [b.get("class") for b in bars(root)] == ["raises", "lowers", "raises"]


def test_rows_are_ordered_by_absolute_contribution_with_ties_in_feature_order():
    root = parse(waterfall_svg([0.1, -0.3, 0.3], 0.0, ["1", "2", "3"], ["a", "b", "c"]))
    rows = [t.text for t in root.findall(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert rows == ["b = 2", "c = 3", "a = 1"]


def test_features_beyond_the_row_limit_share_one_row_that_keeps_their_sum():
    values = [1.0, -0.5, 0.25, 0.125, 0.0625]
    root = parse(waterfall_svg(values, 0.0, ["x"] * 5, ["f1", "f2", "f3", "f4", "f5"], max_rows=3))
    texts = [t.text for t in root.findall(f"{SVG}text")]
    assert "其他 3 项特征 / 3 other features" in texts
    assert len(bars(root)) == 3
    assert [b.find(f"{SVG}title").text for b in bars(root)][-1] == "+0.4375"
    assert float(root.get("data-score")) == pytest.approx(sum(values))


def test_labels_are_escaped():
    root = parse(waterfall_svg([0.2], 0.0, ["<1"], ["a & b"]))
    assert "a & b = <1" in [t.text for t in root.findall(f"{SVG}text")]


def test_all_zero_contributions_still_draw_a_chart():
    root = parse(waterfall_svg([0.0, 0.0], -2.0, ["0", "0"], ["a", "b"]))
    assert len(bars(root)) == 2


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="one value, shown value and label per feature"):
        waterfall_svg([0.1, 0.2], 0.0, ["1"], ["a", "b"])


def test_same_input_gives_the_same_bytes():
    args = ([0.3, -0.1], -2.5, ["1", "2"], ["甲", "乙"])
    assert waterfall_svg(*args) == waterfall_svg(*args)
