"""Adverse events: one count per source whose every record is bad news for the firm (notices,
freezes, listings, filings on the way out), over the last year. Each count's texts come from
its contract's own title."""

from __future__ import annotations

import polars as pl

from data_contracts import catalog
from features.events import Measures, event_window_sums
from features.family import UP, Evidence, Family, FeatureSpec, Step, Unit, days, feature, names
from features.source_set import SourceSet, one

FAMILY_NAME = "adverse_events"
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
WINDOW = days(365)


def adverse_feature(source_id: str) -> str:
    return f"{source_id}_count_{WINDOW}"


def _spec(source_id: str) -> FeatureSpec:
    contract = catalog.load_all().get(source_id)
    zh, en = (contract.title.zh, contract.title.en) if contract else (source_id, source_id)
    w = WINDOW.length
    return feature(
        adverse_feature(source_id),
        FAMILY_NAME,
        [one(source_id)],
        Unit.count,
        UP,
        (f"近{w}天「{zh}」记录数", f"Records of '{en}' in the last {w} days"),
        (
            f"近{w}天有 {{value}} 条「{zh}」记录",
            f"{{value}} [record|records] of '{en}' in the last {w} days",
        ),
        window=WINDOW,
        evidence=[Evidence(one(source_id))],
    )


SPECS = tuple(_spec(s) for s in ADVERSE_EVENT_SOURCES)


def adverse_events(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    parts = [Measures(one(s), {s: pl.lit(1)}) for s in ADVERSE_EVENT_SOURCES]
    return event_window_sums(
        grid,
        sources,
        parts,
        {adverse_feature(s): (s, WINDOW.days) for s in ADVERSE_EVENT_SOURCES},
    )


FAMILY = Family(FAMILY_NAME, SPECS, steps=(Step(adverse_events, names(SPECS)),))
