"""Which listed firms object to their listing, and whether rightly (pure, seeded).

A firm on a weekly list is *at risk* when its distress event falls within the industry's horizon
after the list's as-of date (the same truth the list is measured against). A firm not at risk
objects rightly with ``rightful_share``, one at risk objects anyway with ``wrongful_share``; at
least ``min_rightful`` rightful objectors are drawn (uniformly among the firms not at risk) when
the draw gave fewer. The reviewer's check finds the
truth: a rightful objection is upheld, a wrongful one rejected.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from data_contracts.simulate.config import Objections

CLAIMS = {
    True: ("本企业经营正常，列入名单依据的数据已过时", "欠缴已于上月补缴，申请复核"),
    False: ("本企业不存在所列风险，申请撤销", "认为评分有误，申请复核"),
}
REASONS = {
    True: "经核实，企业经营正常、相关数据已更新，异议成立",
    False: "经核实，所列风险情况属实，异议不成立",
}


def listed_objections(
    rng: np.random.Generator,
    params: Objections,
    listed: pl.DataFrame,
    truth: pl.DataFrame,
    as_of: dt.date,
    horizon_days: int,
) -> pl.DataFrame:
    """The objectors among ``listed`` (uscc, by rank): uscc, at_risk, rightful, claim, reason
    (the reviewer's), ``upheld``; sorted by uscc."""
    horizon = as_of + dt.timedelta(days=horizon_days)
    firms = (
        listed.select("uscc")
        .join(truth.select("uscc", "distress_date"), on="uscc", how="left")
        .with_columns(
            at_risk=pl.col("distress_date")
            .is_between(as_of, horizon, closed="right")
            .fill_null(False)
        )
        .sort("uscc")
    )
    at_risk = firms["at_risk"].to_numpy()
    draw = rng.random(firms.height)
    objects = np.where(at_risk, draw < params.wrongful_share, draw < params.rightful_share)
    rightful = objects & ~at_risk
    short = params.min_rightful - int(rightful.sum())
    candidates = np.flatnonzero(~at_risk & ~objects)
    if short > 0 and candidates.size:
        extra = rng.choice(candidates, size=min(short, candidates.size), replace=False)
        objects[extra] = True
    picks = rng.integers(0, 2, size=firms.height)
    chosen = firms.with_columns(
        objects=pl.Series(objects), pick=pl.Series(picks, dtype=pl.Int64)
    ).filter("objects")
    rows = [
        {
            "uscc": row["uscc"],
            "at_risk": row["at_risk"],
            "rightful": not row["at_risk"],
            "claim": CLAIMS[not row["at_risk"]][row["pick"]],
            "reason": REASONS[not row["at_risk"]],
            "upheld": not row["at_risk"],
        }
        for row in chosen.iter_rows(named=True)
    ]
    schema = {
        "uscc": pl.String,
        "at_risk": pl.Boolean,
        "rightful": pl.Boolean,
        "claim": pl.String,
        "reason": pl.String,
        "upheld": pl.Boolean,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")
