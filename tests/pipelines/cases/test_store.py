"""The case store on SQLite and PostgreSQL: schema, transactions, history, as-of reads."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from pipelines.cases import NOW, AsOf, CaseStore, Inspection, current, history_of
from pipelines.cases.store import MIGRATIONS, engine_url, shown_url
from pipelines.cases.tables import Base, Batch

T0 = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
_ALEMBIC = Config()
_ALEMBIC.set_main_option("script_location", str(MIGRATIONS))
HEAD = ScriptDirectory.from_config(_ALEMBIC).get_current_head()
DAY = dt.timedelta(days=1)


def report(key: str = "workbook/2026-W45/finance/A", outcome: str = "risk_confirmed", **extra):
    values = {
        "report_key": key,
        "channel": "workbook",
        "uscc": "91320594MA1XXXXXX1",
        "industry": "finance",
        "week": "2026-W45",
        "inspection_date": dt.date(2026, 11, 4),
        "method": "targeted",
        "outcome": outcome,
        "note": None,
        "origin": "风险名单!R2",
    }
    return {**values, **extra}


def put(store: CaseStore, values: dict, received_at: dt.datetime = T0) -> tuple[str, int | None]:
    with store.write("workbook", "tester", "returned.xlsx") as change:
        status = change.put(Inspection, values, received_at)
        batch = change.batch.id if change.added else None
    return status, batch


def outcomes(store: CaseStore, as_of: AsOf = NOW) -> list[str]:
    return store.frame(Inspection, as_of).get_column("outcome").to_list()


def test_a_new_store_is_migrated_to_head_and_matches_the_tables(store: CaseStore) -> None:
    assert store.revision() == HEAD
    with store.engine.connect() as connection:
        names = set(inspect(connection).get_table_names())
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert {"batches", "listings", "inspections", "planned_inspections", "alembic_version"} <= names
    assert {"anomalies", "anomaly_followups"} <= names
    # A table or column added to tables.py without a migration shows up here.
    assert diff == []


def test_opening_an_existing_store_again_keeps_its_records(store_url: str) -> None:
    first = CaseStore(store_url)
    put(first, report())
    first.dispose()
    again = CaseStore(store_url)
    assert again.revision() == HEAD
    assert outcomes(again) == ["risk_confirmed"]
    again.dispose()


def test_a_write_commits_one_batch_naming_operator_and_source(store: CaseStore) -> None:
    status, batch = put(store, report())
    assert status == "added"
    [recorded] = store.batches()
    assert (recorded.id, recorded.kind, recorded.operator, recorded.source, recorded.rows) == (
        batch,
        "workbook",
        "tester",
        "returned.xlsx",
        1,
    )
    assert recorded.recorded_at.tzinfo is not None


def test_a_write_that_adds_nothing_leaves_no_batch(store: CaseStore) -> None:
    put(store, report())
    status, batch = put(store, report())
    assert (status, batch) == ("unchanged", None)
    assert len(store.batches()) == 1


def test_a_failing_write_changes_nothing(store: CaseStore) -> None:
    put(store, report("workbook/2026-W45/finance/A"))
    with (
        pytest.raises(RuntimeError, match="row 3 is wrong"),
        store.write("workbook", "tester", "bad.xlsx") as change,
    ):
        change.put(Inspection, report("workbook/2026-W45/finance/B"), T0)
        change.put(Inspection, report("workbook/2026-W45/finance/A", "no_risk_found"), T0)
        raise RuntimeError("row 3 is wrong")
    assert len(store.batches()) == 1
    assert outcomes(store) == ["risk_confirmed"]
    assert store.frame(Inspection, AsOf(), history=True).height == 1


def test_a_correction_supersedes_and_keeps_the_history(store: CaseStore) -> None:
    put(store, report(outcome="risk_confirmed"), T0)
    status, _ = put(store, report(outcome="rectification_ordered", note="复查"), T0 + DAY)
    assert status == "corrected"
    assert outcomes(store) == ["rectification_ordered"]
    history = store.frame(Inspection, AsOf(), history=True)
    assert history.get_column("outcome").to_list() == ["risk_confirmed", "rectification_ordered"]
    assert history.get_column("supersedes_id").to_list() == [None, history["id"][0]]
    with store.read() as session:
        rows = session.scalars(history_of(Inspection)).all()
    assert [r.note for r in rows] == [None, "复查"]


def test_the_store_as_it_stood_by_version_and_by_arrival(store: CaseStore) -> None:
    _, first = put(store, report(outcome="risk_confirmed"), T0)
    _, second = put(store, report(outcome="no_risk_found"), T0 + 3 * DAY)
    assert outcomes(store) == ["no_risk_found"]
    assert outcomes(store, AsOf(version=first)) == ["risk_confirmed"]
    assert outcomes(store, AsOf(version=second)) == ["no_risk_found"]
    # Only what had arrived before a cut-off, whichever batch recorded it.
    assert outcomes(store, AsOf(before=T0 + DAY)) == ["risk_confirmed"]
    assert outcomes(store, AsOf(before=T0)) == []
    assert store.version() == second
    assert store.version(before=T0 + DAY) == first
    assert store.version(before=T0) == 0


def test_a_late_record_received_earlier_is_left_out_by_the_version(store: CaseStore) -> None:
    """A report received before a cut-off but recorded after a week was published (a late
    import) must not change what that week saw: the recorded version excludes it."""
    _, seen = put(store, report("workbook/2026-W45/finance/A"), T0)
    week_saw = AsOf(version=store.version(before=T0 + DAY), before=T0 + DAY)
    put(store, report("workbook/2026-W45/finance/B"), T0 + dt.timedelta(hours=1))
    assert store.frame(Inspection, week_saw).get_column("report_key").to_list() == [
        "workbook/2026-W45/finance/A"
    ]
    assert week_saw.version == seen


def test_a_withdrawn_record_is_gone_now_and_present_before(store: CaseStore) -> None:
    _, first = put(store, report())
    with store.write("workbook", "tester", "withdrawal") as change:
        old = change.latest(Inspection, report_key=report()["report_key"])
        change.withdraw(old, T0 + DAY)
    assert outcomes(store) == []
    assert outcomes(store, AsOf(version=first)) == ["risk_confirmed"]
    status, _ = put(store, report(outcome="no_risk_found"), T0 + 2 * DAY)
    assert status == "added"  # nothing current to correct after a withdrawal
    assert outcomes(store) == ["no_risk_found"]


def test_a_record_cannot_be_superseded_twice(store: CaseStore) -> None:
    put(store, report())
    with store.read() as session:
        first = session.scalars(current(Inspection)).one()
    put(store, report(outcome="no_risk_found"), T0 + DAY)
    with pytest.raises(IntegrityError), store.write("workbook", "tester", "fork") as change:
        change.supersede(first, Inspection(**report(), received_at=T0, withdrawn=False))
    assert outcomes(store) == ["no_risk_found"]


def test_a_naive_time_is_refused(store: CaseStore) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        put(store, report(), dt.datetime(2026, 11, 2, 9, 0))
    assert store.batches() == []
    with pytest.raises(ValueError, match="time zone"):
        AsOf(before=dt.datetime(2026, 11, 2))


def test_writers_wait_for_each_other_and_commit_in_batch_order(store: CaseStore) -> None:
    """A second writer cannot commit a batch while the first holds its write open, so batch ids
    are committed in increasing order."""
    entered, committed = threading.Event(), []

    def slow() -> None:
        with store.write("workbook", "slow", "a.xlsx") as change:
            change.put(Inspection, report("workbook/2026-W45/finance/A"), T0)
            entered.set()
            time.sleep(0.5)
        committed.append(("slow", change.batch.id, time.monotonic()))

    thread = threading.Thread(target=slow)
    thread.start()
    assert entered.wait(10)
    with store.write("workbook", "fast", "b.xlsx") as change:
        change.put(Inspection, report("workbook/2026-W45/finance/B"), T0)
    committed.append(("fast", change.batch.id, time.monotonic()))
    thread.join(10)
    ordered = sorted(committed, key=lambda item: item[2])
    assert [name for name, _, _ in ordered] == ["slow", "fast"]
    assert ordered[0][1] < ordered[1][1]
    with store.read() as session:
        assert session.scalars(select(Batch.operator).order_by(Batch.id)).all() == [
            "slow",
            "fast",
        ]


def test_urls_use_psycopg_and_hide_passwords() -> None:
    assert engine_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert engine_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert engine_url("sqlite:///x.db") == "sqlite:///x.db"
    assert "secret" not in shown_url("postgresql://u:secret@h/db")


def test_an_unreachable_store_names_itself(tmp_path) -> None:
    from pipelines.cases import StoreError

    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with pytest.raises(StoreError, match=r"case store sqlite:///.*cases.db: cannot open"):
        CaseStore(f"sqlite:///{blocked}/cases.db")
