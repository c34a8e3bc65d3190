"""Exit codes a scheduler can act on (pipelines/exit_codes.py): the policy, every command
guarded, an unwritable workdir as one line, an incomplete ingest as 3."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pipelines import exit_codes
from pipelines.cli import app, check_workdir
from pipelines.flows import ingest as ingest_module


def _commands(group, prefix: tuple[str, ...] = ()):
    """Every command under ``group`` by its path (typer ships its own click: duck-typed)."""
    for name, command in sorted(group.commands.items()):
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


COMMANDS = dict(_commands(typer.main.get_command(app)))
WITH_WORKDIR = sorted(
    path for path, command in COMMANDS.items() if any(p.name == "workdir" for p in command.params)
)


def _required(command) -> list[str]:
    """Placeholder values for the command's required parameters (never reached: the workdir
    check comes first)."""
    args: list[str] = []
    for param in command.params:
        if not param.required:
            continue
        value = "2026-12" if param.name == "month" else "x"
        args += [value] if param.param_type_name == "argument" else [param.opts[0], value]
    return args


def test_every_command_is_guarded_and_takes_its_workdir_checked():
    assert len(COMMANDS) >= 18
    unguarded = [" ".join(path) for path, c in COMMANDS.items() if not _is_guarded(c)]
    assert unguarded == []
    assert ("ingest",) in WITH_WORKDIR and ("audit", "verify") in WITH_WORKDIR


def _is_guarded(command) -> bool:
    callback = command.callback
    while callback is not None:
        if getattr(callback, "ews_guarded", False):
            return True
        callback = getattr(callback, "__wrapped__", None)
    return False


def test_the_codes_are_distinct_and_named():
    codes = [getattr(exit_codes, n) for n in ("OK", "FAILED", "BAD_INPUT", "INCOMPLETE")]
    codes += [exit_codes.MISMATCH, exit_codes.UNWRITABLE]
    assert codes == [0, 1, 2, 3, 4, 5] and set(exit_codes.NAMES) == set(codes)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (PermissionError(errno.EACCES, "Permission denied", "/w/audit"), exit_codes.UNWRITABLE),
        (OSError(errno.EROFS, "Read-only file system", "/w"), exit_codes.UNWRITABLE),
        (OSError(errno.ENOSPC, "No space left on device", "/w"), exit_codes.UNWRITABLE),
        (NotADirectoryError(errno.ENOTDIR, "Not a directory", "/f/w"), exit_codes.UNWRITABLE),
        (FileNotFoundError("no feature history: run `ews features` first"), exit_codes.BAD_INPUT),
        (ValueError("as_of '2026-13-01' is not a date"), exit_codes.BAD_INPUT),
        (LookupError("ews-education has no challenger to promote"), exit_codes.BAD_INPUT),
        (KeyError("a bug"), None),
        (IndexError("a bug"), None),
        (RuntimeError("a crash"), None),
    ],
)
def test_errors_a_user_can_fix_get_their_code_and_the_rest_a_traceback(error, code):
    assert exit_codes.for_error(error) == code


@pytest.mark.parametrize("path", WITH_WORKDIR, ids=" ".join)
def test_a_workdir_under_a_regular_file_is_one_line_and_exit_5(path, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder\n")
    workdir = blocker / "work"

    result = CliRunner().invoke(app, [*path, "--workdir", str(workdir), *_required(COMMANDS[path])])

    assert result.exit_code == exit_codes.UNWRITABLE, result.output
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"ews {' '.join(path)}: cannot write {workdir}")
    assert "Traceback" not in result.output


def test_a_workdir_that_is_a_file_is_named(tmp_path):
    workdir = tmp_path / "work"
    workdir.write_text("")
    result = CliRunner().invoke(app, ["ingest", "--workdir", str(workdir)])
    assert result.exit_code == exit_codes.UNWRITABLE
    assert result.stderr.strip() == (
        f"ews ingest: cannot write {workdir}: the workdir is a file, not a folder"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through a read-only mode")
def test_a_read_only_workdir_is_one_line_and_exit_5(tmp_path):
    workdir = tmp_path / "work"
    workdir.mkdir()
    workdir.chmod(0o555)
    try:
        result = CliRunner().invoke(app, ["publish", "--workdir", str(workdir)])
    finally:
        workdir.chmod(0o755)
    assert result.exit_code == exit_codes.UNWRITABLE
    assert result.stderr.startswith(f"ews publish: cannot write {workdir}: Permission denied")


def test_a_directory_made_unwritable_later_is_caught_by_the_same_handler(tmp_path, monkeypatch):
    """An OSError deep inside a run (here: the flow itself cannot write) is one line too, also
    as root, where a read-only mode would not stop the write."""

    def cannot_write(workdir, as_of=None, parallel=False):
        raise PermissionError(errno.EACCES, "Permission denied", f"{workdir}/lake/_ledger.jsonl")

    monkeypatch.setattr(ingest_module, "ingest_flow", cannot_write)
    result = CliRunner().invoke(app, ["ingest", "--workdir", str(tmp_path)])
    assert result.exit_code == exit_codes.UNWRITABLE
    assert result.stderr == (
        f"ews ingest: cannot write {tmp_path}/lake/_ledger.jsonl: Permission denied\n"
    )


def test_bad_input_raised_by_a_flow_is_one_line_and_exit_2(tmp_path, monkeypatch):
    def refuse(workdir, as_of=None, parallel=False):
        raise ValueError(f"as_of {as_of!r} is neither YYYY-MM-DD nor an ISO date-time")

    monkeypatch.setattr(ingest_module, "ingest_flow", refuse)
    result = CliRunner().invoke(app, ["ingest", "--workdir", str(tmp_path), "--as-of", "soon"])
    assert result.exit_code == exit_codes.BAD_INPUT
    assert result.stderr == (
        "ews ingest: as_of 'soon' is neither YYYY-MM-DD nor an ISO date-time\n"
    )


def test_an_unexpected_error_keeps_its_traceback_and_exit_1(tmp_path, monkeypatch):
    def crash(workdir, as_of=None, parallel=False):
        raise KeyError("a bug")

    monkeypatch.setattr(ingest_module, "ingest_flow", crash)
    result = CliRunner().invoke(app, ["ingest", "--workdir", str(tmp_path)])
    assert result.exit_code == exit_codes.FAILED
    assert isinstance(result.exception, KeyError)


def test_usage_errors_are_2():
    result = CliRunner().invoke(app, ["ingest", "--no-such-option"])
    assert result.exit_code == exit_codes.BAD_INPUT


# ---------------------------------------------------------------- ingest: complete or not


def _summary(sources: dict, deliveries: dict | None = None, **extra) -> dict:
    return {"sources": sources, "deliveries": deliveries or {}, **extra}


def test_an_ingest_with_every_source_ok_or_degraded_by_rows_is_complete():
    summary = _summary(
        {"a": {"status": "ok"}, "b": {"status": "degraded"}},
        {"b": [{"delivery_id": "2026-11-01", "file": "2026-11-01.csv", "status": "partial"}]},
        unknown_landing_folders=[],
    )
    assert exit_codes.ingest_problems(summary) == []


def test_failed_and_missing_sources_rejected_deliveries_and_unknown_folders_are_named():
    summary = _summary(
        {
            "a": {"status": "failed"},
            "b": {"status": "missing"},
            "c": {"status": "degraded"},
            "d": {"status": "ok"},
        },
        {
            "a": [{"delivery_id": "2026-11-01", "file": "2026-11-01.csv", "status": "rejected"}],
            "c": [{"delivery_id": "2026-11-02", "file": "2026-11-02.csv", "status": "rejected"}],
        },
        unknown_landing_folders=["penalties_old"],
        landing={"rejected": [{"path": "landing/d/..2026-12-03.csv", "reason": "hidden"}]},
    )
    assert exit_codes.ingest_problems(summary) == [
        "1 source(s) failed: a",
        "1 source(s) missing: b",
        "2 deliveries rejected: a/2026-11-01.csv, c/2026-11-02.csv",
        "1 landing file(s) rejected: landing/d/..2026-12-03.csv",
        "landing folders with no contract: penalties_old",
    ]


def test_a_long_list_is_cut_to_stay_one_line():
    summary = _summary({f"s{i:02d}": {"status": "missing"} for i in range(8)})
    assert exit_codes.ingest_problems(summary) == [
        "8 source(s) missing: s00, s01, s02, s03, s04 and 3 more"
    ]


def _fake_ingest(tmp_path: Path, summary: dict):
    path = tmp_path / "ingest_summary.json"
    path.write_text(json.dumps(summary), encoding="utf-8")
    return lambda workdir, as_of=None, parallel=False: {
        "ingest_summary": str(path),
        "data_docs": "docs",
    }


def test_ingest_exits_3_naming_what_did_not_get_in(tmp_path, monkeypatch):
    summary = _summary(
        {"a": {"status": "failed"}, "b": {"status": "ok"}},
        {"a": [{"delivery_id": "2026-11-01", "file": "2026-11-01.csv", "status": "rejected"}]},
    )
    monkeypatch.setattr(ingest_module, "ingest_flow", _fake_ingest(tmp_path, summary))
    result = CliRunner().invoke(app, ["ingest", "--workdir", str(tmp_path / "w")])
    assert result.exit_code == exit_codes.INCOMPLETE
    assert json.loads(result.stdout)["ingest_summary"].endswith("ingest_summary.json")
    assert result.stderr == (
        "ews ingest: incomplete: 1 source(s) failed: a; 1 deliveries rejected: a/2026-11-01.csv\n"
    )


def test_ingest_exits_0_when_everything_got_in(tmp_path, monkeypatch):
    summary = _summary({"a": {"status": "ok"}})
    monkeypatch.setattr(ingest_module, "ingest_flow", _fake_ingest(tmp_path, summary))
    result = CliRunner().invoke(app, ["ingest", "--workdir", str(tmp_path / "w")])
    assert result.exit_code == exit_codes.OK and result.stderr == ""


def test_check_workdir_creates_the_folder_and_leaves_nothing_behind(tmp_path):
    workdir = check_workdir(tmp_path / "new" / "work")
    assert workdir.is_dir() and list(workdir.iterdir()) == []
