"""The consistency pages of the static site, rendered from the runs' folders (a view, like the
lists): ``<site>/consistency/index.html`` with the latest run of each scope (anomalies per topic
and per department, each rule's precision from its closed follow-ups) and one page per topic of
each run listing its anomalies with both values, their sources and dates, and the follow-up.
The departments' workbooks are copied beside the pages. Replaced as a whole, atomically."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import polars as pl

from data_contracts.rules import SEVERITY_NAMES, Severity, load_rules, load_topics
from pipelines import consistency_io as files
from pipelines import datasets
from pipelines.publish_io import atomic_directory
from pipelines.settings import Settings
from pipelines.site_audit import page_environment

FOLDER = "consistency"


def find_runs(settings: Settings) -> list[Path]:
    """The newest complete run (it has a manifest) of each scope: the park first, then pilots,
    newest first."""
    root = settings.consistency
    if not root.is_dir():
        return []
    newest: dict[str, Path] = {}
    for manifest in sorted(root.glob(f"*/*/{files.MANIFEST}")):
        run = manifest.parent
        if run.name.startswith(".") or run.parent.name.startswith("."):
            continue
        scope = run.name
        if scope not in newest or run.parent.name > newest[scope].parent.name:
            newest[scope] = run
    newest_first = sorted(newest.values(), key=lambda r: (r.parent.name, r.name), reverse=True)
    return sorted(newest_first, key=lambda r: r.name != "park")


def render_consistency_pages(settings: Settings, site_dir: Path) -> list[Path]:
    """Write ``site_dir/consistency`` (an index saying so when nothing has run yet); returns
    the pages written, the index first."""
    runs = find_runs(settings)
    environment = page_environment()
    topics = load_topics()
    rules = load_rules()
    target = Path(site_dir) / FOLDER
    with atomic_directory(target) as out:
        summaries, pages = [], []
        for run in runs:
            summary, written = _render_run(run, out, environment, topics, rules)
            summaries.append(summary)
            pages += written
        index = out / datasets.INDEX_PAGE
        index.write_text(
            environment.get_template("consistency_index.html.j2").render(
                root="../", runs=summaries
            ),
            encoding="utf-8",
        )
    return [target / datasets.INDEX_PAGE, *(target / p.relative_to(out) for p in pages)]


def _render_run(run: Path, out: Path, environment, topics, rules) -> tuple[dict[str, Any], list]:
    manifest = json.loads((run / files.MANIFEST).read_text(encoding="utf-8"))
    anomalies = pl.read_parquet(run / files.ANOMALIES)
    # The follow-ups and precision as they stand now (departments report after the run).
    latest = run.parent.parent
    follow = pl.read_parquet(latest / files.FOLLOW_UP)
    precision = pl.read_parquet(latest / files.PRECISION)
    slug = f"{run.parent.name}-{run.name}"
    folder = out / slug
    folder.mkdir()
    listed = anomalies.join(
        follow.select("anomaly_key", "status_zh", "first_found"), on="anomaly_key", how="left"
    )
    topic_rows, pages = [], []
    for topic in topics.topics:
        mine = listed.filter(pl.col("topic") == topic.key)
        page = folder / f"{topic.key}.html"
        page.write_text(
            environment.get_template("consistency_topic.html.j2").render(
                root="../../",
                run=manifest,
                topic=topic,
                rules=[
                    {"id": r.id, "zh": r.title.zh, "en": r.title.en, "rationale": r.rationale}
                    for r in rules.values()
                    if r.topic == topic.key
                ],
                anomalies=mine.to_dicts(),
            ),
            encoding="utf-8",
        )
        pages.append(page)
        topic_rows.append(
            {
                "key": topic.key,
                "zh": topic.name.zh,
                "en": topic.name.en,
                "anomalies": mine.height,
                "firms": mine["uscc"].n_unique(),
                "rules": len({r.id for r in rules.values() if r.topic == topic.key}),
                "href": f"{slug}/{topic.key}.html",
            }
        )
    departments = []
    for department in topics.departments:
        source = run / files.DEPARTMENTS / department.key / files.WORKBOOK
        count = anomalies.filter(pl.col("department") == department.key).height
        href = None
        if source.is_file():
            shutil.copyfile(source, folder / f"{department.key}.xlsx")
            href = f"{slug}/{department.key}.xlsx"
        departments.append(
            {"zh": department.name.zh, "en": department.name.en, "anomalies": count, "href": href}
        )
    by_rule = precision.join(
        anomalies.group_by("rule_id").len().rename({"len": "listed"}), on="rule_id", how="left"
    ).with_columns(pl.col("listed").fill_null(0))
    rule_rows = [
        {
            **row,
            "zh": rules[row["rule_id"]].title.zh,
            "severity_zh": SEVERITY_NAMES[Severity(rules[row["rule_id"]].severity)].zh,
        }
        for row in by_rule.sort("rule_id").to_dicts()
        if row["rule_id"] in rules
    ]
    summary = {
        "as_of": manifest["as_of"],
        "scope": manifest["scope"],
        "firms": manifest["firms"],
        "firms_listed": manifest.get("firms_listed"),
        "anomalies": manifest["anomalies"],
        "firms_with_anomalies": manifest["firms_with_anomalies"],
        "topics": topic_rows,
        "departments": departments,
        "rules": rule_rows,
        "statuses": [{"key": s.key, "zh": s.name.zh, "en": s.name.en} for s in topics.statuses],
    }
    return summary, pages
