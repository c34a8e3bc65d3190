"""Published lists recorded as listings: idempotent, corrected when a week is re-published."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl

from pipelines.cases import AsOf, CaseStore
from pipelines.cases.listings import listings, record_publication
from pipelines.timeline import week_cutoff

WEEK = "2026-W45"


def publication(folder: Path, listed: list[tuple[str, float]], version: int = 3) -> Path:
    """A hand-built publish/<week>/finance/ folder: manifest and scores (listed firms first)."""
    folder.mkdir(parents=True, exist_ok=True)
    manifest = {
        "week": WEEK,
        "as_of": "2026-11-01",
        "industry": "finance",
        "regulator": "园区金融监管局",
        "model": {"name": "ews-finance", "version": version},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False))
    rows = [
        {
            "uscc": uscc,
            "name": f"企业{uscc[-1]}",
            "rank": rank,
            "tier": "D" if p >= 0.15 else "C",
            "probability": p,
            "listed": True,
        }
        for rank, (uscc, p) in enumerate(listed, start=1)
    ]
    rows.append(
        {
            "uscc": "91320594000000000Z",
            "name": "未上榜企业",
            "rank": len(rows) + 1,
            "tier": "A",
            "probability": 0.001,
            "listed": False,
        }
    )
    pl.DataFrame(rows).write_parquet(folder / "scores.parquet")
    return folder


def test_recording_a_publication_twice_changes_nothing(store: CaseStore, tmp_path: Path) -> None:
    folder = publication(tmp_path / "finance", [("91320594000000000A", 0.3), ("B" * 18, 0.1)])
    first = record_publication(store, folder, "publisher")
    again = record_publication(store, folder, "publisher")
    assert (first["added"], first["batch"] is not None) == (2, True)
    assert (again["unchanged"], again["added"], again["batch"]) == (2, 0, None)
    frame = listings(store)
    assert frame.select("uscc", "rank", "tier", "published_on").rows() == [
        ("91320594000000000A", 1, "D", dt.date(2026, 11, 2)),
        ("B" * 18, 2, "C", dt.date(2026, 11, 2)),
    ]
    # Received at the week's cut-off: Monday 00:00 in the park (Sunday 16:00 UTC).
    assert frame["received_at"].unique().to_list() == [week_cutoff(WEEK).astimezone(dt.UTC)]
    assert len(store.batches()) == 1


def test_a_republished_week_corrects_and_withdraws_with_history(
    store: CaseStore, tmp_path: Path
) -> None:
    folder = publication(tmp_path / "finance", [("A" * 18, 0.3), ("B" * 18, 0.1)])
    first = record_publication(store, folder, "publisher")["batch"]
    publication(folder, [("B" * 18, 0.4), ("C" * 18, 0.2)], version=4)
    counts = record_publication(store, folder, "publisher")
    assert {k: counts[k] for k in ("added", "corrected", "withdrawn")} == {
        "added": 1,
        "corrected": 1,
        "withdrawn": 1,
    }
    now = listings(store).select("uscc", "rank", "model_version").rows()
    assert now == [("B" * 18, 1, 4), ("C" * 18, 2, 4)]
    before = listings(store, AsOf(version=first)).select("uscc", "rank").rows()
    assert before == [("A" * 18, 1), ("B" * 18, 2)]
