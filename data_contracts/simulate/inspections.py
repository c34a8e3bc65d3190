"""What inspectors find, and how the regulators answer a weekly list (pure, seeded).

``verdicts`` is the one model of an inspection's outcome, used by the department sources whose
result column has the ``verdict`` role and by the regulators' returned lists. On day d a firm is

* **past its event** (distress on or before d): found closed or unreachable with probability
  ``closed_after_event``, else its risk is confirmed;
* **at risk** (its distress event falls in (d, d + ``at_risk_days``]): risk confirmed with the
  inspectors' ``sensitivity`` (``silent_sensitivity`` for a silent failure, whose stress never
  shows), rectification ordered with ``rectification_at_risk``, else no risk found;
* **not at risk**: a false alarm (risk confirmed) with ``false_alarm``, rectification ordered with
  ``rectification``, closed or unreachable with ``unreachable``, else no risk found.

``regulator_returns`` plays a regulator who received a list on its Monday: most listed firms are
visited after a log-normal delay (some jointly, a few first picked by a double-random draw), some
are reported as not inspected, the rest never come back; a visit after the day the workbook goes
back is not in it yet.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from data_contracts.simulate.config import Inspections

RISK_CONFIRMED = "risk_confirmed"
RECTIFICATION = "rectification_ordered"
NO_RISK = "no_risk_found"
CLOSED = "closed_or_unreachable"
NOT_INSPECTED = "not_inspected"
# A line an inspector writes in the workbook's note column, by outcome.
NOTES = {
    RISK_CONFIRMED: ("现场核查：经营异常，风险属实", "已约谈法定代表人，风险属实"),
    RECTIFICATION: ("发现问题，已责令限期整改", "资料不全，责令整改"),
    NO_RISK: ("现场核查未发现异常", "经营正常"),
    CLOSED: ("人去楼空，无法联系", "已停业，现场无人"),
    NOT_INSPECTED: ("本周检查力量不足，顺延", "企业迁址，待核实"),
}


def at_risk(distress_date: np.ndarray, days: np.ndarray, at_risk_days: int) -> np.ndarray:
    """Whether each firm's distress event falls in (day, day + at_risk_days]."""
    days = np.asarray(days, dtype="datetime64[D]")
    event = np.asarray(distress_date, dtype="datetime64[D]")
    known = ~np.isnat(event)
    horizon = days + np.timedelta64(at_risk_days, "D")
    return known & (event > days) & (event <= horizon)


def verdicts(
    rng: np.random.Generator,
    params: Inspections,
    distress_date: np.ndarray,
    silent: np.ndarray,
    days: np.ndarray,
) -> np.ndarray:
    """The outcome (a ``feedback.yaml`` outcome key) of an inspection of each firm on each day."""
    days = np.asarray(days, dtype="datetime64[D]")
    event = np.asarray(distress_date, dtype="datetime64[D]")
    past = ~np.isnat(event) & (event <= days)
    risky = at_risk(event, days, params.at_risk_days)
    sensitivity = np.where(silent, params.silent_sensitivity, params.sensitivity)
    draw = rng.random(len(days))
    out = np.full(len(days), NO_RISK, dtype=object)

    calm = ~past & ~risky
    out[calm & (draw < params.false_alarm)] = RISK_CONFIRMED
    rectify = params.false_alarm + params.rectification
    out[calm & (draw >= params.false_alarm) & (draw < rectify)] = RECTIFICATION
    out[calm & (draw >= rectify) & (draw < rectify + params.unreachable)] = CLOSED

    out[risky & (draw < sensitivity)] = RISK_CONFIRMED
    ordered = risky & (draw >= sensitivity) & (draw < sensitivity + params.rectification_at_risk)
    out[ordered] = RECTIFICATION

    out[past] = np.where(draw[past] < params.closed_after_event, CLOSED, RISK_CONFIRMED)
    return out


def regulator_returns(
    rng: np.random.Generator,
    params: Inspections,
    listed: pl.DataFrame,
    truth: pl.DataFrame,
    returned_on: dt.date,
) -> pl.DataFrame:
    """What a regulator writes back for its listed firms by ``returned_on``.

    ``listed``: uscc, published_on (one row per listed firm, in list order); ``truth``: uscc,
    distress_date, silent (the simulator's firms). Returns uscc, inspection_date, method,
    outcome, note; all null for a firm nothing was written for (yet), and the truth behind each
    row: ``visit_date`` (the visit, even after ``returned_on``) and ``at_risk`` on that day.
    """
    r = params.returns
    frame = listed.select("uscc", "published_on").join(
        truth.select("uscc", "distress_date", "silent"), on="uscc", how="left"
    )
    n = frame.height
    monday = frame["published_on"].to_numpy().astype("datetime64[D]")
    delay = np.floor(rng.lognormal(np.log(r.delay_median_days), r.delay_sigma, n))
    visit = monday + delay.astype("timedelta64[D]")
    visited = rng.random(n) < r.inspected_share
    reported_not = ~visited & (rng.random(n) < r.reported_not_share)
    how = rng.random(n)
    method = np.where(
        how < r.joint_share,
        "joint",
        np.where(how < r.joint_share + r.double_random_share, "double_random", "targeted"),
    )
    event = frame["distress_date"].to_numpy().astype("datetime64[D]")
    silent = frame["silent"].fill_null(False).to_numpy()
    outcome = verdicts(rng, params, event, silent, visit)
    note_pick = rng.integers(0, 2, n)
    back = np.datetime64(returned_on, "D")

    written = visited & (visit <= back)
    outcomes = np.where(written, outcome, np.where(reported_not, NOT_INSPECTED, None))
    notes = [None if o is None else NOTES[o][k] for o, k in zip(outcomes, note_pick, strict=True)]
    return pl.DataFrame(
        {
            "uscc": frame["uscc"],
            "inspection_date": pl.Series(np.where(written, visit, np.datetime64("NaT"))).cast(
                pl.Date
            ),
            "method": pl.Series(np.where(written, method, None).tolist(), dtype=pl.String),
            "outcome": pl.Series(outcomes.tolist(), dtype=pl.String),
            "note": pl.Series(notes, dtype=pl.String),
            "visit_date": pl.Series(np.where(visited, visit, np.datetime64("NaT"))).cast(pl.Date),
            "at_risk": at_risk(event, visit, params.at_risk_days),
        }
    )
