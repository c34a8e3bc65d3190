"""The credit risk class pages: counts, the C and D firms, and the lookup's data files."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from models.config import load_config
from models.tiering import load_tier_policy, tier_firms
from pipelines import file_io, publish_io
from pipelines.site_audit import page_environment
from pipelines.site_tiers import (
    CODE_ALPHABET,
    SHARDS,
    find_tier_snapshots,
    render_tier_pages,
    shard_of,
)
from pipelines.tiers import TIERS_FILE, counts

POLICY = load_tier_policy()
HOSTILE = '</script><img src=x onerror="alert(1)">公司'


def _snapshot(root: Path, week: str) -> Path:
    components = pl.DataFrame(
        [
            ("91320594MA0000001A", "finance", 0.4, "D", "B", dt.date(2025, 1, 1), None),
            ("91320594MA0000002B", None, None, None, "C", dt.date(2025, 1, 1), None),
            ("91320594MA0000003C", "manufacturing", 0.01, "A", None, None, dt.date(2026, 2, 1)),
            ("91320594MA0000004D", None, None, None, None, None, None),
        ],
        schema=["uscc", "model", "probability", "model_tier", "credit_grade", "credit_year", "sd"],
        orient="row",
    )
    components = components.rename({"sd": POLICY.list_column("serious_dishonesty")})
    for key in POLICY.lists:
        if POLICY.list_column(key) not in components.columns:
            components = components.with_columns(
                pl.lit(None, pl.Date).alias(POLICY.list_column(key))
            )
    tiers = tier_firms(components, POLICY).with_columns(
        name=pl.Series([HOSTILE, "乙公司", "丙公司", None]),
        industry=pl.Series(["finance", "other", "manufacturing", "other"]),
        district=pl.lit("湖西"),
        basis_zh=pl.col("basis"),
        basis_en=pl.col("basis"),
    )
    folder = root / week / "tiers"
    folder.mkdir(parents=True)
    publish_io.write_parquet(tiers, folder / TIERS_FILE)
    file_io.write_json(
        folder / publish_io.MANIFEST,
        {"week": week, "as_of": "2026-11-29", "counts": counts(tiers)},
    )
    return folder


@pytest.fixture
def rendered(tmp_path):
    publish = tmp_path / "publish"
    _snapshot(publish, "2026-W48")
    _snapshot(publish, "2026-W49")
    out = tmp_path / "site"
    snapshots = find_tier_snapshots(publish)
    summaries = [
        render_tier_pages(s, out, page_environment(), load_config(), POLICY, lookup=i == 0)
        for i, s in enumerate(snapshots)
    ]
    return out, snapshots, summaries


def test_the_newest_week_comes_first_and_alone_gets_the_lookup(rendered):
    out, snapshots, summaries = rendered
    assert [s.week for s in snapshots] == ["2026-W49", "2026-W48"]
    assert len(list((out / "2026-W49" / "tiers" / "data").glob("*.js"))) == SHARDS
    assert not (out / "2026-W48" / "tiers" / "data").exists()
    assert 'id="query"' in (out / "2026-W49" / "tiers" / "index.html").read_text(encoding="utf-8")
    assert summaries[0]["firms"] == 4
    # 1A: model D within one class of grade B -> C; 2B: grade C; 3C: seriously dishonest -> D;
    # 4D: nothing known -> the default B.
    cards = {c["name"]: c["count"] for c in summaries[0]["cards"]}
    assert cards == {"A": 0, "B": 1, "C": 2, "D": 1}


def test_c_and_d_firms_are_listed_with_names_escaped(rendered):
    out, _, _ = rendered
    page = (out / "2026-W49" / "tiers" / "index.html").read_text(encoding="utf-8")
    assert "<img src=x" not in page
    assert "&lt;img src=x" in page
    watched = page.split('id="watched"')[1].split("</table>")[0]
    for uscc in ("91320594MA0000001A", "91320594MA0000002B", "91320594MA0000003C"):
        assert uscc in watched
    assert "91320594MA0000004D" not in watched  # class B


def test_a_firm_is_in_the_data_file_its_code_points_to_and_cannot_end_the_script(rendered):
    out, _, _ = rendered
    data = out / "2026-W49" / "tiers" / "data"
    for uscc in ("91320594MA0000001A", "91320594MA0000004D"):
        text = (data / f"{shard_of(uscc)}.js").read_text(encoding="utf-8")
        assert uscc in text
        others = [p for p in data.glob("*.js") if p.name != f"{shard_of(uscc)}.js"]
        assert all(uscc not in p.read_text(encoding="utf-8") for p in others)
    hostile = (data / f"{shard_of('91320594MA0000001A')}.js").read_text(encoding="utf-8")
    assert "</script>" not in hostile and "<\\/script>" in hostile
    payload = hostile.split(" = ", 2)[-1].rstrip(";\n")
    parsed = json.loads(payload.replace("<\\/", "</"))
    assert parsed["columns"][0] == "uscc"


def test_every_check_character_has_its_own_data_file():
    assert sorted(shard_of(f"X{c}") for c in CODE_ALPHABET) == list(range(SHARDS))
    assert shard_of("") == shard_of("X?") == 0
