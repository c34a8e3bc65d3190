"""Consistency anomalies and their follow-up in the case store, on SQLite and PostgreSQL.

A persisting anomaly keeps its identity; one whose data is corrected at its source is closed by
the run; departments verify, correct or dismiss; a rule's precision comes from its closed
anomalies; bad reports are refused whole.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from data_contracts.rules import load_rules, load_topics
from features.rules.render import ANOMALY_SCHEMA
from pipelines.cases.anomalies import (
    FollowUpError,
    follow_up_table,
    open_anomalies,
    record_follow_up,
    record_run,
    rule_precision,
)
from pipelines.cases.store import CaseStore
from pipelines.cases.tables import Anomaly, AnomalyFollowUp

RULES = load_rules()
TOPICS = load_topics()
FIRM = "91320594MA1XXXXXX1"
T1 = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
T2 = T1 + dt.timedelta(days=7)
AS_OF_1, AS_OF_2 = dt.date(2026, 11, 22), dt.date(2026, 11, 29)


def anomaly(
    rule_id: str = "hc_report_vs_pension", uscc: str = FIRM, period: str = "2025", **values
):
    rule = RULES[rule_id]
    row = dict.fromkeys(ANOMALY_SCHEMA)
    row |= {
        "anomaly_key": f"{rule_id}|{uscc}|{period}",
        "rule_id": rule_id,
        "topic": rule.topic,
        "department": rule.department,
        "severity": rule.severity.value,
        "uscc": uscc,
        "firm_name": "苏州测试有限公司",
        "period": period,
        "period_start": dt.date(int(period[:4]), 1, 1) if period[:4].isdigit() else None,
        "left_value_zh": "120",
        "right_value_zh": "41",
        "left_label_zh": "年报从业人数",
        "right_label_zh": "参保人数",
        "left_source": "annual_report_basic",
        "right_source": "si_pension",
        "measure": 0.66,
        "text_zh": "2025年报从业人数 120 人，参保 41 人",
    }
    return row | values


def frame(*rows: dict) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=ANOMALY_SCHEMA, orient="row")


def run(store: CaseStore, anomalies: pl.DataFrame, revisited=None, *, as_of=AS_OF_1, at=T1):
    return record_run(
        store,
        anomalies,
        frame() if revisited is None else revisited,
        as_of=as_of,
        rules=RULES,
        topics=TOPICS,
        operator="tester",
        source="consistency/test/park",
        received_at=at,
    )


def status_of(store: CaseStore, key: str) -> str:
    table = follow_up_table(store, TOPICS).filter(pl.col("anomaly_key") == key)
    return table["status"].item()


def report(key: str, status: str, note: str | None = None, on: dt.date | None = None) -> dict:
    return {"anomaly_key": key, "status": status, "note": note, "decided_on": on}


def follow(store: CaseStore, *reports: dict, at: dt.datetime = T2) -> dict:
    return record_follow_up(
        store,
        list(reports),
        topics=TOPICS,
        operator="劳动保障",
        source="returned.xlsx",
        received_at=at,
    )


def test_a_new_anomaly_is_recorded_and_dispatched(store: CaseStore) -> None:
    counts = run(store, frame(anomaly()))
    assert counts == {"new": 1, "persisting": 0, "changed": 0, "reopened": 0, "corrected": 0}
    key = anomaly()["anomaly_key"]
    assert status_of(store, key) == "dispatched"
    open_ = open_anomalies(store, TOPICS)
    assert open_["anomaly_key"].to_list() == [key]
    assert open_["period_start"].to_list() == [dt.date(2025, 1, 1)]


def test_a_persisting_anomaly_keeps_its_identity_and_writes_nothing(store: CaseStore) -> None:
    run(store, frame(anomaly()))
    batches = len(store.batches())
    counts = run(store, frame(anomaly()), as_of=AS_OF_2, at=T2)
    assert (counts["new"], counts["persisting"]) == (0, 1)
    assert len(store.batches()) == batches, "nothing changed: no batch"
    assert store.frame(Anomaly).height == 1
    table = follow_up_table(store, TOPICS)
    assert table["first_found"].to_list() == [AS_OF_1]


def test_an_anomaly_found_with_other_values_keeps_its_key_and_its_history(store: CaseStore) -> None:
    run(store, frame(anomaly()))
    counts = run(store, frame(anomaly(left_value_zh="130")), as_of=AS_OF_2, at=T2)
    assert counts["changed"] == 1
    history = store.frame(Anomaly, history=True)
    assert history["left_value"].to_list() == ["120", "130"]
    assert status_of(store, anomaly()["anomaly_key"]) == "dispatched"
    assert store.frame(AnomalyFollowUp, history=True).height == 1


def test_an_open_anomaly_corrected_at_its_source_is_closed_by_the_run(store: CaseStore) -> None:
    run(store, frame(anomaly()))
    corrected = anomaly(left_value_zh="44", text_zh="no longer")
    counts = run(store, frame(), frame(corrected), as_of=AS_OF_2, at=T2)
    assert counts["corrected"] == 1
    key = anomaly()["anomaly_key"]
    assert status_of(store, key) == "corrected"
    note = follow_up_table(store, TOPICS).filter(pl.col("anomaly_key") == key)["note"].item()
    assert "44" in note and "41" in note
    assert open_anomalies(store, TOPICS).is_empty()


def test_an_anomaly_examined_again_with_the_same_values_stays_open(store: CaseStore) -> None:
    """Not violated with unchanged values means the rule changed, not the data: not corrected."""
    run(store, frame(anomaly()))
    assert run(store, frame(), frame(anomaly()), as_of=AS_OF_2, at=T2)["corrected"] == 0
    assert status_of(store, anomaly()["anomaly_key"]) == "dispatched"


def test_a_lapse_is_corrected_only_when_its_state_changes(store: CaseStore) -> None:
    """For a lapse rule the months of activity move on by themselves; only the licence or the
    status (the left value) changing is a correction."""
    lapse = anomaly(
        "lic_lapsed_paying_si",
        period="licence_road_transport/L-1",
        left_value_zh="过期",
        right_value_zh="5,000",
    )
    run(store, frame(lapse))
    moved_on = {**lapse, "right_value_zh": "6,000"}
    assert run(store, frame(), frame(moved_on), as_of=AS_OF_2, at=T2)["corrected"] == 0
    renewed = {**lapse, "left_value_zh": ""}
    assert (
        run(store, frame(), frame(renewed), as_of=AS_OF_2, at=T2 + dt.timedelta(days=1))[
            "corrected"
        ]
        == 1
    )


def test_departments_verify_correct_or_dismiss_and_precision_follows(store: CaseStore) -> None:
    keys = [anomaly(uscc=f"91320594MA1XXXXX{i:02d}")["anomaly_key"] for i in range(4)]
    run(store, frame(*[anomaly(uscc=k.split("|")[1]) for k in keys]))
    counts = follow(
        store,
        report(keys[0], "verified", on=dt.date(2026, 11, 25)),
        report(keys[1], "corrected", "年报已更正"),
        report(keys[2], "false_alarm", "临时工未参保，属实情况"),
    )
    assert counts == {"recorded": 3, "unchanged": 0}
    follow(store, report(keys[0], "corrected"), at=T2 + dt.timedelta(days=1))
    precision = rule_precision(store, ["hc_report_vs_pension"], TOPICS).row(0, named=True)
    assert (precision["corrected"], precision["false_alarm"], precision["dispatched"]) == (2, 1, 1)
    assert precision["closed"] == 3
    assert precision["precision"] == pytest.approx(2 / 3)
    assert 0 < precision["precision_low"] < 2 / 3 < precision["precision_high"] < 1
    history = store.frame(AnomalyFollowUp, history=True).filter(pl.col("anomaly_key") == keys[0])
    assert history["status"].to_list() == ["dispatched", "verified", "corrected"]


def test_a_rule_without_closed_anomalies_has_no_precision_yet(store: CaseStore) -> None:
    run(store, frame(anomaly()))
    row = rule_precision(store, ["hc_report_vs_pension", "credit_grade_a_while_dishonest"], TOPICS)
    assert row["precision"].to_list() == [None, None]
    assert dict(row.select("rule_id", "dispatched").rows()) == {
        "credit_grade_a_while_dishonest": 0,
        "hc_report_vs_pension": 1,
    }


def test_a_dismissed_anomaly_found_again_unchanged_stays_dismissed(store: CaseStore) -> None:
    run(store, frame(anomaly()))
    key = anomaly()["anomaly_key"]
    follow(store, report(key, "false_alarm"))
    counts = run(store, frame(anomaly()), as_of=AS_OF_2, at=T2 + dt.timedelta(days=1))
    assert counts["reopened"] == 0
    assert status_of(store, key) == "false_alarm"


def test_a_corrected_anomaly_that_comes_back_is_reopened(store: CaseStore) -> None:
    run(store, frame(anomaly()))
    key = anomaly()["anomaly_key"]
    run(store, frame(), frame(anomaly(left_value_zh="44")), as_of=AS_OF_2, at=T2)
    counts = run(store, frame(anomaly()), as_of=AS_OF_2, at=T2 + dt.timedelta(days=1))
    assert counts["reopened"] == 1
    assert status_of(store, key) == "dispatched"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (report("nope|91320594MA1XXXXXX1|2025", "verified"), "no such anomaly"),
        (report("hc_report_vs_pension|91320594MA1XXXXXX1|2025", "solved"), "unknown status"),
    ],
)
def test_a_bad_report_rejects_the_whole_batch(store: CaseStore, bad, message) -> None:
    run(store, frame(anomaly()))
    good = report(anomaly()["anomaly_key"], "verified")
    before = store.frame(AnomalyFollowUp, history=True).height
    with pytest.raises(FollowUpError, match=message) as error:
        follow(store, good, bad)
    assert "returned.xlsx item 2" in str(error.value)
    assert store.frame(AnomalyFollowUp, history=True).height == before


def test_a_closed_anomaly_cannot_be_reopened_by_a_department(store: CaseStore) -> None:
    run(store, frame(anomaly()))
    key = anomaly()["anomaly_key"]
    follow(store, report(key, "false_alarm"))
    with pytest.raises(FollowUpError, match="cannot go from 'false_alarm' to 'verified'"):
        follow(store, report(key, "verified"), at=T2 + dt.timedelta(days=1))


def test_the_same_report_twice_changes_nothing(store: CaseStore) -> None:
    run(store, frame(anomaly()))
    key = anomaly()["anomaly_key"]
    follow(store, report(key, "verified", "已约谈"))
    assert follow(store, report(key, "verified", "已约谈"), at=T2 + dt.timedelta(days=1)) == {
        "recorded": 0,
        "unchanged": 1,
    }
