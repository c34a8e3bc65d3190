"""The feature table: one row per active firm per as-of date, every registry column.

Every family computes all as-of dates in one query (see ``point_in_time``); the families are
then joined on (uscc, as_of) and the cross-source features (consistency checks, comparisons with
sector peers, coverage) are derived from the joined columns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date

import polars as pl

from data_contracts.schema import SourceContract
from features.adverse_events import adverse_events
from features.annual_report import REPORT_EMPLOYEES, annual_report
from features.capital import capital
from features.complaints import complaints
from features.contributions import SI_PAID_3M, headcount, housing_fund, social_insurance
from features.courts import courts
from features.coverage import PANELS_KNOWN, coverage, insufficient
from features.energy import energy
from features.licences import licences
from features.linked_firms import linked_firms
from features.panel import LATEST, ratio
from features.penalties import penalties
from features.point_in_time import AS_OF, GRID_ROW, USCC, SourceDataError
from features.prepaid import prepaid
from features.profile import FIRM_CODE, firm_grid
from features.registration import registration_changes
from features.registry import SPECS
from features.source_set import SourceSet
from features.tax import tax_rating, vat

KEYS = [USCC, AS_OF]
Family = Callable[[pl.LazyFrame, SourceSet], pl.LazyFrame | None]
FAMILIES: tuple[Family, ...] = (
    capital,
    social_insurance,
    housing_fund,
    headcount,
    complaints,
    registration_changes,
    linked_firms,
    penalties,
    courts,
    energy,
    vat,
    tax_rating,
    annual_report,
    prepaid,
    adverse_events,
    licences,
    coverage,
)
# Insured headcount bounds of the size bands (industrial SME thresholds), smallest first.
SIZE_BANDS = ((20, "微型"), (300, "小型"), (1000, "中型"))
LARGE, UNKNOWN_SIZE = "大型", "未知"
TEXT_COLUMNS = ("sector", "district", "ownership_type", "size_band")


def build_feature_table(
    sources: Mapping[str, pl.LazyFrame],
    as_of_dates: Sequence[date],
    *,
    sectors: Sequence[str] | None = None,
    contracts: Mapping[str, SourceContract] | None = None,
) -> pl.LazyFrame:
    """One row per active firm per as-of date, sorted by as_of then uscc.

    ``sources``: lake frames by source id (canonical columns). ``sectors`` keeps only firms of
    those registered sectors; ``contracts`` overrides the shipped catalog (tests). Raises
    ``SourceDataError`` naming the source, column and row of a key value that is missing.

    The families are computed here, one after the other, so that memory holds one family's
    intermediate frames at a time; the frame returned only joins their results.
    """
    source_set = SourceSet(sources, contracts)
    check_keys(source_set)
    # Every family joins onto the grid: computing it once keeps each family's plan small.
    # Its rows come in their final order (as_of, then uscc), numbered 0..n-1: each family's
    # values are then placed at their row numbers, no join needed.
    grid = firm_grid(source_set, as_of_dates, sectors).collect()
    # Families work on integer firm codes (the grid's): joined and grouped as ints.
    firms = grid.select(USCC, pl.col(FIRM_CODE).alias("code")).unique("code")
    coded_grid = grid.drop(USCC).rename({FIRM_CODE: USCC}).lazy()
    coded = source_set.for_firms(firms)
    columns: dict[str, pl.Series] = {}
    for family in FAMILIES:
        part = family(coded_grid, coded)
        if part is not None:
            # One family at a time, so only its own intermediate frames are ever in memory.
            columns.update(placed(part.collect(), grid.height))
    table = grid.hstack(list(columns.values())).lazy()
    return finish(table)


def active_firm_count(
    sources: Mapping[str, pl.LazyFrame], as_of: date, *, sectors: Sequence[str] | None = None
) -> int:
    """How many firms (of ``sectors``) ``build_feature_table`` would give a row at ``as_of``."""
    return firm_grid(SourceSet(sources), [as_of], sectors).select(pl.len()).collect().item()


def placed(part: pl.DataFrame, height: int) -> dict[str, pl.Series]:
    """A family's columns at full grid height: each value at its grid row, null elsewhere."""
    rows = part[GRID_ROW]
    if rows.is_duplicated().any():
        raise ValueError(f"a family gave grid row {rows.filter(rows.is_duplicated())[0]} twice")
    return {
        name: pl.repeat(None, height, dtype=part[name].dtype, eager=True)
        .alias(name)
        .scatter(rows, part[name])
        for name in part.columns
        if name not in (GRID_ROW, USCC, AS_OF, LATEST)
    }


def check_keys(sources: SourceSet) -> None:
    """Every row needs its entity, event time and arrival time; name the first that lacks one.

    One small query per source: a single plan over every source would open them all at once.
    """
    for source_id in sources.ids():
        timing = sources.timing(source_id)
        frame = sources.frames[source_id]
        schema = frame.collect_schema()
        columns = [timing.entity_key, timing.event_time, timing.arrival_time]
        for column in columns:
            if column not in schema:
                raise SourceDataError(f"source {source_id}: column {column!r} is missing")
        for column in columns[1:]:
            if not (schema[column] == pl.Date or isinstance(schema[column], pl.Datetime)):
                raise SourceDataError(
                    f"source {source_id}: column {column!r} must be a date or datetime, "
                    f"not {schema[column]}"
                )
        first_nulls = frame.select(
            pl.col(c).is_null().arg_true().first().alias(c) for c in columns
        ).collect(engine="in-memory")
        for column in columns:
            row = first_nulls[column][0]
            if row is not None:
                raise SourceDataError(
                    f"source {source_id}: column {column!r} is null in row {row} "
                    "(0-based row of the source frame)"
                )


def finish(table: pl.LazyFrame) -> pl.LazyFrame:
    """Cross-source features, descriptors, then exactly the registry's columns in order."""
    present = set(table.collect_schema().names())

    def col(name: str) -> pl.Expr:
        return pl.col(name) if name in present else pl.lit(None, dtype=pl.Float64)

    employees, insured = col(REPORT_EMPLOYEES), col("headcount_latest")
    expired = col("licence_expired_count")
    derived = table.with_columns(
        ratio((employees - insured).abs(), pl.max_horizontal(employees, insured)).alias(
            "headcount_report_gap_ratio"
        ),
        pl.when(expired.is_not_null())
        .then(((expired > 0) & (col(SI_PAID_3M) > 0).fill_null(False)).cast(pl.Float64))
        .alias("licence_expired_paying_si"),
        size_band(insured).alias("size_band"),
        insufficient(col("n_sources_known"), col(PANELS_KNOWN)).alias("insufficient_data"),
        *peer_gap(col("complaint_count_365d"), "complaint_vs_sector_365d"),
        *peer_gap(col("energy_yoy_change_3m"), "energy_yoy_vs_sector"),
    )
    present = set(derived.collect_schema().names())
    return derived.select(*KEYS, *[_typed(s.name, s.name in present) for s in SPECS])


def peer_gap(value: pl.Expr, alias: str) -> list[pl.Expr]:
    """The firm's value minus the median of active firms of its sector at the same date."""
    return [(value - value.median().over("sector", AS_OF)).alias(alias)]


def size_band(insured: pl.Expr) -> pl.Expr:
    band = pl.when(insured.is_null()).then(pl.lit(UNKNOWN_SIZE))
    for bound, name in SIZE_BANDS:
        band = band.when(insured < bound).then(pl.lit(name))
    return band.otherwise(pl.lit(LARGE))


def _typed(name: str, present: bool) -> pl.Expr:
    if name in TEXT_COLUMNS:
        dtype: pl.DataType = pl.String()
    elif name == "insufficient_data":
        dtype = pl.Boolean()
    elif name == "n_sources_known":
        dtype = pl.Int32()
    else:
        dtype = pl.Float64()
    value = pl.col(name) if present else pl.lit(None)
    return value.cast(dtype).alias(name)
