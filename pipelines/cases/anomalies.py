"""Consistency anomalies in the case store, and their follow-up.

A run records every anomaly it lists (``record_run``): an anomaly key already recorded with the
same values writes nothing, so an anomaly that persists from run to run keeps its identity and
its follow-up; a new key is dispatched to its department. The run also examines again every open
anomaly (``open_anomalies`` gives the engine their periods): one whose data changed at its source
so that the rule no longer fires is closed as corrected by the run itself. Departments report the
rest (``record_follow_up``: verified, corrected, false alarm), one chain of states per anomaly.
``rule_precision`` measures each rule on its closed anomalies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from data_contracts.rules import CORRECTED, DISPATCHED, CompareRule, Topics
from models.accuracy import wilson_interval
from pipelines.cases.history import NOW, AsOf, current
from pipelines.cases.store import CaseStore
from pipelines.cases.tables import (
    CONSISTENCY_FOLLOW_UP,
    CONSISTENCY_RUN,
    Anomaly,
    AnomalyFollowUp,
)

RUN = "run"  # ``by`` of what a run did itself
ANOMALY_COLUMNS = (
    "anomaly_key",
    "rule_id",
    "topic",
    "department",
    "severity",
    "uscc",
    "firm_name",
    "period",
    "period_start",
    "left_value",
    "right_value",
    "left_source",
    "right_source",
    "measure",
    "text_zh",
)


class FollowUpError(ValueError):
    """A follow-up that cannot be recorded (names the anomaly and why)."""


def _anomaly_values(row: Mapping[str, Any], as_of: dt.date) -> dict[str, Any]:
    values = {
        "anomaly_key": row["anomaly_key"],
        "rule_id": row["rule_id"],
        "topic": row["topic"],
        "department": row["department"],
        "severity": row["severity"],
        "uscc": row["uscc"],
        "firm_name": row["firm_name"],
        "period": row["period"],
        "period_start": row["period_start"],
        "left_value": row["left_value_zh"],
        "right_value": row["right_value_zh"],
        "left_source": row["left_source"],
        "right_source": row["right_source"],
        "measure": row["measure"],
        "text_zh": row["text_zh"],
    }
    return {**values, "as_of": as_of}


def _same(recorded: Anomaly, values: Mapping[str, Any]) -> bool:
    """The anomaly as recorded says the same (the run date aside)."""
    return all(getattr(recorded, k) == v for k, v in values.items() if k != "as_of")


def current_anomalies(store: CaseStore, as_of: AsOf = NOW) -> pl.DataFrame:
    return store.frame(Anomaly, as_of)


def current_follow_ups(store: CaseStore, as_of: AsOf = NOW) -> pl.DataFrame:
    return store.frame(AnomalyFollowUp, as_of)


def open_anomalies(store: CaseStore, topics: Topics) -> pl.DataFrame:
    """Anomalies whose follow-up is not closed: rule_id, uscc, period, period_start (what the
    engine examines again), anomaly_key and status."""
    closed = [s.key for s in topics.statuses if s.closed]
    follow = current_follow_ups(store).filter(~pl.col("status").is_in(closed))
    return (
        current_anomalies(store)
        .join(follow.select("anomaly_key", "status"), on="anomaly_key")
        .select("rule_id", "uscc", "period", "period_start", "anomaly_key", "status")
        .sort("anomaly_key")
    )


def record_run(
    store: CaseStore,
    anomalies: pl.DataFrame,
    revisited: pl.DataFrame,
    *,
    as_of: dt.date,
    rules: Mapping[str, Any],
    topics: Topics,
    operator: str,
    source: str,
    received_at: dt.datetime,
    details: Mapping[str, Any] | None = None,
) -> dict[str, int]:
    """Record one run: ``anomalies`` (the anomaly list) and ``revisited`` (open anomalies the run
    examined again and found not violated, described like the list). Returns counts: new,
    persisting, changed, reopened, corrected (closed by the run)."""
    counts = {"new": 0, "persisting": 0, "changed": 0, "reopened": 0, "corrected": 0}
    closed = {s.key for s in topics.statuses if s.closed}
    with store.write(
        CONSISTENCY_RUN, operator, source, details={"as_of": str(as_of), **(details or {})}
    ) as change:
        recorded = {row.anomaly_key: row for row in _current(change.session, Anomaly)}
        states = {row.anomaly_key: row for row in _current(change.session, AnomalyFollowUp)}
        for row in anomalies.iter_rows(named=True):
            values = _anomaly_values(row, as_of)
            key = values["anomaly_key"]
            before = recorded.get(key)
            if before is None:
                change.add(Anomaly(**values, received_at=received_at, withdrawn=False))
                counts["new"] += 1
            elif _same(before, values):
                counts["persisting"] += 1
            else:
                change.supersede(
                    before, Anomaly(**values, received_at=received_at, withdrawn=False)
                )
                counts["changed"] += 1
            state = states.get(key)
            if state is None:
                _follow(change, state, values, DISPATCHED, as_of, None, received_at)
            elif state.status in closed and not (
                before is not None and _same(before, values) and state.status != CORRECTED
            ):
                # Back after it was closed: corrected data that went wrong again, or a false
                # alarm whose values have changed. A false alarm unchanged stays closed.
                note = f"再次发现：{values['text_zh']}"
                _follow(change, state, values, DISPATCHED, as_of, note, received_at)
                counts["reopened"] += 1
        for row in revisited.iter_rows(named=True):
            key = row["anomaly_key"]
            before, state = recorded.get(key), states.get(key)
            if before is None or state is None or state.status in closed:
                continue
            rule = rules[row["rule_id"]]
            changed = before.left_value != row["left_value_zh"] or (
                isinstance(rule, CompareRule) and before.right_value != row["right_value_zh"]
            )
            if changed:
                note = (
                    f"源头数据已更正：{row['left_label_zh']} {row['left_value_zh'] or '（无）'}，"
                    f"{row['right_label_zh']} {row['right_value_zh'] or '（无）'}"
                )
                values = _anomaly_values({**row, "firm_name": before.firm_name}, as_of)
                _follow(change, state, values, CORRECTED, as_of, note, received_at)
                counts["corrected"] += 1
    return counts


def _current(session, model) -> list:
    return list(session.scalars(current(model, NOW).order_by(model.id)))


def _follow(
    change,
    state: AnomalyFollowUp | None,
    values: Mapping[str, Any],
    status: str,
    decided_on: dt.date | None,
    note: str | None,
    received_at: dt.datetime,
    by: str = RUN,
) -> None:
    row = AnomalyFollowUp(
        anomaly_key=values["anomaly_key"],
        rule_id=values["rule_id"],
        department=values["department"],
        uscc=values["uscc"],
        status=status,
        decided_on=decided_on,
        by=by,
        note=note,
        received_at=received_at,
        withdrawn=False,
    )
    if state is None:
        change.add(row)
    else:
        change.supersede(state, row)


# Which department report may follow which state (a closed anomaly is reopened only by a run).
ALLOWED = {
    "dispatched": ("verified", "corrected", "false_alarm"),
    "verified": ("corrected", "false_alarm"),
}


def record_follow_up(
    store: CaseStore,
    reports: Sequence[Mapping[str, Any]],
    *,
    topics: Topics,
    operator: str,
    source: str,
    received_at: dt.datetime,
) -> dict[str, int]:
    """Record departments' reports, each ``{anomaly_key, status, decided_on, note}``, in one
    transaction: every report is checked first, and one that names an unknown anomaly or a
    move its state does not allow rejects the whole batch (nothing is written)."""
    known = {s.key for s in topics.statuses}
    counts = {"recorded": 0, "unchanged": 0}
    with store.write(CONSISTENCY_FOLLOW_UP, operator, source) as change:
        states = {row.anomaly_key: row for row in _current(change.session, AnomalyFollowUp)}
        for number, report in enumerate(reports, start=1):
            key, status = report["anomaly_key"], report["status"]
            where = f"{source} item {number} ({key})"
            if status not in known:
                raise FollowUpError(f"{where}: unknown status {status!r}; one of {sorted(known)}")
            state = states.get(key)
            if state is None:
                raise FollowUpError(f"{where}: no such anomaly in the case store")
            note = report.get("note")
            if state.status == status and state.note == note:
                counts["unchanged"] += 1
                continue
            if status != state.status and status not in ALLOWED.get(state.status, ()):
                raise FollowUpError(
                    f"{where}: cannot go from {state.status!r} to {status!r}"
                    f" (allowed: {list(ALLOWED.get(state.status, ())) or 'none, it is closed'})"
                )
            values = {
                "anomaly_key": key,
                "rule_id": state.rule_id,
                "department": state.department,
                "uscc": state.uscc,
            }
            new = AnomalyFollowUp(
                **values,
                status=status,
                decided_on=report.get("decided_on"),
                by=operator,
                note=note,
                received_at=received_at,
                withdrawn=False,
            )
            change.supersede(state, new)
            states[key] = new
            counts["recorded"] += 1
    return counts


def follow_up_table(store: CaseStore, topics: Topics) -> pl.DataFrame:
    """Every anomaly with its follow-up: key, rule, firm, period, status (zh), since when the
    anomaly is known (the first run that found it), the last decision and note."""
    history = store.frame(Anomaly, NOW, history=True)
    first = history.group_by("anomaly_key").agg(pl.col("as_of").min().alias("first_found"))
    follow = current_follow_ups(store).select(
        "anomaly_key", "status", "decided_on", "by", "note", pl.col("received_at").alias("updated")
    )
    names = {s.key: s.name.zh for s in topics.statuses}
    return (
        current_anomalies(store)
        .join(first, on="anomaly_key", how="left")
        .join(follow, on="anomaly_key", how="left")
        .with_columns(pl.col("status").replace_strict(names, default=None).alias("status_zh"))
        .sort("anomaly_key")
    )


def rule_precision(store: CaseStore, rule_ids: Sequence[str], topics: Topics) -> pl.DataFrame:
    """Per rule: anomalies by follow-up status and the precision of its closed ones (true
    contradictions among those closed, with a Wilson 95% interval); null before any is closed."""
    statuses = [s.key for s in topics.statuses]
    real = [s.key for s in topics.statuses if s.closed and s.real]
    closed = [s.key for s in topics.statuses if s.closed]
    tally: dict[tuple[str, str], int] = {}
    for key in current_follow_ups(store).select("rule_id", "status").iter_rows():
        tally[key] = tally.get(key, 0) + 1
    rows = []
    for rule_id in sorted(rule_ids):
        by_status = {s: tally.get((rule_id, s), 0) for s in statuses}
        trials = sum(by_status[s] for s in closed)
        hits = sum(by_status[s] for s in real)
        low, high = wilson_interval(hits, trials) if trials else (None, None)
        rows.append(
            {
                "rule_id": rule_id,
                **by_status,
                "closed": trials,
                "precision": hits / trials if trials else None,
                "precision_low": low,
                "precision_high": high,
            }
        )
    schema = {
        "rule_id": pl.String,
        **dict.fromkeys(statuses, pl.Int64),
        "closed": pl.Int64,
        "precision": pl.Float64,
        "precision_low": pl.Float64,
        "precision_high": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")
