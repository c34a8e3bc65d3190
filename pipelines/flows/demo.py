"""The demo: the whole pipeline on the simulated park, end to end, over two consecutive weeks.

simulate -> ingest -> features (as of the first week) -> train -> publish the first week ->
the simulated regulators return its workbooks -> feedback import and department sources ->
the simulated credit centre repairs the records behind a listed firm's explanation -> ingest ->
publish the second week (its lists show the first week's accuracy; every enterprise's credit
risk class) -> model cards -> next month's double-random inspection plan -> feedback report.
Each stage is timed, and run_summary.json names every artefact (paths relative to the
workdir). The models trained for the first week publish the second too, as a weekly list does
between monthly retrains.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow

from data_contracts.feedback import load_feedback
from data_contracts.rules import load_rules
from data_contracts.simulate import consistency_score
from models.accuracy import follow_up, wilson_interval
from models.config import load_industries
from pipelines import consistency_io, datasets, file_io
from pipelines.cases import open_store
from pipelines.cases.inspections import inspections
from pipelines.cases.listings import listings
from pipelines.feedback.report import FOLLOW_UP_DAYS
from pipelines.flows.audit import model_cards_flow
from pipelines.flows.consistency import consistency_flow
from pipelines.flows.credit_centre import credit_centre_flow, repair_outcome
from pipelines.flows.features import build_features_flow
from pipelines.flows.feedback import import_workbook_flow, report_flow, sync_sources_flow
from pipelines.flows.ingest import ingest_flow
from pipelines.flows.inspect import plan_flow
from pipelines.flows.objectors import firms_object
from pipelines.flows.publish import publish_flow
from pipelines.flows.regulators import regulators_flow
from pipelines.flows.simulate import simulate_flow
from pipelines.flows.train import train_flow
from pipelines.inspection.inputs import PlanMonth
from pipelines.publish_io import SCORES
from pipelines.settings import Settings
from pipelines.timeline import (
    PARK_TZ,
    park_today,
    parse_day,
    previous_week,
    published_on,
    resolve_week,
    week_label,
)

# The simulated park ends on this Sunday unless the run is live, so every run of a commit gives
# the figures the README quotes (docs/demo_figures.json); its lists are 2026-W48 and 2026-W49.
DEMO_END_DATE = dt.date(2026, 11, 29)
# The park's pilot consistency check covered 151 firms.
PILOT_FIRMS = 151
CHECK_AGAIN_AFTER_DAYS = 28


class _Stopwatch:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str, announce: Callable[[str], None] = print):
        announce(f"[ews demo] {name} ...")
        started = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - started, 2)
        announce(f"[ews demo] {name} done in {self.timings[name]:.1f} s")


def _relative(workdir: Path, value: Any) -> Any:
    """Artefact paths relative to the workdir (nested mappings kept as they are)."""
    if isinstance(value, dict):
        return {k: _relative(workdir, v) for k, v in value.items()}
    if isinstance(value, str | Path) and Path(value).is_absolute():
        return Path(value).resolve().relative_to(workdir).as_posix()
    return value


def second_week_feedback(root: Path, first_week: str, week: str) -> dict[str, str]:
    """The first week's workbooks come back before the second week's cut-off (on its Friday,
    at 17:30 in the park) and are imported; the departments' own inspections are synced."""
    returned_on = resolve_week(week)[1] - dt.timedelta(days=2)
    returned = regulators_flow(workdir=str(root), week=first_week, returned_on=returned_on)
    received = dt.datetime.combine(returned_on, dt.time(17, 30), tzinfo=PARK_TZ)
    for path in returned["files"].values():
        import_workbook_flow(workdir=str(root), path=path, received_at=received)
    sync_sources_flow(workdir=str(root))
    return returned["files"]


def objections_artifact(
    settings: Settings, filed: list[dict[str, Any]], week: str
) -> dict[str, Any]:
    """The simulated objections and, for each, the firm's place on ``week``'s list (an upheld
    one is taken off it, ``list_basis`` objection_upheld; the model's own cut beside it)."""
    rows = []
    for objection in filed:
        scores = settings.publish / week / objection["industry"] / SCORES
        row = None
        if scores.is_file():
            found = pl.read_parquet(scores).filter(pl.col("uscc") == objection["uscc"])
            row = found.row(0, named=True) if found.height else None
        rows.append(
            {
                **objection,
                "second_week": None
                if row is None
                else {
                    "listed": row["listed"],
                    "model_listed": row.get("model_listed"),
                    "list_basis": row.get("list_basis"),
                    "rank": row["rank"],
                },
            }
        )
    upheld = [r for r in rows if r["decision"] in ("upheld", "partly_upheld")]
    return {
        "filed": len(rows),
        "upheld": len(upheld),
        "rejected": len(rows) - len(upheld),
        "removed_from_second_week": sum(
            bool(r["second_week"]) and r["second_week"]["list_basis"] == "objection_upheld"
            for r in upheld
        ),
        "objections": rows,
        "page": str(settings.site / "objections" / datasets.INDEX_PAGE),
    }


def case_store_artifact(health: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The case store in the summary: its file (embedded SQLite) or its URL, and what it holds."""
    where = (
        {"path": str(settings.workdir / "cases.db")}
        if health["dialect"] == "sqlite" and not settings.case_store_url
        else {"url": health["url"]}
    )
    return {**where, **{k: v for k, v in health.items() if k != "url"}}


def compare_with_truth(settings: Settings, week: str, at: dt.date) -> dict[str, Any]:
    """How close the measured accuracy of ``week``'s lists is to the simulator's truth.

    Measured: the confirmed share among the listed firms inspected by ``at``, exactly as the
    feedback report counts it (``models.accuracy.follow_up`` over the case store). Truth: a listed
    firm was at risk when its distress event fell within the industry's horizon after the list's
    as-of date; its share among the same inspected firms, and among all listed firms. The gap
    between measured and truth is the inspectors' error (sensitivity, false alarms) plus chance.
    Diagnostics only: reads sim_truth.
    """
    contract = load_feedback()
    store = open_store(settings)
    try:
        listed = listings(store).filter(pl.col("week") == week)
        followed = follow_up(
            listed,
            inspections(store),
            at=at,
            window_days=FOLLOW_UP_DAYS,
            inspected=contract.inspected(),
            confirming=contract.confirming(),
        )
    finally:
        store.dispose()
    firms = pl.read_parquet(datasets.SIM_FIRMS.path(settings.workdir))
    firms = firms.select("uscc", "distress_date")
    _, as_of = resolve_week(week)
    out: dict[str, Any] = {"week": week, "at": at.isoformat()}
    for industry, spec in load_industries().items():
        horizon = as_of + dt.timedelta(days=spec.horizon_days)
        mine = (
            followed.filter(pl.col("industry") == industry)
            .join(firms, on="uscc", how="left")
            .with_columns(
                at_risk=pl.col("distress_date")
                .is_between(as_of, horizon, closed="right")
                .fill_null(False)  # never distressed: not at risk
            )
        )
        if mine.height == 0:
            continue
        inspected = mine.filter(pl.col("inspected"))
        confirmed = int(inspected["confirmed"].sum())
        low, high = (
            wilson_interval(confirmed, inspected.height) if inspected.height else (None,) * 2
        )
        out[industry] = {
            "listed": mine.height,
            "inspected": inspected.height,
            "measured_confirmed_share": _share(inspected["confirmed"]),
            "measured_ci": [_round(low), _round(high)],
            "truly_at_risk_share_of_inspected": _share(inspected["at_risk"]),
            "truly_at_risk_share_of_listed": _share(mine["at_risk"]),
        }
    return out


def consistency_vs_truth(settings: Settings, folder: str, as_of: dt.date) -> dict[str, Any]:
    """The consistency run in ``folder`` scored against the contradictions ``ews simulate``
    planted (``sim_truth/consistency.parquet``) over the firms it examined: precision and recall
    micro-averaged over the rules, with the counts behind them. Diagnostics only: reads sim_truth.
    """
    examined = pl.read_parquet(Path(folder) / "examined.parquet")
    truth = pl.read_parquet(datasets.SIM_CONSISTENCY.at(settings.sim_truth)).join(
        examined.select("uscc").unique(), on="uscc", how="semi"
    )
    table = consistency_score.score(truth, examined, sorted(load_rules()), as_of)
    figures = consistency_score.totals(table)
    return {
        key: round(value, 4) if isinstance(value, float) else value
        for key, value in figures.items()
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _share(values: pl.Series) -> float | None:
    return round(float(values.cast(pl.Float64).mean()), 4) if values.len() else None


def demo_end_date(end_date: str | dt.date | None = None, live: bool = False) -> dt.date:
    """The simulated park's last day: ``DEMO_END_DATE`` by default, ``end_date`` when given,
    today for a live run."""
    if live and end_date is not None:
        raise ValueError("a live demo ends today: give either live or end_date, not both")
    if live:
        return park_today()
    return DEMO_END_DATE if end_date is None else parse_day(end_date, "end_date")


def demo_week(end: dt.date) -> str:
    """The newest week the park's data can publish: the one whose as-of Sunday is the last on
    or before ``end`` (2026-W49 for the default end, Sunday 2026-11-29)."""
    return week_label(end + dt.timedelta(days=1))


@flow(name="demo", log_prints=True)
def demo_flow(
    workdir: str,
    scale: str = "small",
    seed: int = 20261121,
    end_date: str | dt.date | None = None,
    live: bool = False,
) -> dict[str, Any]:
    """The whole pipeline on a park simulated up to ``demo_end_date(end_date, live)``; the
    deliveries are ingested as of that day, and its two newest weeks are published."""
    settings = Settings(workdir=Path(workdir), scale=scale, seed=seed)
    end = demo_end_date(end_date, live)
    root = settings.workdir
    root.mkdir(parents=True, exist_ok=True)
    watch = _Stopwatch()
    artifacts: dict[str, Any] = {}

    with watch.stage("simulate"):
        simulate_flow(workdir=str(root), scale=scale, seed=seed, end_date=end)
    with watch.stage("ingest"):
        ingested = ingest_flow(workdir=str(root), as_of=end)
        artifacts["ingest_summary"] = ingested["ingest_summary"]
        artifacts["data_docs"] = ingested["data_docs"]
    week = demo_week(end)
    first_week = previous_week(week)
    # Features as of the first week's publication date, so publish scores this very table.
    _, first_as_of = resolve_week(first_week)
    with watch.stage("features"):
        built = build_features_flow(workdir=str(root), as_of=first_as_of)
        artifacts["feature_table"] = built["feature_table"]
        artifacts["feature_history"] = built["feature_history"]
    with watch.stage("train"):
        trained = train_flow(workdir=str(root))
        artifacts["models"] = trained["models"]
        artifacts["metrics"] = trained["metrics"]
    with watch.stage("publish"):
        published = publish_flow(workdir=str(root), week=first_week)
        artifacts["first_week_lists"] = published["lists"]
    with watch.stage("feedback"):
        artifacts["returned_workbooks"] = second_week_feedback(root, first_week, week)
    with watch.stage("credit_repair"):
        # The credit centre repairs the records behind a first-week listed firm's explanation
        # before the second week's cut-off; they arrive with the week's other deliveries.
        repaired = credit_centre_flow(
            workdir=str(root),
            week=first_week,
            repaired_on=resolve_week(week)[1] - dt.timedelta(days=3),
        )
        ingest_flow(workdir=str(root), as_of=end)
    with watch.stage("objections"):
        # Listed firms object on the first week's Tuesday; decided by its Thursday, before the
        # second week's cut-off, so an upheld one takes its firm off the second week's list.
        # The firm whose records the credit centre repaired does not object: each shows alone.
        filed = firms_object(
            root,
            first_week,
            published_on(first_week) + dt.timedelta(days=1),
            exclude=tuple(u for u in [repaired.get("uscc")] if u),
        )
    with watch.stage("publish_second_week"):
        _, as_of = resolve_week(week)
        build_features_flow(workdir=str(root), as_of=as_of, with_history=False)
        published = publish_flow(workdir=str(root), week=week)
        artifacts["lists"] = published["lists"]
        artifacts["site"] = published["site"]
        artifacts["credit_repair"] = repair_outcome(str(root), repaired, [first_week, week])
        artifacts["objections"] = objections_artifact(settings, filed, week)
    with watch.stage("consistency"):
        # A pilot like the park's: the 151 firms most at risk on this week's lists.
        pilot = consistency_io.write_firm_list(
            settings.consistency / f"pilot_{as_of.isoformat()}.csv",
            consistency_io.pilot_from_lists(list(published["lists"].values()), PILOT_FIRMS),
        )
        # Checked four weeks earlier too, on the data then: anomalies corrected at their source
        # since are closed by the second run, and their rules' precision shows.
        earlier = consistency_flow(
            workdir=str(root),
            as_of=as_of - dt.timedelta(days=CHECK_AGAIN_AFTER_DAYS),
            firms_file=str(pilot),
        )
        checked = consistency_flow(workdir=str(root), as_of=as_of, firms_file=str(pilot))
        artifacts["consistency"] = {
            "pilot_firms": str(pilot),
            "run": checked["folder"],
            "manifest": checked["manifest"],
            "site": checked["site"],
            "firms": checked["firms"],
            "anomalies": checked["anomalies"],
            "firms_with_anomalies": checked["firms_with_anomalies"],
            "topics": len(checked["by_topic"]),
            "by_topic": checked["by_topic"],
            "earlier_run": earlier["manifest"],
            "closed_as_corrected": checked["case_store"]["corrected"],
            "vs_truth": consistency_vs_truth(settings, checked["folder"], as_of),
        }
    with watch.stage("model_cards"):
        artifacts["model_cards"] = model_cards_flow(workdir=str(root))
    artifacts["tiers"] = published["tiers"]
    # The general model's scores of every enterprise outside the industries (no list).
    artifacts["general_scores"] = published["general"]
    # The next month's double-random plan, from the credit classes just published.
    month = PlanMonth.following(published_on(published["week"]))
    with watch.stage("inspection_plan"):
        plan = plan_flow(workdir=str(root), month=month.label)
        artifacts["inspection_plan"] = {
            "month": plan["month"],
            "seed": plan["seed"],
            "tier_snapshot": plan["tier_snapshot"],
            "departments": {k: v["folder"] for k, v in plan["departments"].items()},
            "workbooks": {k: v["workbook"] for k, v in plan["departments"].items()},
            "page": str(root / "site" / "inspection" / plan["month"] / datasets.INDEX_PAGE),
            "warnings": {k: v["warnings"] for k, v in plan["departments"].items() if v["warnings"]},
        }
    with watch.stage("feedback_report"):
        report = report_flow(workdir=str(root), at=as_of.isoformat())
        artifacts["feedback"] = report["report"]
        artifacts["case_store"] = case_store_artifact(report["case_store"], settings)
        truth = compare_with_truth(settings, first_week, as_of)

    summary = {
        "workdir": str(root),
        "scale": scale,
        "seed": seed,
        "end_date": end.isoformat(),
        "live": live,
        "weeks": [first_week, week],
        "artifacts": _relative(root, artifacts),
        "feedback_vs_truth": truth,
        "timings_s": {**watch.timings, "total": round(sum(watch.timings.values()), 2)},
    }
    file_io.write_json(datasets.RUN_SUMMARY.path(root), summary)
    return summary
