"""`ews audit cards` and `ews audit verify`: what an auditor runs.

cards:  per industry, per registered version: build the model card (JSON, Markdown, HTML, plots)
        -> log it to the version's MLflow run -> refresh the auditor pages -> audit record.
verify: check the audit log's hash chain -> re-derive a published week (each list, and every
        enterprise's credit class) from its manifest's lineage in a scratch folder and compare
        every SHA-256 with the published files and the manifest -> audit record.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from models.config import load_industries, load_models
from models.promotion import CHAMPION
from pipelines import audit
from pipelines.flows.train import history_path
from pipelines.model_cards import CARD_ARTIFACT, build_version_card
from pipelines.publish_io import MANIFEST
from pipelines.settings import Settings
from pipelines.site_audit import render_auditor_pages
from pipelines.tiers import FOLDER as TIERS_FOLDER
from pipelines.timeline import Week, parse_week
from pipelines.tracking import log_artifacts, tracker_for
from pipelines.verify import verify_publication, verify_tiers
from pipelines.workdir_lock import holds_workdir

AUDIT_LOG = "audit/audit_log.jsonl"
WEEK_FOLDER = re.compile(r"^(\d{4})-W(\d{2})$")


def published_weeks(publish_root: Path) -> list[str]:
    """Every week folder under ``publish/``, oldest first."""
    if not publish_root.is_dir():
        return []
    weeks = [p.name for p in publish_root.iterdir() if p.is_dir() and WEEK_FOLDER.match(p.name)]
    return sorted(weeks, key=lambda w: tuple(int(n) for n in WEEK_FOLDER.match(w).groups()))


def published_industries(publish_root: Path, week: str) -> list[str]:
    """The configured industries with a complete publication (a manifest) in ``week``."""
    return [
        industry
        for industry in load_industries()
        if (publish_root / week / industry / MANIFEST).is_file()
    ]


# ---------------------------------------------------------------- tasks


@task(name="registered-versions", task_run_name="versions-{industry}", cache_policy=NO_CACHE)
def versions_task(workdir: str, industry: str) -> dict[str, Any]:
    """The industry's registered versions and which one is champion now."""
    tracker = tracker_for(Settings(workdir=Path(workdir)))
    versions = [info.version for info in tracker.versions(industry)]
    return {"versions": versions, "champion": tracker.version_for(industry, CHAMPION)}


@task(name="model-card", task_run_name="card-{industry}-v{version}", cache_policy=NO_CACHE)
def card_task(workdir: str, industry: str, version: int) -> dict[str, Any]:
    """Build one version's card, write its files and attach them to the version's run."""
    settings = Settings(workdir=Path(workdir))
    tracker = tracker_for(settings)
    spec = load_models()[industry]
    written = build_version_card(settings, tracker, industry, version, history_path(settings, spec))
    run_id = tracker.info(industry, version).run_id
    log_artifacts(tracker, run_id, written.files, CARD_ARTIFACT)
    return {
        "json": str(written.json),
        "files": [str(p) for p in written.files],
        "run_id": run_id,
        "shown": written.json.relative_to(settings.workdir).as_posix(),
    }


@task(name="verify-list", task_run_name="verify-{week}-{industry}", cache_policy=NO_CACHE)
def verify_task(workdir: str, week: str, industry: str) -> dict[str, Any]:
    """Re-derive one published list in a scratch folder and compare every hash."""
    settings = Settings(workdir=Path(workdir))
    with tempfile.TemporaryDirectory(prefix="ews-verify-") as scratch:
        return verify_publication(settings, settings.publish / week / industry, Path(scratch))


@task(name="verify-tiers", cache_policy=NO_CACHE)
def verify_tiers_task(workdir: str, week: str) -> dict[str, Any]:
    """Re-derive the week's credit classes of every enterprise and compare every hash."""
    settings = Settings(workdir=Path(workdir))
    with tempfile.TemporaryDirectory(prefix="ews-verify-tiers-") as scratch:
        return verify_tiers(settings, settings.publish / week / TIERS_FOLDER, Path(scratch))


@task(name="auditor-pages", cache_policy=NO_CACHE)
def pages_task(workdir: str) -> list[str]:
    """Refresh the auditor pages of the static site (cards, Data Docs, audit log)."""
    settings = Settings(workdir=Path(workdir))
    return [str(p) for p in render_auditor_pages(settings, settings.site)]


# ---------------------------------------------------------------- flows


@flow(name="model-cards")
@holds_workdir("model-cards")
def model_cards_flow(workdir: str) -> dict[str, str]:
    """A card for every registered version; returns each industry's champion card (JSON path;
    the latest version's when there is no champion)."""
    settings = Settings(workdir=Path(workdir))
    history = history_path(settings)
    cards: dict[str, str] = {}
    written: dict[str, dict[int, dict[str, Any]]] = {}
    for industry in load_models():  # the industries' and the general model's
        registered = versions_task(workdir, industry)
        if not registered["versions"]:
            continue
        written[industry] = {v: card_task(workdir, industry, v) for v in registered["versions"]}
        shown = registered["champion"] or max(registered["versions"])
        cards[industry] = written[industry][shown]["json"]
    pages = pages_task(workdir)
    versions = [f"models:/ews-{i}/{v}" for i, by_version in written.items() for v in by_version]
    files = [f for by_version in written.values() for c in by_version.values() for f in c["files"]]
    audit.record(
        settings,
        "cards",
        inputs=[history, *versions],
        outputs=[*files, *pages],
        details={
            industry: {str(v): {"card": c["shown"], "run_id": c["run_id"]} for v, c in bv.items()}
            for industry, bv in written.items()
        },
    )
    return cards


@flow(name="verify")
def verify_flow(workdir: str, week: Week | str | None = None) -> dict[str, Any]:
    """Verify the audit log's hash chain and every list published in ``week`` (a ``Week`` or
    its label; default: the latest published week).

    ``ok`` is true only when the chain holds and every list re-derives to the recorded hashes
    with its lineage intact; ``problems`` names the first broken line of the log, and each file
    with the expected and the actual SHA-256. The chain is checked before this run's own record
    is appended.
    """
    settings = Settings(workdir=Path(workdir))
    chain = audit.check_chain(settings)
    weeks = published_weeks(settings.publish)
    if week is not None:
        week = parse_week(week).label
    elif weeks:
        week = weeks[-1]
    industries = published_industries(settings.publish, week) if week else []
    reports = {industry: verify_task(workdir, week, industry) for industry in industries}
    problems = [problem for report in reports.values() for problem in report["problems"]]
    # The classes follow the lists: a week published before they existed has none to check.
    tiers = None
    if week and (settings.publish / week / TIERS_FOLDER).is_dir():
        tiers = verify_tiers_task(workdir, week)
        problems.extend(tiers["problems"])
    if not chain.ok:
        problems.insert(0, f"{AUDIT_LOG}: {chain.problem}")
    if not industries:
        problems.append(
            f"publish/{week}: no published list for this week" if week else "nothing published yet"
        )
    ok = not problems
    audit.record(
        settings,
        "verify",
        inputs=[
            settings.publish / week / folder
            for folder in [*industries, *([TIERS_FOLDER] if tiers is not None else [])]
        ],
        details={"week": week, "ok": ok, "problems": problems},
    )
    pages_task(workdir)
    return {
        "ok": ok,
        "week": week,
        "audit_log": chain.as_dict(),
        "industries": reports,
        "tiers": tiers,
        "problems": problems,
    }
