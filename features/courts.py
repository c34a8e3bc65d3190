"""Courts and credit registers: civil cases as defendant, judgments lost as defendant,
arbitrations as respondent, economic-crime cases, enforcement, dishonest-debtor,
abnormal-operation and black-list listings."""

from __future__ import annotations

import polars as pl

from features.events import Measures, event_window_sums
from features.family import (
    UP,
    Evidence,
    Family,
    Step,
    Unit,
    days,
    event_columns,
    feature,
    names,
    windowed,
)
from features.source_set import SourceSet, one

FAMILY_NAME = "courts"
CIVIL_CASES = one("court_civil_case")
ENFORCEMENT = one("court_enforcement")
DISHONEST_DEBTORS = one("court_dishonest_debtor")
ABNORMAL_OPERATION = one("credit_abnormal_operation")
BLACK_LIST = one("credit_black_list")
JUDGMENTS = one("court_judgment_document")
ARBITRATIONS = one("court_commercial_arbitration")
CRIMINAL_CASES = one("court_criminal_case")
DEFENDANT = "被告"
LOST = "败诉"
RESPONDENT = "被申请人"
YEAR = days(365)

AS_DEFENDANT = Evidence(
    CIVIL_CASES, ("party_role", "cause", "claim_amount"), pl.col("party_role") == DEFENDANT
)
ENFORCED = Evidence(ENFORCEMENT, ("enforced_amount", "status"))
DISHONEST = Evidence(DISHONEST_DEBTORS, ("obligation_amount", "performance"))
ABNORMAL = Evidence(ABNORMAL_OPERATION, ("reason",))

LOST_AS_DEFENDANT = Evidence(
    JUDGMENTS,
    ("document_type", "party_role", "result", "judgment_amount"),
    (pl.col("party_role") == DEFENDANT) & (pl.col("result") == LOST),
)
AS_RESPONDENT = Evidence(
    ARBITRATIONS,
    ("party_role", "dispute_type", "claim_amount"),
    pl.col("party_role") == RESPONDENT,
)

DEFENDANT_COUNT = windowed(
    "court_defendant_count",
    (days(90), days(180), YEAR),
    FAMILY_NAME,
    [CIVIL_CASES],
    Unit.count,
    UP,
    ("近{w}天作为被告的民事案件数", "Civil cases as defendant filed in the last {w} days"),
    (
        "近{w}天作为被告被起诉 {value} 次",
        "sued as defendant {value} [time|times] in the last {w} days",
    ),
    evidence=[AS_DEFENDANT],
)
DEFENDANT_CLAIMS = feature(
    "court_defendant_claim_amount_365d",
    FAMILY_NAME,
    [CIVIL_CASES],
    Unit.cny,
    UP,
    ("近365天作为被告的诉讼标的额", "Amounts claimed against the firm in the last 365 days"),
    ("近365天作为被告涉诉金额 {value}", "{value} claimed against the firm in the last 365 days"),
    window=YEAR,
    evidence=[AS_DEFENDANT],
)
ENFORCEMENT_COUNT = windowed(
    "court_enforcement_count",
    (days(180), YEAR),
    FAMILY_NAME,
    [ENFORCEMENT],
    Unit.count,
    UP,
    ("近{w}天被强制执行案件数", "Enforcement cases in the last {w} days"),
    ("近{w}天被强制执行 {value} 次", "{value} enforcement [case|cases] in the last {w} days"),
    evidence=[ENFORCED],
)
ENFORCED_AMOUNT = feature(
    "court_enforcement_amount_365d",
    FAMILY_NAME,
    [ENFORCEMENT],
    Unit.cny,
    UP,
    ("近365天被执行金额", "Amounts under enforcement in the last 365 days"),
    ("近365天被执行金额 {value}", "{value} under enforcement in the last 365 days"),
    window=YEAR,
    evidence=[ENFORCED],
)
DISHONEST_COUNT = feature(
    "dishonest_debtor_count",
    FAMILY_NAME,
    [DISHONEST_DEBTORS],
    Unit.count,
    UP,
    ("累计列入失信被执行人名单次数", "Listings as a dishonest debtor to date"),
    ("已被列入失信被执行人名单 {value} 次", "listed as a dishonest debtor {value} [time|times]"),
    evidence=[DISHONEST],
)
DISHONEST_COUNT_YEAR = feature(
    "dishonest_debtor_count_365d",
    FAMILY_NAME,
    [DISHONEST_DEBTORS],
    Unit.count,
    UP,
    ("近365天列入失信被执行人名单次数", "Dishonest-debtor listings in the last 365 days"),
    (
        "近365天被列入失信被执行人名单 {value} 次",
        "listed as a dishonest debtor {value} [time|times] in the last 365 days",
    ),
    window=YEAR,
    evidence=[DISHONEST],
)
ABNORMAL_COUNT = feature(
    "abnormal_operation_count",
    FAMILY_NAME,
    [ABNORMAL_OPERATION],
    Unit.count,
    UP,
    ("累计列入经营异常名录次数", "Listings in the abnormal-operation register to date"),
    ("已被列入经营异常名录 {value} 次", "listed as operating abnormally {value} [time|times]"),
    evidence=[ABNORMAL],
)
ABNORMAL_COUNT_YEAR = feature(
    "abnormal_operation_count_365d",
    FAMILY_NAME,
    [ABNORMAL_OPERATION],
    Unit.count,
    UP,
    ("近365天列入经营异常名录次数", "Abnormal-operation listings in the last 365 days"),
    (
        "近365天被列入经营异常名录 {value} 次",
        "listed as operating abnormally {value} [time|times] in the last 365 days",
    ),
    window=YEAR,
    evidence=[ABNORMAL],
)
BLACK_LIST_COUNT = feature(
    "black_list_count",
    FAMILY_NAME,
    [BLACK_LIST],
    Unit.count,
    UP,
    ("累计列入严重违法失信名单次数", "Listings on the serious-violation black list to date"),
    (
        "已被列入严重违法失信名单 {value} 次",
        "on the serious-violation black list {value} [time|times]",
    ),
    evidence=[Evidence(BLACK_LIST, ("list_type",))],
)


LOST_COUNT = feature(
    f"court_judgment_lost_count_{YEAR}",
    FAMILY_NAME,
    [JUDGMENTS],
    Unit.count,
    UP,
    ("近365天作为被告败诉的裁判文书数", "Judgments lost as defendant in the last 365 days"),
    (
        "近365天作为被告败诉 {value} 次",
        "{value} [judgment|judgments] lost as defendant in the last 365 days",
    ),
    window=YEAR,
    evidence=[LOST_AS_DEFENDANT],
)
LOST_AMOUNT = feature(
    f"court_judgment_lost_amount_{YEAR}",
    FAMILY_NAME,
    [JUDGMENTS],
    Unit.cny,
    UP,
    (
        "近365天作为被告败诉的判决金额",
        "Amounts of the judgments lost as defendant in the last 365 days",
    ),
    (
        "近365天作为被告败诉涉及金额 {value}",
        "{value} in judgments lost as defendant in the last 365 days",
    ),
    window=YEAR,
    evidence=[LOST_AS_DEFENDANT],
)
RESPONDENT_COUNT = feature(
    f"arbitration_respondent_count_{YEAR}",
    FAMILY_NAME,
    [ARBITRATIONS],
    Unit.count,
    UP,
    (
        "近365天作为被申请人的商事仲裁案件数",
        "Commercial arbitrations against the firm (as respondent) in the last 365 days",
    ),
    (
        "近365天作为被申请人被提起商事仲裁 {value} 次",
        "{value} commercial [arbitration|arbitrations] against the firm in the last 365 days",
    ),
    window=YEAR,
    evidence=[AS_RESPONDENT],
)

CRIMINAL = Evidence(CRIMINAL_CASES, ("offence", "amount_involved", "victims"))
CRIMINAL_COUNT = feature(
    "criminal_case_count_365d",
    FAMILY_NAME,
    [CRIMINAL_CASES],
    Unit.count,
    UP,
    (
        "近365天涉企经济犯罪立案数",
        "Economic-crime cases filed involving the firm in the last 365 days",
    ),
    (
        "近365天涉嫌经济犯罪立案 {value} 起",
        "{value} economic-crime [case|cases] filed in the last 365 days",
    ),
    window=YEAR,
    evidence=[CRIMINAL],
)
CRIMINAL_AMOUNT = feature(
    "criminal_case_amount_365d",
    FAMILY_NAME,
    [CRIMINAL_CASES],
    Unit.cny,
    UP,
    (
        "近365天涉企经济犯罪立案涉案金额",
        "Amounts involved in economic-crime cases in the last 365 days",
    ),
    (
        "近365天经济犯罪立案涉案金额 {value}",
        "{value} involved in economic-crime cases filed in the last 365 days",
    ),
    window=YEAR,
    evidence=[CRIMINAL],
)


def courts(grid: pl.LazyFrame, sources: SourceSet) -> pl.LazyFrame | None:
    parts = [
        Measures(
            CIVIL_CASES,
            {"defendant": pl.lit(1), "claim": pl.col("claim_amount")},
            columns=("party_role", "claim_amount"),
            where=pl.col("party_role") == DEFENDANT,
        ),
        Measures(
            ENFORCEMENT,
            {"enforcement": pl.lit(1), "enforced": pl.col("enforced_amount")},
            columns=("enforced_amount",),
        ),
        Measures(DISHONEST_DEBTORS, {"dishonest": pl.lit(1)}),
        Measures(ABNORMAL_OPERATION, {"abnormal": pl.lit(1)}),
        Measures(BLACK_LIST, {"black_list": pl.lit(1)}),
        Measures(
            JUDGMENTS,
            {"lost": pl.lit(1), "lost_amount": pl.col("judgment_amount")},
            columns=("party_role", "result", "judgment_amount"),
            where=(pl.col("party_role") == DEFENDANT) & (pl.col("result") == LOST),
        ),
        Measures(
            ARBITRATIONS,
            {"respondent": pl.lit(1)},
            columns=("party_role",),
            where=pl.col("party_role") == RESPONDENT,
        ),
        Measures(
            CRIMINAL_CASES,
            {"criminal": pl.lit(1), "criminal_amount": pl.col("amount_involved")},
            columns=("amount_involved",),
        ),
    ]
    return event_window_sums(
        grid,
        sources,
        parts,
        {
            **event_columns(DEFENDANT_COUNT, "defendant"),
            **event_columns([DEFENDANT_CLAIMS], "claim"),
            **event_columns(ENFORCEMENT_COUNT, "enforcement"),
            **event_columns([ENFORCED_AMOUNT], "enforced"),
            **event_columns([DISHONEST_COUNT, DISHONEST_COUNT_YEAR], "dishonest"),
            **event_columns([ABNORMAL_COUNT, ABNORMAL_COUNT_YEAR], "abnormal"),
            **event_columns([BLACK_LIST_COUNT], "black_list"),
            **event_columns([LOST_COUNT], "lost"),
            **event_columns([LOST_AMOUNT], "lost_amount"),
            **event_columns([RESPONDENT_COUNT], "respondent"),
            **event_columns([CRIMINAL_COUNT], "criminal"),
            **event_columns([CRIMINAL_AMOUNT], "criminal_amount"),
        },
    )


SPECS = (
    *DEFENDANT_COUNT,
    DEFENDANT_CLAIMS,
    *ENFORCEMENT_COUNT,
    ENFORCED_AMOUNT,
    DISHONEST_COUNT,
    DISHONEST_COUNT_YEAR,
    ABNORMAL_COUNT,
    ABNORMAL_COUNT_YEAR,
    BLACK_LIST_COUNT,
    LOST_COUNT,
    LOST_AMOUNT,
    RESPONDENT_COUNT,
    CRIMINAL_COUNT,
    CRIMINAL_AMOUNT,
)
FAMILY = Family(FAMILY_NAME, SPECS, steps=(Step(courts, names(SPECS)),))
