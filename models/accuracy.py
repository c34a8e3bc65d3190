"""How accurate a weekly list was, as the regulator sees it (pure: frames in, frames out).

For every listed firm the *follow-up* is what inspections said about it after the list went
out: the reports dated from the list's Monday up to ``window_days`` later (and no later than the
report date), from any channel (the returned list, a department's own inspection). A firm is

* **inspected** when at least one such report says it was inspected; its *time to inspection* is
  the days from the list's Monday to the first of them;
* **confirmed** when an inspected report confirms the warning (``confirming`` outcomes);
* **reported not inspected** when the only reports say so explicitly;
* **awaiting** (carried over) when nothing came back yet.

The confirmed share is confirmed / inspected with a Wilson 95% interval: it describes the
inspected firms, and says nothing about firms nobody has visited, which is why the counts of
inspected and awaiting firms always stand next to it. Rolling figures count each firm once over
the weeks of the window, from its first listing in the window.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import polars as pl

Z_95 = 1.959963984540054
LISTING_COLUMNS = ("week", "industry", "uscc", "published_on")
REPORT_COLUMNS = ("uscc", "inspection_date", "method", "outcome")
STATUS = ("inspected", "reported_not_inspected", "awaiting")


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion; (nan, nan) without trials."""
    if trials == 0:
        return (math.nan, math.nan)
    if not 0 <= successes <= trials:
        raise ValueError(f"{successes} successes out of {trials} trials")
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    # At 0 or n successes a bound is exactly 0 or 1 (rounding would leave it a hair inside).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return (low, high)


def follow_up(
    listed: pl.DataFrame,
    reports: pl.DataFrame,
    *,
    at: dt.date,
    window_days: int,
    inspected: Sequence[str],
    confirming: Sequence[str],
) -> pl.DataFrame:
    """One row per listing: status, first inspection date and method, days to it, confirmed.

    ``listed`` has week, industry, uscc, published_on (one row per listing); ``reports`` has
    uscc, inspection_date, method, outcome (current reports only).
    """
    _require(listed, LISTING_COLUMNS, "listings")
    _require(reports, REPORT_COLUMNS, "reports")
    keys = listed.select(*LISTING_COLUMNS).unique(maintain_order=True)
    window_end = pl.min_horizontal(
        pl.col("published_on") + pl.duration(days=window_days), pl.lit(at)
    )
    candidates = (
        keys.join(reports.select(REPORT_COLUMNS), on="uscc", how="inner")
        .filter(
            pl.col("inspection_date").is_null()
            | pl.col("inspection_date").is_between(pl.col("published_on"), window_end)
        )
        .with_columns(
            was_inspected=pl.col("outcome").is_in(list(inspected))
            & pl.col("inspection_date").is_not_null(),
            confirms=pl.col("outcome").is_in(list(confirming)),
        )
    )
    # An explicit "not inspected" without a date still says something about the listing; an
    # inspected report needs its date inside the window.
    by_listing = (
        candidates.sort("inspection_date", "outcome", "method", nulls_last=True)
        .group_by("week", "industry", "uscc", maintain_order=True)
        .agg(
            inspected=pl.col("was_inspected").any(),
            confirmed=(pl.col("was_inspected") & pl.col("confirms")).any(),
            first_inspection=pl.col("inspection_date").filter(pl.col("was_inspected")).min(),
            first_method=pl.col("method").filter(pl.col("was_inspected")).first(),
            # The confirming outcome when any inspection confirmed, else the first inspection's.
            outcome=pl.coalesce(
                pl.col("outcome").filter(pl.col("was_inspected") & pl.col("confirms")).first(),
                pl.col("outcome").filter(pl.col("was_inspected")).first(),
            ),
            any_report=pl.len() > 0,
        )
    )
    return (
        keys.join(by_listing, on=["week", "industry", "uscc"], how="left", maintain_order="left")
        .with_columns(
            pl.col("inspected").fill_null(False),
            pl.col("confirmed").fill_null(False),
            status=pl.when(pl.col("inspected"))
            .then(pl.lit("inspected"))
            .when(pl.col("any_report").fill_null(False))
            .then(pl.lit("reported_not_inspected"))
            .otherwise(pl.lit("awaiting")),
            days_to_inspection=(
                pl.col("first_inspection") - pl.col("published_on")
            ).dt.total_days(),
        )
        .drop("any_report")
        .sort("industry", "week", "uscc")
    )


def summarise(followed: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """Counts, confirmed share with its Wilson interval and time to inspection per group."""
    grouped = (
        followed.group_by(*by)
        .agg(
            listed=pl.len(),
            inspected=pl.col("inspected").sum(),
            confirmed=pl.col("confirmed").sum(),
            reported_not_inspected=(pl.col("status") == "reported_not_inspected").sum(),
            awaiting=(pl.col("status") == "awaiting").sum(),
            median_days_to_inspection=pl.col("days_to_inspection").median(),
            max_days_to_inspection=pl.col("days_to_inspection").max(),
        )
        .sort(*by)
    )
    shares = [
        (c / n if n else None, *_interval(c, n))
        for c, n in grouped.select("confirmed", "inspected").iter_rows()
    ]
    return grouped.with_columns(
        pl.Series("confirmed_share", [s[0] for s in shares], dtype=pl.Float64),
        pl.Series("ci_low", [s[1] for s in shares], dtype=pl.Float64),
        pl.Series("ci_high", [s[2] for s in shares], dtype=pl.Float64),
        pl.col("inspected", "confirmed", "reported_not_inspected", "awaiting").cast(pl.Int64),
        pl.col("listed").cast(pl.Int64),
    )


def _interval(confirmed: int, inspected: int) -> tuple[float | None, float | None]:
    if not inspected:
        return (None, None)
    return wilson_interval(int(confirmed), int(inspected))


def rolling(followed: pl.DataFrame, weeks: Sequence[str]) -> pl.DataFrame:
    """The follow-up of the distinct firms listed in ``weeks`` (each firm counted once per
    industry, from its first listing among those weeks)."""
    return (
        followed.filter(pl.col("week").is_in(list(weeks)))
        .sort("industry", "uscc", "week")
        .group_by("industry", "uscc", maintain_order=True)
        .first()
    )


def outcome_counts(followed: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """How many inspected listings had each outcome, per group."""
    return (
        followed.filter(pl.col("inspected"))
        .group_by(*by, "outcome")
        .len(name="firms")
        .sort(*by, "outcome")
    )


def _require(frame: pl.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lack column(s) {missing}; they have {frame.columns}")
