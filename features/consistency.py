"""Cross-source consistency: what one department's data says against another's.

- the annual report's employees against the pension scheme's insured headcount;
- the registered district against the district of the firm's energy meters;
- licences that lapsed while the firm still operates, and social insurance still paid then.

A licence's status at T is its row with the latest arrival among the rows usable at T (the
source delivers a new row when the status changes). A type counts when the firm holds a licence
of it that ran out (``valid_to`` before T, or marked 过期) and no licence of that type still
valid at T. Licences cancelled or revoked by the authority (注销/吊销) are formal ends, not lapses.
"""

from __future__ import annotations

import polars as pl

from features.annual_report import ANNUAL_REPORT, REPORT_EMPLOYEES
from features.contributions import SI_PAID_3M, SOCIAL_INSURANCE
from features.energy import ENERGY
from features.family import AS_OF_COLUMN, UP, Evidence, Family, Step, Unit, feature, is_in
from features.headcount import HEADCOUNT_LATEST, PENSION
from features.panel import label_at, monthly_panel, ratio, summarise
from features.point_in_time import AS_OF, GRID_ROW, valid_rows
from features.profile import MASTER
from features.source_set import SourceSet, prefixed

FAMILY_NAME = "consistency"
LICENCES = prefixed("licence_")
VALID = "有效"
EXPIRED = "过期"
ENDED = ("注销", "吊销")
LAPSED_LICENCES = Evidence(
    LICENCES,
    ("licence_no", "valid_to", "status"),
    where=((pl.col("valid_to") < pl.col(AS_OF_COLUMN)) | (pl.col("status") == EXPIRED))
    & ~is_in("status", ENDED),
)
LATEST_PERIOD = (0,)

HEADCOUNT_GAP = feature(
    "headcount_report_gap_ratio",
    FAMILY_NAME,
    [ANNUAL_REPORT, PENSION],
    Unit.ratio,
    UP,
    (
        "年报从业人数与参保人数之差占两者较大值的比例",
        "Gap between annual-report employees and insured headcount, as a share of the larger",
    ),
    (
        "年报从业人数与参保人数相差 {value}",
        "annual-report employees and insured headcount differ by {value}",
    ),
    evidence=[
        Evidence(ANNUAL_REPORT, ("employees",), mode="panel", lags=LATEST_PERIOD),
        Evidence(PENSION, ("insured_count",), mode="panel", lags=LATEST_PERIOD),
    ],
)
DISTRICT_MISMATCH = feature(
    "district_mismatch",
    FAMILY_NAME,
    [MASTER, ENERGY],
    Unit.flag,
    UP,
    (
        "登记片区与能源计量表所在片区不一致",
        "Registered district differs from an energy meter's district",
    ),
    (
        "登记片区与能源计量表片区不一致",
        "registered district differs from the energy meter's district",
    ),
    evidence=[
        Evidence(MASTER, ("district",), mode="latest"),
        Evidence(ENERGY, ("meter_district",), mode="panel", lags=LATEST_PERIOD),
    ],
)
LICENCE_EXPIRED = feature(
    "licence_expired_count",
    FAMILY_NAME,
    [LICENCES, MASTER],
    Unit.count,
    UP,
    (
        "已过期且未续期、企业仍在营的许可证种类数",
        "Licence types expired and not renewed while the firm still operates",
    ),
    (
        "{value} 类许可证已过期但企业仍在经营",
        "{value} licence [type|types] expired while the firm still operates",
    ),
    evidence=[LAPSED_LICENCES],
)
EXPIRED_PAYING_SI = feature(
    "licence_expired_paying_si",
    FAMILY_NAME,
    [LICENCES, SOCIAL_INSURANCE],
    Unit.flag,
    UP,
    (
        "许可证过期后最近3个月仍在缴纳社保",
        "Still paying social insurance in the last 3 months with an expired licence",
    ),
    ("许可证已过期但仍在缴纳社保", "still paying social insurance with an expired licence"),
    evidence=[
        LAPSED_LICENCES,
        Evidence(
            SOCIAL_INSURANCE,
            ("amount_paid",),
            pl.col("amount_paid") > 0,
            mode="panel",
            lags=(0, 1, 2),
        ),
    ],
)


def lapsed_licences(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(LICENCES)
    if not members:
        return None
    arrival = sources.timing(members[0]).arrival_time
    held = sources.family_versions(
        LICENCES, ["licence_no", "valid_to", "status", arrival], source_column="_type"
    )
    if held is None:
        return None
    status_at_t = (
        valid_rows(held, grid)
        .group_by(GRID_ROW, AS_OF, "_type", "licence_no")
        .agg(
            pl.col("status").sort_by(arrival, "status").last(),
            pl.col("valid_to").sort_by(arrival, "status").last().cast(pl.Date),
        )
    )
    current = (pl.col("status") == VALID) & (pl.col("valid_to") >= pl.col(AS_OF))
    lapsed = ((pl.col("valid_to") < pl.col(AS_OF)) | (pl.col("status") == EXPIRED)) & ~pl.col(
        "status"
    ).is_in(list(ENDED))
    per_type = status_at_t.group_by(GRID_ROW, "_type").agg(
        current.any().alias("_current"), lapsed.any().alias("_lapsed")
    )
    expired_types = per_type.group_by(GRID_ROW).agg(
        (pl.col("_lapsed") & ~pl.col("_current")).sum().cast(pl.Float64).alias(LICENCE_EXPIRED.name)
    )
    return (
        grid.select(GRID_ROW)
        .join(expired_types, on=GRID_ROW, how="left")
        .with_columns(pl.col(LICENCE_EXPIRED.name).fill_null(0.0))
    )


def meter_districts(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    """Whether any energy meter's district in its latest reported month differs from the
    registered district (on the grid) at T; null without an energy record."""
    members = sources.family(ENERGY)
    if not members:
        return None
    per_source = [
        summarise(
            monthly_panel(sources, [s], grid, [], LATEST_PERIOD, labels=("meter_district",)),
            label_at("meter_district", 0).alias("meter_district"),
        ).select(GRID_ROW, "meter_district")
        for s in members
    ]
    return (
        pl.concat(per_source, how="vertical")
        .join(grid.select(GRID_ROW, "district"), on=GRID_ROW, how="inner")
        .group_by(GRID_ROW)
        .agg(
            (pl.col("meter_district") != pl.col("district"))
            .max()
            .cast(pl.Float64)
            .alias(DISTRICT_MISMATCH.name)
        )
    )


def _gap_ratio() -> pl.Expr:
    employees, insured = pl.col(REPORT_EMPLOYEES), pl.col(HEADCOUNT_LATEST.name)
    return ratio((employees - insured).abs(), pl.max_horizontal(employees, insured))


def _paying_with_expired_licence() -> pl.Expr:
    expired = pl.col(LICENCE_EXPIRED.name)
    paying = (pl.col(SI_PAID_3M) > 0).fill_null(False)
    return pl.when(expired.is_not_null()).then(((expired > 0) & paying).cast(pl.Float64))


FAMILY = Family(
    FAMILY_NAME,
    (HEADCOUNT_GAP, DISTRICT_MISMATCH, LICENCE_EXPIRED, EXPIRED_PAYING_SI),
    steps=(
        Step(meter_districts, (DISTRICT_MISMATCH.name,)),
        Step(lapsed_licences, (LICENCE_EXPIRED.name,)),
    ),
    derived={
        HEADCOUNT_GAP.name: _gap_ratio(),
        EXPIRED_PAYING_SI.name: _paying_with_expired_licence(),
    },
)
