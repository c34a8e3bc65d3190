"""Inspections: what the departments' inspectors found at the firm over the last year.

Every ``inspection_*`` source about firms (not the inspectors' roster or the departments'
monthly capacity) reports a ``result`` in one vocabulary: no problem found, rectification
ordered, referred for a case, premises not found. ``data_contracts/feedback.yaml`` maps those
values onto the feedback outcomes for the departments whose inspections answer the lists; the
same mapping reads every inspection source. Some sources also record a finding of their own (a
training school's classes suspended, a financial firm's low supervisory rating, a major hazard,
a failed sample); each is counted in its own column.

Inspections in the window are counted whatever their result (``inspection_count_365d``, no risk
direction: being inspected often is partly the department's choice, not the firm's state).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from data_contracts.feedback import load_feedback
from features.events import Measures, event_window_sums
from features.family import (
    NONE,
    UP,
    Evidence,
    Family,
    Step,
    Text,
    Unit,
    days,
    event_columns,
    feature,
    names,
    windowed,
)
from features.source_set import SourceFamily, SourceSet, one, prefixed

FAMILY_NAME = "inspections"
# Not inspections of a firm: who the inspectors are and how many firms a department can visit.
NOT_ABOUT_FIRMS = ("inspection_inspector_roster", "inspection_monthly_capacity")
INSPECTIONS = prefixed("inspection_", exclude=NOT_ABOUT_FIRMS)
RESULT = "result"
SHOWN = (RESULT, "issues_found")
YEAR = days(365)

# Feedback outcomes (data_contracts/feedback.yaml) an inspection's result is counted under.
RECTIFICATION = "rectification_ordered"
REFERRAL = "risk_confirmed"
PREMISES_MISSING = "closed_or_unreachable"
FINDINGS = (RECTIFICATION, REFERRAL)


def result_outcomes() -> dict[str, str]:
    """Each result value of the inspection sources -> its feedback outcome, as the departments'
    mappings in ``feedback.yaml`` say (one vocabulary: a value mapped twice must agree)."""
    outcomes: dict[str, str] = {}
    for source_id, mapping in sorted(load_feedback().department_sources.items()):
        for raw, outcome in mapping.outcomes.items():
            if outcomes.setdefault(raw, outcome) != outcome:
                raise ValueError(
                    f"feedback.yaml: {source_id} maps result {raw!r} to {outcome!r}, another "
                    f"department source to {outcomes[raw]!r}"
                )
    return outcomes


def results_of(*outcomes: str) -> list[str]:
    """The result values that mean one of ``outcomes``."""
    return sorted(raw for raw, outcome in result_outcomes().items() if outcome in outcomes)


def _result_is(*outcomes: str) -> pl.Expr:
    return pl.col(RESULT).is_in(results_of(*outcomes))


@dataclass(frozen=True)
class SourceFinding:
    """A finding one kind of inspection records besides its result: ``column`` in ``values``."""

    name: str
    sources: tuple[str, ...]
    column: str
    values: tuple[str, ...]
    label: Text

    @property
    def family(self) -> SourceFamily:
        return SourceFamily(ids=self.sources)

    @property
    def where(self) -> pl.Expr:
        return pl.col(self.column).is_in(list(self.values))


SOURCE_FINDINGS = (
    SourceFinding(
        "inspection_classes_suspended_count_365d",
        ("inspection_training_school",),
        "operating_found",
        ("部分停课", "全部停课", "人去楼空"),
        Text(
            "培训机构检查发现停课或人去楼空", "training-school inspections finding classes stopped"
        ),
    ),
    SourceFinding(
        "inspection_low_supervisory_rating_count_365d",
        ("inspection_financial_onsite",),
        "rating",
        ("C", "D"),
        Text("金融现场检查监管评级为C或D", "financial on-site inspections rating the firm C or D"),
    ),
    SourceFinding(
        "inspection_risk_screening_count_365d",
        ("inspection_financial_onsite",),
        "check_type",
        ("风险排查",),
        Text("金融现场检查中的风险排查", "financial on-site risk screenings"),
    ),
    SourceFinding(
        "inspection_major_hazard_count_365d",
        ("inspection_work_safety",),
        "hazard_level",
        ("重大隐患",),
        Text("安全生产检查发现重大隐患", "work-safety inspections finding a major hazard"),
    ),
    SourceFinding(
        "inspection_unrectified_count_365d",
        ("inspection_hazard_rectification",),
        "rectified",
        ("部分整改", "未整改"),
        Text("隐患整改复查发现未整改到位", "hazard follow-ups finding the hazard not rectified"),
    ),
    SourceFinding(
        "inspection_failed_sample_count_365d",
        ("inspection_food_sampling", "inspection_product_quality_sampling"),
        "sample_verdict",
        ("不合格",),
        Text("食品或产品质量抽检不合格", "failed food or product-quality samples"),
    ),
    SourceFinding(
        "inspection_equipment_overdue_count_365d",
        ("inspection_special_equipment",),
        "overdue_inspection",
        ("是",),
        Text("特种设备检查发现超期未检", "special-equipment inspections finding an overdue check"),
    ),
    SourceFinding(
        "inspection_monitoring_abnormal_count_365d",
        ("inspection_environment",),
        "monitoring",
        ("异常",),
        Text(
            "环境执法检查发现在线监测异常", "environmental inspections finding monitoring abnormal"
        ),
    ),
    SourceFinding(
        "inspection_wage_check_count_365d",
        ("inspection_labour_security",),
        "check_focus",
        ("工资支付",),
        Text("劳动保障检查聚焦工资支付", "labour inspections checking wage payment"),
    ),
)


def _inspections(where: pl.Expr | None = None) -> Evidence:
    return Evidence(INSPECTIONS, SHOWN, where)


COUNT = feature(
    f"inspection_count_{YEAR}",
    FAMILY_NAME,
    [INSPECTIONS],
    Unit.count,
    NONE,
    ("近365天各部门检查次数", "Inspections by any department in the last 365 days"),
    ("近365天被检查 {value} 次", "inspected {value} [time|times] in the last 365 days"),
    window=YEAR,
    evidence=[_inspections()],
)
FINDING_COUNT = windowed(
    "inspection_finding_count",
    (days(180), YEAR),
    FAMILY_NAME,
    [INSPECTIONS],
    Unit.count,
    UP,
    (
        "近{w}天检查发现问题（责令整改或移送立案）的次数",
        "Inspections finding problems (rectification ordered or case referred) in the last {w} "
        "days",
    ),
    (
        "近{w}天检查发现问题 {value} 次",
        "{value} [inspection|inspections] found problems in the last {w} days",
    ),
    evidence=[_inspections(_result_is(*FINDINGS))],
)
REFERRAL_COUNT = feature(
    f"inspection_referral_count_{YEAR}",
    FAMILY_NAME,
    [INSPECTIONS],
    Unit.count,
    UP,
    ("近365天检查发现问题移送立案的次数", "Inspections referring a case in the last 365 days"),
    (
        "近365天检查发现问题移送立案 {value} 次",
        "{value} [inspection|inspections] referred a case in the last 365 days",
    ),
    window=YEAR,
    evidence=[_inspections(_result_is(REFERRAL))],
)
PREMISES_MISSING_COUNT = feature(
    f"inspection_premises_missing_count_{YEAR}",
    FAMILY_NAME,
    [INSPECTIONS],
    Unit.count,
    UP,
    (
        "近365天检查未发现经营场所的次数",
        "Inspections not finding the firm at its premises in the last 365 days",
    ),
    (
        "近365天检查 {value} 次未发现经营场所",
        "premises not found at {value} [inspection|inspections] in the last 365 days",
    ),
    window=YEAR,
    evidence=[_inspections(_result_is(PREMISES_MISSING))],
)
BY_FINDING = tuple(
    feature(
        finding.name,
        FAMILY_NAME,
        [finding.family],
        Unit.count,
        UP,
        (f"近365天{finding.label.zh}的次数", f"{finding.label.en.capitalize()}, last 365 days"),
        (
            f"近365天{finding.label.zh} {{value}} 次",
            f"{{value}} {finding.label.en} in the last 365 days",
        ),
        window=YEAR,
        evidence=[Evidence(finding.family, (RESULT, finding.column), finding.where)],
    )
    for finding in SOURCE_FINDINGS
)


def _source_measures(source_id: str, findings: Mapping[str, SourceFinding]) -> Measures:
    mine = [f for f in findings.values() if source_id in f.sources]
    return Measures(
        one(source_id),
        {
            "inspection": pl.lit(1),
            "finding": _result_is(*FINDINGS),
            "referral": _result_is(REFERRAL),
            "premises_missing": _result_is(PREMISES_MISSING),
            **{f.name: f.where for f in mine},
        },
        columns=(RESULT, *(f.column for f in mine)),
    )


def inspections(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    findings = {f.name: f for f in SOURCE_FINDINGS}
    parts = [_source_measures(s, findings) for s in sources.family(INSPECTIONS)]
    return event_window_sums(
        grid,
        sources,
        parts,
        {
            **event_columns([COUNT], "inspection"),
            **event_columns(FINDING_COUNT, "finding"),
            **event_columns([REFERRAL_COUNT], "referral"),
            **event_columns([PREMISES_MISSING_COUNT], "premises_missing"),
            **{spec.name: (spec.name, YEAR.days) for spec in BY_FINDING},
        },
    )


SPECS = (COUNT, *FINDING_COUNT, REFERRAL_COUNT, PREMISES_MISSING_COUNT, *BY_FINDING)
FAMILY = Family(FAMILY_NAME, SPECS, steps=(Step(inspections, names(SPECS)),))
