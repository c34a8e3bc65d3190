"""Confirmed inspections from the case store join the training labels, point in time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from models.config import load_industries
from pipelines.cases import open_store
from pipelines.cases.inspections import Report, record_reports
from pipelines.cases.tables import WORKBOOK
from pipelines.flows.train import case_store_version, inspection_outcomes, snapshot_hash
from pipelines.settings import Settings
from pipelines.timeline import PARK_TZ

FINANCE = load_industries()["finance"]


def report(uscc: str, outcome: str, received: dt.datetime) -> Report:
    return Report(
        report_key=f"workbook/2026-W48/finance/{uscc}",
        channel="workbook",
        uscc=uscc,
        industry="finance",
        week="2026-W48",
        inspection_date=dt.date(2026, 11, 25),
        method="targeted",
        outcome=outcome,
        note=None,
        origin="风险名单!R2",
        received_at=received,
    )


def test_only_confirmations_received_by_the_label_cutoff_become_events(tmp_path: Path):
    settings = Settings(workdir=tmp_path)
    assert case_store_version(settings, dt.date(2026, 11, 29)) == 0
    assert not (tmp_path / "cases.db").exists()  # reading an absent store does not create it
    store = open_store(settings)
    with store.write(WORKBOOK, "clerk", "risk_list.xlsx") as change:
        record_reports(
            change,
            [
                report("A", "risk_confirmed", dt.datetime(2026, 11, 27, 10, tzinfo=PARK_TZ)),
                report("B", "no_risk_found", dt.datetime(2026, 11, 27, 10, tzinfo=PARK_TZ)),
                # received on the Monday after the cut-off day: not known by Sunday's end
                report("C", "closed_or_unreachable", dt.datetime(2026, 11, 30, 8, tzinfo=PARK_TZ)),
            ],
        )
    store.dispose()
    known = dt.date(2026, 11, 29)
    version = case_store_version(settings, known)
    assert version == 1
    events = inspection_outcomes(settings, FINANCE, known, version)
    assert events.rows() == [
        ("A", dt.date(2026, 11, 25), FINANCE.event_type, dt.datetime(2026, 11, 27, 10))
    ]
    later = inspection_outcomes(settings, FINANCE, dt.date(2026, 11, 30), version)
    assert sorted(later["uscc"]) == ["A", "C"]


def test_the_training_hash_names_the_case_store_once_it_has_labels(tmp_path: Path):
    history, ledger = tmp_path / "history.parquet", tmp_path / "ledger.jsonl"
    history.write_bytes(b"history")
    ledger.write_bytes(b"ledger")
    plain = snapshot_hash(history, ledger)
    assert snapshot_hash(history, ledger, 0) == plain
    assert snapshot_hash(history, ledger, 3) != plain != snapshot_hash(history, ledger, 4)
