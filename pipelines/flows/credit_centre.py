"""The simulated park's credit centre repairs the records behind a listed firm's explanation.

For the demo, after a week is published: among that week's listed firms, a feature backed by
repairable records (penalties, the dishonesty lists) that counts records for the firm is chosen
(one of its top reasons first, then the largest SHAP contribution, then any: the week's feature
table says which firms have such records, whatever features the model uses), and the credit
centre repairs every record of that firm behind it that the week could see. The repairs reach
the platform as a ``credit_repair`` delivery in landing, the way the centre pushes them
(``repaired_on``, arriving the next morning); ``sim_truth/repairs/demo.json`` records what was
repaired. Once ingested, the next week's features and facts no longer count those records, while
the published week re-derives as it was (docs/credit_repair.md). ``repair_outcome`` then says,
for both weeks, whether the records' facts were shown for the firm, the feature's value and its
SHAP contribution.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
from prefect import flow

from data_contracts.catalog import load_all
from data_contracts.simulate.deliveries import Delivery, as_text, render
from data_contracts.simulate.repairs import record_kind
from features.credit_repair import record_key, repairable_sources
from features.facts import facts_for
from features.point_in_time import EVENT_DATE, USCC, valid_at
from features.registry import feature_names, spec
from features.source_set import SourceSet
from models.config import load_industries
from pipelines import datasets, file_io
from pipelines.io import lake_sources
from pipelines.publish_io import EXPLANATIONS, REASONS, SCORES
from pipelines.settings import Settings
from pipelines.timeline import Week, parse_day, parse_week, resolve_week
from pipelines.workdir_lock import holds_workdir

REPAIR_SOURCE = "credit_repair"
ARRIVES_AT = dt.time(10, 0)


def repairable_features() -> list[str]:
    """Model inputs whose every evidence row comes from repairable sources."""
    named = repairable_sources(load_all())
    out = []
    for name in feature_names():
        members = {s for e in spec(name).evidence for s in e.family.catalog_members()}
        if members and members <= named:
            out.append(name)
    return out


def candidates(publish_week: Path, feature_table: Path) -> pl.DataFrame:
    """Every listed firm's repairable features that count something for it (a value above 0 in
    the week's feature table), strongest first: one of its top reasons, then a feature raising
    its score by SHAP (largest first), then the rest; ties by rank, code and feature.

    The feature table, not the model, says which records a firm has: a model that happens not
    to use a repairable feature (a retrained or differently seeded one) still leaves a listed
    firm with penalties to repair, so the demo's repair never depends on the model's inputs.
    Columns: uscc, rank, industry, feature, value, shap (null when the model has no such
    input), in_reasons."""
    features = repairable_features()
    table = pl.read_parquet(feature_table)
    present = [f for f in features if f in table.columns]
    parts = []
    for industry in load_industries():
        folder = publish_week / industry
        if not (folder / SCORES).is_file() or not present:
            continue
        listed = pl.read_parquet(folder / SCORES).filter(pl.col("listed")).select("uscc", "rank")
        values = (
            table.join(listed, on="uscc", how="inner")
            .select("uscc", "rank", *[pl.col(f).cast(pl.Float64) for f in present])
            .unpivot(present, index=["uscc", "rank"], variable_name="feature", value_name="value")
            .filter(pl.col("value") > 0)
        )
        shap = pl.read_parquet(folder / EXPLANATIONS)
        in_model = [f for f in present if f in shap.columns]
        contributions = (
            shap.select("uscc", *[pl.col(f).cast(pl.Float64) for f in in_model]).unpivot(
                in_model, index="uscc", variable_name="feature", value_name="shap"
            )
            if in_model
            else pl.DataFrame(schema={"uscc": pl.String, "feature": pl.String, "shap": pl.Float64})
        )
        reasons = pl.read_parquet(folder / REASONS).select("uscc", "feature").unique()
        parts.append(
            values.join(contributions, on=["uscc", "feature"], how="left")
            .join(
                reasons.with_columns(pl.lit(True).alias("in_reasons")),
                on=["uscc", "feature"],
                how="left",
            )
            .select(
                "uscc",
                "rank",
                pl.lit(industry).alias("industry"),
                "feature",
                "value",
                "shap",
                pl.col("in_reasons").fill_null(False),
            )
        )
    if not parts:
        return pl.DataFrame()
    raises = (pl.col("shap") > 0).fill_null(False).alias("_raises")
    return (
        pl.concat(parts)
        .with_columns(raises)
        .sort(
            ["in_reasons", "_raises", "shap", "rank", "uscc", "feature"],
            descending=[True, True, True, False, False, False],
            nulls_last=True,
        )
        .drop("_raises")
    )


def records_behind(sources: SourceSet, uscc: str, feature: str, as_of: dt.date) -> pl.DataFrame:
    """``source``, ``record`` and ``event_date`` of every record of the firm in the feature's
    evidence sources that the as-of date can see, within the feature's window."""
    feature_spec = spec(feature)
    window = feature_spec.window.days if feature_spec.window else None
    parts = []
    for source_id in sorted({s for e in feature_spec.evidence for s in sources.family(e.family)}):
        key = record_key(sources.contracts[source_id])
        rows = (
            sources.versions(source_id, [key])
            .filter((pl.col(USCC) == uscc) & valid_at(pl.lit(as_of)))
            .select(
                pl.lit(source_id).alias("source"),
                pl.col(key).cast(pl.String).alias("record"),
                pl.col(EVENT_DATE).alias("event_date"),
            )
            .collect()
        )
        if window is not None:
            rows = rows.filter(pl.col("event_date") > as_of - dt.timedelta(days=window))
        parts.append(rows)
    if not parts:
        schema = {"source": pl.String, "record": pl.String, "event_date": pl.Date}
        return pl.DataFrame(schema=schema)
    return pl.concat(parts).unique().sort("source", "record")


def repair_delivery(
    chosen: dict[str, Any], records: pl.DataFrame, repaired_on: dt.date
) -> tuple[dt.date, pl.DataFrame]:
    """The day the repairs arrive (their delivery's date) and their canonical rows (one per
    record)."""
    contract = load_all()[REPAIR_SOURCE]
    arrived = dt.datetime.combine(repaired_on + dt.timedelta(days=1), ARRIVES_AT)
    contracts = load_all()
    kinds = {s: record_kind(contracts[s]) for s in records["source"].unique().to_list()}
    serial = pl.col("n").cast(pl.String).str.zfill(6)
    rows = records.with_row_index("n", offset=1).select(
        pl.format("CR{}9{}", pl.lit(f"{repaired_on:%Y%m%d}"), serial).alias("repair_no"),
        pl.lit(chosen["uscc"]).alias("uscc"),
        pl.lit(chosen.get("name")).cast(pl.String).alias("firm_name"),
        pl.lit(repaired_on).alias("repaired_date"),
        pl.col("source").replace_strict(kinds, return_dtype=pl.String).alias("repaired_record"),
        pl.col("source").alias("original_source"),
        pl.col("record").alias("original_record_no"),
        pl.lit(arrived).cast(pl.Datetime("us")).alias("arrived_at"),
    )
    return arrived.date(), rows.select(contract.column_names)


def _write_delivery(landing: Path, arrives_on: dt.date, rows: pl.DataFrame) -> Path:
    """The repairs as the centre's file under its raw headers, a delivery of its own: dated the
    first day from ``arrives_on`` on that no delivery of the source holds yet (re-delivering
    one would replace rows an earlier published week saw)."""
    contract = load_all()[REPAIR_SOURCE]
    suffix = contract.delivery.format.value
    day = arrives_on
    while (landing / REPAIR_SOURCE / f"{day.isoformat()}.{suffix}").exists():
        day += dt.timedelta(days=1)
    delivery = Delivery(
        source_id=REPAIR_SOURCE,
        delivery_id=day.isoformat(),
        format=contract.delivery.format,
        encoding=contract.delivery.encoding,
        frame=pl.DataFrame([as_text(c, rows[c.name]).alias(c.raw) for c in contract.columns]),
    )
    path = landing / REPAIR_SOURCE / delivery.file_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(render(delivery))
    return path


@flow(name="simulated-credit-centre")
@holds_workdir("simulated-credit-centre")
def credit_centre_flow(
    workdir: str, week: Week | str, repaired_on: dt.date | str
) -> dict[str, Any]:
    """Repair the records behind the strongest repairable explanation of ``week``'s listed
    firms on ``repaired_on`` (a date or ``YYYY-MM-DD``); returns what was repaired (empty when
    no listed firm has any)."""
    settings = Settings(workdir=Path(workdir))
    day = parse_day(repaired_on, "repaired_on")
    parsed = parse_week(week)
    week, as_of = parsed.label, parsed.as_of
    table = datasets.SCORING_TABLE.path(settings.workdir, as_of=as_of)
    ranked = candidates(settings.publish / week, table)
    sources = SourceSet(lake_sources(settings.lake))
    for row in ranked.iter_rows(named=True):
        records = records_behind(sources, row["uscc"], row["feature"], as_of)
        if records.height == 0:
            continue
        names = pl.read_parquet(settings.publish / week / row["industry"] / SCORES)
        name = names.filter(pl.col("uscc") == row["uscc"])["name"].to_list()
        chosen = {**row, "name": name[0] if name else None, "week": week}
        arrives_on, rows = repair_delivery(chosen, records, day)
        path = _write_delivery(settings.landing, arrives_on, rows)
        repaired = {
            **{k: v for k, v in chosen.items() if k != "name"},
            "repaired_on": day.isoformat(),
            "delivery": path.relative_to(settings.workdir).as_posix(),
            "repairs": [
                {
                    "repair_no": r["repair_no"],
                    "source": r["original_source"],
                    "record": r["original_record_no"],
                }
                for r in rows.iter_rows(named=True)
            ],
        }
        file_io.write_json(datasets.SIM_DEMO_REPAIR.path(settings.workdir), repaired)
        return repaired
    return {}


def repair_outcome(workdir: str, repaired: dict[str, Any], weeks: list[str]) -> dict[str, Any]:
    """For each week: the firm listed or not, the repaired feature among its reasons or not, the
    facts shown for that feature (from the lake as the week saw it), how many of them name a
    repaired record's date and source, the feature's value and SHAP contribution."""
    if not repaired:
        return {}
    settings = Settings(workdir=Path(workdir))
    sources = lake_sources(settings.lake)
    contracts = load_all()
    uscc, feature, industry = repaired["uscc"], repaired["feature"], repaired["industry"]
    marks = []
    for item in repaired["repairs"]:
        day = _record_day(sources, contracts, item["source"], item["record"])
        marks.append(f"{day} {contracts[item['source']].title.zh}")
    out: dict[str, Any] = {k: repaired[k] for k in ("uscc", "industry", "feature", "repairs")}
    out["repaired_on"] = repaired["repaired_on"]
    for week in weeks:
        _, as_of = resolve_week(week)
        folder = settings.publish / week / industry
        scores = pl.read_parquet(folder / SCORES).filter(pl.col("uscc") == uscc)
        reasons = pl.read_parquet(folder / REASONS).filter(pl.col("uscc") == uscc)
        shap = pl.read_parquet(folder / EXPLANATIONS).filter(pl.col("uscc") == uscc)
        table = pl.read_parquet(datasets.SCORING_TABLE.path(settings.workdir, as_of=as_of))
        facts = facts_for(sources, [uscc], as_of, [feature])["fact_zh"].to_list()
        out[week] = {
            "listed": bool(scores["listed"].any()) if scores.height else False,
            "in_reasons": feature in reasons["feature"].to_list(),
            "facts_shown": len(facts),
            "repaired_records_shown": sum(any(f.startswith(m) for f in facts) for m in marks),
            "value": table.filter(pl.col("uscc") == uscc)[feature].to_list()[:1] or [None],
            "shap": shap[feature].to_list()[:1] or [None] if feature in shap.columns else [None],
        }
        out[week]["value"] = out[week]["value"][0]
        out[week]["shap"] = out[week]["shap"][0]
    return out


def _record_day(sources: dict[str, pl.LazyFrame], contracts, source_id: str, record: str) -> str:
    contract = contracts[source_id]
    day = (
        sources[source_id]
        .filter(pl.col(record_key(contract)) == record)
        .select(pl.col(contract.event_time).cast(pl.Date).min())
        .collect()
        .item()
    )
    return day.isoformat() if day else "-"
