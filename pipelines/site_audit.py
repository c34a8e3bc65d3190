"""The auditor pages of the static site: model cards, the ingest Data Docs, the audit log.

``render_auditor_pages(settings, site_dir)`` writes ``<site_dir>/auditor/`` as a whole (replaced
atomically), from files already on disk: the cards under ``reports/model_cards/``, the Data Docs
under ``ingest/<run_id>/data_docs/`` and ``audit/audit_log.jsonl``. The site build calls it while
it writes the site; the cards flow calls it on the live site after writing new cards.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from data_contracts import catalog
from models.config import load_config
from pipelines import audit, datasets
from pipelines.card_render import TEMPLATES, render_card
from pipelines.io import read_json
from pipelines.publish_io import atomic_directory
from pipelines.settings import Settings

FOLDER = "auditor"
CARD_FILE = re.compile(r"^v(\d+)\.json$")
HEADLINE_METRICS = ("roc_auc", "pr_auc", "precision_at_k", "brier")
SUMMARY_FILE = datasets.INGEST_SUMMARY.name
# Sources needing attention, worst first; "ok" sources are not listed.
STATUS_ORDER = ("failed", "missing", "degraded")


def render_auditor_pages(settings: Settings, site_dir: Path) -> list[Path]:
    """Write the auditor pages under ``site_dir/auditor``; returns the HTML pages written."""
    environment = page_environment()
    target = Path(site_dir) / FOLDER
    with atomic_directory(target) as out:
        cards = _copy_cards(settings, out)
        runs = _copy_latest_data_docs(settings, out)
        records = audit.read_log(settings)
        chain = audit.check_chain(settings).as_dict()
        log_page = out / "audit_log.html"
        log_page.write_text(
            environment.get_template("audit_log.html.j2").render(
                root="../", records=[_record_row(r) for r in reversed(records)], chain=chain
            ),
            encoding="utf-8",
        )
        index = out / datasets.INDEX_PAGE
        index.write_text(
            environment.get_template("audit_index.html.j2").render(
                root="../",
                industries=cards,
                ingest_runs=runs,
                verifications=_latest_verifications(records),
                chain=chain,
                records=len(records),
            ),
            encoding="utf-8",
        )
        pages = [index, log_page, *(c["page"] for i in cards for c in i["cards"])]
    return [target / p.relative_to(out) for p in pages]


def page_environment() -> Environment:
    """The Jinja environment of every site page (the list pages render with it too)."""
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _copy_cards(settings: Settings, out: Path) -> list[dict[str, Any]]:
    """Every card's files into ``cards/<industry>/``; its HTML re-rendered with a way back."""
    industries = []
    for key, spec in load_config().models().items():  # the general model's cards too
        source = settings.model_cards / key
        found = sorted(
            (int(m.group(1)), p)
            for p in (source.glob("v*.json") if source.is_dir() else [])
            if (m := CARD_FILE.match(p.name))
        )
        if not found:
            continue
        folder = out / "cards" / key
        folder.mkdir(parents=True)
        entries = []
        for version, path in reversed(found):
            card = read_json(path)
            stem = f"v{version}"
            for extra in sorted(source.glob(f"{stem}.*")) + sorted(source.glob(f"{stem}_*.png")):
                if extra.suffix != ".html":
                    shutil.copyfile(extra, folder / extra.name)
            page = folder / f"{stem}.html"
            page.write_text(
                render_card(card, html=True, back_link="../../index.html"), encoding="utf-8"
            )
            entries.append(_card_row(card, page, out))
        industries.append({"key": key, "zh": spec.name.zh, "en": spec.name.en, "cards": entries})
    return industries


def _card_row(card: dict[str, Any], page: Path, out: Path) -> dict[str, Any]:
    details = card["model_details"]
    model = card["performance"]["model"]
    href = page.relative_to(out).as_posix()
    return {
        "version": details["version"],
        "aliases": details["aliases"],
        "training_date": details["training_date"],
        "owner": details["owner"],
        "metrics": {m: (model.get(m) or {}).get("value") for m in HEADLINE_METRICS},
        "page": page,
        "href": href,
        "markdown": href.removesuffix(".html") + ".md",
        "json": href.removesuffix(".html") + ".json",
    }


def _copy_latest_data_docs(settings: Settings, out: Path) -> list[dict[str, Any]]:
    """Every ingest run's totals, newest first; the newest run's Data Docs copied into the site
    (older runs' docs stay in the workdir, linked by path) and its sources needing attention."""
    root = settings.ingest_runs
    summaries = sorted(root.glob(f"*/{SUMMARY_FILE}")) if root.is_dir() else []
    runs = []
    for path in sorted(summaries, key=lambda p: read_json(p).get("as_of", ""), reverse=True):
        summary = read_json(path)
        docs = datasets.INGEST_DATA_DOCS.at(path.parent)
        runs.append(
            {
                "run_id": summary.get("run_id", path.parent.name),
                "as_of": summary.get("as_of"),
                "totals": summary.get("totals", {}),
                "docs": docs if (docs / datasets.INDEX_PAGE).is_file() else None,
                "href": None,
                # only the newest run's sources are listed: older runs keep their summary file
                "attention": None if runs else sources_needing_attention(summary),
                "not_ingested": None if runs else files_not_ingested(summary),
            }
        )
    latest = next((run for run in runs if run["docs"]), None)
    if latest:
        target = out / "data_docs" / latest["run_id"]
        shutil.copytree(latest["docs"], target)
        latest["href"] = f"data_docs/{latest['run_id']}/index.html"
    for run in runs:
        run["docs"] = str(run["docs"]) if run["docs"] else None
    return runs


def files_not_ingested(summary: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The run's landing files that brought no row into the lake: rejected deliveries and files
    set aside (rejected or ignored), each with its rows where counted and the ingest's reason.
    None for a summary written before ingest listed every landing file."""
    if "landing" not in summary:
        return None
    entries = summary["landing"].get("entries", [])
    return [e for e in entries if e.get("status") in ("rejected", "ignored")]


def sources_needing_attention(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's sources that are not ok (failed, missing, then degraded), each with its titles,
    status, lateness and the ingest's reason."""
    contracts = catalog.load_all()
    rows = []
    for source, report in summary.get("sources", {}).items():
        if report.get("status") not in STATUS_ORDER:
            continue
        contract = contracts.get(source)
        rows.append(
            {
                "source": source,
                "title_zh": contract.title.zh if contract else "",
                "title_en": contract.title.en if contract else "",
                "status": report["status"],
                "late": bool(report.get("late")),
                "reason": report.get("reason", ""),
            }
        )
    return sorted(rows, key=lambda row: (STATUS_ORDER.index(row["status"]), row["source"]))


def _latest_verifications(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The most recent `ews audit verify` result per published week."""
    latest: dict[str, dict[str, Any]] = {}
    for entry in records:
        if entry.get("kind") == "verify" and entry.get("details", {}).get("week"):
            latest[entry["details"]["week"]] = entry
    return [
        {
            "week": week,
            "time": entry["time"],
            "operator": entry["operator"],
            "ok": bool(entry["details"].get("ok")),
            "problems": entry["details"].get("problems", []),
        }
        for week, entry in sorted(latest.items(), reverse=True)
    ]


def _record_row(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "time": entry.get("time", ""),
        "operator": entry.get("operator", ""),
        "kind": entry.get("kind", ""),
        "code_version": entry.get("code_version", ""),
        "inputs": entry.get("inputs", []),
        "outputs": entry.get("outputs", []),
        "details": json.dumps(entry.get("details", {}), ensure_ascii=False, indent=2),
    }
