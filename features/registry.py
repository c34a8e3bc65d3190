"""The feature registry: every non-key column of the feature table, described once.

Each entry names the column, its family, the source contracts it reads, its window, unit, risk
direction (``up``: higher is riskier, ``down``: lower is riskier, ``none``), zh/en descriptions and
zh/en explanation templates. Explanations, model cards and monotone constraints read from here;
nothing else restates a feature's meaning.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from data_contracts import catalog
from features.source_set import SourceFamily, one, prefixed


class Direction(StrEnum):
    up = "up"
    down = "down"
    none = "none"


class Unit(StrEnum):
    count = "count"
    count_change = "count_change"
    months = "months"
    days = "days"
    years = "years"
    persons = "persons"
    persons_change = "persons_change"
    cny = "cny"
    cny_change = "cny_change"
    cny_10k = "cny_10k"
    ratio = "ratio"
    signed_ratio = "signed_ratio"
    multiple = "multiple"
    flag = "flag"
    rating = "rating"
    category = "category"


UNIT_NAMES: dict[Unit, tuple[str, str]] = {
    Unit.count: ("次/件/家", "count"),
    Unit.count_change: ("次/件（差值）", "count difference"),
    Unit.months: ("月", "months"),
    Unit.days: ("天", "days"),
    Unit.years: ("年", "years"),
    Unit.persons: ("人", "persons"),
    Unit.persons_change: ("人（变化）", "persons (change)"),
    Unit.cny: ("元", "CNY"),
    Unit.cny_change: ("元（变化）", "CNY (change)"),
    Unit.cny_10k: ("万元", "10k CNY"),
    Unit.ratio: ("比例", "ratio"),
    Unit.signed_ratio: ("比例（可为负）", "signed ratio"),
    Unit.multiple: ("倍", "multiple"),
    Unit.flag: ("是/否", "yes/no"),
    Unit.rating: ("等级", "grade"),
    Unit.category: ("类别", "category"),
}

# Tax credit grades, best first; the feature holds the position (0 = A).
TAX_RATINGS = ("A", "B", "M", "C", "D")

MASTER = one("reg_enterprise_master")
SOCIAL_INSURANCE = prefixed("si_")
HOUSING_FUND = one("hf_contribution")
PENSION = one("si_pension")
COMPLAINTS = prefixed("complaint_")
HOTLINE = one("complaint_12345")
WAGE_COMPLAINTS = one("complaint_wage_arrears")
FINANCIAL_DISPUTES = one("complaint_financial_dispute")
PREPAID_REFUNDS = one("complaint_prepaid_refund")
CAPITAL_CHANGES = one("reg_capital_change")
SCOPE_CHANGES = one("reg_scope_change")
LEGAL_REP_CHANGES = one("reg_legal_rep_change")
ADDRESS_CHANGES = one("reg_address_change")
EQUITY_CHANGES = one("reg_equity_change")
LINKED_FIRMS = one("reg_legal_rep_other_firms")
PENALTIES = prefixed("penalty_")
CIVIL_CASES = one("court_civil_case")
ENFORCEMENT = one("court_enforcement")
DISHONEST_DEBTORS = one("court_dishonest_debtor")
ABNORMAL_OPERATION = one("credit_abnormal_operation")
BLACK_LIST = one("credit_black_list")
ENERGY = prefixed("energy_")
VAT = one("tax_vat_declaration")
TAX_RATING = one("tax_credit_rating")
ANNUAL_REPORT = one("annual_report_basic")
PREPAID_SUPERVISION = one("prepaid_fee_supervision")
LICENCES = prefixed("licence_")
OUTCOMES = "outcome_distress_event"
# Outcomes are the labels: no feature may read them (the active-firm filter is not a feature).
ALL_SOURCES = prefixed("", exclude=(OUTCOMES,))


@dataclass(frozen=True)
class Text:
    zh: str
    en: str

    def get(self, lang: str) -> str:
        if lang not in ("zh", "en"):
            raise ValueError(f"language must be 'zh' or 'en', not {lang!r}")
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class FeatureSpec:
    """One column of the feature table.

    ``model_input`` is False for descriptors (sector, district, ...) that label a row but are
    not fed to a model.
    """

    name: str
    family: str
    source_families: tuple[SourceFamily, ...]
    window: str | None
    unit: Unit
    direction: Direction
    description: Text
    template: Text
    model_input: bool = True

    @property
    def sources(self) -> tuple[str, ...]:
        """The contract ids this feature reads (every shipped member of its families)."""
        ids: set[str] = set()
        for family in self.source_families:
            ids.update(family.catalog_members())
        return tuple(sorted(ids))

    @property
    def monotone_sign(self) -> int:
        return {Direction.up: 1, Direction.down: -1, Direction.none: 0}[self.direction]

    def card_line(self, lang: str = "en") -> str:
        """One line for a model card: name, meaning, unit, window, sources, risk direction."""
        unit_zh, unit_en = UNIT_NAMES[self.unit]
        sources = _source_list(self.sources)
        if lang == "zh":
            direction = {"up": "越高风险越高", "down": "越低风险越高", "none": "不设方向"}
            window = self.window or "截至评估日"
            return (
                f"{self.name}：{self.description.zh}（单位：{unit_zh}；窗口：{window}；"
                f"来源：{sources}；{direction[self.direction]}）"
            )
        direction = {
            "up": "higher is riskier",
            "down": "lower is riskier",
            "none": "no set direction",
        }
        window = self.window or "as of the date"
        return (
            f"{self.name}: {self.description.get(lang)} (unit: {unit_en}; window: {window}; "
            f"sources: {sources}; {direction[self.direction]})"
        )


def _spec(
    name: str,
    family: str,
    sources: Iterable[SourceFamily],
    unit: Unit,
    direction: Direction,
    description: tuple[str, str],
    template: tuple[str, str],
    window: str | None = None,
    model_input: bool = True,
) -> FeatureSpec:
    return FeatureSpec(
        name=name,
        family=family,
        source_families=tuple(sources),
        window=window,
        unit=unit,
        direction=direction,
        description=Text(*description),
        template=Text(*template),
        model_input=model_input,
    )


def _windowed(
    stem: str,
    windows: Iterable[int],
    suffix: str,
    family: str,
    sources: Iterable[SourceFamily],
    unit: Unit,
    direction: Direction,
    description: tuple[str, str],
    template: tuple[str, str],
) -> list[FeatureSpec]:
    """One spec per window; ``{w}`` in the texts becomes the window length."""
    sources = tuple(sources)
    return [
        _spec(
            f"{stem}_{w}{suffix}",
            family,
            sources,
            unit,
            direction,
            (description[0].format(w=w), description[1].format(w=w)),
            (template[0].format(w=w, value="{value}"), template[1].format(w=w, value="{value}")),
            window=f"{w}{suffix}",
        )
        for w in windows
    ]


UP, DOWN, NONE = Direction.up, Direction.down, Direction.none

DESCRIPTORS: list[FeatureSpec] = [
    _spec(
        "sector",
        "profile",
        [MASTER],
        Unit.category,
        NONE,
        ("监管行业", "Supervisory sector"),
        ("行业：{value}", "sector: {value}"),
        model_input=False,
    ),
    _spec(
        "district",
        "profile",
        [MASTER],
        Unit.category,
        NONE,
        ("所属片区", "District"),
        ("片区：{value}", "district: {value}"),
        model_input=False,
    ),
    _spec(
        "ownership_type",
        "profile",
        [MASTER],
        Unit.category,
        NONE,
        ("企业所有制类型", "Ownership type"),
        ("所有制：{value}", "ownership: {value}"),
        model_input=False,
    ),
    _spec(
        "size_band",
        "profile",
        [PENSION],
        Unit.category,
        NONE,
        (
            "按参保人数划分的规模（微型<20，小型<300，中型<1000，其余大型；无参保记录为未知）",
            "Size band by insured headcount (micro <20, small <300, medium <1000, else large; "
            "unknown without insurance records)",
        ),
        ("规模：{value}", "size band: {value}"),
        model_input=False,
    ),
    _spec(
        "firm_age_years",
        "profile",
        [MASTER],
        Unit.years,
        NONE,
        ("成立年限", "Years since establishment"),
        ("成立 {value} 年", "established {value} years ago"),
    ),
    _spec(
        "n_sources_known",
        "coverage",
        [ALL_SOURCES],
        Unit.count,
        NONE,
        ("截至评估日掌握该企业数据的来源数", "Sources holding any row on the firm by the date"),
        ("共有 {value} 个数据来源掌握该企业信息", "data on the firm from {value} [source|sources]"),
    ),
    _spec(
        "insufficient_data",
        "coverage",
        [ALL_SOURCES],
        Unit.flag,
        NONE,
        (
            "数据不足：掌握该企业的来源少于3个，或没有任何月度经营数据（社保、公积金、税务、能耗、"
            "预付费监管）",
            "Insufficient data: fewer than 3 sources know the firm, or no monthly operating panel "
            "(social insurance, housing fund, tax, energy, prepaid-fee supervision) does",
        ),
        ("数据不足，无法评分", "not enough data to score"),
        model_input=False,
    ),
]

CAPITAL = "capital"
CAPITAL_SPECS: list[FeatureSpec] = [
    _spec(
        "registered_capital",
        CAPITAL,
        [MASTER],
        Unit.cny_10k,
        NONE,
        ("注册资本", "Registered capital"),
        ("注册资本 {value}", "registered capital {value}"),
    ),
    *_windowed(
        "capital_reduction_count",
        (90, 180, 365),
        "d",
        CAPITAL,
        [CAPITAL_CHANGES],
        Unit.count,
        UP,
        ("近{w}天减资次数", "Capital reductions in the last {w} days"),
        ("近{w}天内减资 {value} 次", "{value} capital [reduction|reductions] in the last {w} days"),
    ),
    *_windowed(
        "capital_reduction_amount",
        (180, 365),
        "d",
        CAPITAL,
        [CAPITAL_CHANGES],
        Unit.cny_10k,
        UP,
        ("近{w}天减资金额", "Capital removed in the last {w} days"),
        ("近{w}天累计减资 {value}", "capital reduced by {value} in the last {w} days"),
    ),
    _spec(
        "capital_reduction_share_365d",
        CAPITAL,
        [CAPITAL_CHANGES, MASTER],
        Unit.ratio,
        UP,
        (
            "近365天减资额占减资前注册资本的比例（注册资本为0时为空）",
            "Capital removed in the last 365 days as a share of the capital before it "
            "(null when registered capital is zero)",
        ),
        (
            "近365天减资占注册资本的 {value}",
            "{value} of registered capital removed in the last 365 days",
        ),
        window="365d",
    ),
    _spec(
        "days_since_capital_reduction",
        CAPITAL,
        [CAPITAL_CHANGES],
        Unit.days,
        DOWN,
        (
            "距最近一次减资的天数（三年内无减资为空）",
            "Days since the latest capital reduction (null if none within three years)",
        ),
        ("距最近一次减资仅 {value} 天", "latest capital reduction only {value} [day|days] ago"),
    ),
]


def _contribution_specs(prefix: str, family: str, source: SourceFamily, zh: str, en: str):
    return [
        *_windowed(
            f"{prefix}_arrears_months",
            (3, 6, 12),
            "m",
            family,
            [source],
            Unit.months,
            UP,
            (
                f"最近{{w}}个月中{zh}欠缴的月数",
                f"Months with {en} arrears in the last {{w}} reported months",
            ),
            (
                f"近{{w}}个月中有 {{value}} 个月{zh}欠缴",
                f"{en} in arrears in {{value}} of the last {{w}} months",
            ),
        ),
        _spec(
            f"{prefix}_arrears_consecutive_months",
            family,
            [source],
            Unit.months,
            UP,
            (
                f"截至最近申报月{zh}连续欠缴月数（最多12）",
                f"Consecutive months of {en} arrears up to the latest reported month (max 12)",
            ),
            (
                f"{zh}已连续欠缴 {{value}} 个月",
                f"{en} unpaid for {{value}} consecutive [month|months]",
            ),
        ),
        *_windowed(
            f"{prefix}_arrears_amount",
            (3, 12),
            "m",
            family,
            [source],
            Unit.cny,
            UP,
            (f"最近{{w}}个月{zh}欠缴金额", f"{en} arrears over the last {{w}} months"),
            (
                f"近{{w}}个月{zh}欠缴 {{value}}",
                f"{en} arrears of {{value}} over the last {{w}} months",
            ),
        ),
        _spec(
            f"{prefix}_arrears_amount_trend_3m",
            family,
            [source],
            Unit.cny_change,
            UP,
            (
                f"最近3个月{zh}欠缴额减去此前3个月",
                f"{en} arrears, last 3 months minus the 3 before",
            ),
            (
                f"{zh}欠缴额较前3个月变化 {{value}}",
                f"{en} arrears changed by {{value}} vs the previous 3 months",
            ),
            window="3m",
        ),
        _spec(
            f"{prefix}_paid_ratio_3m",
            family,
            [source],
            Unit.ratio,
            DOWN,
            (f"最近3个月{zh}实缴额/应缴额", f"{en} paid / due over the last 3 months"),
            (
                f"近3个月{zh}仅缴纳应缴的 {{value}}",
                f"only {{value}} of {en} due was paid in the last 3 months",
            ),
            window="3m",
        ),
        _spec(
            f"{prefix}_months_since_report",
            family,
            [source],
            Unit.months,
            UP,
            (
                f"评估月与最近一次{zh}申报月相隔月数",
                f"Months between the date and the latest reported {en} month",
            ),
            (f"{zh}记录已 {{value}} 个月未更新", f"no {en} record for {{value}} [month|months]"),
        ),
    ]


SOCIAL_INSURANCE_SPECS = _contribution_specs(
    "si", "social_insurance", SOCIAL_INSURANCE, "社保", "social insurance"
)
HOUSING_FUND_SPECS = _contribution_specs(
    "hf", "housing_fund", HOUSING_FUND, "公积金", "housing fund"
)

HEADCOUNT = "headcount"
HEADCOUNT_SPECS: list[FeatureSpec] = [
    _spec(
        "headcount_latest",
        HEADCOUNT,
        [PENSION],
        Unit.persons,
        NONE,
        ("最近申报月养老保险参保人数", "Pension-insured headcount in the latest reported month"),
        ("最近参保人数 {value} 人", "{value} insured [employee|employees]"),
    ),
    *_windowed(
        "headcount_change",
        (3, 6, 12),
        "m",
        HEADCOUNT,
        [PENSION],
        Unit.persons_change,
        DOWN,
        (
            "参保人数较{w}个月前的变化（人）",
            "Change in insured headcount vs {w} months earlier (persons)",
        ),
        (
            "参保人数较{w}个月前变化 {value} 人",
            "insured headcount changed by {value} vs {w} months earlier",
        ),
    ),
    *_windowed(
        "headcount_change_rel",
        (3, 6, 12),
        "m",
        HEADCOUNT,
        [PENSION],
        Unit.signed_ratio,
        DOWN,
        (
            "参保人数较{w}个月前的相对变化",
            "Relative change in insured headcount vs {w} months earlier",
        ),
        (
            "参保人数较{w}个月前变化 {value}",
            "insured headcount changed by {value} vs {w} months earlier",
        ),
    ),
]

COMPLAINT = "complaints"
COMPLAINT_SPECS: list[FeatureSpec] = [
    *_windowed(
        "complaint_count",
        (90, 180, 365),
        "d",
        COMPLAINT,
        [COMPLAINTS],
        Unit.count,
        UP,
        ("近{w}天各类投诉总数", "Complaints of every kind in the last {w} days"),
        ("近{w}天收到投诉 {value} 件", "{value} [complaint|complaints] in the last {w} days"),
    ),
    *_windowed(
        "complaint_wage_arrears_count",
        (90, 365),
        "d",
        COMPLAINT,
        [HOTLINE, WAGE_COMPLAINTS],
        Unit.count,
        UP,
        (
            "近{w}天拖欠工资投诉数（12345与欠薪投诉合计）",
            "Wage-arrears complaints in the last {w} days (12345 and wage-arrears cases)",
        ),
        (
            "近{w}天拖欠工资投诉 {value} 件",
            "{value} wage-arrears [complaint|complaints] in the last {w} days",
        ),
    ),
    *_windowed(
        "complaint_prepaid_refund_count",
        (90, 365),
        "d",
        COMPLAINT,
        [HOTLINE, PREPAID_REFUNDS],
        Unit.count,
        UP,
        (
            "近{w}天预付费退费投诉数（12345与退费投诉合计）",
            "Prepaid-fee refund complaints in the last {w} days (12345 and refund cases)",
        ),
        (
            "近{w}天预付费退费投诉 {value} 件",
            "{value} prepaid-fee refund [complaint|complaints] in the last {w} days",
        ),
    ),
    _spec(
        "complaint_growth_90d",
        COMPLAINT,
        [COMPLAINTS],
        Unit.multiple,
        UP,
        (
            "近90天投诉数与此前275天季度均值之比（分子分母各加1）",
            "Complaints in the last 90 days over the quarterly average of the 275 days before "
            "(both plus one)",
        ),
        (
            "近90天投诉量为此前季度均值的 {value} 倍",
            "complaints in the last 90 days at {value} times the firm's earlier quarterly average",
        ),
        window="90d",
    ),
    _spec(
        "complaint_vs_sector_365d",
        COMPLAINT,
        [COMPLAINTS, MASTER],
        Unit.count_change,
        UP,
        (
            "近365天投诉数减去同行业在营企业的中位数",
            "Complaints in the last 365 days minus the median of active firms in the sector",
        ),
        (
            "近365天投诉比同行业中位数多 {value} 件",
            "{value} more [complaint|complaints] in the last 365 days than the sector median",
        ),
        window="365d",
    ),
    *_windowed(
        "financial_dispute_count",
        (90, 365),
        "d",
        COMPLAINT,
        [FINANCIAL_DISPUTES],
        Unit.count,
        UP,
        ("近{w}天金融纠纷投诉数", "Financial-dispute complaints in the last {w} days"),
        (
            "近{w}天金融纠纷投诉 {value} 件",
            "{value} financial-dispute [complaint|complaints] in the last {w} days",
        ),
    ),
    _spec(
        "financial_dispute_amount_365d",
        COMPLAINT,
        [FINANCIAL_DISPUTES],
        Unit.cny,
        UP,
        ("近365天金融纠纷涉及金额", "Amount in financial disputes in the last 365 days"),
        ("近365天金融纠纷涉及金额 {value}", "{value} in financial disputes in the last 365 days"),
        window="365d",
    ),
    _spec(
        "financial_dispute_fundraising_count_365d",
        COMPLAINT,
        [FINANCIAL_DISPUTES],
        Unit.count,
        UP,
        (
            "近365天非法集资、理财兑付类投诉数",
            "Illegal-fundraising and wealth-product redemption complaints in the last 365 days",
        ),
        (
            "近365天非法集资或理财兑付投诉 {value} 件",
            "{value} illegal-fundraising or redemption [complaint|complaints] in the last 365 days",
        ),
        window="365d",
    ),
    _spec(
        "prepaid_refund_amount_365d",
        COMPLAINT,
        [PREPAID_REFUNDS],
        Unit.cny,
        UP,
        (
            "近365天预付费退费投诉涉及金额",
            "Refunds claimed in prepaid-fee complaints in the last 365 days",
        ),
        (
            "近365天预付费退费投诉涉及金额 {value}",
            "{value} claimed in prepaid-fee refund complaints in the last 365 days",
        ),
        window="365d",
    ),
    _spec(
        "prepaid_refund_students_365d",
        COMPLAINT,
        [PREPAID_REFUNDS],
        Unit.persons,
        UP,
        (
            "近365天预付费退费投诉涉及学员数",
            "Students affected by prepaid-fee refund complaints in the last 365 days",
        ),
        (
            "近365天退费投诉涉及学员 {value} 人",
            "{value} [student|students] affected by refund complaints in the last 365 days",
        ),
        window="365d",
    ),
]

REGISTRATION = "registration_changes"
REGISTRATION_SPECS: list[FeatureSpec] = [
    *_windowed(
        "scope_change_count",
        (90, 365),
        "d",
        REGISTRATION,
        [SCOPE_CHANGES],
        Unit.count,
        UP,
        ("近{w}天经营范围变更次数", "Business-scope changes in the last {w} days"),
        (
            "近{w}天经营范围变更 {value} 次",
            "{value} business-scope [change|changes] in the last {w} days",
        ),
    ),
    _spec(
        "scope_reduction_count_365d",
        REGISTRATION,
        [SCOPE_CHANGES],
        Unit.count,
        UP,
        ("近365天经营范围缩减次数", "Business-scope reductions in the last 365 days"),
        (
            "近365天经营范围缩减 {value} 次",
            "business scope reduced {value} [time|times] in the last 365 days",
        ),
        window="365d",
    ),
    *_windowed(
        "legal_rep_change_count",
        (90, 180, 365),
        "d",
        REGISTRATION,
        [LEGAL_REP_CHANGES],
        Unit.count,
        UP,
        ("近{w}天法定代表人变更次数", "Legal-representative changes in the last {w} days"),
        (
            "近{w}天法定代表人变更 {value} 次",
            "legal representative changed {value} [time|times] in the last {w} days",
        ),
    ),
    *_windowed(
        "address_change_count",
        (90, 365),
        "d",
        REGISTRATION,
        [ADDRESS_CHANGES],
        Unit.count,
        UP,
        ("近{w}天住所变更次数", "Address changes in the last {w} days"),
        ("近{w}天住所变更 {value} 次", "address changed {value} [time|times] in the last {w} days"),
    ),
    *_windowed(
        "equity_change_count",
        (90, 365),
        "d",
        REGISTRATION,
        [EQUITY_CHANGES],
        Unit.count,
        UP,
        ("近{w}天股权变更次数", "Equity changes in the last {w} days"),
        ("近{w}天股权变更 {value} 次", "{value} equity [change|changes] in the last {w} days"),
    ),
    _spec(
        "equity_pledge_count_365d",
        REGISTRATION,
        [EQUITY_CHANGES],
        Unit.count,
        UP,
        ("近365天股权质押次数", "Equity pledges in the last 365 days"),
        ("近365天股权质押 {value} 次", "{value} equity [pledge|pledges] in the last 365 days"),
        window="365d",
    ),
    _spec(
        "equity_transfer_count_365d",
        REGISTRATION,
        [EQUITY_CHANGES],
        Unit.count,
        UP,
        ("近365天股权转让次数", "Equity transfers in the last 365 days"),
        ("近365天股权转让 {value} 次", "{value} equity [transfer|transfers] in the last 365 days"),
        window="365d",
    ),
]

LINKED = "linked_firms"
LINKED_SPECS: list[FeatureSpec] = [
    _spec(
        "linked_firms_count",
        LINKED,
        [LINKED_FIRMS],
        Unit.count,
        NONE,
        ("法定代表人担任法定代表人的其他企业数", "Other firms of the legal representative"),
        (
            "法定代表人另有 {value} 家关联企业",
            "legal representative heads {value} other [firm|firms]",
        ),
    ),
    _spec(
        "linked_firms_closed_count",
        LINKED,
        [LINKED_FIRMS],
        Unit.count,
        UP,
        (
            "法定代表人关联企业中已注销或吊销的数量",
            "Legal representative's other firms deregistered or revoked",
        ),
        (
            "法定代表人关联企业中 {value} 家已注销或吊销",
            "{value} of the legal representative's other firms deregistered or revoked",
        ),
    ),
    _spec(
        "linked_firms_closed_share",
        LINKED,
        [LINKED_FIRMS],
        Unit.ratio,
        UP,
        (
            "法定代表人关联企业中已注销或吊销的比例",
            "Share of the legal representative's other firms deregistered or revoked",
        ),
        (
            "法定代表人关联企业中 {value} 已注销或吊销",
            "{value} of the legal representative's other firms deregistered or revoked",
        ),
    ),
    _spec(
        "linked_firms_closed_365d",
        LINKED,
        [LINKED_FIRMS],
        Unit.count,
        UP,
        (
            "近365天注销或吊销的法定代表人关联企业数",
            "Legal representative's other firms deregistered or revoked in the last 365 days",
        ),
        (
            "法定代表人关联企业近365天有 {value} 家注销或吊销",
            "{value} of the legal representative's other firms closed in the last 365 days",
        ),
        window="365d",
    ),
]

PENALTY = "penalties"
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


def penalty_group(source_id: str) -> str:
    """The department group of a penalty source."""
    department = source_id.removeprefix("penalty_")
    for group, (departments, _) in PENALTY_GROUPS.items():
        if department in departments:
            return group
    return "other"


PENALTY_SPECS: list[FeatureSpec] = [
    *_windowed(
        "penalty_count",
        (90, 180, 365),
        "d",
        PENALTY,
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
    ),
    _spec(
        "penalty_fine_amount_365d",
        PENALTY,
        [PENALTIES],
        Unit.cny,
        UP,
        ("近365天罚款金额", "Fines in the last 365 days"),
        ("近365天被罚款 {value}", "fined {value} in the last 365 days"),
        window="365d",
    ),
    _spec(
        "penalty_major_count_365d",
        PENALTY,
        [PENALTIES],
        Unit.count,
        UP,
        ("近365天情节较重的处罚次数", "Penalties of major severity in the last 365 days"),
        (
            "近365天受到情节较重的处罚 {value} 次",
            "{value} major-severity [penalty|penalties] in the last 365 days",
        ),
        window="365d",
    ),
    _spec(
        "penalty_serious_count_365d",
        PENALTY,
        [PENALTIES],
        Unit.count,
        UP,
        ("近365天情节严重的处罚次数", "Penalties of serious severity in the last 365 days"),
        (
            "近365天受到情节严重的处罚 {value} 次",
            "{value} serious-severity [penalty|penalties] in the last 365 days",
        ),
        window="365d",
    ),
    _spec(
        "penalty_suspension_count_365d",
        PENALTY,
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
        window="365d",
    ),
    *[
        _spec(
            f"penalty_{group}_count_365d",
            PENALTY,
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
            window="365d",
        )
        for group, (_, label) in [*PENALTY_GROUPS.items(), ("other", ((), Text("其他", "other")))]
    ],
]

COURT = "courts"
COURT_SPECS: list[FeatureSpec] = [
    *_windowed(
        "court_defendant_count",
        (90, 180, 365),
        "d",
        COURT,
        [CIVIL_CASES],
        Unit.count,
        UP,
        ("近{w}天作为被告的民事案件数", "Civil cases as defendant filed in the last {w} days"),
        (
            "近{w}天作为被告被起诉 {value} 次",
            "sued as defendant {value} [time|times] in the last {w} days",
        ),
    ),
    _spec(
        "court_defendant_claim_amount_365d",
        COURT,
        [CIVIL_CASES],
        Unit.cny,
        UP,
        ("近365天作为被告的诉讼标的额", "Amounts claimed against the firm in the last 365 days"),
        (
            "近365天作为被告涉诉金额 {value}",
            "{value} claimed against the firm in the last 365 days",
        ),
        window="365d",
    ),
    *_windowed(
        "court_enforcement_count",
        (180, 365),
        "d",
        COURT,
        [ENFORCEMENT],
        Unit.count,
        UP,
        ("近{w}天被强制执行案件数", "Enforcement cases in the last {w} days"),
        ("近{w}天被强制执行 {value} 次", "{value} enforcement [case|cases] in the last {w} days"),
    ),
    _spec(
        "court_enforcement_amount_365d",
        COURT,
        [ENFORCEMENT],
        Unit.cny,
        UP,
        ("近365天被执行金额", "Amounts under enforcement in the last 365 days"),
        ("近365天被执行金额 {value}", "{value} under enforcement in the last 365 days"),
        window="365d",
    ),
    _spec(
        "dishonest_debtor_count",
        COURT,
        [DISHONEST_DEBTORS],
        Unit.count,
        UP,
        ("累计列入失信被执行人名单次数", "Listings as a dishonest debtor to date"),
        (
            "已被列入失信被执行人名单 {value} 次",
            "listed as a dishonest debtor {value} [time|times]",
        ),
    ),
    _spec(
        "dishonest_debtor_count_365d",
        COURT,
        [DISHONEST_DEBTORS],
        Unit.count,
        UP,
        ("近365天列入失信被执行人名单次数", "Dishonest-debtor listings in the last 365 days"),
        (
            "近365天被列入失信被执行人名单 {value} 次",
            "listed as a dishonest debtor {value} [time|times] in the last 365 days",
        ),
        window="365d",
    ),
    _spec(
        "abnormal_operation_count",
        COURT,
        [ABNORMAL_OPERATION],
        Unit.count,
        UP,
        ("累计列入经营异常名录次数", "Listings in the abnormal-operation register to date"),
        ("已被列入经营异常名录 {value} 次", "listed as operating abnormally {value} [time|times]"),
    ),
    _spec(
        "abnormal_operation_count_365d",
        COURT,
        [ABNORMAL_OPERATION],
        Unit.count,
        UP,
        ("近365天列入经营异常名录次数", "Abnormal-operation listings in the last 365 days"),
        (
            "近365天被列入经营异常名录 {value} 次",
            "listed as operating abnormally {value} [time|times] in the last 365 days",
        ),
        window="365d",
    ),
    _spec(
        "black_list_count",
        COURT,
        [BLACK_LIST],
        Unit.count,
        UP,
        ("累计列入严重违法失信名单次数", "Listings on the serious-violation black list to date"),
        (
            "已被列入严重违法失信名单 {value} 次",
            "on the serious-violation black list {value} [time|times]",
        ),
    ),
]

ENERGY_FAMILY = "energy"
ENERGY_SPECS: list[FeatureSpec] = [
    _spec(
        "energy_yoy_change_3m",
        ENERGY_FAMILY,
        [ENERGY],
        Unit.signed_ratio,
        DOWN,
        (
            "最近3个月月均能耗同比变化（按已报送月份平均，各能源品种的中位数）",
            "Year-on-year change of average monthly energy use over the last 3 months "
            "(months reported; median over energy sources)",
        ),
        ("近3个月能耗同比变化 {value}", "energy use {value} year on year over the last 3 months"),
        window="3m",
    ),
    _spec(
        "energy_trend_3m",
        ENERGY_FAMILY,
        [ENERGY],
        Unit.signed_ratio,
        DOWN,
        (
            "最近3个月月均能耗较此前3个月的变化（按已报送月份平均，各能源品种的中位数）",
            "Average monthly energy use over the last 3 months vs the 3 before "
            "(months reported; median over energy sources)",
        ),
        ("近3个月能耗较前3个月变化 {value}", "energy use {value} vs the previous 3 months"),
        window="3m",
    ),
    _spec(
        "energy_yoy_vs_sector",
        ENERGY_FAMILY,
        [ENERGY, MASTER],
        Unit.signed_ratio,
        DOWN,
        (
            "能耗同比变化减去同行业在营企业的中位数",
            "Energy year-on-year change minus the sector median of active firms",
        ),
        (
            "能耗同比变化与同行业中位数相差 {value}",
            "energy year-on-year change {value} against the sector median",
        ),
        window="3m",
    ),
    _spec(
        "energy_overdue_amount_3m",
        ENERGY_FAMILY,
        [ENERGY],
        Unit.cny,
        UP,
        (
            "最近3个月各类能源账单逾期未付金额",
            "Energy bills overdue over the last 3 months (every energy source)",
        ),
        (
            "近3个月能源账单逾期未付 {value}",
            "{value} of energy bills overdue over the last 3 months",
        ),
        window="3m",
    ),
]

TAX = "tax"
TAX_SPECS: list[FeatureSpec] = [
    _spec(
        "tax_revenue_trend_3m",
        TAX,
        [VAT],
        Unit.signed_ratio,
        DOWN,
        (
            "最近3个月月均申报销售额较此前3个月的变化（按已申报月份平均）",
            "Average monthly declared sales over the last 3 months vs the 3 before "
            "(months declared)",
        ),
        (
            "近3个月申报销售额较前3个月变化 {value}",
            "declared sales {value} vs the previous 3 months",
        ),
        window="3m",
    ),
    _spec(
        "tax_revenue_yoy_3m",
        TAX,
        [VAT],
        Unit.signed_ratio,
        DOWN,
        (
            "最近3个月月均申报销售额同比变化（按已申报月份平均）",
            "Average monthly declared sales over the last 3 months, year on year (months declared)",
        ),
        ("近3个月申报销售额同比变化 {value}", "declared sales {value} year on year"),
        window="3m",
    ),
    _spec(
        "tax_vat_paid_ratio_12m",
        TAX,
        [VAT],
        Unit.ratio,
        DOWN,
        ("最近12个月增值税实缴/应缴", "VAT paid / VAT payable over the last 12 months"),
        (
            "近12个月增值税仅缴纳应缴的 {value}",
            "only {value} of VAT payable paid in the last 12 months",
        ),
        window="12m",
    ),
    _spec(
        "tax_vat_unpaid_12m",
        TAX,
        [VAT],
        Unit.cny,
        UP,
        ("最近12个月增值税应缴未缴金额", "VAT payable but unpaid over the last 12 months"),
        ("近12个月增值税欠缴 {value}", "{value} VAT unpaid over the last 12 months"),
        window="12m",
    ),
    _spec(
        "tax_credit_rating",
        TAX,
        [TAX_RATING],
        Unit.rating,
        UP,
        ("最近一次纳税信用等级（A=0 … D=4）", "Latest tax credit grade (A=0 ... D=4)"),
        ("纳税信用等级为 {value}", "tax credit grade {value}"),
    ),
]

REPORT = "annual_report"
REPORT_SPECS: list[FeatureSpec] = [
    _spec(
        "report_liability_ratio",
        REPORT,
        [ANNUAL_REPORT],
        Unit.ratio,
        UP,
        ("最近年报资产负债率", "Liabilities / assets in the latest annual report"),
        ("年报资产负债率 {value}", "liabilities at {value} of assets in the latest annual report"),
    ),
    _spec(
        "report_profit_margin",
        REPORT,
        [ANNUAL_REPORT],
        Unit.signed_ratio,
        DOWN,
        ("最近年报净利润率", "Net profit / revenue in the latest annual report"),
        ("年报净利润率 {value}", "net margin {value} in the latest annual report"),
    ),
    _spec(
        "report_revenue_growth",
        REPORT,
        [ANNUAL_REPORT],
        Unit.signed_ratio,
        DOWN,
        (
            "最近年报营业收入较上年变化",
            "Revenue growth in the latest annual report vs the year before",
        ),
        ("年报营业收入较上年变化 {value}", "annual revenue {value} vs the year before"),
    ),
]

PREPAID = "prepaid_fees"
PREPAID_SPECS: list[FeatureSpec] = [
    _spec(
        "prepaid_escrow_shortfall",
        PREPAID,
        [PREPAID_SUPERVISION],
        Unit.cny,
        UP,
        (
            "最近申报月预收费资金存管缺口",
            "Prepaid-fee escrow shortfall in the latest reported month",
        ),
        ("预收费资金存管缺口 {value}", "prepaid-fee escrow short by {value}"),
    ),
    _spec(
        "prepaid_escrow_coverage_3m",
        PREPAID,
        [PREPAID_SUPERVISION],
        Unit.ratio,
        DOWN,
        (
            "最近3个月预收费实存/应存",
            "Prepaid-fee escrow deposited / required over the last 3 months",
        ),
        (
            "近3个月预收费仅存管应存的 {value}",
            "only {value} of required prepaid-fee escrow deposited in the last 3 months",
        ),
        window="3m",
    ),
    _spec(
        "prepaid_received_trend_3m",
        PREPAID,
        [PREPAID_SUPERVISION],
        Unit.signed_ratio,
        NONE,
        (
            "最近3个月预收费较此前3个月的变化",
            "Prepaid fees received over the last 3 months vs the 3 before",
        ),
        (
            "近3个月预收费较前3个月变化 {value}",
            "prepaid fees received {value} vs the previous 3 months",
        ),
        window="3m",
    ),
]

CONSISTENCY = "consistency"
CONSISTENCY_SPECS: list[FeatureSpec] = [
    _spec(
        "headcount_report_gap_ratio",
        CONSISTENCY,
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
    ),
    _spec(
        "district_mismatch",
        CONSISTENCY,
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
    ),
    _spec(
        "licence_expired_count",
        CONSISTENCY,
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
    ),
    _spec(
        "licence_expired_paying_si",
        CONSISTENCY,
        [LICENCES, SOCIAL_INSURANCE],
        Unit.flag,
        UP,
        (
            "许可证过期后最近3个月仍在缴纳社保",
            "Still paying social insurance in the last 3 months with an expired licence",
        ),
        ("许可证已过期但仍在缴纳社保", "still paying social insurance with an expired licence"),
    ),
]

ADVERSE = "adverse_events"
# Event sources whose every record is bad news for the firm (notices, freezes, listings, filings
# on the way out). Each gets one count; its texts come from the contract's own title.
ADVERSE_EVENT_SOURCES = (
    "tax_arrears_notice",
    "tax_abnormal_taxpayer",
    "tax_non_filing",
    "tax_abnormal_invoice",
    "hf_arrears_notice",
    "hf_deferral_approval",
    "prepaid_fee_risk_warning",
    "court_hearing_notice",
    "court_judicial_freeze",
    "court_labour_dispute_litigation",
    "court_property_preservation",
    "court_consumption_restriction",
    "court_terminated_enforcement",
    "court_judicial_auction",
    "court_bankruptcy",
    "credit_key_attention",
    "credit_serious_dishonest",
    "reg_equity_pledge",
    "reg_chattel_mortgage",
    "reg_senior_management_change",
    "reg_licence_revocation",
    "reg_liquidation_filing",
    "reg_simplified_deregistration_notice",
)
ADVERSE_WINDOW_DAYS = 365


def adverse_feature(source_id: str) -> str:
    return f"{source_id}_count_{ADVERSE_WINDOW_DAYS}d"


def _adverse_spec(source_id: str) -> FeatureSpec:
    contract = catalog.load_all().get(source_id)
    zh, en = (contract.title.zh, contract.title.en) if contract else (source_id, source_id)
    w = ADVERSE_WINDOW_DAYS
    return _spec(
        adverse_feature(source_id),
        ADVERSE,
        [one(source_id)],
        Unit.count,
        UP,
        (f"近{w}天「{zh}」记录数", f"Records of '{en}' in the last {w} days"),
        (
            f"近{w}天有 {{value}} 条「{zh}」记录",
            f"{{value}} [record|records] of '{en}' in the last {w} days",
        ),
        window=f"{w}d",
    )


ADVERSE_SPECS = [_adverse_spec(s) for s in ADVERSE_EVENT_SOURCES]

SPECS: tuple[FeatureSpec, ...] = (
    *DESCRIPTORS,
    *CAPITAL_SPECS,
    *SOCIAL_INSURANCE_SPECS,
    *HOUSING_FUND_SPECS,
    *HEADCOUNT_SPECS,
    *COMPLAINT_SPECS,
    *REGISTRATION_SPECS,
    *LINKED_SPECS,
    *PENALTY_SPECS,
    *COURT_SPECS,
    *ENERGY_SPECS,
    *TAX_SPECS,
    *REPORT_SPECS,
    *PREPAID_SPECS,
    *ADVERSE_SPECS,
    *CONSISTENCY_SPECS,
)
KEY_COLUMNS = ("uscc", "as_of")


@cache
def _by_name() -> dict[str, FeatureSpec]:
    table: dict[str, FeatureSpec] = {}
    for s in SPECS:
        if s.name in table:
            raise ValueError(f"feature {s.name!r} is registered twice")
        table[s.name] = s
    return table


def spec(name: str) -> FeatureSpec:
    table = _by_name()
    if name not in table:
        raise KeyError(f"no feature named {name!r} in the registry")
    return table[name]


def column_names() -> list[str]:
    """Every non-key column of the feature table, in table order."""
    return [s.name for s in SPECS]


def feature_names() -> list[str]:
    """The model inputs (numeric), in table order."""
    return [s.name for s in SPECS if s.model_input]


def descriptor_names() -> list[str]:
    return [s.name for s in SPECS if not s.model_input]


def monotone_constraints(names: Iterable[str]) -> dict[str, int]:
    """+1 / -1 / 0 per feature from its risk direction."""
    return {n: spec(n).monotone_sign for n in names}


def format_value(name: str, value: object, lang: str = "en") -> str:
    """A value as a person reads it, by the feature's unit."""
    unit = spec(name).unit
    if value is None or (isinstance(value, float) and value != value):
        return "未知" if lang == "zh" else "unknown"
    if unit == Unit.category:
        return str(value)
    if unit == Unit.flag:
        yes = bool(value)
        return ("是" if yes else "否") if lang == "zh" else ("yes" if yes else "no")
    number = float(value)  # type: ignore[arg-type]
    if unit == Unit.rating:
        position = round(number)
        return TAX_RATINGS[position] if 0 <= position < len(TAX_RATINGS) else f"{number:g}"
    if unit in (Unit.count, Unit.months, Unit.days, Unit.persons):
        return f"{round(number):,}"
    if unit in (Unit.count_change, Unit.persons_change):
        return _signed(f"{abs(round(number)):,}", number)
    if unit == Unit.years:
        return f"{number:.1f}"
    if unit == Unit.multiple:
        return f"{number:.1f}"
    if unit == Unit.ratio:
        return f"{number:.1%}"
    if unit == Unit.signed_ratio:
        return _signed(f"{abs(number):.1%}", number)
    if unit == Unit.cny:
        return _money(number, lang)
    if unit == Unit.cny_change:
        return _signed(_money(abs(number), lang), number)
    if unit == Unit.cny_10k:
        return _money(number * 10_000, lang)
    raise ValueError(f"no format for unit {unit}")


# "[singular|plural]" in an English template: the noun that agrees with the value.
NUMBER_CHOICE = re.compile(r"\[([^\[\]|]+)\|([^\[\]|]+)\]")


def render_reason(name: str, value: object, lang: str = "en") -> str:
    """The feature's explanation template filled with its formatted value; ``[a|b]`` becomes
    ``a`` when the value is one (or minus one) and ``b`` otherwise."""
    template = NUMBER_CHOICE.sub(
        lambda choice: choice.group(1 if _is_one(value) else 2), spec(name).template.get(lang)
    )
    return template.format(value=format_value(name, value, lang))


def _is_one(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return False
    return round(abs(float(value))) == 1


def _source_list(ids: tuple[str, ...], shown: int = 6) -> str:
    if not ids:
        return "-"
    if len(ids) <= shown:
        return ", ".join(ids)
    return f"{', '.join(ids[:shown])}, ... ({len(ids)})"


def _signed(text: str, number: float) -> str:
    if round(number, 6) > 0:
        return f"+{text}"
    if round(number, 6) < 0:
        return f"-{text}"
    return text


def _money(amount: float, lang: str) -> str:
    """Yuan below 10,000; then 万元 / 亿元 in Chinese, thousands / millions in English."""
    if lang == "zh":
        if abs(amount) >= 1e8:
            return f"{amount / 1e8:,.2f} 亿元"
        if abs(amount) >= 1e4:
            return f"{amount / 1e4:,.2f} 万元"
        return f"{amount:,.0f} 元"
    if abs(amount) >= 1e6:
        return f"CNY {amount / 1e6:,.2f} million"
    return f"CNY {amount:,.0f}"
