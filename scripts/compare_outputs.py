"""Run the pipeline at two git revisions and compare what it wrote, byte for byte.

A refactor must not change what EWS computes. This script checks it out twice (``git archive``
into a scratch folder; ``WORKTREE`` means the working tree as it is, uncommitted changes
included), runs simulate (explicit ``--end-date``) -> ingest -> features -> train -> publish
(explicit ``--week``) in each with the same seed, and compares:

- the feature tables: ``features/*.parquet`` (this week's scoring table and the history);
- the metrics: ``models/metrics.json`` and each industry's candidate folder
  (``models/<industry>/``: the model, predictions, metrics and evaluation tables);
- the lists: every file of ``publish/<week>/<industry>/`` (risk list xlsx/csv/parquet, scores,
  explanations, reasons, firms, leavers, history, charts) except ``manifest.json``, whose
  lineage names the code version, the MLflow run and the ingest run by design.

The lake is not compared: its ledger records when each delivery was ingested.

Files listed by ``--unordered`` are compared as sets of rows (sorted on every column first);
none by default: every written frame has a total order, so every file compares byte for byte
(a revision from before issue 13 wrote ``reasons.parquet`` in an order that varied between
runs: pass ``--unordered 'publish/*/reasons.parquet'`` to compare against one).

Both revisions run with this interpreter (this checkout's ``.venv``) and ``PYTHONPATH`` set to
their own sources, so they must share the runtime dependencies (a dev-tool difference is fine).

    .venv/bin/python scripts/compare_outputs.py main WORKTREE --scale tiny
    .venv/bin/python scripts/compare_outputs.py <before> <after> --json /tmp/compare.json

Exit status 0 when every compared file is identical, 1 otherwise.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORKTREE = "WORKTREE"
DEFAULT_END_DATE = "2026-11-15"  # a Sunday: the as-of date of 2026-W47
DEFAULT_WEEK = "2026-W47"
# fnmatch's "*" also matches "/": "publish/*" is every file under publish/.
COMPARED = (
    "landing/*",
    "sim_truth/*",
    "features/*.parquet",
    "models/metrics.json",
    "models/*/*",
    "publish/*",
)
# Written with the run's own identity (code version, run id, timestamps) by design.
SKIPPED = ("publish/*/manifest.json",)
UNORDERED: tuple[str, ...] = ()


def checkout(revision: str, into: Path) -> Path:
    """The sources of ``revision`` in ``into`` (the working tree itself for WORKTREE)."""
    if revision == WORKTREE:
        return REPO
    into.mkdir(parents=True)
    archive = into.with_suffix(".tar")
    with archive.open("wb") as out:
        command = ["git", "archive", "--format=tar", revision]
        subprocess.run(command, cwd=REPO, stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    archive.unlink()
    return into


def run_pipeline(source: Path, workdir: Path, args: argparse.Namespace) -> dict[str, float]:
    """Every stage as the CLI runs it, in its own process; returns seconds per stage."""
    env = {
        **os.environ,
        "PYTHONPATH": str(source),
        # Each checkout's own ephemeral Prefect database: runs never share or lock one.
        "PREFECT_HOME": str(workdir.parent / f"{workdir.name}-prefect"),
        "EWS_SEED": str(args.seed),
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    w = ["--workdir", str(workdir)]
    park = ["--scale", args.scale, "--seed", str(args.seed), "--end-date", args.end_date]
    stages = {
        "simulate": ["simulate", *w, *park],
        "ingest": ["ingest", *w, "--as-of", args.end_date],
        "features": ["features", *w, "--as-of", args.end_date],
        "train": ["train", *w],
        "publish": ["publish", *w, "--week", args.week],
    }
    timings: dict[str, float] = {}
    for name, command in stages.items():
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", *command],
            cwd=source,
            env=env,
            capture_output=True,
            text=True,
        )
        timings[name] = round(time.perf_counter() - started, 1)
        # Ingest exits 3 when a simulated defect rejected a delivery (pipelines/exit_codes.py).
        if done.returncode not in ((0, 3) if name == "ingest" else (0,)):
            raise RuntimeError(
                f"{name} failed in {source} (exit {done.returncode}):\n{done.stderr[-4000:]}"
            )
        print(f"  {name}: {timings[name]} s", file=sys.stderr)
    return timings


def matches(relative: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(relative, p) for p in patterns)


def outputs(workdir: Path) -> dict[str, Path]:
    """The compared files by path relative to the workdir."""
    found = {}
    for path in sorted(workdir.rglob("*")):
        relative = path.relative_to(workdir).as_posix()
        if path.is_file() and matches(relative, COMPARED) and not matches(relative, SKIPPED):
            found[relative] = path
    return found


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def same_rows(a: Path, b: Path) -> bool:
    """Two Parquet files holding the same rows in any order (same schema)."""
    import polars as pl

    left, right = pl.read_parquet(a), pl.read_parquet(b)
    if left.schema != right.schema:
        return False
    return left.sort(left.columns, nulls_last=True).equals(
        right.sort(right.columns, nulls_last=True)
    )


def compare(before: Path, after: Path, unordered: tuple[str, ...]) -> dict:
    left, right = outputs(before), outputs(after)
    identical, unordered_equal, differing = [], [], []
    for relative in sorted(set(left) & set(right)):
        if sha256(left[relative]) == sha256(right[relative]):
            identical.append(relative)
        elif matches(relative, unordered) and same_rows(left[relative], right[relative]):
            unordered_equal.append(relative)
        else:
            differing.append(relative)
    return {
        "identical": identical,
        "same_rows_other_order": unordered_equal,
        "differing": differing,
        "only_before": sorted(set(left) - set(right)),
        "only_after": sorted(set(right) - set(left)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", help="git revision (or WORKTREE)")
    parser.add_argument("after", nargs="?", default=WORKTREE, help="git revision or WORKTREE")
    parser.add_argument("--scale", default="small", help="tiny (quick) or small (the demo's)")
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("--end-date", default=DEFAULT_END_DATE)
    parser.add_argument("--week", default=DEFAULT_WEEK)
    parser.add_argument(
        "--unordered",
        nargs="*",
        default=list(UNORDERED),
        help="glob patterns of Parquet files compared as sets of rows",
    )
    parser.add_argument("--scratch", type=Path, help="scratch folder (default: a new temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--json", type=Path, help="write the comparison here")
    args = parser.parse_args(argv)

    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="ews-compare-"))
    scratch.mkdir(parents=True, exist_ok=True)
    report: dict = {
        "before": args.before,
        "after": args.after,
        "scale": args.scale,
        "seed": args.seed,
        "end_date": args.end_date,
        "week": args.week,
        "unordered": args.unordered,
        "revisions": {},
        "timings_s": {},
    }
    try:
        workdirs = {}
        for side, revision in (("before", args.before), ("after", args.after)):
            resolved = revision
            if revision != WORKTREE:
                resolved = subprocess.run(
                    ["git", "rev-parse", revision], cwd=REPO, capture_output=True, text=True
                ).stdout.strip()
            report["revisions"][side] = resolved or revision
            print(f"{side}: {revision} ({resolved})", file=sys.stderr)
            source = checkout(revision, scratch / f"src-{side}")
            workdirs[side] = scratch / f"work-{side}"
            report["timings_s"][side] = run_pipeline(source, workdirs[side], args)
        report.update(compare(workdirs["before"], workdirs["after"], tuple(args.unordered)))
    finally:
        if not args.keep:
            shutil.rmtree(scratch, ignore_errors=True)
    same = not (report["differing"] or report["only_before"] or report["only_after"])
    report["identical_outputs"] = same
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    print(text)
    counts = {k: len(report[k]) for k in ("identical", "same_rows_other_order", "differing")}
    print(f"{'IDENTICAL' if same else 'DIFFERENT'}: {counts}", file=sys.stderr)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
