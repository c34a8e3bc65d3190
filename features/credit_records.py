"""Credit records besides the blacklists: honours and red lists, credit commitments, removals from
the abnormal-operation list, credit repairs, the public credit evaluation and contract honouring.

The negative lists (abnormal operation, blacklist, key attention, seriously dishonest) are read
by ``courts`` and ``adverse_events``; this family reads the rest of the ``credit_*`` sources.
Good standing (a red list, an honour, a contract-honouring award) lowers risk; a commitment not
kept, a removal that turned into a serious-dishonesty listing and a poor public evaluation raise
it. A credit repair says the firm had a bad record and cleared it: no set direction.
"""

from __future__ import annotations

import polars as pl

from features.events import Measures, event_window_sums
from features.family import (
    DOWN,
    NONE,
    TAX_RATINGS,
    UP,
    Direction,
    Evidence,
    Family,
    FeatureSpec,
    Step,
    Unit,
    Window,
    days,
    event_columns,
    feature,
    names,
)
from features.panel import annual_panel, label_at, summarise
from features.point_in_time import GRID_ROW
from features.source_set import SourceFamily, SourceSet, one

FAMILY_NAME = "credit_records"
RED_LIST = one("credit_red_list")
HONOURS = one("credit_honours")
CONTRACT_HONOURING = one("credit_contract_honouring")
COMMITMENTS = one("credit_commitment")
REMOVALS = one("credit_abnormal_operation_removal")
REPAIRS = one("credit_repair")
PUBLIC_EVALUATION = one("credit_public_evaluation")

YEAR, TWO_YEARS = days(365), days(730)
UNFULFILLED = "未履约"
REPAIR_COMMITMENT = "信用修复型"
ESCALATED = "期满未移出转严重失信"
# The public evaluation's grades A-D on the tax credit scale (A=0, B=1, C=3, D=4), so a grade
# reads as itself wherever a rating is shown.
EVALUATION_GRADES = ("A", "B", "C", "D")


def _count(
    name: str,
    source: SourceFamily,
    direction: Direction,
    description: tuple[str, str],
    template: tuple[str, str],
    window: Window = YEAR,
    evidence: Evidence | None = None,
) -> FeatureSpec:
    return feature(
        name,
        FAMILY_NAME,
        [source],
        Unit.count,
        direction,
        description,
        template,
        window=window,
        evidence=[evidence or Evidence(source)],
    )


RED_LIST_COUNT = _count(
    f"credit_red_list_count_{TWO_YEARS}",
    RED_LIST,
    DOWN,
    ("近730天列入守信红名单次数", "Red-list (good credit) listings in the last 730 days"),
    (
        "近730天列入守信红名单 {value} 次",
        "listed on a red list {value} [time|times] in the last 730 days",
    ),
    window=TWO_YEARS,
    evidence=Evidence(RED_LIST, ("list_type", "listing_authority")),
)
HONOURS_COUNT = _count(
    f"credit_honours_count_{TWO_YEARS}",
    HONOURS,
    DOWN,
    ("近730天获得的表彰荣誉数", "Honours awarded in the last 730 days"),
    ("近730天获得表彰荣誉 {value} 项", "{value} [honour|honours] in the last 730 days"),
    window=TWO_YEARS,
    evidence=Evidence(HONOURS, ("award_type", "awarding_body")),
)
CONTRACT_HONOURING_COUNT = _count(
    f"credit_contract_honouring_count_{TWO_YEARS}",
    CONTRACT_HONOURING,
    DOWN,
    (
        "近730天获评守合同重信用企业的次数",
        "'Honours contracts' awards in the last 730 days",
    ),
    (
        "近730天获评守合同重信用企业 {value} 次",
        "{value} 'honours contracts' [award|awards] in the last 730 days",
    ),
    window=TWO_YEARS,
    evidence=Evidence(CONTRACT_HONOURING, ("award_level", "consecutive_years")),
)
COMMITMENT_UNFULFILLED = _count(
    f"credit_commitment_unfulfilled_count_{YEAR}",
    COMMITMENTS,
    UP,
    ("近365天未履约的信用承诺数", "Credit commitments not kept, signed in the last 365 days"),
    (
        "近365天有 {value} 项信用承诺未履约",
        "{value} credit [commitment|commitments] not kept in the last 365 days",
    ),
    evidence=Evidence(
        COMMITMENTS, ("commitment_type", "fulfilment"), pl.col("fulfilment") == UNFULFILLED
    ),
)
COMMITMENT_FOR_REPAIR = _count(
    f"credit_repair_commitment_count_{YEAR}",
    COMMITMENTS,
    UP,
    (
        "近365天为信用修复作出的信用承诺数",
        "Credit commitments made to repair credit in the last 365 days",
    ),
    (
        "近365天为信用修复作出承诺 {value} 项",
        "{value} [commitment|commitments] made to repair credit in the last 365 days",
    ),
    evidence=Evidence(
        COMMITMENTS,
        ("commitment_type", "fulfilment"),
        pl.col("commitment_type") == REPAIR_COMMITMENT,
    ),
)
REMOVAL_COUNT = _count(
    f"credit_abnormal_removal_count_{YEAR}",
    REMOVALS,
    NONE,
    (
        "近365天移出经营异常名录的次数",
        "Removals from the abnormal-operation list in the last 365 days",
    ),
    (
        "近365天移出经营异常名录 {value} 次",
        "removed from the abnormal-operation list {value} [time|times] in the last 365 days",
    ),
    evidence=Evidence(REMOVALS, ("reason",)),
)
REMOVAL_ESCALATED = _count(
    f"credit_abnormal_escalated_count_{YEAR}",
    REMOVALS,
    UP,
    (
        "近365天经营异常名录期满未移出转严重失信的次数",
        "Abnormal-operation listings turned into serious dishonesty in the last 365 days",
    ),
    (
        "近365天经营异常期满未移出转严重失信 {value} 次",
        "{value} abnormal-operation [listing|listings] turned into serious dishonesty in the "
        "last 365 days",
    ),
    evidence=Evidence(REMOVALS, ("reason",), pl.col("reason") == ESCALATED),
)
REPAIR_COUNT = _count(
    f"credit_repair_count_{YEAR}",
    REPAIRS,
    NONE,
    ("近365天完成的信用修复次数", "Credit repairs completed in the last 365 days"),
    (
        "近365天完成信用修复 {value} 次",
        "{value} credit [repair|repairs] completed in the last 365 days",
    ),
    evidence=Evidence(REPAIRS, ("repaired_record", "original_source")),
)
EVALUATION_GRADE = feature(
    "credit_public_evaluation_grade",
    FAMILY_NAME,
    [PUBLIC_EVALUATION],
    Unit.rating,
    UP,
    (
        "最近一次公共信用综合评价等级（A=0, B=1, C=3, D=4）",
        "Latest public credit evaluation grade (A=0, B=1, C=3, D=4)",
    ),
    ("公共信用综合评价等级为 {value}", "public credit evaluation grade {value}"),
    evidence=[Evidence(PUBLIC_EVALUATION, ("grade",), mode="latest")],
)


def credit_events(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    parts = [
        Measures(RED_LIST, {"red_list": pl.lit(1)}),
        Measures(HONOURS, {"honour": pl.lit(1)}),
        Measures(CONTRACT_HONOURING, {"contract_honouring": pl.lit(1)}),
        Measures(
            COMMITMENTS,
            {
                "unfulfilled": pl.col("fulfilment") == UNFULFILLED,
                "repair_commitment": pl.col("commitment_type") == REPAIR_COMMITMENT,
            },
            columns=("fulfilment", "commitment_type"),
        ),
        Measures(
            REMOVALS,
            {"removal": pl.lit(1), "escalated": pl.col("reason") == ESCALATED},
            columns=("reason",),
        ),
        Measures(REPAIRS, {"repair": pl.lit(1)}),
    ]
    return event_window_sums(
        grid,
        sources,
        parts,
        {
            **event_columns([RED_LIST_COUNT], "red_list"),
            **event_columns([HONOURS_COUNT], "honour"),
            **event_columns([CONTRACT_HONOURING_COUNT], "contract_honouring"),
            **event_columns([COMMITMENT_UNFULFILLED], "unfulfilled"),
            **event_columns([COMMITMENT_FOR_REPAIR], "repair_commitment"),
            **event_columns([REMOVAL_COUNT], "removal"),
            **event_columns([REMOVAL_ESCALATED], "escalated"),
            **event_columns([REPAIR_COUNT], "repair"),
        },
    )


def evaluation_grade(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(PUBLIC_EVALUATION)
    if not members:
        return None
    long = annual_panel(sources, members, grid, [], (0,), labels=("grade",))
    grades = pl.LazyFrame(
        {
            "_grade": list(EVALUATION_GRADES),
            EVALUATION_GRADE.name: [float(TAX_RATINGS.index(g)) for g in EVALUATION_GRADES],
        }
    )
    return (
        summarise(long, label_at("grade", 0).alias("_grade"))
        .join(grades, on="_grade", how="left")
        .select(GRID_ROW, EVALUATION_GRADE.name)
    )


EVENT_SPECS = (
    RED_LIST_COUNT,
    HONOURS_COUNT,
    CONTRACT_HONOURING_COUNT,
    COMMITMENT_UNFULFILLED,
    COMMITMENT_FOR_REPAIR,
    REMOVAL_COUNT,
    REMOVAL_ESCALATED,
    REPAIR_COUNT,
)
SPECS = (*EVENT_SPECS, EVALUATION_GRADE)
FAMILY = Family(
    FAMILY_NAME,
    SPECS,
    steps=(
        Step(credit_events, names(EVENT_SPECS)),
        Step(evaluation_grade, (EVALUATION_GRADE.name,)),
    ),
)
