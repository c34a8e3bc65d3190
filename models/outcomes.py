"""Inspection outcomes as labels and as evidence, without fooling ourselves (pure).

**Labels.** An inspection whose outcome confirms the risk on day d is an event of the firm's
industry at d (``inspection_events``), joined to the label source's events: the label rule takes
each firm's first event, so a confirmation found before the event was recorded moves it earlier.

**Selection bias.** Who gets inspected is not random. A targeted inspection follows the list, so
its firms are the model's own top picks; a sample of inspected firms over-represents the riskiest
and its event rate overstates everyone's. Only two kinds of inspection have a known selection:

* *double-random* checks: drawn at random, so every firm of the cell had the same chance;
* *the returned list's visits*: the firm was on the recorded list (``listed``), nothing else.

``evaluation_sample`` keeps only these. ``rates`` then estimates a group's event rate three ways:
from double-random checks alone (unbiased, few), by inverse-propensity weighting of every known
inspection (each inspected firm-week weighted by 1 / the share of its cell inspected, cells =
week x industry x listed or not; Hajek's ratio estimator), and naively (all inspected firm-weeks
alike, shown only to show the bias). Departments' own targeted inspections have an unknown
selection and are used as labels only, never as evidence of accuracy.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from models.accuracy import wilson_interval
from models.config import IndustrySpec

RANDOM = "double_random"
SNAPSHOT_COLUMNS = ("uscc", "as_of", "probability", "tier")
REPORT_COLUMNS = ("uscc", "channel", "week", "inspection_date", "method", "outcome")


def inspection_events(
    reports: pl.DataFrame, spec: IndustrySpec, confirming: Sequence[str]
) -> pl.DataFrame:
    """Confirming reports of the industry's firms as label events: uscc, event_date, event_type,
    arrived_at (``received_at`` in the park's wall-clock time, as the lake's rows are)."""
    return (
        reports.filter(
            (pl.col("industry") == spec.key)
            & pl.col("outcome").is_in(list(confirming))
            & pl.col("inspection_date").is_not_null()
        )
        .select(
            "uscc",
            pl.col("inspection_date").alias("event_date"),
            pl.lit(spec.event_type).alias("event_type"),
            pl.col("received_at")
            .dt.convert_time_zone("Asia/Shanghai")
            .dt.replace_time_zone(None)
            .cast(pl.Datetime("us"))
            .alias("arrived_at"),
        )
        .sort("uscc", "event_date")
    )


def evaluation_sample(
    snapshots: pl.DataFrame,
    reports: pl.DataFrame,
    listings: pl.DataFrame,
    *,
    inspected: Sequence[str],
    confirming: Sequence[str],
    week_of: dict[dt.date, str],
    window_days: int = 7,
) -> pl.DataFrame:
    """One row per scored firm-week with what inspections of known selection found.

    ``snapshots``: uscc, as_of, probability, tier (the model's view each week). ``reports``:
    current inspection reports. ``listings``: the recorded lists (week, uscc). ``week_of`` maps an
    as-of date to the ISO week whose list used it. A firm-week is *randomly inspected* when a
    double-random check visited it in the ``window_days`` after the as-of date, and *visited from
    the list* when the returned list of that week reports an inspection of it.

    Columns added: week, listed, random, from_list, inspected, confirmed (null when not
    inspected; a visit that confirms or a random check that confirms).
    """
    for frame, columns, name in (
        (snapshots, SNAPSHOT_COLUMNS, "snapshots"),
        (reports, REPORT_COLUMNS, "reports"),
    ):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} lack column(s) {missing}")
    weeks = pl.DataFrame(
        {"as_of": list(week_of), "week": list(week_of.values())},
        schema={"as_of": pl.Date, "week": pl.String},
    )
    base = snapshots.select(SNAPSHOT_COLUMNS).join(weeks, on="as_of", how="left")
    found = reports.filter(
        pl.col("outcome").is_in(list(inspected)) & pl.col("inspection_date").is_not_null()
    ).with_columns(confirms=pl.col("outcome").is_in(list(confirming)))

    random = (
        base.select("uscc", "as_of")
        .join(found.filter(pl.col("method") == RANDOM), on="uscc", how="inner")
        .filter(
            (pl.col("inspection_date") > pl.col("as_of"))
            & (pl.col("inspection_date") <= pl.col("as_of") + pl.duration(days=window_days))
        )
        .group_by("uscc", "as_of")
        .agg(random_confirms=pl.col("confirms").any())
    )
    from_list = (
        found.filter((pl.col("channel") == "workbook") & pl.col("week").is_not_null())
        .group_by("uscc", "week")
        .agg(list_confirms=pl.col("confirms").any())
    )
    on_list = listings.select("week", "uscc").unique().with_columns(listed=pl.lit(True))
    return (
        base.join(on_list, on=["week", "uscc"], how="left")
        .join(random, on=["uscc", "as_of"], how="left")
        .join(from_list, on=["uscc", "week"], how="left")
        .with_columns(
            listed=pl.col("listed").fill_null(False),
            random=pl.col("random_confirms").is_not_null(),
        )
        .with_columns(from_list=pl.col("list_confirms").is_not_null() & pl.col("listed"))
        .with_columns(inspected=pl.col("random") | pl.col("from_list"))
        .with_columns(
            confirmed=pl.when(pl.col("inspected")).then(
                pl.col("random_confirms").fill_null(False)
                | (pl.col("from_list") & pl.col("list_confirms").fill_null(False))
            )
        )
        .drop("random_confirms", "list_confirms")
        .sort("as_of", "uscc")
    )


def with_weights(sample: pl.DataFrame) -> pl.DataFrame:
    """Adds ``propensity`` (share inspected in the firm-week's cell: week x listed) and
    ``weight`` = 1 / propensity for inspected rows (null otherwise)."""
    cell = ["as_of", "listed"]
    return sample.with_columns(
        propensity=pl.col("inspected").cast(pl.Float64).mean().over(cell)
    ).with_columns(
        weight=pl.when(pl.col("inspected") & (pl.col("propensity") > 0)).then(
            1.0 / pl.col("propensity")
        )
    )


def rates(sample: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """Per group: firm-weeks, mean calibrated probability, and the event rate estimated from
    random checks (with a Wilson interval), by inverse-propensity weights, and naively."""
    weighted = with_weights(sample)
    grouped = (
        weighted.group_by(*by)
        .agg(
            firm_weeks=pl.len(),
            mean_probability=pl.col("probability").mean(),
            random_checks=pl.col("random").sum(),
            random_confirmed=(pl.col("random") & pl.col("confirmed").fill_null(False)).sum(),
            inspected=pl.col("inspected").sum(),
            naive_rate=pl.col("confirmed").cast(pl.Float64).mean(),
            ipw_rate=(pl.col("weight") * pl.col("confirmed").cast(pl.Float64)).sum()
            / pl.col("weight").sum(),
        )
        .sort(*by)
    )
    intervals = [
        (k / n, *wilson_interval(int(k), int(n))) if n else (None, None, None)
        for k, n in grouped.select("random_confirmed", "random_checks").iter_rows()
    ]
    return grouped.with_columns(
        pl.Series("random_rate", [i[0] for i in intervals], dtype=pl.Float64),
        pl.Series("random_ci_low", [i[1] for i in intervals], dtype=pl.Float64),
        pl.Series("random_ci_high", [i[2] for i in intervals], dtype=pl.Float64),
        pl.when(pl.col("inspected") > 0).then(pl.col("ipw_rate")).alias("ipw_rate"),
    )
