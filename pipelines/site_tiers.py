"""The credit risk class pages of the static site, from ``publish/<week>/tiers/``.

Per published week: ``<week>/tiers/index.html`` with the counts by class, by what set the class
and by industry, the policy in words, and every firm of classes C and D. The newest week also
gets the lookup: a search by credit code or name over every classed firm, and a firm's card
(``index.html#<uscc>``: its class, what set it and every part of the policy's reading). The
lookup's data are script files (``data/<n>.js``, firms split by the check character of their
code), so the page works from the file system without a server; the script fills the page with
``textContent`` only, so a firm's name is never read as markup.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from jinja2 import Environment

from models.config import TIER_ORDER, IndustryConfig
from models.tiering import BASES, TierPolicy
from pipelines import datasets, publish_io
from pipelines.tiers import FOLDER, TIERS_FILE, industry_names
from pipelines.timeline import is_week_label

BASIS_NAMES = {
    "model": ("模型评分", "the model's score"),
    "credit_limit": ("公共信用综合评价限定", "limited by the public credit evaluation"),
    "credit_evaluation": ("公共信用综合评价", "the public credit evaluation"),
    "default": ("默认等级", "the default class"),
    "cap": ("信用名单（上限）", "a credit list (cap)"),
    "floor": ("信用名单（下限）", "a credit list (floor)"),
    "override": ("分析人员调整", "an analyst's override"),
}
# A credit code's check character is one of these 31 (GB 32100-2015): one data file each.
CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
SHARDS = len(CODE_ALPHABET)
LOOKUP_COLUMNS = (
    "uscc",
    "name",
    "industry",
    "district",
    "tier",
    "basis",
    "basis_zh",
    "basis_en",
    "probability",
    "model_tier",
    "credit_grade",
    "credit_year",
)


@dataclass(frozen=True)
class TierSnapshot:
    week: str
    folder: Path

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads((self.folder / publish_io.MANIFEST).read_text(encoding="utf-8"))

    def table(self) -> pl.DataFrame:
        return pl.read_parquet(self.folder / TIERS_FILE)


def find_tier_snapshots(publish_root: Path) -> list[TierSnapshot]:
    """Every complete tier snapshot (it has a manifest), newest week first."""
    if not publish_root.is_dir():
        return []
    found = [
        TierSnapshot(week_dir.name, week_dir / FOLDER)
        for week_dir in publish_root.iterdir()
        if is_week_label(week_dir.name) and (week_dir / FOLDER / publish_io.MANIFEST).is_file()
    ]
    return sorted(found, key=lambda s: s.week, reverse=True)


def credit_classes(publish_root: Path, week: str, uscc: list[str]) -> dict[str, dict[str, Any]]:
    """The week's class, basis and sentence of each of these firms (none without a snapshot)."""
    path = publish_root / week / FOLDER / TIERS_FILE
    if not path.is_file() or not uscc:
        return {}
    rows = pl.read_parquet(path, columns=["uscc", "tier", "basis", "basis_zh", "basis_en"])
    return {row["uscc"]: row for row in rows.filter(pl.col("uscc").is_in(uscc)).to_dicts()}


def render_tier_pages(
    snapshot: TierSnapshot,
    out: Path,
    environment: Environment,
    config: IndustryConfig,
    policy: TierPolicy,
    *,
    lookup: bool,
) -> dict[str, Any]:
    """Write ``<out>/<week>/tiers/``; returns what the index shows about the week's classes."""
    tiers = snapshot.table()
    manifest = snapshot.manifest
    target = out / snapshot.week / FOLDER
    target.mkdir(parents=True)
    names = industry_names(config)
    by_tier = dict(tiers.group_by("tier").len().iter_rows())
    cards = [
        {
            "name": t,
            "zh": policy.classes[t].zh,
            "en": policy.classes[t].en,
            "count": by_tier.get(t, 0),
        }
        for t in TIER_ORDER
    ]
    basis_rows = []
    for basis in BASES:
        counts = dict(tiers.filter(pl.col("basis") == basis).group_by("tier").len().iter_rows())
        if counts:
            zh, en = BASIS_NAMES[basis]
            basis_rows.append(
                {"zh": zh, "en": en, "counts": [counts.get(t, 0) for t in TIER_ORDER]}
            )
    industry_rows = []
    for key, (zh, en) in names.items():
        counts = dict(tiers.filter(pl.col("industry") == key).group_by("tier").len().iter_rows())
        if counts:
            industry_rows.append(
                {"zh": zh, "en": en, "counts": [counts.get(t, 0) for t in TIER_ORDER]}
            )
    watched = (
        tiers.filter(pl.col("tier").is_in(["C", "D"]))
        .sort(["tier", "probability", "uscc"], descending=[True, True, False], nulls_last=True)
        .with_columns(pl.col("industry").replace_strict({k: v[0] for k, v in names.items()}))
        .to_dicts()
    )
    shutil.copyfile(snapshot.folder / publish_io.MANIFEST, target / publish_io.MANIFEST)
    if lookup:
        _write_lookup_data(tiers, target / "data", names)
    page = environment.get_template("site_tiers.html.j2").render(
        root="../../",
        week=snapshot.week,
        as_of=manifest["as_of"],
        total=tiers.height,
        cards=cards,
        tier_order=list(TIER_ORDER),
        basis_rows=basis_rows,
        industry_rows=industry_rows,
        watched=watched,
        lookup=lookup,
        shards=SHARDS,
        alphabet=CODE_ALPHABET,
        steps=policy.max_steps_from_credit,
        default_tier=policy.default_tier,
        lists=[
            {"zh": lst.name.zh, "en": lst.name.en, "effect": lst.effect, "tier": lst.tier}
            for lst in policy.lists.values()
        ],
        lists_missing=manifest.get("lists_missing", []),
        sources_missing=manifest.get("sources_missing", []),
    )
    (target / datasets.INDEX_PAGE).write_text(page, encoding="utf-8")
    return {
        "week": snapshot.week,
        "href": f"{snapshot.week}/{FOLDER}/index.html",
        "firms": tiers.height,
        "cards": cards,
    }


def shard_of(uscc: str) -> int:
    """The data file a firm is in: the place of its code's last character in the alphabet (0
    for a character outside it)."""
    return max(CODE_ALPHABET.find(uscc[-1:]), 0)


def _write_lookup_data(
    tiers: pl.DataFrame, folder: Path, names: dict[str, tuple[str, str]]
) -> None:
    folder.mkdir()
    rows = tiers.select(LOOKUP_COLUMNS).with_columns(
        pl.col("credit_year").dt.year().alias("credit_year"),
        pl.col("probability").round(4),
        industry_zh=pl.col("industry").replace_strict({k: v[0] for k, v in names.items()}),
        industry_en=pl.col("industry").replace_strict({k: v[1] for k, v in names.items()}),
    )
    shards: dict[int, list[list[Any]]] = {n: [] for n in range(SHARDS)}
    columns = rows.columns
    for row in rows.iter_rows():
        shards[shard_of(row[0])].append(list(row))
    for number, records in shards.items():
        payload = json.dumps({"columns": columns, "rows": records}, ensure_ascii=False)
        # Inside a script element "</" could end it early: escape the slash.
        payload = payload.replace("</", "<\\/")
        script = f"window.EWS_TIERS = window.EWS_TIERS || {{}};\nwindow.EWS_TIERS[{number}] = "
        (folder / f"{number}.js").write_text(f"{script}{payload};\n", encoding="utf-8")
