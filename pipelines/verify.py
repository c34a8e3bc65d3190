"""Re-deriving a published list (and the week's credit classes, ``verify_tiers``) from its
recorded lineage and comparing every SHA-256.

For one ``publish/<week>/<industry>/`` folder:

1. the published files against the manifest (missing, changed or unlisted files);
2. the lineage: the lake ledger's first ``lines`` lines hash as recorded, the registered model
   version still points at the recorded run, the publish audit record's hashes of the folder and
   of the scoring table still hold, last week's published scores are the ones the list compared
   with;
3. the list re-made in a scratch folder by the publish code itself (same model version, same
   as-of, the scoring table, the lake as it was: only the deliveries in the recorded ledger
   lines), and each re-derived file's SHA-256 compared with the manifest's.

Every problem names the file and gives the expected and the actual hash.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import polars as pl

from models.config import load_config
from models.tiering import load_tier_policy
from models.train import frame_inputs
from pipelines import audit, file_io, publish_io, publish_list, tracking
from pipelines.cases import AsOf, open_store
from pipelines.cases.objections import publication_decisions
from pipelines.feedback.report import write_publication_feedback
from pipelines.general_scores import write_general_scores
from pipelines.io import LEDGER_NAME, PART_NAME, lake_sources, partition_dir, read_json, read_ledger
from pipelines.settings import Settings
from pipelines.tiers import publish_tiers
from pipelines.timeline import stored_day

# What a manifest must record for its list to be re-derived.
MANIFEST_KEYS = ("week", "as_of", "industry", "model", "lake_snapshot", "scoring_table", "files")
OK = "ok"
CHANGED = "changed"  # the published file's bytes are not the ones the manifest recorded
MISSING = "missing"  # the manifest lists it, the folder lacks it
UNLISTED = "unlisted"  # in the folder, not in the manifest
NOT_REPRODUCED = "not_reproduced"  # published as recorded, but the re-derivation differs
NOT_PUBLISHED = "not_published"  # the re-derivation makes it, the publication lacks it


@dataclass(frozen=True)
class FileCheck:
    file: str
    status: str
    manifest: str | None
    published: str | None
    rederived: str | None

    def problem(self, folder: str) -> str | None:
        where = f"{folder}/{self.file}"
        if self.status == CHANGED:
            return (
                f"{where}: published file has sha256 {self.published}, "
                f"the manifest records {self.manifest}"
            )
        if self.status == MISSING:
            return f"{where}: missing (the manifest records sha256 {self.manifest})"
        if self.status == UNLISTED:
            return f"{where}: not in the manifest (sha256 {self.published})"
        if self.status == NOT_REPRODUCED:
            return (
                f"{where}: re-derived file has sha256 {self.rederived}, "
                f"the manifest records {self.manifest}"
            )
        if self.status == NOT_PUBLISHED:
            return (
                f"{where}: the re-derivation writes it (sha256 {self.rederived}), the list lacks it"
            )
        return None


def compare_files(
    recorded: dict[str, str], published: dict[str, str], rederived: dict[str, str] | None
) -> list[FileCheck]:
    """One check per file name found in any of the three hash maps (name -> sha256)."""
    names = sorted({*recorded, *published, *(rederived or {})})
    checks = []
    for name in names:
        m, p = recorded.get(name), published.get(name)
        r = rederived.get(name) if rederived is not None else None
        if m is None and p is None:
            status = NOT_PUBLISHED
        elif m is None:
            status = UNLISTED
        elif p is None:
            status = MISSING
        elif p != m:
            status = CHANGED
        elif rederived is not None and r != m:
            status = NOT_REPRODUCED
        else:
            status = OK
        checks.append(FileCheck(name, status, m, p, r))
    return checks


def ledger_prefix_sha256(lake: Path, lines: int) -> tuple[str, int]:
    """SHA-256 of the ledger's first ``lines`` lines, and how many lines it has now."""
    ledger = lake / LEDGER_NAME
    data = ledger.read_bytes() if ledger.is_file() else b""
    chunks = data.splitlines(keepends=True)
    return hashlib.sha256(b"".join(chunks[:lines])).hexdigest(), len(chunks)


def snapshot_lake(lake: Path, lines: int, target: Path) -> tuple[Path, list[str]]:
    """The lake as its first ``lines`` ledger lines knew it, as links in ``target``.

    Deliveries ingested later are left out. A delivery re-delivered later was replaced in place,
    so its rows are no longer the snapshot's: that is returned as a problem.
    """
    entries = read_ledger(lake)
    known = {(e["source"], e["delivery_id"]) for e in entries[:lines]}
    problems = [
        f"lake/{e['source']}/delivery={e['delivery_id']}: re-delivered after the list was "
        "published; the lake no longer holds the rows the list saw"
        for e in entries[lines:]
        if (e["source"], e["delivery_id"]) in known
    ]
    for source, delivery in sorted(known):
        part = partition_dir(lake, source, delivery) / PART_NAME
        if part.is_file():
            link = partition_dir(target, source, delivery) / PART_NAME
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(part.resolve(), link)
    return target, sorted(set(problems))


def publish_record(settings: Settings, week: str) -> dict[str, Any] | None:
    """The audit log's latest publish record of ``week``."""
    found = None
    for entry in audit.read_log(settings):
        if entry.get("kind") == "publish" and entry.get("details", {}).get("week") == week:
            found = entry
    return found


def recorded_hash(entry: dict[str, Any] | None, side: str, path: str) -> str | None:
    if entry is None:
        return None
    for item in entry.get(side, []):
        if item.get("path") == path:
            return item.get("sha256")
    return None


def rederive(
    settings: Settings, manifest: dict[str, Any], table: pl.DataFrame, lake: Path, out: Path
) -> dict[str, str]:
    """Make the list again in ``out`` with the publish code; returns its files' hashes."""
    industry = manifest["industry"]
    config = load_config()
    spec = config.industries[industry]
    as_of = stored_day(manifest["as_of"], "manifest as_of")
    model, _ = tracking.tracker_for(settings).load_version(industry, manifest["model"]["version"])
    # People's decisions as the store stood at the week's recorded view: a later decision does
    # not change a week already published.
    decisions = None
    if "decisions" in manifest:
        store = open_store(settings)
        try:
            decisions = publication_decisions(store, AsOf.from_dict(manifest["case_store"]))
        finally:
            store.dispose()
    written = publish_list.write_tables(
        out,
        spec=spec,
        week=manifest["week"],
        as_of=as_of,
        table=table,
        model=model,
        sources=lake_sources(lake),
        publish_root=settings.publish,
        decisions=decisions,
    )
    if "repairs" in manifest and written["repairs"] != manifest["repairs"]:
        raise ValueError(
            f"the credit repairs in force at {as_of} are now {written['repairs']['count']}, "
            f"the manifest cites {manifest['repairs']['count']} (or other ones)"
        )
    publish_list.write_plots(out, table, list(frame_inputs(model)))
    publish_list.write_list_files(
        out, spec, config.inspection_frequency, manifest["week"], as_of, written["previous"]["kind"]
    )
    if "case_store" in manifest:  # lists published before the case store have no feedback
        view = AsOf.from_dict(manifest["case_store"])
        write_publication_feedback(out, settings, industry, manifest["week"], as_of, view)
    lineage = {key: value for key, value in manifest.items() if key != "files"}
    publish_list.write_manifest(out, lineage)
    return read_json(out / publish_io.MANIFEST)["files"]


def _manifest(
    path: Path, shown: str, keys: tuple[str, ...]
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The manifest, or None and the report refusing it (absent, unreadable, lineage lacking)."""

    def refused(problem: str) -> tuple[None, dict[str, Any]]:
        return None, {"ok": False, "folder": shown, "problems": [problem]}

    if not path.is_file():
        return refused(f"{shown}: no manifest.json")
    try:
        manifest = read_json(path)
    except ValueError as error:
        return refused(f"{shown}/manifest.json: {error}")
    lacking = [key for key in keys if key not in manifest]
    if lacking:
        return refused(
            f"{shown}/manifest.json lacks {', '.join(lacking)}: the lineage cannot be checked"
        )
    return manifest, {}


def verify_publication(settings: Settings, folder: Path, scratch: Path) -> dict[str, Any]:
    """The report of one published list (see the module docstring); ``ok`` when no problem."""
    shown = folder.relative_to(settings.workdir).as_posix()
    manifest_path = folder / publish_io.MANIFEST
    manifest, refused = _manifest(manifest_path, shown, MANIFEST_KEYS)
    if manifest is None:
        return refused
    problems: list[str] = []
    notes: list[str] = []
    lineage = _check_lineage(settings, manifest, folder, shown, problems, notes)

    table_path = settings.workdir / manifest["scoring_table"]
    rederived = None
    if not table_path.is_file():
        problems.append(f"{manifest['scoring_table']}: the scoring table is gone; not re-derived")
    else:
        lake, lake_problems = snapshot_lake(
            settings.lake, manifest["lake_snapshot"]["lines"], scratch / "lake"
        )
        problems.extend(lake_problems)
        out = scratch / "publication"
        out.mkdir(parents=True)
        try:
            rederived = rederive(settings, manifest, pl.read_parquet(table_path), lake, out)
        except Exception as error:  # the report must still say what was checked and what failed
            problems.append(
                f"{shown}: could not re-derive the list: {type(error).__name__}: {error}"
            )

    published = {
        name: digest
        for name, digest in publish_io.file_hashes(folder).items()
        if name != publish_io.MANIFEST
    }
    checks = compare_files(manifest.get("files", {}), published, rederived)
    problems.extend(p for c in checks if (p := c.problem(shown)))
    return {
        "ok": not problems,
        "folder": shown,
        "week": manifest.get("week"),
        "industry": manifest.get("industry"),
        "as_of": manifest.get("as_of"),
        "model": manifest.get("model"),
        "manifest_sha256": file_io.file_sha256(manifest_path),
        "lineage": lineage,
        "rederived": rederived is not None,
        "files": [asdict(c) for c in checks],
        "problems": problems,
        "notes": notes,
    }


def _ledger_prefix(
    settings: Settings, snapshot: dict[str, Any], problems: list[str]
) -> tuple[str, int]:
    """The ledger prefix's hash now and the ledger's lines; a problem when the lake was
    rewritten under the recorded snapshot."""
    current, total = ledger_prefix_sha256(settings.lake, snapshot["lines"])
    if current != snapshot["sha256"]:
        problems.append(
            f"lake/{LEDGER_NAME}: its first {snapshot['lines']} lines hash to {current}, the "
            f"manifest records {snapshot['sha256']} (the lake was rewritten)"
        )
    return current, total


def _recorded_folder(
    settings: Settings, week: str, folder: Path, shown: str, problems: list[str]
) -> tuple[dict[str, Any] | None, str]:
    """The week's latest publish record and the folder's hash now; a problem when the record
    is missing, does not name the folder or has another hash for it."""
    record = publish_record(settings, week)
    folder_hash, _ = audit.tree_sha256(folder)
    recorded_folder = recorded_hash(record, "outputs", shown)
    if record is None:
        problems.append(f"audit log: no publish record for week {week}")
    elif recorded_folder is None:
        problems.append(f"audit log: the publish record of week {week} does not name {shown}")
    elif recorded_folder != folder_hash:
        problems.append(
            f"{shown}: the folder (manifest included) hashes to {folder_hash}, the publish "
            f"audit record has {recorded_folder}"
        )
    return record, folder_hash


def _check_lineage(
    settings: Settings,
    manifest: dict[str, Any],
    folder: Path,
    shown: str,
    problems: list[str],
    notes: list[str],
) -> dict[str, Any]:
    snapshot = manifest["lake_snapshot"]
    current, total = _ledger_prefix(settings, snapshot, problems)
    if total > snapshot["lines"]:
        notes.append(
            f"{total - snapshot['lines']} ledger lines were added after publication; "
            "the re-derivation reads only the deliveries the list saw"
        )

    model = manifest["model"]
    info = tracking.tracker_for(settings).info(manifest["industry"], model["version"])
    if info.run_id != model["run_id"]:
        problems.append(
            f"registry: {model['name']} v{model['version']} now points at run {info.run_id}, "
            f"the manifest records run {model['run_id']}"
        )

    record, folder_hash = _recorded_folder(settings, manifest["week"], folder, shown, problems)
    table = manifest["scoring_table"]
    table_path = settings.workdir / table
    recorded_table = recorded_hash(record, "inputs", table)
    table_hash = file_io.file_sha256(table_path) if table_path.is_file() else None
    if record is not None and recorded_table != table_hash:
        problems.append(
            f"{table}: sha256 {table_hash}, the publish audit record has {recorded_table}"
        )

    previous = manifest.get("previous", {})
    if previous.get("kind") == "published":
        path = settings.publish / previous["week"] / manifest["industry"] / publish_io.SCORES
        digest = file_io.file_sha256(path) if path.is_file() else None
        if digest != previous.get("sha256"):
            shown_previous = path.relative_to(settings.workdir).as_posix()
            problems.append(
                f"{shown_previous}: last week's scores have sha256 {digest}, the list compared "
                f"with {previous.get('sha256')}"
            )

    for key, now in (
        ("code_version", audit.code_version()),
        ("config_sha256", publish_io.config_hash()),
    ):
        if manifest.get(key) != now:
            notes.append(f"{key} differs: published with {manifest.get(key)}, now {now}")
    return {
        "lake_snapshot": {**snapshot, "current_sha256": current, "ledger_lines_now": total},
        "model_run_id_now": info.run_id,
        "publish_record_time": record["time"] if record else None,
        "folder_sha256": folder_hash,
        "scoring_table_sha256": table_hash,
    }


# ---------------------------------------------------------------- the week's credit classes

# What a tiers manifest must record for the classes to be re-derived.
TIER_MANIFEST_KEYS = ("week", "as_of", "lists", "lake_snapshot", "scoring_table", "files")
# Lineage the re-derivation must reproduce as recorded (besides the files' hashes).
TIER_LINEAGE_KEYS = ("lists", "lists_missing", "sources_missing", "decisions", "counts")


def _general_scores(settings: Settings, manifest_path: Path, out: Path) -> list[str]:
    """The general model's scores of the week scored again from the recorded scoring table with
    the recorded model version, and compared file by file with the manifest."""
    folder = manifest_path.parent
    shown = folder.relative_to(settings.workdir).as_posix()
    manifest = read_json(manifest_path)
    spec = load_config().general
    table_path = settings.workdir / manifest["scoring_table"]["path"]
    if not table_path.is_file():
        return [f"{shown}: the scoring table {manifest['scoring_table']['path']} is gone"]
    out.mkdir(parents=True, exist_ok=True)
    try:
        model, _ = tracking.tracker_for(settings).load_version(
            spec.key, manifest["model"]["version"]
        )
        again = read_json(
            write_general_scores(
                out,
                spec=spec,
                model=model,
                model_record=manifest["model"],
                table_path=table_path,
                workdir=settings.workdir,
                week=manifest["week"],
                as_of=stored_day(manifest["as_of"], "manifest as_of"),
                policy=load_tier_policy(),
            )
        )["files"]
    except Exception as error:  # the report must still say what was checked and what failed
        return [f"{shown}: could not score again: {type(error).__name__}: {error}"]
    published = {
        name: digest
        for name, digest in publish_io.file_hashes(folder).items()
        if name != publish_io.MANIFEST
    }
    checks = compare_files(manifest["files"], published, again)
    return [p for c in checks if (p := c.problem(shown))]


def verify_tiers(settings: Settings, folder: Path, scratch: Path) -> dict[str, Any]:
    """Re-derive ``publish/<week>/tiers/`` (every enterprise's credit risk class) and compare.

    Checks the published files against the manifest; the lineage (the lake ledger's recorded
    prefix, the scoring table's and each list's ``scores.parquet`` SHA-256, the publish audit
    record's hash of the folder); then classes the firms again with the publish code from the
    week's published lists, the lake as the recorded ledger lines knew it and the case store at
    the recorded view (a list's when the tiers manifest predates recording its own), and
    compares ``tiers.parquet`` and the recorded counts, citations and lists. ``ok`` when no
    problem."""
    shown = folder.relative_to(settings.workdir).as_posix()
    manifest_path = folder / publish_io.MANIFEST
    manifest, refused = _manifest(manifest_path, shown, TIER_MANIFEST_KEYS)
    if manifest is None:
        return refused
    week = manifest["week"]
    problems: list[str] = []
    snapshot = manifest["lake_snapshot"]
    _ledger_prefix(settings, snapshot, problems)
    _recorded_folder(settings, week, folder, shown, problems)
    table_path = settings.workdir / manifest["scoring_table"]["path"]
    table_hash = file_io.file_sha256(table_path) if table_path.is_file() else None
    if table_hash != manifest["scoring_table"]["sha256"]:
        problems.append(
            f"{manifest['scoring_table']['path']}: sha256 {table_hash}, the tiers manifest "
            f"records {manifest['scoring_table']['sha256']}"
        )
    lists = {}
    for industry, used in sorted(manifest["lists"].items()):
        list_manifest = settings.publish / week / industry / publish_io.MANIFEST
        scores = list_manifest.parent / publish_io.SCORES
        digest = file_io.file_sha256(scores) if scores.is_file() else None
        if digest != used["scores"]:
            problems.append(
                f"{scores.relative_to(settings.workdir).as_posix()}: sha256 {digest}, the "
                f"classes were made from {used['scores']}"
            )
        lists[industry] = list_manifest

    general = load_config().general
    if general is not None and general.key in lists and lists[general.key].is_file():
        problems.extend(_general_scores(settings, lists[general.key], scratch / general.key))

    rederived = None
    if table_hash is not None and all(m.is_file() for m in lists.values()):
        lake, lake_problems = snapshot_lake(settings.lake, snapshot["lines"], scratch / "lake")
        problems.extend(lake_problems)
        out = scratch / "tiers"
        out.mkdir(parents=True)
        view = manifest.get("case_store") or next(
            (read_json(m)["case_store"] for m in lists.values() if "case_store" in read_json(m)),
            None,
        )
        try:
            decisions = None
            if view is not None:
                store = open_store(settings)
                try:
                    decisions = publication_decisions(store, AsOf.from_dict(view))
                finally:
                    store.dispose()
            again = read_json(
                publish_tiers(
                    settings,
                    week,
                    stored_day(manifest["as_of"], "manifest as_of"),
                    table_path,
                    lists,
                    lake_sources(lake),
                    load_config(),
                    load_tier_policy(),
                    decisions,
                    manifest.get("case_store"),
                    into=out,
                )
            )
            rederived = again["files"]
            for key in TIER_LINEAGE_KEYS:
                if key in manifest and again.get(key) != manifest[key]:
                    problems.append(
                        f"{shown}/manifest.json: {key} re-derives as {again.get(key)!r}, "
                        f"the manifest records {manifest[key]!r}"
                    )
        except Exception as error:  # the report must still say what was checked and what failed
            problems.append(
                f"{shown}: could not re-derive the classes: {type(error).__name__}: {error}"
            )
    else:
        problems.append(f"{shown}: an input is gone (above); the classes were not re-derived")
    published = {
        name: digest
        for name, digest in publish_io.file_hashes(folder).items()
        if name != publish_io.MANIFEST
    }
    checks = compare_files(manifest["files"], published, rederived)
    problems.extend(p for c in checks if (p := c.problem(shown)))
    return {
        "ok": not problems,
        "folder": shown,
        "week": week,
        "as_of": manifest["as_of"],
        "manifest_sha256": file_io.file_sha256(manifest_path),
        "rederived": rederived is not None,
        "files": [asdict(c) for c in checks],
        "problems": problems,
    }
