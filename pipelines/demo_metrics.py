"""The README's demo figures, generated from a demo run so that the two cannot drift apart.

The demo's park ends on a fixed day (``pipelines.flows.demo.DEMO_END_DATE``), so a run of a
commit gives the same out-of-time metrics on any machine on any day. ``docs/demo_figures.json``
holds the reference run's identity (end date, scale, seed, weeks) and its
``models/metrics.json``; the README's block between ``BEGIN`` and ``END`` is ``render`` of that
file, and a test keeps them equal. After a change that moves the figures, run the demo and:

    .venv/bin/python -m pipelines.demo_metrics --workdir ews_demo           # rewrite both
    .venv/bin/python -m pipelines.demo_metrics --workdir ews_demo --check   # or only compare

``--check`` exits 1 naming what differs when this run's block is not the README's.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from models.config import load_models
from models.oracle import late_oracle_name
from pipelines import datasets

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
FIGURES = REPO / "docs" / "demo_figures.json"
BEGIN = "<!-- demo-figures:begin (python -m pipelines.demo_metrics; do not edit by hand) -->"
END = "<!-- demo-figures:end -->"
RUN_KEYS = ("scale", "seed", "end_date", "live", "weeks")
# (header, metric) pairs shown for the model and its baseline side by side.
COMPARED = (("ROC-AUC", "roc_auc"), ("PR-AUC", "pr_auc"), ("precision at K", "precision_at_k"))


class FiguresError(ValueError):
    """A run summary or metrics file that cannot give the README's figures."""


def figures(summary: Mapping[str, Any], metrics: Mapping[str, Any]) -> dict[str, Any]:
    """What the README quotes of a demo run: its identity and its metrics.json."""
    missing = [key for key in RUN_KEYS if key not in summary]
    if missing:
        raise FiguresError(f"run_summary.json lacks {', '.join(missing)} (a demo run writes them)")
    return {"run": {key: summary[key] for key in RUN_KEYS}, "metrics": dict(metrics)}


def render(record: Mapping[str, Any], industries: Sequence[str] | None = None) -> str:
    """The README block (markers included) for ``figures(...)``: industries in config order."""
    run, metrics = record["run"], record["metrics"]
    order = [i for i in (industries or load_models()) if i in metrics]
    unknown = sorted(set(metrics) - set(order))
    if unknown:
        raise FiguresError(f"metrics for industries not in the config: {unknown}")
    first, last = run["weeks"][0], run["weeks"][-1]
    lines = [
        BEGIN,
        f"The simulated park ends on {run['end_date']} ({run['scale']} scale, seed "
        f"{run['seed']}{', a live run' if run['live'] else ''}); the lists are {first} and "
        f"{last}. Out-of-time test, from `ews_demo/models/metrics.json` (K = the industry's "
        "inspection capacity; firm-weeks scored in the test weeks, with the events among them):",
        "",
        "| industry | test weeks | firm-weeks (events) | "
        + " | ".join(f"{header} | baseline" for header, _ in COMPARED)
        + " |",
        "|---|---|---:|" + "---:|---:|" * len(COMPARED),
    ]
    for industry in order:
        row = metrics[industry]
        try:
            cells = [
                f"{industry} (K = {row['k']})",
                row["test_period"],
                f"{row['n_test']:,} ({row['positives']:,})",
                *(
                    f"{value:.3f}"
                    for _, metric in COMPARED
                    for value in (row[metric], row["baseline"][metric])
                ),
            ]
        except KeyError as error:
            raise FiguresError(f"metrics of {industry} lack {error}") from error
        lines.append("| " + " | ".join(cells) + " |")
    lines.extend(ratio_table(metrics, order))
    lines.append(END)
    return "\n".join(lines)


LATE_PAIR = f"model/{late_oracle_name(1)}"


def ratio_table(metrics: Mapping[str, Any], order: Sequence[str]) -> list[str]:
    """The paired ratios model/oracle and model/baseline and the serving model, when the run's
    metrics carry them (none before the comparisons existed)."""
    shown = [i for i in order if "model/oracle" in metrics[i].get("comparisons", {})]
    if not shown:
        return []
    lines = [
        "",
        "On the same test rows, with paired 95% intervals (both sides scored on the same "
        "bootstrap resamples of firms); the oracle is the simulator's latent stress in the as-of "
        "month (simulator only, never a feature), and the last column the model's precision at K "
        "over the oracle's seen a month late (the ceiling sources that report a month late "
        'allow; BENCHMARKS.md, "The ceiling the sources allow"). The serving model is the '
        "promotion gate's choice (a model serves only when shown better than its baseline on "
        "PR-AUC):",
        "",
        "| industry | serving | "
        + " | ".join(f"model/oracle {header}" for header, _ in COMPARED)
        + " | "
        + " | ".join(f"model/baseline {header}" for header, _ in COMPARED)
        + " | model/oracle 1 month late P@K |",
        "|---|---|" + "---:|" * (2 * len(COMPARED) + 1),
    ]
    for industry in shown:
        pairs = metrics[industry]["comparisons"]
        serving = metrics[industry].get("serving") or {}
        cells = [
            industry,
            f"v{serving['version']} {serving['kind'].replace('_', ' ')}" if serving else "n/a",
            *(
                _interval(pairs[pair][metric]["ratio"])
                for pair in ("model/oracle", "model/baseline")
                for _, metric in COMPARED
            ),
            _interval(pairs.get(LATE_PAIR, {}).get("precision_at_k", {}).get("ratio", {})),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _interval(estimate: Mapping[str, float | None]) -> str:
    if estimate.get("value") is None:
        return "n/a"
    low, high = estimate.get("low"), estimate.get("high")
    bounds = "" if low is None or high is None else f" [{low:.2f}, {high:.2f}]"
    return f"{estimate['value']:.2f}{bounds}"


def replace_block(text: str, block: str) -> str:
    """``text`` with the part from ``BEGIN`` to ``END`` (markers included) replaced by
    ``block``; exactly one such part must exist."""
    if text.count(BEGIN) != 1 or text.count(END) != 1:
        raise FiguresError(f"the README must hold the markers {BEGIN!r} and {END!r} once each")
    start, stop = text.index(BEGIN), text.index(END) + len(END)
    if stop < start:
        raise FiguresError("the README's end marker comes before its begin marker")
    return text[:start] + block + text[stop:]


def current_block(text: str) -> str:
    """The README's block as it stands (markers included)."""
    if text.count(BEGIN) != 1 or text.count(END) != 1:
        raise FiguresError(f"the README must hold the markers {BEGIN!r} and {END!r} once each")
    return text[text.index(BEGIN) : text.index(END) + len(END)]


def load_run(workdir: Path) -> dict[str, Any]:
    """``figures`` of the demo run in ``workdir`` (its run_summary.json and metrics.json)."""
    summary_path = datasets.RUN_SUMMARY.at(workdir)
    if not summary_path.is_file():
        raise FiguresError(f"{summary_path}: no run summary; run `ews demo --workdir {workdir}`")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    metrics_path = workdir / summary.get("artifacts", {}).get(
        "metrics", datasets.MODEL_METRICS.pattern
    )
    if not metrics_path.is_file():
        raise FiguresError(f"{metrics_path}: no metrics (the demo's train stage writes them)")
    return figures(summary, json.loads(metrics_path.read_text(encoding="utf-8")))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("ews_demo"))
    parser.add_argument("--readme", type=Path, default=README)
    parser.add_argument("--figures", type=Path, default=FIGURES)
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on a change")
    args = parser.parse_args(argv)
    try:
        record = load_run(args.workdir)
        block = render(record)
        text = args.readme.read_text(encoding="utf-8")
        updated = replace_block(text, block)
    except (FiguresError, OSError, json.JSONDecodeError) as error:
        print(f"demo_metrics: {error}", file=sys.stderr)
        return 2
    if args.check:
        if updated != text:
            print(
                f"demo_metrics: {args.readme}'s figures are not this run's ({args.workdir}):\n"
                f"README:\n{current_block(text)}\nthis run:\n{block}",
                file=sys.stderr,
            )
            return 1
        print(f"{args.readme}: the figures are this run's")
        return 0
    args.figures.write_text(
        json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    args.readme.write_text(updated, encoding="utf-8")
    print(f"{args.readme}: figures from {args.workdir} ({args.figures} written)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
