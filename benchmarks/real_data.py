"""EWS's train-table pipeline vs a default XGBoost on real tables, same outer folds.

For each table and seed this runs the ``train-table`` flow exactly as ``ews train-table`` would,
once per ``--search`` (``full`` and/or ``quick``). Inside each outer fold the flow also fits the
reference, a default XGBoost (300 trees, max_depth 6, learning_rate 0.1, everything else
xgboost's default), on the very same training rows and stores both out-of-fold predictions.
EWS tunes only inside each training fold, so both AUCs are honest out-of-fold estimates. The
AUCs are computed here, with scikit-learn, from the stored predictions; the times are the
flow's own wall-clock measurements of the outer-fold fits of each side (EWS's final model on all
rows, its SHAP values and plots are timed apart and not counted against it), as wall time and as
CPU time of the process: on a machine other work shares, the CPU time is the cost to compare.

    .venv/bin/python benchmarks/real_data.py --json bench_out/real_data.json [--seeds 0 1 ...]
        [--search full quick quick:c1 quick:60s] [--time-budget 60] [--nthread 1]
        [--merge EARLIER.json ...]
    .venv/bin/python benchmarks/real_data.py --json out.json --table F --label COL
        [--segment COL] [--id COL] [--time COL] [--separator ;] [--decimal ,]

Without ``--table`` the tables are the Polish bankruptcy files (``--data-dir``, ``--files``,
label ``class``). With ``--segment`` each segment is its own entry ("table [segment]").

One 5-fold run cannot tell EWS from the default: the paired fold differences spread by
0.003-0.007 AUC, so a run's mean difference has a standard error of about 0.002. The default is
therefore ten seeds (ten fold splits and model seeds; about 50 minutes on 2 cores for the two
Polish files with the full search), and the summary gives each entry's mean over seeds, the
standard error of that mean, the seeds on which EWS was ahead, the folds it won and the time
ratio; with two searches, also the share of the full search's gain the quick one kept and its
share of the full search's time.

A search may carry a budget, as ``ews train-table`` takes it: ``quick:c1`` is ``--search quick
--candidates 1`` (the first configuration of the budget order only, deterministic), ``quick:60s``
is ``--search quick --time-budget 60``; ``--time-budget S`` gives every search named without one
that budget. Each seed's entry records which configurations the budget left
(``candidates_searched``) and whether it cut the search.

``--merge`` adds the per-seed results of earlier runs with the same settings (a run split over
sittings); ``--seeds`` with no value only merges.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from pipelines import runtime

runtime.configure()
# Waiting OpenMP threads sleep instead of spinning: on a busy machine a spinning xgboost thread
# starves its partner, and a 2-thread fit ran 10-20x slower than a 1-thread one.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import xgboost as xgb  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402

from models.tabular import REFERENCE_XGBOOST, SEARCHES  # noqa: E402
from pipelines.flows.train_table import train_table_flow  # noqa: E402

POLISH_LABEL = "class"
DEFAULT_XGBOOST = REFERENCE_XGBOOST


def parse_search(name: str) -> dict:
    """A --search entry: a search of SEARCHES, optionally with a budget (``quick:c2`` keeps two
    configurations, ``quick:60s`` has a 60-second time budget)."""
    search, _, budget = name.partition(":")
    if search not in SEARCHES:
        raise ValueError(f"--search {name}: {search!r} is not one of {sorted(SEARCHES)}")
    settings = {"search": search, "time_budget": None, "candidates": None}
    if not budget:
        return settings
    try:
        if budget.startswith("c"):
            return settings | {"candidates": int(budget[1:])}
        if budget.endswith("s"):
            return settings | {"time_budget": float(budget[:-1])}
    except ValueError:
        pass
    raise ValueError(f"--search {name}: a budget is cN (configurations) or Ss (seconds)")


def with_budget(searches: list[str], seconds: float | None) -> list[str]:
    """The searches, each without a budget of its own given ``seconds`` (--time-budget)."""
    if seconds is None:
        return searches
    return [name if ":" in name else f"{name}:{seconds:g}s" for name in searches]


def run_table(table: dict, seed: int, searches: list[str], work: Path) -> dict[str, dict]:
    """Every search on one table and seed: {entry name: per-seed result}."""
    runs = {}
    for search in searches:
        plan = parse_search(search)
        out = work / f"{Path(table['path']).stem}-{search.replace(':', '-')}"
        started = time.perf_counter()
        train_table_flow(
            table=str(table["path"]),
            label=table["label"],
            segment=table.get("segment"),
            id_col=table.get("id"),
            time_col=table.get("time"),
            separator=table.get("separator"),
            decimal=table.get("decimal"),
            out=str(out),
            folds=table["folds"],
            seed=seed,
            nthread=table["nthread"],
            search=plan["search"],
            time_budget=plan["time_budget"],
            candidates=plan["candidates"],
        )
        wall = time.perf_counter() - started
        runs[search] = (out, wall)
    entries: dict[str, dict] = {}
    first_out = runs[searches[0]][0]
    metrics = json.loads((first_out / "metrics.json").read_text(encoding="utf-8"))
    for key, segment in metrics["segments"].items():
        name = table["name"] if key == "all" else f"{table['name']} [{key}]"
        reference = None
        by_search = {}
        for search, (out, wall) in runs.items():
            run_metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
            seconds = run_metrics["segments"][key]["seconds"]
            searched = run_metrics["segments"][key]["search_record"]
            predictions = pl.read_parquet(out / run_metrics["segments"][key]["predictions"])
            y = predictions.get_column(table["label"]).to_numpy()
            fold = predictions.get_column("fold").to_numpy()
            ews_auc = _fold_aucs(y, predictions.get_column("p").to_numpy(), fold)
            reference_auc = _fold_aucs(y, predictions.get_column("p_reference").to_numpy(), fold)
            if reference is None:
                reference = _summary(
                    reference_auc,
                    seconds["reference_outer_folds"],
                    seconds["reference_outer_folds_cpu"],
                )
            differences = np.array(ews_auc) - np.array(reference["fold_auc"])
            by_search[search] = {
                **_summary(ews_auc, seconds["ews_outer_folds"], seconds["ews_outer_folds_cpu"]),
                "flow_wall_seconds": round(wall, 1),
                "final_model_seconds": seconds["final_model"],
                "candidates_searched": searched["candidates_searched"],
                "cut_by_budget": searched["cut_by_budget"],
                "first_fold_seconds": searched.get("first_fold_seconds"),
                "auc_difference": {
                    "mean": float(differences.mean()),
                    "std": float(differences.std(ddof=1)) if len(differences) > 1 else None,
                    "folds_won_by_ews": int((differences > 0).sum()),
                },
            }
        entries[name] = {
            "rows": segment["rows"],
            "positives": segment["positives"],
            "folds": len(reference["fold_auc"]),
            "default_xgboost": reference,
            "searches": by_search,
        }
    return entries


def _fold_aucs(y: np.ndarray, p: np.ndarray, fold: np.ndarray) -> list[float]:
    return [float(roc_auc_score(y[fold == f], p[fold == f])) for f in np.unique(fold)]


def _summary(aucs: list[float], seconds: float, cpu_seconds: float) -> dict:
    return {
        "auc_mean": float(np.mean(aucs)),
        "auc_std": float(np.std(aucs, ddof=1)) if len(aucs) > 1 else None,
        "fold_auc": aucs,
        # Milliseconds kept: a small table's default fit takes well under 0.1 s of CPU.
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
    }


def across_seeds(by_seed: dict[str, dict], search: str) -> dict:
    """One entry's per-seed results of one search summarised over seeds."""
    results = list(by_seed.values())
    differences = np.array([r["searches"][search]["auc_difference"]["mean"] for r in results])
    ews_seconds = np.array([r["searches"][search]["seconds"] for r in results])
    default_seconds = np.array([r["default_xgboost"]["seconds"] for r in results])
    ews_cpu = sum(r["searches"][search]["cpu_seconds"] for r in results)
    default_cpu = sum(r["default_xgboost"]["cpu_seconds"] for r in results)
    return {
        "seeds": len(differences),
        "ews_auc_mean": float(np.mean([r["searches"][search]["auc_mean"] for r in results])),
        "default_auc_mean": float(np.mean([r["default_xgboost"]["auc_mean"] for r in results])),
        "difference_mean": float(differences.mean()),
        # Seeds re-split the same firms, so this is the spread due to splits and model seeds,
        # not a sampling error over new data: small means "settled for this data", no more.
        "difference_standard_error": (
            float(differences.std(ddof=1) / np.sqrt(len(differences)))
            if len(differences) > 1
            else None
        ),
        "seeds_ahead": int((differences > 0).sum()),
        "folds_won_by_ews": sum(
            r["searches"][search]["auc_difference"]["folds_won_by_ews"] for r in results
        ),
        "folds": sum(r["folds"] for r in results),
        "ews_seconds_mean": float(ews_seconds.mean()),
        "default_seconds_mean": float(default_seconds.mean()),
        "time_ratio": float(ews_seconds.sum() / default_seconds.sum())
        if default_seconds.sum() > 0
        else None,
        "cpu_ratio": ews_cpu / default_cpu if default_cpu > 0 else None,
    }


def against_full(by_seed: dict[str, dict], search: str) -> dict:
    """A smaller search against the full one on the same seeds and folds: the share of the full
    search's gain over the default it keeps, its share of the full search's time, and the paired
    AUC difference (search - full) with its standard error over seeds."""
    results = [r for r in by_seed.values() if {"full", search} <= set(r["searches"])]
    gain = {
        s: np.array([r["searches"][s]["auc_difference"]["mean"] for r in results])
        for s in ("full", search)
    }
    seconds = {s: sum(r["searches"][s]["seconds"] for r in results) for s in ("full", search)}
    cpu = {s: sum(r["searches"][s]["cpu_seconds"] for r in results) for s in ("full", search)}
    paired = gain[search] - gain["full"]
    full_gain = float(gain["full"].mean())
    return {
        "seeds": len(results),
        "gain_kept": float(gain[search].mean() / full_gain) if full_gain > 0 else None,
        "time_share": seconds[search] / seconds["full"] if seconds["full"] > 0 else None,
        "cpu_share": cpu[search] / cpu["full"] if cpu["full"] > 0 else None,
        "auc_vs_full_mean": float(paired.mean()),
        "auc_vs_full_standard_error": float(paired.std(ddof=1) / np.sqrt(len(paired)))
        if len(paired) > 1
        else None,
    }


def settings_of(args: argparse.Namespace) -> dict:
    return {"folds": args.folds, "default_xgboost": DEFAULT_XGBOOST, "searches": args.search}


def merge_results(
    results: dict[str, dict[str, dict]], earlier: dict, settings: dict, source: str
) -> dict[str, dict[str, dict]]:
    """This run's results plus an earlier run's; the settings must match and no seed repeat.

    Called with this run's seeds as empty entries before the run, it fails in seconds rather
    than after an hour of training."""
    theirs = {key: earlier.get(key) for key in settings}
    if theirs != settings:
        raise ValueError(f"{source}: its settings {theirs} differ from this run's {settings}")
    merged = {name: dict(by_seed) for name, by_seed in results.items()}
    for name, by_seed in earlier.get("results", {}).items():
        target = merged.setdefault(name, {})
        repeated = sorted(set(target) & set(by_seed), key=int)
        if repeated:
            raise ValueError(f"{source}: {name} seeds {', '.join(repeated)} are already present")
        target.update(by_seed)
    return {
        name: dict(sorted(by_seed.items(), key=lambda item: int(item[0])))
        for name, by_seed in merged.items()
    }


def tables_of(args: argparse.Namespace) -> list[dict]:
    common = {"folds": args.folds, "nthread": args.nthread}
    if args.table is not None:
        if args.label is None:
            sys.exit("--table needs --label")
        return [
            {
                **common,
                "name": args.table.name,
                "path": args.table,
                "label": args.label,
                "segment": args.segment,
                "id": args.id,
                "time": args.time,
                "separator": args.separator,
                "decimal": args.decimal,
            }
        ]
    return [
        {**common, "name": name, "path": args.data_dir / name, "label": POLISH_LABEL}
        for name in args.files
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True, type=Path, help="where to write the results")
    parser.add_argument("--table", type=Path, help="any table train-table reads (default: Polish)")
    parser.add_argument("--label", help="label column of --table")
    parser.add_argument("--segment", help="segment column of --table (one model per value)")
    parser.add_argument("--id", help="entity id column of --table (grouped folds)")
    parser.add_argument("--time", help="time column of --table (out-of-time folds)")
    parser.add_argument("--separator", help="CSV separator of --table (default: detected)")
    parser.add_argument("--decimal", help="decimal mark of --table (default: detected)")
    parser.add_argument(
        "--data-dir", type=Path, default=Path("../shared/datasets/polish_bankruptcy")
    )
    parser.add_argument("--files", nargs="+", default=["1year.arff", "5year.arff"])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="*",
        default=list(range(10)),
        help="one run per seed (folds and models); default 0-9",
    )
    parser.add_argument(
        "--search",
        nargs="+",
        default=["full"],
        help="train-table searches to run on the same folds (the first is the headline): "
        f"{', '.join(sorted(SEARCHES))}, each optionally with a budget, e.g. quick:c1, quick:60s",
    )
    parser.add_argument(
        "--time-budget",
        type=float,
        help="seconds of EWS's fits per table and seed, for every --search without a budget",
    )
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        default=[],
        help="JSON of earlier runs (same folds, default and searches) whose seeds join this run's",
    )
    parser.add_argument("--nthread", type=int, default=2, help="xgboost threads, both sides")
    args = parser.parse_args()
    args.search = with_budget(args.search, args.time_budget)
    for name in args.search:
        try:
            parse_search(name)
        except ValueError as error:
            sys.exit(str(error))
    settings = settings_of(args)
    tables = tables_of(args)
    for table in tables:
        if args.seeds and not Path(table["path"]).is_file():
            sys.exit(f"missing {table['path']}: pass --table, or --data-dir with the ARFF files")

    earlier_runs = {str(path): json.loads(path.read_text(encoding="utf-8")) for path in args.merge}
    planned = {table["name"]: {str(seed): {} for seed in args.seeds} for table in tables}
    for source, earlier in earlier_runs.items():
        try:
            planned = merge_results(planned, earlier, settings, source)
        except ValueError as error:
            sys.exit(f"--merge {error}")

    results: dict[str, dict[str, dict]] = {}
    with tempfile.TemporaryDirectory(prefix="ews-real-data-") as work:
        for table in tables if args.seeds else []:
            for seed in args.seeds:
                folder = Path(work) / str(seed)
                for name, result in run_table(table, seed, args.search, folder).items():
                    results.setdefault(name, {})[str(seed)] = result
    for source, earlier in earlier_runs.items():
        results = merge_results(results, earlier, settings, source)

    report(results, args.search)
    summary = {
        name: {search: across_seeds(by_seed, search) for search in args.search}
        for name, by_seed in results.items()
        if by_seed
    }
    comparisons = {
        name: {search: against_full(by_seed, search) for search in args.search if search != "full"}
        for name, by_seed in results.items()
        if by_seed and "full" in args.search
    }
    print_summary(summary, comparisons)
    document = {
        "benchmark": "real_data",
        "command": " ".join(sys.argv),
        **settings,
        "seeds": sorted({int(seed) for by_seed in results.values() for seed in by_seed}),
        "merged_from": [str(path) for path in args.merge],
        "nthread": args.nthread,
        "python": platform.python_version(),
        "xgboost": xgb.__version__,
        "results": results,
        "summary": summary,
        "against_full": comparisons,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=2), encoding="utf-8")


def report(results: dict[str, dict[str, dict]], searches: list[str]) -> None:
    print(
        f"{'table':<24}{'seed':>5}{'search':>8}{'EWS AUC':>18}{'default AUC':>20}"
        f"{'EWS - default':>15}{'won':>6}{'EWS s':>8}{'default s':>10}"
    )
    for name, by_seed in results.items():
        for seed, r in by_seed.items():
            default = r["default_xgboost"]
            for search in searches:
                ews = r["searches"][search]
                diff = ews["auc_difference"]
                print(
                    f"{name:<24}{seed:>5}{search:>8}"
                    f"{ews['auc_mean']:>10.4f} ± {_std(ews)}"
                    f"{default['auc_mean']:>12.4f} ± {_std(default)}"
                    f"{diff['mean']:>+15.4f}{diff['folds_won_by_ews']:>4d}/{r['folds']}"
                    f"{ews['seconds']:>8.1f}{default['seconds']:>10.1f}"
                )


def print_summary(summary: dict, comparisons: dict) -> None:
    print(
        "\nover seeds              search  EWS AUC  default  EWS - default (s.e.)  seeds ahead"
        "  folds won  time ratio"
    )
    for name, by_search in summary.items():
        for search, line in by_search.items():
            error = line["difference_standard_error"]
            ratio, cpu = line["time_ratio"], line["cpu_ratio"]
            print(
                f"{name:<24}{search:>7}{line['ews_auc_mean']:>9.4f}{line['default_auc_mean']:>9.4f}"
                f"{line['difference_mean']:>+13.4f} ({'-' if error is None else f'{error:.4f}'})"
                f"{line['seeds_ahead']:>8d}/{line['seeds']}"
                f"{line['folds_won_by_ews']:>9d}/{line['folds']}"
                f"{'-' if ratio is None else f'{ratio:.1f}x':>12}"
                f"{'-' if cpu is None else f'{cpu:.1f}x':>11}"
            )
    for name, by_search in comparisons.items():
        for search, line in by_search.items():
            kept, share, cpu = line["gain_kept"], line["time_share"], line["cpu_share"]
            print(
                f"{name}: {search} kept {'-' if kept is None else f'{kept:.0%}'} of the full "
                f"search's gain at {'-' if share is None else f'{share:.0%}'} of its time "
                f"({'-' if cpu is None else f'{cpu:.0%}'} of its CPU time; "
                f"{search} - full: {line['auc_vs_full_mean']:+.4f})"
            )


def _std(summary: dict) -> str:
    return "-" if summary["auc_std"] is None else f"{summary['auc_std']:.4f}"


if __name__ == "__main__":
    main()
