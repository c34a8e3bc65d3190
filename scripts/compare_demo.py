"""Compare what two demo runs wrote: the lists, the feature tables and the metrics, byte for byte.

A refactor must leave the demo's outputs as they were. Run the demo before the change (keep its
workdir), run it after, then:

    .venv/bin/python scripts/compare_demo.py BEFORE_WORKDIR AFTER_WORKDIR [--json out.json]

Compared: ``features/*.parquet`` (the scoring tables and the history), ``models/metrics.json``
and every candidate's folder ``models/<industry>/``, and every file under ``publish/`` (both
weeks' lists, scores, explanations, reasons, charts, tiers) but the manifests, whose lineage
names the code version, the runs and the moment by design. ``scripts/compare_outputs.py`` runs
the pipeline at two git revisions itself and compares the same way.

Exit status 0 when every compared file is identical, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import compare_outputs  # the sibling script: one comparison, two ways to run it

COMPARED = ("features/*.parquet", "models/metrics.json", "models/*/*", "publish/*")
SKIPPED = ("publish/*/manifest.json",)


def compare_workdirs(before: Path, after: Path) -> dict:
    compare_outputs.COMPARED = COMPARED
    compare_outputs.SKIPPED = SKIPPED
    report = compare_outputs.compare(before, after, ())
    report["identical_outputs"] = not (
        report["differing"] or report["only_before"] or report["only_after"]
    )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("before", type=Path, help="the demo workdir before the change")
    parser.add_argument("after", type=Path, help="the demo workdir after the change")
    parser.add_argument("--json", type=Path, help="write the comparison here")
    args = parser.parse_args(argv)
    for workdir in (args.before, args.after):
        if not (workdir / "run_summary.json").is_file():
            parser.error(f"{workdir}: not a finished demo run (no run_summary.json)")
    report = compare_workdirs(args.before, args.after)
    text = json.dumps(report, indent=2, ensure_ascii=False)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    counts = {k: len(report[k]) for k in ("identical", "differing", "only_before", "only_after")}
    for key in ("differing", "only_before", "only_after"):
        for relative in report[key]:
            print(f"{key}: {relative}")
    print(f"{'IDENTICAL' if report['identical_outputs'] else 'DIFFERENT'}: {counts}")
    return 0 if report["identical_outputs"] else 1


if __name__ == "__main__":
    sys.exit(main())
