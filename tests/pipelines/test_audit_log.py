"""The append-only audit log: content hashes, the hash chain, concurrent writers."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
from pathlib import Path

import pytest

from pipelines import audit
from pipelines.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(workdir=tmp_path, operator="auditor-1")


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_record_hashes_inputs_and_outputs_relative_to_workdir(settings: Settings) -> None:
    source = _write(settings.workdir / "features" / "as_of=2026-11-16.parquet", b"features")
    result = _write(settings.workdir / "publish" / "2026-W47" / "risk_list.csv", b"uscc,score\n")

    entry = audit.record(settings, "publish", [source], [result], {"week": "2026-W47"})

    (line,) = settings.audit_log.read_text(encoding="utf-8").splitlines()
    assert json.loads(line) == entry
    assert entry["operator"] == "auditor-1"
    assert entry["kind"] == "publish"
    assert entry["details"] == {"week": "2026-W47"}
    assert entry["inputs"] == [
        {
            "path": "features/as_of=2026-11-16.parquet",
            "sha256": hashlib.sha256(b"features").hexdigest(),
            "bytes": 8,
        }
    ]
    assert entry["outputs"][0]["sha256"] == hashlib.sha256(b"uscc,score\n").hexdigest()
    assert entry["code_version"] == audit.code_version()
    assert entry["prev_sha256"] == audit.GENESIS


def test_operator_comes_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("EWS_OPERATOR", "zhang.wei")
    entry = audit.record(Settings(workdir=tmp_path), "ingest")
    assert entry["operator"] == "zhang.wei"


def test_record_run_takes_the_workdir_and_the_operator_from_the_environment(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("EWS_OPERATOR", "li.na")
    summary = _write(tmp_path / "ingest" / "run-1" / "ingest_summary.json", b"{}")
    entry = audit.record_run(str(tmp_path), "ingest", outputs=[summary], details={"run_id": "1"})
    assert entry["operator"] == "li.na"
    assert entry["outputs"][0]["path"] == "ingest/run-1/ingest_summary.json"
    assert audit.read_log(Settings(workdir=tmp_path)) == [entry]


def test_unknown_kind_is_rejected_naming_the_kinds(settings: Settings) -> None:
    with pytest.raises(ValueError, match="'deploy' is not one of ingest, train"):
        audit.record(settings, "deploy")
    assert not settings.audit_log.exists()


def test_missing_path_is_recorded_as_missing_and_uri_kept_as_reference(settings: Settings) -> None:
    entry = audit.record(
        settings, "train", [settings.workdir / "nowhere.parquet", "models:/ews-finance/3"]
    )
    assert entry["inputs"] == [
        {"path": "nowhere.parquet", "sha256": None, "missing": True},
        {"ref": "models:/ews-finance/3"},
    ]


def test_folder_hash_changes_when_any_file_changes_or_is_renamed(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    _write(lake / "a" / "part-0.parquet", b"one")
    _write(lake / "b" / "part-0.parquet", b"two")
    first, count = audit.tree_sha256(lake)
    assert count == 2

    _write(lake / "b" / "part-0.parquet", b"twO")
    edited, _ = audit.tree_sha256(lake)
    (lake / "b" / "part-0.parquet").rename(lake / "b" / "part-1.parquet")
    renamed, _ = audit.tree_sha256(lake)

    assert len({first, edited, renamed}) == 3


def test_chain_links_each_line_to_the_one_before(settings: Settings) -> None:
    for kind in ("ingest", "train", "promote"):
        audit.record(settings, kind)
    lines = settings.audit_log.read_bytes().splitlines(keepends=True)
    records = audit.read_log(settings)
    assert [r["kind"] for r in records] == ["ingest", "train", "promote"]
    assert records[1]["prev_sha256"] == hashlib.sha256(lines[0]).hexdigest()
    assert records[2]["prev_sha256"] == hashlib.sha256(lines[1]).hexdigest()
    assert audit.check_chain(settings).as_dict() == {
        "ok": True,
        "records": 3,
        "problem": None,
        "line": None,
        "fault": None,
    }


def test_each_line_ends_with_its_own_hash_and_the_head_file_with_the_last(settings) -> None:
    for kind in ("ingest", "train"):
        audit.record(settings, kind)
    lines = settings.audit_log.read_bytes().splitlines(keepends=True)
    for line in lines:
        own = json.loads(line)["sha256"]
        body = line[: line.rindex(b', "sha256"')] + b"}"
        assert hashlib.sha256(body).hexdigest() == own
    head = json.loads(audit.head_path(settings.audit_log).read_text(encoding="utf-8"))
    assert head == {"lines": 2, "sha256": hashlib.sha256(lines[-1]).hexdigest()}


def _log_of(settings: Settings, kinds=("ingest", "train", "publish", "verify")) -> list[bytes]:
    for kind in kinds:
        audit.record(settings, kind, details={"kind": kind})
    return settings.audit_log.read_bytes().splitlines(keepends=True)


def _rewrite(settings: Settings, lines: list[bytes]) -> audit.ChainCheck:
    settings.audit_log.write_bytes(b"".join(lines))
    return audit.check_chain(settings)


def test_an_edited_line_is_named_as_a_hash_mismatch(settings: Settings) -> None:
    lines = _log_of(settings)
    lines[1] = lines[1].replace(b'"train"', b'"promote"')
    check = _rewrite(settings, lines)
    assert (check.ok, check.line, check.fault) == (False, 2, audit.HASH_MISMATCH)
    assert check.problem.startswith("line 2: hash mismatch")


def test_an_edited_last_line_is_found_too(settings: Settings) -> None:
    lines = _log_of(settings)
    lines[-1] = lines[-1].replace(b'"verify"', b'"cards"')
    check = _rewrite(settings, lines)
    assert (check.line, check.fault) == (4, audit.HASH_MISMATCH)


def test_a_line_rewritten_with_a_fresh_own_hash_breaks_the_next_link(settings) -> None:
    lines = _log_of(settings)
    entry = json.loads(lines[1])
    entry.pop("sha256")
    entry["operator"] = "someone-else"
    lines[1] = audit._sealed_line(entry)
    check = _rewrite(settings, lines)
    assert (check.line, check.fault) == (3, audit.PREV_LINK_BROKEN)
    assert check.problem.startswith("line 3: prev link broken")


def test_a_deleted_line_breaks_the_link_of_the_line_after_it(settings: Settings) -> None:
    lines = _log_of(settings)
    check = _rewrite(settings, [lines[0], *lines[2:]])
    assert (check.line, check.fault) == (2, audit.PREV_LINK_BROKEN)


def test_reordered_lines_break_the_link_at_the_first_moved_line(settings: Settings) -> None:
    lines = _log_of(settings)
    check = _rewrite(settings, [lines[0], lines[2], lines[1], lines[3]])
    assert (check.line, check.fault) == (2, audit.PREV_LINK_BROKEN)


def test_lines_cut_off_the_end_are_found_through_the_head_file(settings: Settings) -> None:
    lines = _log_of(settings)
    check = _rewrite(settings, lines[:2])
    assert (check.ok, check.line, check.fault) == (False, 3, audit.TRUNCATED)
    assert "records 4 lines" in check.problem


def test_a_log_cut_mid_line_is_unparseable_at_that_line(settings: Settings) -> None:
    lines = _log_of(settings)
    check = _rewrite(settings, [*lines[:3], lines[3][:40]])
    assert (check.line, check.fault) == (4, audit.UNPARSEABLE)


def test_an_unsealed_line_after_sealed_ones_is_refused(settings: Settings) -> None:
    lines = _log_of(settings)
    entry = json.loads(lines[2])
    entry.pop("sha256")
    lines[2] = (json.dumps(entry, ensure_ascii=False) + "\n").encode()
    check = _rewrite(settings, lines)
    assert (check.line, check.fault) == (3, audit.UNSEALED)


def test_a_deleted_log_is_reported_when_its_head_remains(settings: Settings) -> None:
    _log_of(settings)
    settings.audit_log.unlink()
    check = audit.check_chain(settings)
    assert (check.ok, check.line, check.fault) == (False, 1, audit.TRUNCATED)


def test_a_deleted_head_file_is_reported(settings: Settings) -> None:
    _log_of(settings)
    audit.head_path(settings.audit_log).unlink()
    check = audit.check_chain(settings)
    assert (check.ok, check.fault) == (False, audit.TRUNCATED)
    assert "audit_log.head.json is missing" in check.problem


def test_a_log_from_before_own_hashes_is_checked_by_its_links(settings: Settings) -> None:
    previous, lines = audit.GENESIS, []
    for kind in ("ingest", "train"):
        line = (json.dumps({"kind": kind, "prev_sha256": previous}) + "\n").encode()
        lines.append(line)
        previous = hashlib.sha256(line).hexdigest()
    settings.audit_log.parent.mkdir(parents=True)
    assert _rewrite(settings, lines).ok
    audit.record(settings, "publish")  # the first sealed line and the head file
    assert audit.check_chain(settings).ok
    assert audit.check_chain(settings).records == 3
    assert _rewrite(settings, [lines[1], lines[0]]).line == 1


def test_line_that_is_not_json_is_reported_with_its_number(settings: Settings) -> None:
    audit.record(settings, "ingest")
    with settings.audit_log.open("a", encoding="utf-8") as handle:
        handle.write("not json\n")
    with pytest.raises(ValueError, match="line 2 is not JSON"):
        audit.read_log(settings)
    check = audit.check_chain(settings)
    assert (check.line, check.fault) == (2, audit.UNPARSEABLE)


def _append_many(workdir: str, writer: int, count: int) -> None:
    settings = Settings(workdir=Path(workdir), operator=f"writer-{writer}")
    for index in range(count):
        audit.record(
            settings, "verify", details={"writer": writer, "index": index, "pad": "x" * 5000}
        )


def test_concurrent_writers_never_interleave_and_keep_the_chain(settings: Settings) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_append_many, args=(str(settings.workdir), w, 25)) for w in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0

    records = audit.read_log(settings)
    assert len(records) == 100
    assert {(r["details"]["writer"], r["details"]["index"]) for r in records} == {
        (w, i) for w in range(4) for i in range(25)
    }
    assert audit.check_chain(settings).ok
