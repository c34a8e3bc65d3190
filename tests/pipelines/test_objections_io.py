"""`ews objection` / `ews override`: checked against what the week published, audit-logged, and
refused whole (exit code 2, nothing written) on bad input."""

from __future__ import annotations

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from models.objections import ObjectionError
from pipelines import audit, objections_io
from pipelines.cases import objections as ops
from pipelines.cases import open_store
from pipelines.cli import app
from pipelines.settings import Settings

WEEK = "2026-W47"
LISTED, UNLISTED = "91320594MA1AAAAAA1", "91320594MA1BBBBBB2"
FACT = "2026-10-12 行政处罚：处罚机关 市场监管局；罚款金额 20,000"
AT = "2026-11-24T10:00:00"


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    """A workdir whose week 2026-W47 published a finance list naming one firm and classed two."""
    monkeypatch.setenv("EWS_OPERATOR", "clerk-wang")
    root = tmp_path / "work"
    folder = root / "publish" / WEEK / "finance"
    folder.mkdir(parents=True)
    pl.DataFrame(
        {"uscc": [LISTED, UNLISTED], "name": ["甲公司", "乙公司"], "listed": [True, False]}
    ).write_parquet(folder / "scores.parquet")
    pl.DataFrame(
        {"uscc": [LISTED], "facts_zh": [[FACT]], "facts_en": [["2026-10-12 penalty"]]}
    ).write_parquet(folder / "reasons.parquet")
    tiers = root / "publish" / WEEK / "tiers"
    tiers.mkdir(parents=True)
    pl.DataFrame({"uscc": [LISTED, UNLISTED], "name": ["甲公司", "乙公司"]}).write_parquet(
        tiers / "tiers.parquet"
    )
    return Settings(workdir=root)


def stored(settings: Settings) -> tuple[int, int]:
    store = open_store(settings)
    try:
        return ops.objections(store).height, ops.overrides(store).height
    finally:
        store.dispose()


def test_objections_to_a_listing_a_class_and_a_fact_are_recorded_with_the_firms_name(
    settings: Settings,
) -> None:
    listing = objections_io.file(
        settings, uscc=LISTED, week=WEEK, subject="listing", claim="已整改", at=AT
    )
    assert (listing["industry"], listing["firm_name"]) == ("finance", "甲公司")
    tier = objections_io.file(
        settings, uscc=UNLISTED, week=WEEK, subject="tier", claim="信用良好", at=AT
    )
    assert (tier["industry"], tier["firm_name"]) == (None, "乙公司")
    fact = objections_io.file(
        settings, uscc=LISTED, week=WEEK, subject="fact", fact=FACT, claim="已撤销", at=AT
    )
    assert fact["fact_text"] == FACT
    listed = objections_io.list_objections(settings, at="2026-11-28")
    assert [o["acknowledgement_overdue"] for o in listed] == [True, True, True]
    records = [e for e in audit.read_log(settings) if e["kind"] == "objection"]
    assert [e["details"]["outcome"] for e in records] == ["recorded"] * 3
    assert records[2]["details"]["record"]["objection_id"] == "OBJ-000003"
    assert records[0]["operator"] == "clerk-wang"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"uscc": LISTED, "week": "2026-W40"}, "week 2026-W40 was not published"),
        ({"uscc": LISTED, "week": "2026-W99"}, "does not exist"),
        ({"uscc": UNLISTED, "week": WEEK}, f"firm {UNLISTED} is not on week {WEEK}'s lists"),
        ({"uscc": "91320594MA1CCCCCC3", "week": WEEK, "subject": "tier"}, "no credit risk class"),
        ({"uscc": LISTED, "week": WEEK, "subject": "fact", "fact": "2026 无此事"}, "shows no fact"),
        ({"uscc": LISTED, "week": WEEK, "industry": "retail"}, "industry 'retail'"),
    ],
)
def test_an_objection_about_an_unknown_firm_week_or_fact_is_refused_and_logged(
    settings: Settings, options: dict, message: str
) -> None:
    values = {"subject": "listing", "claim": "不服", "at": AT, **options}
    with pytest.raises(ObjectionError, match=message):
        objections_io.file(settings, **values)
    assert stored(settings) == (0, 0)
    [entry] = audit.read_log(settings)
    assert (
        entry["details"]["outcome"] == "refused"
        and message.split()[0] in entry["details"]["problem"]
    )


def test_overrides_name_a_scored_firm_and_need_a_reason_and_a_future_expiry(
    settings: Settings,
) -> None:
    done = objections_io.set_override(
        settings,
        uscc=UNLISTED,
        action="list_on",
        industry="finance",
        reason="举报线索",
        expires="2026-12-31",
        at=AT,
    )
    assert (done["override_id"], done["firm_name"], done["analyst"]) == (
        "OVR-000001",
        "乙公司",
        "clerk-wang",
    )
    for options, message in (
        ({"uscc": "91320594MA1CCCCCC3"}, "not among the finance firms"),
        ({"reason": ""}, "reason"),
        ({"expires": "2026-11-01"}, "in the past"),
        ({"expires": "soon"}, "not a date"),
    ):
        values = {
            "uscc": LISTED,
            "action": "list_off",
            "industry": "finance",
            "reason": "核查",
            "expires": "2026-12-31",
            "at": AT,
            **options,
        }
        with pytest.raises(ObjectionError, match=message):
            objections_io.set_override(settings, **values)
    assert stored(settings) == (0, 1)
    [shown] = objections_io.list_overrides(settings, at="2027-01-01")
    assert shown["in_force"] is False  # lapsed by itself


def test_the_cli_runs_the_workflow_and_exits_2_on_a_closed_case(settings: Settings) -> None:
    runner = CliRunner()
    base = ["--workdir", str(settings.workdir)]

    def ews(*args: str):
        return runner.invoke(app, [*args, *base])

    filed = ews(
        "objection", "file", "--uscc", LISTED, "--week", WEEK, "--subject", "listing",
        "--claim", "已整改", "--at", AT,
    )  # fmt: skip
    assert filed.exit_code == 0, filed.output
    oid = json.loads(filed.output)["objection_id"]
    assert ews("objection", "review", oid, "--reviewer", "li", "--at", AT).exit_code == 0
    decided = ews(
        "objection", "decide", oid, "--decision", "upheld", "--reason", "核实", "--at", AT
    )
    assert json.loads(decided.output)["status"] == "upheld"
    again = ews("objection", "decide", oid, "--decision", "rejected", "--reason", "x", "--at", AT)
    assert again.exit_code == 2
    assert f"objection {oid} is closed (upheld)" in again.output
    no_reason = ews(
        "override", "set", "--uscc", LISTED, "--action", "list_off", "--industry", "finance",
        "--reason", " ", "--expires", "2026-12-31", "--at", AT,
    )  # fmt: skip
    assert no_reason.exit_code == 2 and "needs its reason" in no_reason.output
    assert stored(settings) == (1, 0)
    listed = json.loads(ews("objection", "list", "--at", "2026-11-25").output)
    assert [o["status"] for o in listed] == ["upheld"]


def test_listing_a_workdir_without_a_store_creates_none(settings: Settings) -> None:
    assert objections_io.list_objections(settings) == []
    assert objections_io.list_overrides(settings) == []
    assert not (settings.workdir / "cases.db").exists()
