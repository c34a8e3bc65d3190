"""Facts: the lake rows behind a feature, as short zh/en sentences for listed firms.

``facts_for`` answers "why does this firm score high on feature X?" with the evidence usable at
the as-of date (the same point-in-time rule as the features): the capital reductions with their
dates and amounts, the months in arrears, complaints by category with the latest date, each
penalty with its department, date and fine, ... Column labels and source titles come from the
contracts, so facts read in the departments' own terms. PII columns are never shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

import polars as pl

from data_contracts.schema import PII, Grain, SourceContract
from features import complaints, licences, linked_firms, penalties, registration
from features.capital import REDUCTION
from features.courts import DEFENDANT
from features.point_in_time import EVENT_DATE, USCC, month_index, valid_at
from features.registry import (
    ABNORMAL_OPERATION,
    ADDRESS_CHANGES,
    ADVERSE_EVENT_SOURCES,
    ANNUAL_REPORT,
    BLACK_LIST,
    CAPITAL_CHANGES,
    CIVIL_CASES,
    COMPLAINTS,
    DISHONEST_DEBTORS,
    ENERGY,
    ENFORCEMENT,
    EQUITY_CHANGES,
    FINANCIAL_DISPUTES,
    HOTLINE,
    HOUSING_FUND,
    LEGAL_REP_CHANGES,
    LICENCES,
    LINKED_FIRMS,
    MASTER,
    PENALTIES,
    PENALTY_GROUPS,
    PENSION,
    PREPAID_REFUNDS,
    PREPAID_SUPERVISION,
    SCOPE_CHANGES,
    SOCIAL_INSURANCE,
    TAX_RATING,
    VAT,
    WAGE_COMPLAINTS,
    adverse_feature,
    penalty_group,
    spec,
)
from features.source_set import SourceFamily, SourceSet, one

FACT_COLUMNS = ("uscc", "feature", "fact_zh", "fact_en")
# Facts shown per firm and feature. A family of sources (eight social-insurance schemes, three
# energy meters) can yield dozens of rows; past this many a reader stops reading, so the rest
# are counted in one closing line.
MAX_FACTS_PER_FEATURE = 8
Mode = Literal["events", "summary", "panel", "latest"]
INDEX = "_index"
# The as-of date as a column, for evidence filters that compare with it.
AS_OF_COLUMN = "_as_of"
LEADS = "_leads"


@dataclass(frozen=True)
class Evidence:
    """Which rows back a feature and how to show them.

    ``events``: each row in the feature's window (newest first); ``summary``: rows counted by
    source and ``group_by`` column with the latest date; ``panel``: the periods ``lags`` back
    from the latest usable one (None = the feature's window in periods); ``latest``: the latest
    usable row of each source.
    """

    family: SourceFamily
    shown: tuple[str, ...] = ()
    where: pl.Expr | None = None
    mode: Mode = "events"
    lags: tuple[int, ...] | None = None
    window_days: int | None = field(default=None)
    group_by: str | None = None
    limit: int = 12
    # rows matching this come before the others of the feature (from every source), so that
    # the capped list shows what drives the value, e.g. the months actually in arrears
    first: pl.Expr | None = None


def _in(column: str, values: Sequence[str]) -> pl.Expr:
    return pl.col(column).is_in(list(values))


CAPITAL = (Evidence(CAPITAL_CHANGES, ("capital_before", "capital_after"), REDUCTION),)
PROFILE = (Evidence(MASTER, ("registered_capital", "established_date", "district"), mode="latest"),)
ALL_COMPLAINTS = (Evidence(COMPLAINTS, mode="summary", group_by="category"),)
COMPLAINT_HISTORY = (Evidence(COMPLAINTS, mode="summary", group_by="category", window_days=365),)
WAGE = (
    Evidence(
        HOTLINE,
        mode="summary",
        group_by="category",
        where=pl.col("category") == complaints.WAGE_ARREARS,
    ),
    Evidence(WAGE_COMPLAINTS, ("workers_involved", "wages_owed")),
)
PREPAID_COMPLAINTS = (
    Evidence(
        HOTLINE,
        mode="summary",
        group_by="category",
        where=pl.col("category") == complaints.PREPAID_REFUND,
    ),
    Evidence(PREPAID_REFUNDS, ("refund_amount", "students_affected")),
)
DISPUTES = (Evidence(FINANCIAL_DISPUTES, ("category", "dispute_amount")),)
ARREARS_SHOWN = ("arrears_amount", "amount_due", "amount_paid")
ENERGY_YOY = (Evidence(ENERGY, ("consumption",), mode="panel", lags=(0, 1, 2, 12, 13, 14)),)
PENALTY_SHOWN = ("penalty_type", "severity", "fine_amount", "violation_type")
LICENCE_LAPSED = Evidence(
    LICENCES,
    ("licence_no", "valid_to", "status"),
    where=((pl.col("valid_to") < pl.col(AS_OF_COLUMN)) | (pl.col("status") == licences.EXPIRED))
    & ~_in("status", licences.ENDED),
)


def _arrears(
    family: SourceFamily, lags: tuple[int, ...] | None = None, *, only_arrears: bool = True
) -> tuple[Evidence, ...]:
    in_arrears = pl.col("arrears_amount") > 0
    if only_arrears:
        return (Evidence(family, ARREARS_SHOWN, in_arrears, mode="panel", lags=lags),)
    return (Evidence(family, ARREARS_SHOWN, mode="panel", lags=lags, first=in_arrears),)


def _contribution_evidence(prefix: str, family: SourceFamily) -> dict[str, tuple[Evidence, ...]]:
    return {
        f"{prefix}_arrears_months": _arrears(family),
        f"{prefix}_arrears_consecutive_months": _arrears(family, tuple(range(12))),
        f"{prefix}_arrears_amount": _arrears(family),
        f"{prefix}_arrears_amount_trend": _arrears(family, tuple(range(6))),
        f"{prefix}_paid_ratio": _arrears(family, only_arrears=False),
        f"{prefix}_months_since_report": _arrears(family, (0,), only_arrears=False),
    }


def _penalty_group_members(group: str) -> SourceFamily:
    members = tuple(s for s in PENALTIES.catalog_members() if penalty_group(s) == group)
    return SourceFamily(ids=members)


EVIDENCE: dict[str, tuple[Evidence, ...]] = {
    "registered_capital": PROFILE,
    "firm_age_years": PROFILE,
    "capital_reduction_count": CAPITAL,
    "capital_reduction_amount": CAPITAL,
    "capital_reduction_share": (*CAPITAL, *PROFILE),
    "days_since_capital_reduction": (
        Evidence(
            CAPITAL_CHANGES,
            ("capital_before", "capital_after"),
            REDUCTION,
            limit=1,
            window_days=3 * 365,
        ),
    ),
    **_contribution_evidence("si", SOCIAL_INSURANCE),
    **_contribution_evidence("hf", HOUSING_FUND),
    "headcount_latest": (Evidence(PENSION, ("insured_count",), mode="panel", lags=(0,)),),
    **{
        f"headcount_change{kind}_{n}m": (
            Evidence(PENSION, ("insured_count",), mode="panel", lags=(0, n)),
        )
        for kind in ("", "_rel")
        for n in (3, 6, 12)
    },
    "complaint_count": ALL_COMPLAINTS,
    "complaint_growth": COMPLAINT_HISTORY,
    "complaint_vs_sector": COMPLAINT_HISTORY,
    "complaint_wage_arrears_count": WAGE,
    "complaint_prepaid_refund_count": PREPAID_COMPLAINTS,
    "financial_dispute_count": DISPUTES,
    "financial_dispute_amount": DISPUTES,
    "financial_dispute_fundraising_count": (
        Evidence(
            FINANCIAL_DISPUTES,
            ("category", "dispute_amount"),
            _in("category", complaints.FUNDRAISING),
        ),
    ),
    "prepaid_refund_amount": (Evidence(PREPAID_REFUNDS, ("refund_amount", "students_affected")),),
    "prepaid_refund_students": (Evidence(PREPAID_REFUNDS, ("refund_amount", "students_affected")),),
    "scope_change_count": (Evidence(SCOPE_CHANGES, ("scope_direction",)),),
    "scope_reduction_count": (
        Evidence(
            SCOPE_CHANGES,
            ("scope_direction",),
            pl.col("scope_direction") == registration.SCOPE_REDUCED,
        ),
    ),
    "legal_rep_change_count": (Evidence(LEGAL_REP_CHANGES),),
    "address_change_count": (Evidence(ADDRESS_CHANGES, ("old_district", "new_district")),),
    "equity_change_count": (Evidence(EQUITY_CHANGES, ("change_type", "share_pct")),),
    "equity_pledge_count": (
        Evidence(
            EQUITY_CHANGES,
            ("change_type", "share_pct"),
            pl.col("change_type") == registration.EQUITY_PLEDGE,
        ),
    ),
    "equity_transfer_count": (
        Evidence(
            EQUITY_CHANGES,
            ("change_type", "share_pct"),
            pl.col("change_type") == registration.EQUITY_TRANSFER,
        ),
    ),
    "linked_firms_count": (Evidence(LINKED_FIRMS, ("linked_name", "link_role", "linked_status")),),
    **{
        name: (
            Evidence(
                LINKED_FIRMS,
                ("linked_name", "linked_uscc", "linked_status"),
                _in("linked_status", linked_firms.CLOSED),
            ),
        )
        for name in (
            "linked_firms_closed_count",
            "linked_firms_closed_share",
            "linked_firms_closed",
        )
    },
    "penalty_count": (Evidence(PENALTIES, PENALTY_SHOWN),),
    "penalty_fine_amount": (Evidence(PENALTIES, PENALTY_SHOWN, pl.col("fine_amount") > 0),),
    "penalty_major_count": (
        Evidence(PENALTIES, PENALTY_SHOWN, pl.col("severity") == penalties.MAJOR),
    ),
    "penalty_serious_count": (
        Evidence(PENALTIES, PENALTY_SHOWN, pl.col("severity") == penalties.SERIOUS),
    ),
    "penalty_suspension_count": (
        Evidence(PENALTIES, PENALTY_SHOWN, _in("penalty_type", penalties.SUSPENSION)),
    ),
    **{
        f"penalty_{group}_count": (Evidence(_penalty_group_members(group), PENALTY_SHOWN),)
        for group in (*PENALTY_GROUPS, "other")
    },
    **{
        name: (
            Evidence(
                CIVIL_CASES,
                ("party_role", "cause", "claim_amount"),
                pl.col("party_role") == DEFENDANT,
            ),
        )
        for name in ("court_defendant_count", "court_defendant_claim_amount")
    },
    "court_enforcement_count": (Evidence(ENFORCEMENT, ("enforced_amount", "status")),),
    "court_enforcement_amount": (Evidence(ENFORCEMENT, ("enforced_amount", "status")),),
    "dishonest_debtor_count": (Evidence(DISHONEST_DEBTORS, ("obligation_amount", "performance")),),
    "abnormal_operation_count": (Evidence(ABNORMAL_OPERATION, ("reason",)),),
    "black_list_count": (Evidence(BLACK_LIST, ("list_type",)),),
    "energy_yoy_change": ENERGY_YOY,
    "energy_yoy_vs_sector": ENERGY_YOY,
    "energy_trend": (Evidence(ENERGY, ("consumption",), mode="panel", lags=tuple(range(6))),),
    "energy_overdue_amount": (
        Evidence(
            ENERGY,
            ("overdue_amount", "bill_amount"),
            pl.col("overdue_amount") > 0,
            mode="panel",
            lags=(0, 1, 2),
        ),
    ),
    "tax_revenue_trend": (Evidence(VAT, ("sales_revenue",), mode="panel", lags=tuple(range(6))),),
    "tax_revenue_yoy": (
        Evidence(VAT, ("sales_revenue",), mode="panel", lags=(0, 1, 2, 12, 13, 14)),
    ),
    **{
        name: (
            Evidence(
                VAT,
                ("vat_payable", "vat_paid"),
                pl.col("vat_paid") < pl.col("vat_payable"),
                mode="panel",
                lags=tuple(range(12)),
            ),
        )
        for name in ("tax_vat_paid_ratio", "tax_vat_unpaid")
    },
    "tax_credit_rating": (Evidence(TAX_RATING, ("rating",), mode="latest"),),
    **{
        name: (
            Evidence(
                ANNUAL_REPORT,
                ("total_assets", "total_liabilities", "revenue", "net_profit"),
                mode="panel",
                lags=(0, 1),
            ),
        )
        for name in ("report_liability_ratio", "report_profit_margin", "report_revenue_growth")
    },
    **{
        name: (
            Evidence(
                PREPAID_SUPERVISION,
                ("prepaid_received", "escrow_required", "escrow_deposited", "escrow_shortfall"),
                mode="panel",
                lags=tuple(range(6)),
            ),
        )
        for name in (
            "prepaid_escrow_shortfall",
            "prepaid_escrow_coverage",
            "prepaid_received_trend",
        )
    },
    "headcount_report_gap_ratio": (
        Evidence(ANNUAL_REPORT, ("employees",), mode="panel", lags=(0,)),
        Evidence(PENSION, ("insured_count",), mode="panel", lags=(0,)),
    ),
    "district_mismatch": (
        Evidence(MASTER, ("district",), mode="latest"),
        Evidence(ENERGY, ("meter_district",), mode="panel", lags=(0,)),
    ),
    "licence_expired_count": (LICENCE_LAPSED,),
    "licence_expired_paying_si": (
        LICENCE_LAPSED,
        Evidence(
            SOCIAL_INSURANCE,
            ("amount_paid",),
            pl.col("amount_paid") > 0,
            mode="panel",
            lags=(0, 1, 2),
        ),
    ),
    **{adverse_feature(s).rsplit("_", 1)[0]: (Evidence(one(s)),) for s in ADVERSE_EVENT_SOURCES},
}

_WINDOW = re.compile(r"_(\d+)([dm])$")


def evidence_for(feature: str) -> tuple[Evidence, ...]:
    """The evidence of a registered feature (empty when it has none, e.g. a coverage count)."""
    spec(feature)
    if feature in EVIDENCE:
        return EVIDENCE[feature]
    return EVIDENCE.get(_WINDOW.sub("", feature), ())


def facts_for(
    sources: Mapping[str, pl.LazyFrame],
    uscc_list: Sequence[str],
    as_of: date,
    feature_names: Sequence[str],
    *,
    contracts: Mapping[str, SourceContract] | None = None,
    max_per_feature: int = MAX_FACTS_PER_FEATURE,
) -> pl.DataFrame:
    """One row per fact: uscc, feature, fact_zh, fact_en (firms and features in the order
    given; within a feature, its evidence in declared order, each source's newest rows first).
    Past ``max_per_feature`` facts for a firm and feature, one last line says how many more
    records there are."""
    firms = list(dict.fromkeys(uscc_list))
    source_set = SourceSet(sources, contracts).for_firms(
        pl.DataFrame({USCC: firms}, schema={USCC: pl.String})
    )
    rows: list[tuple[str, str, str, str]] = []
    for feature in dict.fromkeys(feature_names):
        window = _window(feature)
        per_firm: dict[str, list[tuple[bool, str, str]]] = {u: [] for u in firms}
        for evidence in evidence_for(feature):
            for uscc, leading, zh, en in _facts(source_set, evidence, firms, as_of, window):
                per_firm[uscc].append((leading, zh, en))
        for uscc in firms:
            ordered = sorted(per_firm[uscc], key=lambda fact: not fact[0])  # stable
            shown = _capped([(zh, en) for _, zh, en in ordered], max_per_feature)
            rows.extend((uscc, feature, zh, en) for zh, en in shown)
    frame = pl.DataFrame(rows, schema=dict.fromkeys(FACT_COLUMNS, pl.String), orient="row")
    order = {u: i for i, u in enumerate(firms)}
    return (
        frame.with_row_index("_n")
        .sort(pl.col("uscc").replace_strict(order, return_dtype=pl.Int64), "_n")
        .drop("_n")
    )


def _capped(facts: list[tuple[str, str]], limit: int) -> list[tuple[str, str]]:
    if len(facts) <= limit:
        return facts
    more = len(facts) - (limit - 1)  # at least 2: one shown line gives way to the count
    return [*facts[: limit - 1], (f"另有 {more} 条记录未列出", f"{more} more records not shown")]


def _window(feature: str) -> tuple[int | None, int | None]:
    """(days, periods) of the feature's window."""
    window = spec(feature).window
    match = re.fullmatch(r"(\d+)([dm])", window or "")
    if not match:
        return None, None
    n = int(match.group(1))
    return (n, None) if match.group(2) == "d" else (None, n)


def _facts(
    sources: SourceSet,
    evidence: Evidence,
    firms: list[str],
    as_of: date,
    window: tuple[int | None, int | None],
) -> list[tuple[str, bool, str, str]]:
    """(uscc, leads, zh, en) per fact; ``leads`` marks rows matching ``evidence.first``."""
    out: list[tuple[str, bool, str, str]] = []
    for source_id in sources.family(evidence.family):
        contract = sources.contracts[source_id]
        shown = [
            c
            for c in evidence.shown
            if c in contract.column_names and contract.column(c).pii == PII.none
        ] or _default_shown(contract)
        rows = _usable(sources, source_id, evidence, shown, firms, as_of)
        if evidence.where is not None:
            rows = rows.with_columns(pl.lit(as_of).alias(AS_OF_COLUMN)).filter(evidence.where)
        days = evidence.window_days or window[0]
        if evidence.mode == "panel":
            rows = _panel_rows(rows, contract, evidence.lags, window[1])
        elif evidence.mode == "latest":
            rows = rows.filter(pl.col(EVENT_DATE) == pl.col(EVENT_DATE).max().over(USCC))
        elif days is not None:
            rows = rows.filter(pl.col(EVENT_DATE) > as_of - timedelta(days=days))
        rows = rows.sort(USCC, EVENT_DATE, descending=[False, True])
        if evidence.mode == "summary":
            out.extend(
                (u, False, zh, en) for u, zh, en in _summaries(rows, contract, evidence, days)
            )
        else:
            leads = evidence.first if evidence.first is not None else pl.lit(False)
            rows = rows.with_columns(leads.fill_null(False).alias(LEADS)).sort(
                LEADS, descending=True, maintain_order=True
            )
            for row in (
                rows.group_by(USCC, maintain_order=True).head(evidence.limit).iter_rows(named=True)
            ):
                out.append((row[USCC], row[LEADS], *_sentence(row, contract, shown)))
    return out


def _usable(
    sources: SourceSet,
    source_id: str,
    evidence: Evidence,
    shown: list[str],
    firms: list[str],
    as_of: date,
) -> pl.DataFrame:
    read = set(evidence.where.meta.root_names()) if evidence.where is not None else set()
    needed = ({*shown, *read} - {AS_OF_COLUMN}) & set(sources.contracts[source_id].column_names)
    return (
        sources.versions(source_id, sorted(needed))
        .filter(pl.col(USCC).is_in(firms) & valid_at(pl.lit(as_of)))
        .collect()
    )


def _panel_rows(
    rows: pl.DataFrame, contract: SourceContract, lags: tuple[int, ...] | None, periods: int | None
) -> pl.DataFrame:
    yearly = contract.grain == Grain.annual
    index = pl.col(EVENT_DATE).dt.year() if yearly else month_index(pl.col(EVENT_DATE))
    chosen = lags if lags is not None else tuple(range(periods or 12))
    indexed = rows.with_columns(index.cast(pl.Int32).alias(INDEX))
    return indexed.filter((pl.col(INDEX).max().over(USCC) - pl.col(INDEX)).is_in(list(chosen)))


def _summaries(
    rows: pl.DataFrame, contract: SourceContract, evidence: Evidence, days: int | None
) -> list[tuple[str, str, str]]:
    group = evidence.group_by if evidence.group_by in contract.column_names else None
    keys = [USCC, *([group] if group else [])]
    counted = (
        rows.group_by(keys, maintain_order=True)
        .agg(pl.len().alias("n"), pl.col(EVENT_DATE).max().alias("latest"))
        .sort(USCC, "n", descending=[False, True])
    )
    span_zh = f"近{days}天" if days else "累计"
    span_en = f"in the last {days} days" if days else "to date"
    out = []
    for row in counted.iter_rows(named=True):
        kind_zh = f"「{row[group]}」" if group else ""
        kind_en = f" '{row[group]}'" if group else ""
        out.append(
            (
                row[USCC],
                f"{span_zh}{contract.title.zh}{kind_zh} {row['n']} 件，最近一次 {row['latest']}",
                f"{row['n']} {contract.title.en}{kind_en} {span_en}, latest on {row['latest']}",
            )
        )
    return out


def _sentence(row: dict, contract: SourceContract, shown: list[str]) -> tuple[str, str]:
    when = _when(row[EVENT_DATE], contract.grain)
    parts_zh, parts_en = [], []
    for name in shown:
        column = contract.column(name)
        text = _text(row.get(name))
        parts_zh.append(f"{_label(column.description.zh)} {text}")
        parts_en.append(f"{_label(column.description.en)} {text}")
    zh = f"{when} {contract.title.zh}" + (f"：{'；'.join(parts_zh)}" if parts_zh else "")
    en = f"{when} {contract.title.en}" + (f": {'; '.join(parts_en)}" if parts_en else "")
    return zh, en


def _default_shown(contract: SourceContract) -> list[str]:
    """Up to three describing columns of a source: not keys, names, times or PII."""
    skip = {
        contract.entity_key,
        contract.event_time,
        contract.arrival_time,
        "firm_name",
        *contract.unique_key,
    }
    return [
        c.name
        for c in contract.columns
        if c.name not in skip and c.pii == PII.none and c.type.value != "datetime"
    ][:3]


def _label(description: str) -> str:
    """A column description cut to its first clause."""
    return re.split(r"[，,;；]", description, maxsplit=1)[0].strip()


def _when(day: date, grain: Grain) -> str:
    if grain == Grain.monthly:
        return f"{day:%Y-%m}"
    if grain == Grain.annual:
        return f"{day:%Y}"
    return day.isoformat()


def _text(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)
