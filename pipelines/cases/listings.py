"""Published lists in the case store: each listed firm of a week becomes a ``Listing``.

A listing is received at its week's cut-off (Monday 00:00 in the park), whenever it is recorded:
that is when the list existed for the regulator, and it keeps a week's own listing out of what
that week's publication reads from the store. Recording is idempotent; a week published again
with a different list corrects the changed firms and withdraws the ones no longer on it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl

from pipelines import file_io
from pipelines.cases.history import NOW, AsOf, current
from pipelines.cases.store import CaseStore
from pipelines.cases.tables import PUBLICATION, Listing
from pipelines.publish_io import MANIFEST, SCORES
from pipelines.timeline import published_on, week_cutoff


def listing_values(manifest: dict[str, Any], scores: pl.DataFrame) -> list[dict[str, Any]]:
    """The listing rows of one publication (its manifest and scores), in rank order."""
    week = manifest["week"]
    common = {
        "week": week,
        "industry": manifest["industry"],
        "regulator": manifest["regulator"],
        "as_of": pl.Series([manifest["as_of"]]).str.to_date().item(),
        "published_on": published_on(week),
        "model_name": manifest["model"]["name"],
        "model_version": int(manifest["model"]["version"]),
    }
    listed = scores.filter(pl.col("listed")).sort("rank")
    return [
        {
            **common,
            "uscc": row["uscc"],
            "firm_name": row["name"],
            "rank": int(row["rank"]),
            "tier": row["tier"],
            "probability": float(row["probability"]),
        }
        for row in listed.select("uscc", "name", "rank", "tier", "probability").iter_rows(
            named=True
        )
    ]


def record_publication(
    store: CaseStore, folder: Path, operator: str, shown: str | None = None
) -> dict[str, Any]:
    """Record one ``publish/<week>/<industry>/`` folder's listed firms; returns the counts."""
    manifest_path = folder / MANIFEST
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    values = listing_values(manifest, pl.read_parquet(folder / SCORES))
    week, industry = manifest["week"], manifest["industry"]
    received = week_cutoff(week)
    counts = {"added": 0, "corrected": 0, "unchanged": 0, "withdrawn": 0}
    with store.write(
        PUBLICATION,
        operator,
        shown or manifest_path.as_posix(),
        source_sha256=file_io.file_sha256(manifest_path),
        details={"week": week, "industry": industry},
    ) as change:
        this_list = (Listing.week == week, Listing.industry == industry)
        counts.update(change.put_many(Listing, ((row, received) for row in values), *this_list))
        kept = {row["uscc"] for row in values}
        on_list = current(Listing, NOW).where(*this_list, Listing.uscc.not_in(kept))
        for old in change.session.scalars(on_list).all():
            change.withdraw(old, received)
            counts["withdrawn"] += 1
        batch = change.batch.id if change.added else None
    return {"week": week, "industry": industry, "batch": batch, **counts}


def listings(store: CaseStore, as_of: AsOf = NOW, industry: str | None = None) -> pl.DataFrame:
    """Current listings at ``as_of`` (one industry's or all), by week, industry and rank."""
    where = [] if industry is None else [Listing.industry == industry]
    return store.frame(Listing, as_of, *where).sort("week", "industry", "rank")
