"""The consistency-rules benchmark: its scoring against hand-built truth (a correction, a
contradiction not yet visible, a near miss flagged, a period the run does not examine), and one
run on the tiny park."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import polars as pl
import pytest

from data_contracts.simulate.consistency import NEAR_MISS, TRUTH_SCHEMA, VIOLATION

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "consistency_rules.py"
AS_OF = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("consistency_rules_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def truth(*rows: tuple) -> pl.DataFrame:
    """(rule, firm, period, kind, visible_from, corrected_at) rows."""
    records = [
        {
            "rule_id": r,
            "uscc": u,
            "period": p,
            "period_start": dt.date(2026, 1, 1),
            "kind": k,
            "visible_from": v,
            "corrected_at": c,
            "left": "1",
            "right": "2",
            "origin": r,
        }
        for r, u, p, k, v, c in rows
    ]
    return pl.DataFrame(records, schema=TRUTH_SCHEMA)


def examined(*rows: tuple) -> pl.DataFrame:
    return pl.DataFrame(
        [{"rule_id": r, "uscc": u, "period": p, "violated": v} for r, u, p, v in rows],
        schema={
            "rule_id": pl.String,
            "uscc": pl.String,
            "period": pl.String,
            "violated": pl.Boolean,
        },
    )


def test_scores_count_what_the_data_shows_at_the_as_of_date(bench):
    seen = dt.date(2026, 6, 1)
    planted = truth(
        ("a", "F1", "2026-10", VIOLATION, seen, None),  # found
        ("a", "F2", "2026-10", VIOLATION, seen, None),  # examined, missed
        ("a", "F3", "2024-01", VIOLATION, seen, None),  # an old period the run does not examine
        ("a", "F4", "2026-10", VIOLATION, dt.date(2026, 12, 1), None),  # not arrived yet
        ("a", "F5", "2026-10", VIOLATION, seen, dt.datetime(2026, 11, 2, 9)),  # corrected
        ("a", "F6", "2026-10", NEAR_MISS, seen, None),  # flagged: a false alarm
        ("b", "F1", "2026-10", VIOLATION, seen, dt.datetime(2026, 12, 2, 9)),  # corrected later
    )
    run = examined(
        ("a", "F1", "2026-10", True),
        ("a", "F2", "2026-10", False),
        ("a", "F4", "2026-10", True),
        ("a", "F5", "2026-10", True),
        ("a", "F6", "2026-10", True),
        ("a", "F7", "2026-10", True),  # nothing planted there
        ("b", "F1", "2026-10", True),
    )
    table = bench.score(planted, run, ["b", "a", "c"], AS_OF)
    assert table.schema == pl.Schema(bench.SCORE_SCHEMA)
    assert table["rule_id"].to_list() == ["a", "b", "c"]
    a, b, c = table.to_dicts()
    assert (a["planted"], a["examined"], a["not_examined"]) == (3, 2, 1)
    assert (a["flagged"], a["true_positives"], a["false_positives"], a["missed"]) == (5, 1, 4, 1)
    assert a["innocent_flagged"] == 3  # F4 (not visible), F5 (corrected), F6 (near miss)
    assert a["precision"] == pytest.approx(1 / 5) and a["recall"] == pytest.approx(1 / 2)
    assert a["recall_all"] == pytest.approx(1 / 3)
    assert (b["precision"], b["recall"]) == (1.0, 1.0)
    assert c["planted"] == c["flagged"] == 0 and c["precision"] is None and c["recall"] is None
    totals = bench.totals(table)
    assert totals["true_positives"] == 2 and totals["flagged"] == 6
    assert totals["precision"] == pytest.approx(2 / 6) and totals["rules_flagging"] == 2


def test_one_run_on_the_tiny_park_finds_what_was_planted(bench):
    result = bench.run_scale("tiny", 7, AS_OF)
    totals = result["totals"]
    assert result["firms_examined"] == result["entities"] == 200
    assert totals["examined"] > 0 and totals["precision"] == 1.0 and totals["recall"] == 1.0
    assert result["examine_s"] > 0 and not result["skipped_rules"]
    printed = bench.report({"tiny": {**result, "wall_s": 1.0, "peak_rss_mb": 1}}).splitlines()
    assert "tiny planted" in printed[0]
    assert sorted(line.split()[0] for line in printed[1 : 1 + len(result["rules"])]) == sorted(
        r["rule_id"] for r in result["rules"]
    )
