"""An upheld objection to a fact, traced to the record behind it and withdrawn from the
features from the decision day; a fact that is not one record is listed, not guessed at."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from features.facts import facts_for
from models.objections import FACT, LISTING, REJECTED, REMOVE, UPHELD, WITHDRAW_FACT
from pipelines import publish_io
from pipelines.fact_corrections import (
    FACT_NOT_FOUND,
    NOT_ONE_RECORD,
    as_corrections,
    read_corrections,
    resolve,
)
from tests.features.test_credit_repair import PENALTY_DAY, penalty
from tests.features.tiny_lake import build, frames, master, value

WEEK = "2024-W19"  # as of Sunday 2024-05-05, the day before its Monday
AS_OF = date(2024, 5, 5)
DECIDED = date(2024, 5, 16)


def _case(n: int, fact: str | None, status=UPHELD, remedy=WITHDRAW_FACT, subject=FACT) -> dict:
    return {
        "objection_id": f"OBJ-{n:06d}",
        "uscc": "F1",
        "week": WEEK,
        "industry": "finance",
        "subject": subject,
        "fact_text": fact,
        "status": status,
        "remedy": remedy,
        "decided_on": DECIDED,
    }


def test_an_upheld_fact_objection_withdraws_its_record_from_the_decision_day(tmp_path):
    records = [master(), penalty(), penalty("P-2", PENALTY_DAY + timedelta(days=3))]
    lake = frames(records)
    folder = tmp_path / "publish" / WEEK / "finance"
    folder.mkdir(parents=True)
    pl.DataFrame({"uscc": ["F1"], "feature": ["penalty_count_365d"]}).write_parquet(
        folder / publish_io.REASONS
    )
    shown = facts_for(lake, ["F1"], AS_OF, ["penalty_count_365d"])
    wrong = shown.filter(pl.col("fact_zh").str.starts_with("2024-03-04"))["fact_en"].item()
    objections = pl.DataFrame(
        [
            _case(1, f"  {wrong} "),  # quoted in English, with spaces
            _case(2, "a fact the page never showed"),
            _case(3, shown["fact_zh"][0], status=REJECTED, remedy=None),
            _case(4, None, subject=LISTING, remedy=REMOVE),
        ]
    )

    resolved = resolve(objections, lake, tmp_path / "publish")

    assert resolved.select("objection_id", "repaired_record", "unresolved").rows() == [
        ("OBJ-000001", "P-2", None),
        ("OBJ-000002", None, FACT_NOT_FOUND),
    ]
    path = tmp_path / "fact_corrections.parquet"
    resolved.write_parquet(path)
    corrections = read_corrections(path)
    assert corrections.equals(as_corrections(resolved))
    table = build(records, [DECIDED - timedelta(days=1), DECIDED], corrections=corrections)
    assert value(table, "penalty_count_365d", DECIDED - timedelta(days=1)) == 2
    assert value(table, "penalty_count_365d", DECIDED) == 1
    assert read_corrections(tmp_path / "absent.parquet") is None


def test_a_summary_fact_is_not_one_record_and_changes_no_feature(tmp_path):
    from tests.features.tiny_lake import rec

    records = [master()] + [
        rec("complaint_12345", received_date=day, category="拖欠工资")
        for day in (date(2024, 5, 1), date(2024, 5, 6))
    ]
    lake = frames(records)
    folder = tmp_path / "publish" / WEEK / "finance"
    folder.mkdir(parents=True)
    pl.DataFrame({"uscc": ["F1"], "feature": ["complaint_count_90d"]}).write_parquet(
        folder / publish_io.REASONS
    )
    [summary] = facts_for(lake, ["F1"], AS_OF, ["complaint_count_90d"])["fact_zh"].to_list()
    resolved = resolve(pl.DataFrame([_case(1, summary)]), lake, tmp_path / "publish")
    assert resolved.select("repaired_record", "unresolved").rows() == [(None, NOT_ONE_RECORD)]
    assert as_corrections(resolved).height == 0
