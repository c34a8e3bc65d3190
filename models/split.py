"""Out-of-time split of labelled snapshots into train, valid and test periods.

    train: as_of <= train_end
    valid: train_end + G < as_of <= t0        (early stopping and calibration)
    test:  t0 + H < as_of                     (the out-of-time estimate)

A snapshot's label looks H days ahead, so the gap of H before the test period means no distress
event can label rows on both sides of T0: the test measures the model on events it never saw,
which is the estimate the promotion gate and the model card report. The valid period is a *later*
period than train, like test, so early stopping and calibration see the same kind of drift that
the test (and production) will. Its gap G (``valid_gap_days``, default 0) is a trade: G = H keeps
validation events out of training labels too, but on a park with three years of history it costs
a third of the training weeks. With G = 0 an event shortly after ``train_end`` labels rows on
both sides, and a booster recognises those firms from their training rows (weekly snapshots
repeat a firm's static features): measured on the simulated park, validation AUC rose to 0.80
while the out-of-time test fell to 0.70, with early stopping running to the last round.
``purge_seen_positives`` removes exactly those firms from the rows that stop the boosting.

The usable span (as-of range minus the two gaps) is shared out by ``train_fraction`` and
``valid_fraction``; test gets the rest. Boundaries are snapped to as-of dates present in the data.

``TrainingRows`` changes only the training period's rows, leaving the valid and test periods
(and so the out-of-time estimate's rows) as they are: it drops the newest ``gap_days`` of
training weeks (a gap between train and valid with T0 fixed), keeps at most the newest
``history_days`` of them, and may label them with a shorter ``horizon_days`` than the industry's
(``models.pipeline.prepare``). Measured as levers in BENCHMARKS.md ("Early stopping,
constraints, purge, history and horizon").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl
from pydantic import BaseModel, ConfigDict, Field


@dataclass(frozen=True)
class SplitBoundaries:
    """First and last as-of date of each period (inclusive), the horizon and T0 (= valid_end)."""

    horizon_days: int
    train_start: date
    train_end: date
    valid_start: date
    valid_end: date
    test_start: date
    test_end: date

    @property
    def t0(self) -> date:
        return self.valid_end

    def to_dict(self) -> dict[str, str | int]:
        return {
            "horizon_days": self.horizon_days,
            "train_start": self.train_start.isoformat(),
            "train_end": self.train_end.isoformat(),
            "valid_start": self.valid_start.isoformat(),
            "valid_end": self.valid_end.isoformat(),
            "t0": self.t0.isoformat(),
            "test_start": self.test_start.isoformat(),
            "test_end": self.test_end.isoformat(),
        }


@dataclass(frozen=True)
class OutOfTimeSplit:
    train: pl.DataFrame
    valid: pl.DataFrame
    test: pl.DataFrame
    boundaries: SplitBoundaries


def out_of_time_split(
    labelled: pl.DataFrame,
    horizon_days: int,
    *,
    time_col: str = "as_of",
    train_fraction: float = 0.6,
    valid_fraction: float = 0.2,
    valid_gap_days: int = 0,
) -> OutOfTimeSplit:
    """Split on ``time_col`` (a Date column); an H-day gap before test, ``valid_gap_days``
    before valid."""
    if time_col not in labelled.columns:
        raise ValueError(f"labelled snapshots lack the time column {time_col!r}")
    if horizon_days < 0:
        raise ValueError(f"horizon_days must be >= 0, got {horizon_days}")
    if valid_gap_days < 0:
        raise ValueError(f"valid_gap_days must be >= 0, got {valid_gap_days}")
    if not (train_fraction > 0 and valid_fraction > 0 and train_fraction + valid_fraction < 1):
        raise ValueError(
            f"need 0 < train_fraction, 0 < valid_fraction and a sum below 1 (the rest is test), "
            f"got {train_fraction} and {valid_fraction}"
        )
    dates = labelled.get_column(time_col).unique().drop_nulls().sort().to_list()
    if not dates:
        raise ValueError("no labelled snapshots to split")
    horizon = timedelta(days=horizon_days)
    first, last = dates[0], dates[-1]
    gaps = horizon_days + valid_gap_days
    usable_days = (last - first).days - gaps
    if usable_days <= 0:
        raise ValueError(
            f"as-of dates span {first}..{last} ({(last - first).days} days); an out-of-time "
            f"split with a {horizon_days}-day horizon and a {valid_gap_days}-day validation gap "
            f"needs more than {gaps} days"
        )
    train_cut = first + timedelta(days=usable_days * train_fraction)
    train_end = max(d for d in dates if d <= train_cut)
    valid_gap = timedelta(days=valid_gap_days)
    valid_cut = train_end + valid_gap + timedelta(days=usable_days * valid_fraction)
    valid_dates = [d for d in dates if train_end + valid_gap < d <= valid_cut]
    if not valid_dates:
        raise ValueError(
            f"no as-of date falls in the valid period ({train_end + valid_gap}, {valid_cut}]; "
            "raise valid_fraction or provide more frequent snapshots"
        )
    t0 = valid_dates[-1]
    test_dates = [d for d in dates if d > t0 + horizon]
    if not test_dates:
        raise ValueError(f"no as-of date after T0 + horizon = {t0 + horizon}; lower the fractions")
    boundaries = SplitBoundaries(
        horizon_days=horizon_days,
        train_start=first,
        train_end=train_end,
        valid_start=valid_dates[0],
        valid_end=t0,
        test_start=test_dates[0],
        test_end=last,
    )
    when = pl.col(time_col)
    return OutOfTimeSplit(
        train=labelled.filter(when <= train_end),
        valid=labelled.filter(when.is_between(valid_dates[0], t0)),
        test=labelled.filter(when >= test_dates[0]),
        boundaries=boundaries,
    )


class TrainingRows(BaseModel):
    """Which rows of the training period train the booster (the defaults: all of them, labelled
    with the industry's horizon). Valid and test are never changed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Training as-of dates within this many days of train_end are dropped: with the horizon's
    # days, no training label sees an event after train_end, so none labels valid rows too.
    gap_days: int = Field(default=0, ge=0)
    # Only the newest training as-of dates within this many days of the (gapped) train end.
    history_days: int | None = Field(default=None, gt=0)
    # The training rows' label horizon, when shorter than the industry's (valid and test keep
    # the industry's: the regulator's event window is what is evaluated and calibrated).
    horizon_days: int | None = Field(default=None, gt=0)

    def select(self, train: pl.DataFrame, *, time_col: str = "as_of") -> pl.DataFrame:
        """``train`` without the dates the gap and the history length leave out."""
        if train.is_empty():
            return train
        end = train.get_column(time_col).max() - timedelta(days=self.gap_days)
        kept = pl.col(time_col) <= end
        if self.history_days is not None:
            kept = kept & (pl.col(time_col) > end - timedelta(days=self.history_days))
        selected = train.filter(kept)
        if selected.is_empty():
            raise ValueError(
                f"no training rows left with a {self.gap_days}-day gap and "
                f"{self.history_days} days of history (train ends {end + timedelta(self.gap_days)})"
            )
        return selected


def purge_seen_positives(
    train: pl.DataFrame, valid: pl.DataFrame, *, entity_col: str = "uscc", label_col: str = "label"
) -> pl.DataFrame:
    """``valid`` without the entities labelled positive anywhere in ``train``.

    Their events fall within H of ``train_end``, so the same event labels their valid rows: a
    model that memorised them in training would look good on valid for the wrong reason. What
    remains scores the model on events it has not seen, which is what early stopping needs.
    (Calibration still wants the valid period's true event rate and takes every valid row.)
    """
    for part, frame in (("train", train), ("valid", valid)):
        missing = [c for c in (entity_col, label_col) if c not in frame.columns]
        if missing:
            raise ValueError(f"{part} rows lack the columns {missing}")
    seen = train.filter(pl.col(label_col) == 1).get_column(entity_col).unique()
    return valid.filter(~pl.col(entity_col).is_in(seen.implode()))
