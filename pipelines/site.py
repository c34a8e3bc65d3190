"""The browsable static site, rebuilt from the publications under ``publish/``.

The site is a view: every page is rendered from the files of published lists (scores, reasons,
leavers, history, masked firm profiles, plots, manifest), never from the lake or a model, so it
always shows exactly what was published. It needs no network (inline CSS and JS, no CDN) and is
replaced atomically as a whole.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from jinja2 import Environment

from data_contracts.feedback import load_feedback
from models.config import IndustryConfig
from models.objections import BY_MODEL, LIST_BASIS_TEXT
from models.tiering import load_tier_policy
from pipelines import datasets
from pipelines import publish_io as files
from pipelines.feedback.report import FEEDBACK_FILE
from pipelines.publish_io import atomic_directory
from pipelines.settings import Settings
from pipelines.site_audit import FOLDER as AUDITOR_FOLDER
from pipelines.site_audit import page_environment, render_auditor_pages
from pipelines.site_consistency import FOLDER as CONSISTENCY_FOLDER
from pipelines.site_consistency import render_consistency_pages
from pipelines.site_inspection import render_plan_pages, stored_results
from pipelines.site_objections import render_objections_page
from pipelines.site_tiers import credit_classes, find_tier_snapshots, render_tier_pages
from pipelines.timeline import is_week_label

TIER_NAMES = {
    "A": ("低风险", "low"),
    "B": ("关注", "watch"),
    "C": ("较高风险", "elevated"),
    "D": ("高风险", "high"),
}
LEAVER_REASONS = {
    "below_cut": ("评分下降，排在检查能力K之后", "score fell below the top K"),
    "insufficient_data": ("本周数据不足，未评分", "insufficient data this week"),
    "not_scored": (
        "已不在评分范围（注销、迁出或已确认风险事件）",
        "no longer scored (closed, moved or event confirmed)",
    ),
    "override_off": ("分析人员人工移出名单", "taken off by an analyst's override"),
    "objection_upheld": ("企业异议成立，移出名单", "taken off: the firm's objection was upheld"),
}
PROFILE_LABELS = {
    "legal_rep_name": ("法定代表人", "Legal representative"),
    "legal_rep_phone": ("联系电话", "Contact phone"),
    "ownership_type": ("企业类型", "Ownership"),
    "established_date": ("成立日期", "Established"),
    "registered_capital": ("注册资本（万元）", "Registered capital (10k CNY)"),
    "registered_address": ("住所", "Registered address"),
}
COPIED_FILES = (files.RISK_LIST_XLSX, files.RISK_LIST_CSV, files.MANIFEST)
FEEDBACK_FOLDER = "feedback"  # site/feedback/<industry>.html: a page per regulator
# What produced a list, in the site's two languages.
MODEL_KINDS = {
    "gradient_boosting": ("梯度提升模型", "gradient-boosted model"),
    "logistic_baseline": ("逻辑回归基准模型", "logistic regression baseline"),
}


@dataclass(frozen=True)
class Publication:
    """One published list as the site reads it."""

    week: str
    industry: str
    folder: Path

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads((self.folder / files.MANIFEST).read_text(encoding="utf-8"))

    def table(self, name: str) -> pl.DataFrame:
        return pl.read_parquet(self.folder / name)

    @property
    def feedback(self) -> dict[str, Any] | None:
        """The earlier lists' accuracy this publication showed (None before the case store)."""
        path = self.folder / FEEDBACK_FILE
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def find_publications(publish_root: Path, config: IndustryConfig) -> list[Publication]:
    """Every complete publication (it has a manifest), newest week first, industries in config
    order. Hidden folders (a publication being written) and other folders are ignored."""
    order = list(config.industries)
    found = []
    if not publish_root.is_dir():
        return found
    for week_dir in publish_root.iterdir():
        if not (week_dir.is_dir() and is_week_label(week_dir.name)):
            continue
        for folder in week_dir.iterdir():
            if folder.name in order and (folder / files.MANIFEST).is_file():
                found.append(Publication(week_dir.name, folder.name, folder))
    return sorted(found, key=lambda p: (_negated(p.week), order.index(p.industry)))


def _negated(week: str) -> tuple[int, int]:
    year, number = week.split("-W")
    return (-int(year), -int(number))


def build_site(settings: Settings, config: IndustryConfig) -> Path:
    """Render the whole site from ``settings.publish`` into ``settings.site`` (replaced as a
    whole), auditor pages included; returns the index path."""
    publications = find_publications(settings.publish, config)
    environment = page_environment()
    with atomic_directory(settings.site) as out:
        summaries = [_render_publication(pub, out, config, environment) for pub in publications]
        weeks: dict[str, dict[str, Any]] = {}
        for summary in summaries:
            week = weeks.setdefault(
                summary["week"],
                {"week": summary["week"], "as_of": summary["as_of"], "lists": [], "tiers": None},
            )
            week["lists"].append(summary)
        policy = load_tier_policy()
        for number, snapshot in enumerate(find_tier_snapshots(settings.publish)):
            # The lookup of every firm only for the newest week: it is the one in force.
            classes = render_tier_pages(
                snapshot, out, environment, config, policy, lookup=number == 0
            )
            if snapshot.week in weeks:
                weeks[snapshot.week]["tiers"] = classes
        plans = render_plan_pages(
            settings.inspection, out, environment, config, stored_results(settings)
        )
        render_auditor_pages(settings, out)
        render_consistency_pages(settings, out)
        objections = render_objections_page(settings, out, environment)
        regulators = _render_feedback_pages(publications, out, config, environment)
        page = environment.get_template("site_index.html.j2").render(
            root="",
            weeks=list(weeks.values()),
            regulators=regulators,
            auditor=f"{AUDITOR_FOLDER}/index.html",
            plans=plans,
            consistency=f"{CONSISTENCY_FOLDER}/index.html",
            objections=objections,
        )
        (out / datasets.INDEX_PAGE).write_text(page, encoding="utf-8")
    return settings.site / datasets.INDEX_PAGE


def _render_publication(
    pub: Publication, out: Path, config: IndustryConfig, environment: Environment
) -> dict[str, Any]:
    spec = config.industries[pub.industry]
    manifest = pub.manifest
    target = out / pub.week / pub.industry
    (target / "firms").mkdir(parents=True)
    (target / "img").mkdir()
    for name in COPIED_FILES:
        shutil.copyfile(pub.folder / name, target / name)

    scores = pub.table(files.SCORES)
    reasons = pub.table(files.REASONS)
    history = pub.table(files.HISTORY)
    profiles = pub.table(files.FIRMS)
    leavers = pub.table(files.LEAVERS)
    has_previous = manifest["previous"]["kind"] != "none"

    listed = scores.filter(pl.col("listed")).sort("rank")
    first_reason = reasons.filter(pl.col("reason_rank") == 1).select(
        "uscc", "reason_zh", "reason_en"
    )
    rows = listed.join(first_reason, on="uscc", how="left", maintain_order="left").to_dicts()
    firms = [_firm_row(row, has_previous) for row in rows]

    beeswarm = None
    if (pub.folder / files.BEESWARM).is_file():
        beeswarm = f"img/{datasets.BEESWARM.file_name}"
        shutil.copyfile(pub.folder / files.BEESWARM, target / beeswarm)

    model = manifest["model"]
    header = {
        "week": pub.week,
        "as_of": manifest["as_of"],
        "industry_zh": spec.name.zh,
        "industry_en": spec.name.en,
        "regulator_zh": spec.regulator.zh,
        "regulator_en": spec.regulator.en,
        "event_type": spec.event_type,
        "horizon_days": spec.horizon_days,
        "capacity_k": spec.capacity_k,
        "model": f"{model['name']} v{model['version']} ({model['alias']})",
        "model_kind": MODEL_KINDS.get(model.get("kind", "gradient_boosting")),
        "model_reason": model.get("promotion_reason"),
        "ranking": (manifest.get("ranking") or {}).get("statement"),
        "previous_label": _previous_label(manifest["previous"]),
        "listed": listed.height,
        "scored": scores.filter(~pl.col("insufficient_data")).height,
        "insufficient": scores.filter(pl.col("insufficient_data")).height,
    }
    tier_counts = dict(
        scores.filter(~pl.col("insufficient_data")).group_by("tier").len().iter_rows()
    )
    tiers = [
        {"name": t, "zh": TIER_NAMES[t][0], "en": TIER_NAMES[t][1], "count": tier_counts.get(t, 0)}
        for t in ("D", "C", "B", "A")
    ]
    feedback = pub.feedback
    last_week = _feedback_row(feedback["last_week"]) if feedback and feedback["last_week"] else None
    entrants = [f for f in firms if f["new_entrant"]] if has_previous else None
    leaver_rows = _leaver_rows(leavers) if has_previous else None
    insufficient = scores.filter(pl.col("insufficient_data")).sort("uscc").to_dicts()
    decided_off = _decided_off(scores)

    root = "../../"
    page = environment.get_template("site_list.html.j2").render(
        root=root,
        pub=header,
        tiers=tiers,
        firms=firms,
        beeswarm=beeswarm,
        entrants=entrants,
        leavers=leaver_rows,
        insufficient=insufficient,
        decided_off=decided_off,
        last_week=last_week,
        feedback_href=f"{root}{FEEDBACK_FOLDER}/{pub.industry}.html" if feedback else None,
    )
    (target / datasets.INDEX_PAGE).write_text(page, encoding="utf-8")

    firm_template = environment.get_template("site_firm.html.j2")
    classes = credit_classes(pub.folder.parent.parent, pub.week, [f["uscc"] for f in firms])
    reasons_by_firm = _group(reasons.sort("uscc", "reason_rank").to_dicts())
    history_by_firm = _group(history.sort("uscc", "as_of").to_dicts())
    profile_by_firm = {row["uscc"]: row for row in profiles.to_dicts()}
    for firm in firms:
        uscc = firm["uscc"]
        waterfall = pub.folder / files.waterfall_path(uscc)
        shutil.copyfile(waterfall, target / "img" / waterfall.name)
        tier = firm["tier"]
        detail = {
            **firm,
            "inspection_zh": config.inspection_frequency[tier].zh,
            "inspection_en": config.inspection_frequency[tier].en,
            "reasons": [_reason(r) for r in reasons_by_firm.get(uscc, [])],
            "waterfall": f"../img/{waterfall.name}",
            "history_svg": history_svg(history_by_firm.get(uscc, []), spec.tiers),
            "profile": _profile(profile_by_firm.get(uscc, {})),
            "credit": _credit_class(classes.get(uscc), config),
        }
        page = firm_template.render(
            root="../" + root,
            pub=header,
            firm=detail,
            history_note_zh=manifest["history"]["note_zh"],
            history_note_en=manifest["history"]["note_en"],
        )
        (target / "firms" / f"{uscc}.html").write_text(page, encoding="utf-8")

    return {
        **header,
        "href": f"{pub.week}/{pub.industry}/index.html",
        "tier_d": tier_counts.get("D", 0),
        "entrants": len(entrants) if entrants is not None else None,
        "leavers": len(leaver_rows) if leaver_rows is not None else None,
    }


def _render_feedback_pages(
    publications: list[Publication], out: Path, config: IndustryConfig, environment: Environment
) -> list[dict[str, Any]]:
    """One page per regulator from its newest publication's feedback; returns the index rows."""
    contract = load_feedback()
    confirming = [contract.outcomes[k] for k in contract.confirming()]
    rows = []
    for industry, spec in config.industries.items():
        newest = next((p for p in publications if p.industry == industry and p.feedback), None)
        if newest is None:
            continue
        feedback = newest.feedback
        last = feedback["last_week"]
        feedback = {
            **feedback,
            "weeks": [_feedback_row(w) for w in feedback["weeks"]],
            "rolling": _feedback_row(feedback["rolling"]),
            "last_week": _feedback_row(last) if last else None,
        }
        page = environment.get_template("site_feedback.html.j2").render(
            root="../",
            industry=industry,
            regulator_zh=spec.regulator.zh,
            regulator_en=spec.regulator.en,
            feedback=feedback,
            confirming_zh="或".join(f"“{o.zh}”" for o in confirming),
            confirming_en=" or ".join(o.en for o in confirming),
        )
        folder = out / FEEDBACK_FOLDER
        folder.mkdir(exist_ok=True)
        (folder / f"{industry}.html").write_text(page, encoding="utf-8")
        rows.append(
            {
                "regulator_zh": spec.regulator.zh,
                "regulator_en": spec.regulator.en,
                "industry_zh": spec.name.zh,
                "industry_en": spec.name.en,
                "href": f"{FEEDBACK_FOLDER}/{industry}.html",
                "week": newest.week,
                "last_week": feedback["last_week"],
                "rolling": feedback["rolling"],
            }
        )
    return rows


def _feedback_row(row: dict[str, Any]) -> dict[str, Any]:
    """One accuracy row with its share, interval and days worded for a page."""
    contract = load_feedback()
    share = row.get("confirmed_share")
    if share is None:
        share_zh = ci_en = "—"
    else:
        low, high = row["ci_low"], row["ci_high"]
        share_zh = f"{100 * share:.0f}%（{100 * low:.0f}–{100 * high:.0f}%）"
        ci_en = f"{100 * share:.0f}% (95% CI {100 * low:.0f}–{100 * high:.0f}%)"
    median, longest = row.get("median_days_to_inspection"), row.get("max_days_to_inspection")
    days_zh = "—" if median is None else f"{median:g} / {longest:g}"
    outcomes = row.get("outcomes") or {}
    order = list(contract.outcomes)
    outcome_list = [
        {"key": k, "zh": contract.outcomes[k].zh, "en": contract.outcomes[k].en, "firms": n}
        for k, n in sorted(outcomes.items(), key=lambda item: order.index(item[0]))
    ]
    return {
        **row,
        "share_zh": share_zh,
        "ci_en": ci_en,
        "days_zh": days_zh,
        "outcome_list": outcome_list,
    }


@dataclass(frozen=True)
class Change:
    """How a firm's position moved since the reference week, in words and as a sort key."""

    zh: str
    en: str
    css: str
    sort_key: int


def change_label(rank_change: int | None, new_entrant: bool | None, has_previous: bool) -> Change:
    """较上周变化 for one listed firm (the Excel, the CSV and the site say the same thing)."""
    if not has_previous:
        return Change("—", "no earlier list", "", 0)
    if new_entrant:
        return Change("新上榜", "new", "new", 100_000)
    if rank_change is None:
        return Change("—", "not ranked last week", "", 0)
    if rank_change > 0:
        return Change(f"↑{rank_change}", f"up {rank_change}", "up", rank_change)
    if rank_change < 0:
        return Change(f"↓{-rank_change}", f"down {-rank_change}", "down", rank_change)
    return Change("持平", "unchanged", "", 0)


# How a firm came to be on (or off) the list when people decided it (scores' ``list_basis``).
LIST_BASIS = {k: v for k, v in LIST_BASIS_TEXT.items() if k != BY_MODEL}


def _firm_row(row: dict[str, Any], has_previous: bool) -> dict[str, Any]:
    change = change_label(row["rank_change"], row["new_entrant"], has_previous)
    basis = LIST_BASIS.get(row.get("list_basis") or "model")
    return {
        **row,
        "decided_zh": basis[0] if basis else None,
        "decided_en": basis[1] if basis else None,
        "decision_id": row.get("decision_id"),
        "decision_reason": row.get("decision_reason"),
        "model_listed": row.get("model_listed", True),
        "href": f"firms/{row['uscc']}.html",
        "change_zh": change.zh,
        "change_en": change.en,
        "change_class": change.css,
        "change_sort": change.sort_key,
        "new_entrant": bool(row["new_entrant"]),
    }


def _previous_label(previous: dict[str, Any]) -> str:
    kind = previous["kind"]
    if kind == "published":
        return f"{previous['week']} 已发布名单"
    return "首次发布"


def _decided_off(scores: pl.DataFrame) -> list[dict[str, Any]]:
    """Firms people took off this list (an override or an upheld objection), model rank kept."""
    if "list_basis" not in scores.columns:
        return []
    off = scores.filter(pl.col("list_basis").is_in(["override_off", "objection_upheld"]))
    return [
        {
            **row,
            "decided_zh": LIST_BASIS[row["list_basis"]][0],
            "decided_en": LIST_BASIS[row["list_basis"]][1],
        }
        for row in off.sort("rank", "uscc", nulls_last=True).to_dicts()
    ]


def _leaver_rows(leavers: pl.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for row in leavers.sort("previous_rank", "uscc").to_dicts():
        zh, en = LEAVER_REASONS[row["reason"]]
        rows.append({**row, "reason_zh": zh, "reason_en": en})
    return rows


def _credit_class(row: dict[str, Any] | None, config: IndustryConfig) -> dict[str, Any] | None:
    """The firm's credit risk class this week, what set it and how often it is inspected."""
    if row is None:
        return None
    return {
        **row,
        "inspection_zh": config.inspection_frequency[row["tier"]].zh,
        "inspection_en": config.inspection_frequency[row["tier"]].en,
    }


def _reason(row: dict[str, Any]) -> dict[str, Any]:
    facts = [
        {"zh": zh, "en": en}
        for zh, en in zip(row.get("facts_zh") or [], row.get("facts_en") or [], strict=True)
    ]
    return {**row, "facts": facts, "facts_withdrawn": row.get("facts_withdrawn") or []}


def _profile(row: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"label_zh": zh, "label_en": en, "value": row.get(column)}
        for column, (zh, en) in PROFILE_LABELS.items()
        if column in row
    ]


def _group(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault(row["uscc"], []).append(row)
    return grouped


def history_svg(points: list[dict[str, Any]], tiers: dict[str, float]) -> str | None:
    """A small inline SVG line of probability by as-of date, with the tier bounds dashed."""
    points = [p for p in points if p.get("probability") is not None]
    if not points:
        return None
    width, height, pad_left, pad_right, pad_y = 560, 170, 44, 76, 18
    values = [float(p["probability"]) for p in points]
    top = max(max(values), tiers["D"]) * 1.15
    inner_w, inner_h = width - pad_left - pad_right, height - 2 * pad_y

    def x(i: int) -> float:
        return pad_left + (inner_w * i / (len(points) - 1) if len(points) > 1 else inner_w / 2)

    def y(v: float) -> float:
        return pad_y + inner_h * (1 - v / top)

    parts = [
        f'<svg class="history" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="score history">',
        f'<line x1="{pad_left}" y1="{y(0):.1f}" x2="{pad_left + inner_w}" y2="{y(0):.1f}" '
        'stroke="#9aa5b1"/>',
    ]
    last_label = float("inf")
    for name in ("B", "C", "D"):
        level = y(tiers[name])
        parts.append(
            f'<line x1="{pad_left}" y1="{level:.1f}" x2="{pad_left + inner_w}" y2="{level:.1f}" '
            'stroke="#d9e2ec" stroke-dasharray="4 3"/>'
        )
        if last_label - level >= 12:  # bounds close together would print on top of each other
            parts.append(
                f'<text x="{pad_left + inner_w + 6}" y="{level + 4:.1f}" font-size="11" '
                f'fill="#616e7c">{name} ≥ {100 * tiers[name]:g}%</text>'
            )
            last_label = level
    line = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    parts.append(f'<polyline fill="none" stroke="#0b5cab" stroke-width="2" points="{line}"/>')
    for i, (point, value) in enumerate(zip(points, values, strict=True)):
        parts.append(
            f'<circle cx="{x(i):.1f}" cy="{y(value):.1f}" r="3.5" fill="#0b5cab">'
            f"<title>{point['as_of']}: {100 * value:.1f}%</title></circle>"
        )
    label_every = max(1, len(points) // 6)
    for i, point in enumerate(points):
        if i % label_every == 0 or i == len(points) - 1:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - 2}" font-size="10" text-anchor="middle" '
                f'fill="#616e7c">{str(point["as_of"])[5:]}</text>'
            )
    parts.append(
        f'<text x="{x(len(points) - 1):.1f}" y="{y(values[-1]) - 8:.1f}" font-size="12" '
        f'text-anchor="middle" font-weight="bold" fill="#0b5cab">{100 * values[-1]:.1f}%</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
