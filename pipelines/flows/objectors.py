"""The simulated park's firms object to a published week's listings, and the objections are
reviewed and decided, through the same commands an operator uses (``pipelines.objections_io``).

For every industry published in ``week``: ``data_contracts.simulate.objections`` picks the listed
firms that object and whether rightly (from the simulator's truth); each objection is filed on
``filed_on`` at 10:00 in the park, taken up the next day and decided the day after (upheld when
rightful, rejected otherwise), so all three steps land before the next week's cut-off when
``filed_on`` is that week's Tuesday. The truth behind each objection goes to
``sim_truth/objections/<week>/<industry>.parquet`` for diagnostics; no pipeline reads it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl

from data_contracts.simulate.config import world_params
from data_contracts.simulate.objections import listed_objections
from data_contracts.simulate.rng import stream
from models.config import load_industries
from models.objections import REJECTED, UPHELD
from pipelines import datasets, objections_io
from pipelines.io import read_json
from pipelines.publish_io import SCORES
from pipelines.settings import Settings
from pipelines.timeline import PARK_TZ, resolve_week

REVIEWER = "复核员（模拟）"


def firms_object(
    workdir: str | Path, week: str, filed_on: dt.date, exclude: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """File, review and decide the objections of ``week``'s listed firms (but those in
    ``exclude``, which the demo shows something else of); returns each one."""
    settings = Settings(workdir=Path(workdir))
    truth = pl.read_parquet(datasets.SIM_FIRMS.path(settings.workdir))
    truth = truth.select("uscc", "distress_date")
    seed = int(read_json(datasets.SIM_WORLD.path(settings.workdir))["seed"])
    params = world_params().objections
    _, as_of = resolve_week(week)

    def at(days: int) -> dt.datetime:
        day = filed_on + dt.timedelta(days=days)
        return dt.datetime.combine(day, dt.time(10, 0), tzinfo=PARK_TZ)

    out = []
    for industry, spec in load_industries().items():
        scores = settings.publish / week / industry / SCORES
        if not scores.is_file():
            continue
        listed = (
            pl.read_parquet(scores)
            .filter(pl.col("listed") & ~pl.col("uscc").is_in(list(exclude)))
            .select("uscc")
        )
        objectors = listed_objections(
            stream(seed, "objections", week, industry),
            params,
            listed,
            truth,
            as_of,
            spec.horizon_days,
        )
        diagnostics = datasets.SIM_OBJECTIONS.path(settings.workdir, week=week, industry=industry)
        diagnostics.parent.mkdir(parents=True, exist_ok=True)
        objectors.write_parquet(diagnostics)
        for row in objectors.iter_rows(named=True):
            filed = objections_io.file(
                settings,
                uscc=row["uscc"],
                week=week,
                subject="listing",
                industry=industry,
                claim=row["claim"],
                at=at(0),
            )
            objection_id = filed["objection_id"]
            objections_io.review(settings, objection_id, reviewer=REVIEWER, at=at(1))
            decided = objections_io.decide(
                settings,
                objection_id,
                decision=UPHELD if row["upheld"] else REJECTED,
                reason=row["reason"],
                at=at(2),
            )
            out.append(
                {
                    "objection_id": objection_id,
                    "uscc": row["uscc"],
                    "industry": industry,
                    "rightful": row["rightful"],
                    "decision": decided["status"],
                    "decided_on": decided["decided_on"].isoformat(),
                }
            )
    return out
