"""Administrative penalties from every ``penalty_*`` source: by window, severity, kind and the
group of the department that imposed them."""

from __future__ import annotations

import polars as pl

from features.events import Measures, event_window_sums
from features.family import (
    UP,
    Evidence,
    Family,
    Step,
    Text,
    Unit,
    days,
    event_columns,
    feature,
    is_in,
    names,
    windowed,
)
from features.source_set import SourceFamily, SourceSet, prefixed

FAMILY_NAME = "penalties"
PENALTIES = prefixed("penalty_")
MAJOR = "较重"
SERIOUS = "严重"
SUSPENSION = ("责令停产停业", "吊销许可证")
SHOWN = ("penalty_type", "severity", "fine_amount", "violation_type")
YEAR = days(365)

# Penalty sources by the kind of department that imposed them (department id after "penalty_");
# a penalty source not listed here counts under "other".
PENALTY_GROUPS: dict[str, tuple[tuple[str, ...], Text]] = {
    "market": (
        (
            "market_supervision",
            "quality_standards",
            "drug_administration",
            "intellectual_property",
            "commerce",
        ),
        Text("市场监管类", "market supervision"),
    ),
    "safety": (
        ("emergency_management", "fire_rescue", "housing_construction", "transport"),
        Text("安全生产与建设类", "safety and construction"),
    ),
    "environment": (
        ("ecology_environment", "water_affairs", "natural_resources"),
        Text("生态环境类", "environment"),
    ),
    "labour": (("labour_inspection",), Text("劳动保障类", "labour")),
    "finance_tax": (
        ("financial_supervision", "tax", "customs"),
        Text("金融税务类", "finance, tax and customs"),
    ),
    "social": (
        ("education", "health", "culture_tourism"),
        Text("教育卫生文旅类", "education, health and culture"),
    ),
}
OTHER = "other"
GROUP_LABELS = {
    **{group: label for group, (_, label) in PENALTY_GROUPS.items()},
    OTHER: Text("其他", "other"),
}


def penalty_group(source_id: str) -> str:
    """The department group of a penalty source."""
    department = source_id.removeprefix("penalty_")
    for group, (departments, _) in PENALTY_GROUPS.items():
        if department in departments:
            return group
    return OTHER


def group_sources(group: str) -> SourceFamily:
    """The penalty sources of one department group ("other": every penalty source of no listed
    group)."""
    if group == OTHER:
        listed = tuple(
            f"penalty_{d}" for departments, _ in PENALTY_GROUPS.values() for d in departments
        )
        return SourceFamily(prefix=PENALTIES.prefix, exclude=listed)
    return SourceFamily(ids=tuple(f"penalty_{d}" for d in PENALTY_GROUPS[group][0]))


def _penalties(where: pl.Expr | None = None) -> Evidence:
    return Evidence(PENALTIES, SHOWN, where)


COUNT = windowed(
    "penalty_count",
    (days(90), days(180), YEAR),
    FAMILY_NAME,
    [PENALTIES],
    Unit.count,
    UP,
    (
        "近{w}天行政处罚次数（全部执法部门）",
        "Administrative penalties in the last {w} days (every department)",
    ),
    (
        "近{w}天受到行政处罚 {value} 次",
        "{value} administrative [penalty|penalties] in the last {w} days",
    ),
    evidence=[_penalties()],
)
FINE_AMOUNT = feature(
    "penalty_fine_amount_365d",
    FAMILY_NAME,
    [PENALTIES],
    Unit.cny,
    UP,
    ("近365天罚款金额", "Fines in the last 365 days"),
    ("近365天被罚款 {value}", "fined {value} in the last 365 days"),
    window=YEAR,
    evidence=[_penalties(pl.col("fine_amount") > 0)],
)
MAJOR_COUNT = feature(
    "penalty_major_count_365d",
    FAMILY_NAME,
    [PENALTIES],
    Unit.count,
    UP,
    ("近365天情节较重的处罚次数", "Penalties of major severity in the last 365 days"),
    (
        "近365天受到情节较重的处罚 {value} 次",
        "{value} major-severity [penalty|penalties] in the last 365 days",
    ),
    window=YEAR,
    evidence=[_penalties(pl.col("severity") == MAJOR)],
)
SERIOUS_COUNT = feature(
    "penalty_serious_count_365d",
    FAMILY_NAME,
    [PENALTIES],
    Unit.count,
    UP,
    ("近365天情节严重的处罚次数", "Penalties of serious severity in the last 365 days"),
    (
        "近365天受到情节严重的处罚 {value} 次",
        "{value} serious-severity [penalty|penalties] in the last 365 days",
    ),
    window=YEAR,
    evidence=[_penalties(pl.col("severity") == SERIOUS)],
)
SUSPENSION_COUNT = feature(
    "penalty_suspension_count_365d",
    FAMILY_NAME,
    [PENALTIES],
    Unit.count,
    UP,
    (
        "近365天责令停产停业或吊销许可证的处罚次数",
        "Penalties suspending business or revoking a licence in the last 365 days",
    ),
    (
        "近365天被责令停产停业或吊销许可证 {value} 次",
        "business suspended or licence revoked {value} [time|times] in the last 365 days",
    ),
    window=YEAR,
    evidence=[_penalties(is_in("penalty_type", SUSPENSION))],
)
BY_GROUP = {
    group: feature(
        f"penalty_{group}_count_{YEAR}",
        FAMILY_NAME,
        [PENALTIES],
        Unit.count,
        UP,
        (
            f"近365天{label.zh}部门处罚次数",
            f"Penalties by {label.en} departments in the last 365 days",
        ),
        (
            f"近365天受到{label.zh}部门处罚 {{value}} 次",
            f"{{value}} [penalty|penalties] by {label.en} departments in the last 365 days",
        ),
        window=YEAR,
        evidence=[Evidence(group_sources(group), SHOWN)],
    )
    for group, label in GROUP_LABELS.items()
}


def penalties(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    members = sources.family(PENALTIES)
    group_measures = {f"group_{g}": pl.lit(0) for g in BY_GROUP}
    parts = [
        Measures(
            SourceFamily(ids=(source_id,)),
            {
                "penalty": pl.lit(1),
                "fine": pl.col("fine_amount"),
                "major": pl.col("severity") == MAJOR,
                "serious": pl.col("severity") == SERIOUS,
                "suspension": pl.col("penalty_type").is_in(list(SUSPENSION)),
                **group_measures,
                f"group_{penalty_group(source_id)}": pl.lit(1),
            },
            columns=("fine_amount", "severity", "penalty_type"),
        )
        for source_id in members
    ]
    return event_window_sums(
        grid,
        sources,
        parts,
        {
            **event_columns(COUNT, "penalty"),
            **event_columns([FINE_AMOUNT], "fine"),
            **event_columns([MAJOR_COUNT], "major"),
            **event_columns([SERIOUS_COUNT], "serious"),
            **event_columns([SUSPENSION_COUNT], "suspension"),
            **{
                name: column
                for g, spec in BY_GROUP.items()
                for name, column in event_columns([spec], f"group_{g}").items()
            },
        },
    )


SPECS = (*COUNT, FINE_AMOUNT, MAJOR_COUNT, SERIOUS_COUNT, SUSPENSION_COUNT, *BY_GROUP.values())
FAMILY = Family(FAMILY_NAME, SPECS, steps=(Step(penalties, names(SPECS)),))
