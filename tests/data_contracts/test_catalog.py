"""The catalogue of source contracts: every YAML valid, the binding key sources and families intact,
and a broken contract rejected with a message that names the problem."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import yaml
from pydantic import ValidationError

from data_contracts import catalog
from data_contracts.departments import load_departments
from data_contracts.schema import USCC_PATTERN, ColumnType, Domain, Grain, parse_contract
from data_contracts.simulate.config import world_params

TEXTS = catalog.contract_texts()
CONTRACTS = catalog.load_all()
FIRM_SOURCES = sorted(sid for sid, c in CONTRACTS.items() if c.about_firms)
# Sources about the regulators themselves, the inspection plan's inputs.
REGULATOR_SOURCES = {
    "inspection_inspector_roster": "inspector_id",
    "inspection_monthly_capacity": "department",
}
INDUSTRY_KEYS = {"finance", "manufacturing", "education", "other"}
COVERAGE = world_params().coverage  # source id -> {industry: share}

# The id prefixes each domain's sources carry.
DOMAIN_PREFIXES = {
    Domain.registration: ("reg_",),
    Domain.operations_tax: ("tax_",),
    Domain.energy: ("energy_",),
    Domain.penalties: ("penalty_",),
    Domain.social_insurance: ("si_",),
    Domain.housing_fund: ("hf_",),
    Domain.complaints: ("complaint_",),
    Domain.courts: ("court_",),
    Domain.licences: ("licence_",),
    Domain.annual_reports: ("annual_report_",),
    Domain.credit: ("credit_",),
    Domain.prepaid_fees: ("prepaid_fee_",),
    Domain.related_firms: ("related_", "reg_legal_rep_other_firms"),
    Domain.inspections: ("inspection_",),
    Domain.outcomes: ("outcome_",),
}

# docs/ARCHITECTURE.md "Key sources": ids and canonical columns that features and labels read.
KEY_SOURCES = {
    source: columns.split()
    for source, columns in {
        "reg_enterprise_master": "name sector district ownership_type established_date "
        "registered_capital status registered_address legal_rep_name legal_rep_id_number "
        "legal_rep_phone snapshot_date",
        "reg_capital_change": "change_id change_date capital_before capital_after",
        "reg_scope_change": "change_id change_date scope_direction",
        "reg_legal_rep_change": "change_id change_date new_legal_rep_name",
        "reg_address_change": "change_id change_date new_district",
        "reg_equity_change": "change_id change_date change_type share_pct",
        "reg_legal_rep_other_firms": "linked_uscc linked_name linked_status status_date",
        "hf_contribution": "period contributors amount_due amount_paid arrears_amount",
        "complaint_12345": "ticket_id received_date category caller_phone",
        "complaint_financial_dispute": "case_id received_date category dispute_amount",
        "complaint_prepaid_refund": "case_id received_date refund_amount students_affected",
        "court_civil_case": "case_no filing_date party_role cause claim_amount",
        "court_enforcement": "case_no filing_date enforced_amount status",
        "court_dishonest_debtor": "record_no listed_date obligation_amount",
        "tax_vat_declaration": "period sales_revenue vat_payable vat_paid",
        "tax_credit_rating": "rating_year rating",
        "annual_report_basic": "report_year employees total_assets total_liabilities revenue "
        "net_profit",
        "credit_abnormal_operation": "record_no listed_date reason",
        "credit_black_list": "record_no listed_date list_type",
        "prepaid_fee_supervision": "period prepaid_received escrow_required escrow_deposited "
        "escrow_shortfall",
        "outcome_distress_event": "event_id event_date event_type industry confirmed_by",
        **{
            f"si_{kind}": "period insured_count amount_due amount_paid arrears_amount"
            for kind in ("pension", "medical", "unemployment", "work_injury", "maternity")
        },
        **{
            f"energy_{kind}": "period consumption meter_district"
            for kind in ("electricity", "water", "gas", "steam")
        },
        **{
            f"licence_{kind}": "licence_no issue_date valid_to status"
            for kind in (
                "school_running",
                "pollution_discharge",
                "hazardous_chemicals",
                "financial_business",
            )
        },
    }.items()
}

# Coded values the architecture fixes (features compare against them).
KEY_ALLOWED = {
    key: codes.split()
    for key, codes in {
        ("reg_enterprise_master", "status"): "存续 迁出 吊销 注销",
        ("reg_scope_change", "scope_direction"): "缩减 扩大 调整",
        ("reg_equity_change", "change_type"): "股权转让 股权质押 增资 减资",
        ("reg_legal_rep_other_firms", "linked_status"): "存续 注销 吊销",
        ("complaint_12345", "category"): "拖欠工资 预付费退费 产品质量 服务纠纷 "
        "环境扰民 劳动合同 其他",
        ("complaint_financial_dispute", "category"): "非法集资 理财兑付 借贷纠纷 保险理赔 其他",
        ("court_civil_case", "party_role"): "原告 被告 第三人",
        ("tax_credit_rating", "rating"): "A B M C D",
        ("outcome_distress_event", "event_type"): "金融风险事件 经营困难 停业跑路",
        ("outcome_distress_event", "industry"): "finance manufacturing education",
    }.items()
}

# Families: every member shares these canonical columns, with the same type and coded values.
FAMILIES = {
    "penalty_": ["decision_no", "decision_date", "penalty_type", "fine_amount", "severity"],
    "si_": ["period", "insured_count", "amount_due", "amount_paid", "arrears_amount"],
    "energy_": [
        "period",
        "consumption",
        "meter_district",
        "bill_amount",
        "amount_paid",
        "overdue_amount",
    ],
    "licence_": ["licence_no", "issue_date", "valid_to", "status"],
}
FAMILY_ALLOWED = {
    ("penalty_", "penalty_type"): ["警告", "罚款", "没收违法所得", "责令停产停业", "吊销许可证"],
    ("penalty_", "severity"): ["一般", "较重", "严重"],
    ("licence_", "status"): ["有效", "过期", "注销", "吊销"],
}

GENERATOR_GRAINS = {
    "entity_snapshot": {Grain.snapshot},
    "monthly_panel": {Grain.monthly},
    "annual": {Grain.annual},
    "events": {Grain.event},
    "linked_firms": {Grain.event},
    "licences": {Grain.event},
    "outcomes": {Grain.event},
    "roster": {Grain.snapshot},
    "department_months": {Grain.event},
    "repairs": {Grain.event},
}

PERSONAL_ATTRS = {
    "legal_rep_name": "person_name",
    "legal_rep_id_number": "id_number",
    "legal_rep_phone": "phone",
}


def family(prefix: str) -> list:
    return [c for sid, c in CONTRACTS.items() if sid.startswith(prefix)]


# ---- every file ------------------------------------------------------------------------------
@pytest.mark.parametrize("stem", sorted(TEXTS))
def test_contract_file_parses_validates_and_is_named_after_its_id(stem):
    contract = catalog.parse_contract_text(stem, TEXTS[stem])
    assert contract.id == stem


@pytest.mark.parametrize("source_id", FIRM_SOURCES)
def test_every_source_has_a_credit_code_key_and_an_arrival_time(source_id):
    contract = CONTRACTS[source_id]
    key = contract.column(contract.entity_key)
    assert contract.entity_key == "uscc"
    assert (key.type, key.nullable, key.pattern) == (ColumnType.string, False, USCC_PATTERN)
    arrival = contract.column(contract.arrival_time)
    assert contract.arrival_time == "arrived_at"
    assert (arrival.type, arrival.nullable) == (ColumnType.datetime, False)
    assert arrival.sim is not None and arrival.sim.role == "arrival_time"


@pytest.mark.parametrize("source_id", sorted(CONTRACTS))
def test_id_carries_the_prefix_of_its_domain(source_id):
    prefixes = DOMAIN_PREFIXES[CONTRACTS[source_id].domain]
    assert source_id.startswith(prefixes), f"{source_id} does not start with {prefixes}"


@pytest.mark.parametrize("source_id", sorted(CONTRACTS))
def test_grain_generator_and_event_time_agree(source_id):
    contract = CONTRACTS[source_id]
    sim = contract.simulation
    assert contract.grain in GENERATOR_GRAINS[sim.generator]
    event_time = contract.column(contract.event_time)
    assert event_time.sim is not None and event_time.sim.role == "event_time"
    if contract.grain == Grain.monthly:
        assert contract.event_time == "period" and event_time.type == ColumnType.date
        assert contract.unique_key == ["uscc", "period"]
    if contract.grain == Grain.annual:
        assert event_time.type == ColumnType.date
        assert contract.unique_key[:2] == ["uscc", contract.event_time]
    if contract.grain == Grain.snapshot:
        assert contract.event_time == "snapshot_date"
    if sim.generator in ("events", "linked_firms"):
        assert sim.rate > 0, f"{source_id}: an event source needs a rate"
    if not contract.about_firms:
        assert not COVERAGE(source_id), f"{source_id}: a source about regulators covers no firms"
        return
    assert set(COVERAGE(source_id)) == INDUSTRY_KEYS
    assert any(share > 0 for share in COVERAGE(source_id).values())


@pytest.mark.parametrize("source_id", sorted(CONTRACTS))
def test_category_weights_are_probability_distributions(source_id):
    for column in CONTRACTS[source_id].columns:
        if column.sim is None:
            continue
        for weights in (column.sim.weights, column.sim.stress_weights):
            if weights is not None:
                assert min(weights) >= 0, f"{source_id}.{column.name}"
                assert sum(weights) == pytest.approx(1.0, abs=1e-6), f"{source_id}.{column.name}"


@pytest.mark.parametrize("source_id", sorted(CONTRACTS))
def test_due_paid_and_arrears_roles_come_together(source_id):
    roles = Counter(c.sim.role for c in CONTRACTS[source_id].columns if c.sim)
    triple = [roles[r] for r in ("due", "paid", "arrears")]
    assert triple in ([0, 0, 0], [1, 1, 1]), f"{source_id}: due/paid/arrears {triple}"


@pytest.mark.parametrize("source_id", sorted(CONTRACTS))
def test_personal_columns_are_flagged_as_pii(source_id):
    for column in CONTRACTS[source_id].columns:
        if column.sim and column.sim.role == "firm" and column.sim.attr in PERSONAL_ATTRS:
            assert column.pii == PERSONAL_ATTRS[column.sim.attr], f"{source_id}.{column.name}"
        if column.name.endswith("_phone"):
            assert column.pii == "phone", f"{source_id}.{column.name}"
        if column.pii != "none":
            assert column.type == ColumnType.string, f"{source_id}.{column.name}"


@pytest.mark.parametrize("source_id", sorted(CONTRACTS))
def test_amounts_and_counts_are_not_negative(source_id):
    for column in CONTRACTS[source_id].columns:
        is_money = re.search(r"(amount|_due|_paid|arrears|shortfall|fine|fee|_value)$", column.name)
        if column.type == ColumnType.int or is_money:
            assert column.min is not None and column.min >= 0, f"{source_id}.{column.name}"


# ---- the catalogue as a whole ----------------------------------------------------------------
def test_catalogue_has_exactly_174_sources_about_firms():
    assert len(FIRM_SOURCES) == 174
    assert len(TEXTS) == len(CONTRACTS) == 174 + len(REGULATOR_SOURCES)


@pytest.mark.parametrize(("source_id", "key"), sorted(REGULATOR_SOURCES.items()))
def test_sources_about_regulators_name_their_own_key_and_departments(source_id, key):
    contract = CONTRACTS[source_id]
    assert not contract.about_firms
    assert contract.entity_key == key and not contract.column(key).nullable
    assert contract.domain == Domain.inspections
    arrival = contract.column(contract.arrival_time)
    assert (arrival.type, arrival.nullable) == (ColumnType.datetime, False)
    department = contract.column("department")
    assert department.allowed == load_departments().names()
    assert department.sim is not None and department.sim.role == "department"


def test_every_domain_is_represented():
    seen = Counter(c.domain for c in CONTRACTS.values())
    assert set(seen) == set(Domain)
    assert seen[Domain.outcomes] == 1


def test_repairs_can_name_every_penalty_and_dishonesty_list_by_its_record_number():
    for source_id in ("credit_repair", "credit_commitment"):
        ref = CONTRACTS[source_id].refers_to
        assert ref is not None, source_id
        named = CONTRACTS[source_id].column(ref.source).allowed
        assert set(named) == {s for s in CONTRACTS if s.startswith("penalty_")} | {
            "credit_abnormal_operation",
            "credit_black_list",
            "credit_serious_dishonest",
        }
        for target in named:
            assert CONTRACTS[target].grain == Grain.event, target
            assert len(CONTRACTS[target].unique_key) == 1, target


def test_penalties_come_one_per_enforcing_department():
    departments = [c.department.zh for c in family("penalty_")]
    assert len(departments) >= 20
    assert len(set(departments)) == len(departments)


@pytest.mark.parametrize("source_id", sorted(KEY_SOURCES))
def test_binding_key_source_exists_with_its_canonical_columns(source_id):
    assert source_id in CONTRACTS, f"key source {source_id} is missing"
    missing = set(KEY_SOURCES[source_id]) - set(CONTRACTS[source_id].column_names)
    assert not missing, f"{source_id} lacks canonical columns {sorted(missing)}"


@pytest.mark.parametrize(("source_id", "column"), sorted(KEY_ALLOWED))
def test_binding_coded_column_delivers_the_architecture_values(source_id, column):
    assert CONTRACTS[source_id].column(column).allowed == KEY_ALLOWED[(source_id, column)]


def test_key_sources_flag_the_architecture_pii_columns():
    master = CONTRACTS["reg_enterprise_master"]
    assert set(master.pii_columns) >= {"legal_rep_name", "legal_rep_id_number", "legal_rep_phone"}
    assert "new_legal_rep_name" in CONTRACTS["reg_legal_rep_change"].pii_columns
    assert "caller_phone" in CONTRACTS["complaint_12345"].pii_columns


@pytest.mark.parametrize("prefix", sorted(FAMILIES))
def test_family_members_share_canonical_columns_types_and_codes(prefix):
    members = family(prefix)
    assert len(members) >= 4
    for name in FAMILIES[prefix]:
        columns = {c.id: c.column(name) for c in members if name in c.column_names}
        assert set(columns) == {c.id for c in members}, f"{name} missing in some {prefix}*"
        assert len({col.type for col in columns.values()}) == 1, f"{prefix}*.{name} types differ"
        assert len({tuple(col.allowed or ()) for col in columns.values()}) == 1
    for (fam, name), allowed in FAMILY_ALLOWED.items():
        if fam == prefix:
            assert all(c.column(name).allowed == allowed for c in members)


def test_industry_specific_sources_cover_their_industry():
    education_only = [
        c
        for sid, c in CONTRACTS.items()
        if sid.startswith("prepaid_fee_") or sid == "licence_school_running"
    ]
    for contract in education_only:
        coverage = COVERAGE(contract.id)
        assert coverage["education"] > 0.5, contract.id
        assert max(coverage["finance"], coverage["manufacturing"], coverage["other"]) == 0
    finance = COVERAGE("licence_financial_business")
    assert finance["finance"] > 0.5 and max(v for k, v in finance.items() if k != "finance") < 0.1
    for sid in ("licence_pollution_discharge", "licence_hazardous_chemicals", "energy_steam"):
        coverage = COVERAGE(sid)
        assert coverage["manufacturing"] == max(coverage.values()), sid
        assert coverage["finance"] == coverage["education"] == 0, sid


def test_stress_sensitivity_signs_follow_what_healthy_firms_do():
    assert CONTRACTS["credit_red_list"].simulation.stress_sensitivity < 0
    for sid in (
        "court_dishonest_debtor",
        "complaint_prepaid_refund",
        "si_pension",
        "penalty_labour_inspection",
        "tax_arrears_notice",
    ):
        assert CONTRACTS[sid].simulation.stress_sensitivity > 0, sid


def test_event_sources_keep_the_small_park_modest():
    """Expected rows over 3 years at the small scale's populations stay under half a million."""
    populations = {"finance": 555, "manufacturing": 3407, "education": 1180, "other": 4000}
    expected = sum(
        populations[k] * share * c.simulation.rate * 3
        for c in CONTRACTS.values()
        if c.simulation.generator == "events"
        for k, share in COVERAGE(c.id).items()
    )
    assert expected < 500_000


def test_deliveries_vary_in_format_encoding_and_header_language():
    formats = Counter(c.delivery.format for c in CONTRACTS.values())
    encodings = Counter(c.delivery.encoding for c in CONTRACTS.values())
    assert formats["csv"] > formats["parquet"] > 0
    assert encodings["utf-8"] > encodings["gb18030"] > 0
    latin_headers = [
        c.id for c in CONTRACTS.values() if all(col.raw.isascii() for col in c.columns)
    ]
    assert 0 < len(latin_headers) < 20


def test_raw_headers_have_no_surrounding_whitespace():
    for contract in CONTRACTS.values():
        for column in contract.columns:
            assert column.raw == column.raw.strip(), f"{contract.id}.{column.name}"


# ---- failure paths ---------------------------------------------------------------------------
MINIMAL_CONTRACT = """
id: penalty_example
title: {zh: 示例处罚, en: Example penalties}
department: {zh: 示例局, en: Example Bureau}
domain: penalties
grain: event
event_time: decision_date
unique_key: [decision_no]
delivery: {format: csv, cadence_days: 7, freshness_days: 10}
simulation: {generator: events, rate: 0.1}
columns:
  - {name: decision_no, raw: 决定书文号, type: string, nullable: false,
     description: {zh: 文号, en: Decision number}}
  - {name: uscc, raw: 统一社会信用代码, type: string, nullable: false,
     description: {zh: 代码, en: Credit code}}
  - {name: decision_date, raw: 决定日期, type: date, nullable: false,
     description: {zh: 日期, en: Decision date}}
  - {name: severity, raw: 情节, type: string, allowed: [一般, 严重],
     sim: {role: category, weights: [0.8, 0.2]}, description: {zh: 情节, en: Severity}}
  - {name: fine_amount, raw: 罚款金额(元), type: float, min: 0,
     description: {zh: 罚款, en: Fine}}
  - {name: arrived_at, raw: 数据推送时间, type: datetime, nullable: false,
     description: {zh: 推送时间, en: Arrival}}
"""


def minimal_contract() -> dict:
    """A small valid event contract, held in memory."""
    return yaml.safe_load(MINIMAL_CONTRACT)


def broken(mutate) -> dict:
    data = minimal_contract()
    mutate(data)
    return data


def column(data: dict, name: str) -> dict:
    return next(c for c in data["columns"] if c["name"] == name)


def test_minimal_contract_is_valid():
    assert parse_contract(minimal_contract()).column_names[0] == "decision_no"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        pytest.param(
            lambda d: d.update(event_time="handed_down"),
            "event_time 'handed_down' is not a declared column",
            id="unknown_event_time",
        ),
        pytest.param(
            lambda d: d.update(unique_key=["case_ref"]),
            "unique_key column 'case_ref' is not declared",
            id="unknown_unique_key",
        ),
        pytest.param(
            lambda d: column(d, "decision_no").update(nullable=True),
            "key column 'decision_no' must not be nullable",
            id="nullable_key",
        ),
        pytest.param(
            lambda d: column(d, "uscc").update(nullable=True),
            "key column 'uscc' must not be nullable",
            id="nullable_entity_key",
        ),
        pytest.param(
            lambda d: column(d, "severity")["sim"].update(weights=[1.0]),
            "severity: weights must match allowed values one to one",
            id="weights_length_mismatch",
        ),
        pytest.param(
            lambda d: column(d, "severity")["sim"].update(stress_weights=[0.2, 0.3, 0.5]),
            "severity: weights must match allowed values one to one",
            id="stress_weights_length_mismatch",
        ),
        pytest.param(
            lambda d: column(d, "fine_amount").update(raw="情节"),
            "duplicate raw column names ['情节']",
            id="duplicate_raw_names",
        ),
        pytest.param(
            lambda d: column(d, "fine_amount").update(name="severity"),
            "duplicate canonical column names ['severity']",
            id="duplicate_names",
        ),
        pytest.param(
            lambda d: column(d, "fine_amount").update(min=10, max=1),
            "column fine_amount: min 10.0 > max 1.0",
            id="min_above_max",
        ),
        pytest.param(
            lambda d: column(d, "fine_amount").update(allowed=["0", "100"]),
            "column fine_amount: allowed values only apply to string columns",
            id="allowed_on_non_string",
        ),
        pytest.param(
            lambda d: column(d, "decision_date").update(min=0),
            "column decision_date: min/max only apply to numeric columns",
            id="range_on_date",
        ),
        pytest.param(
            lambda d: column(d, "decision_date").update(type="string"),
            "event_time 'decision_date' must be a date",
            id="event_time_not_a_date",
        ),
        pytest.param(
            lambda d: column(d, "arrived_at").update(type="date"),
            "arrival_time 'arrived_at' must be a datetime",
            id="arrival_not_datetime",
        ),
        pytest.param(
            lambda d: column(d, "severity").pop("allowed"),
            "severity: category role needs allowed values",
            id="category_without_codes",
        ),
        pytest.param(
            lambda d: column(d, "fine_amount").update(
                sim={"role": "changed", "attr": "fine_before"}
            ),
            "changed role names unknown 'fine_before'",
            id="changed_unknown_column",
        ),
        pytest.param(
            lambda d: column(d, "uscc").update(sim={"role": "firm"}),
            "uscc: firm role needs attr",
            id="firm_role_without_attr",
        ),
        pytest.param(
            lambda d: d.update(id="Penalty-Example"),
            "source id 'Penalty-Example' is not snake_case",
            id="id_not_snake_case",
        ),
        pytest.param(
            lambda d: column(d, "severity").update(allowed=["一般", "一般"], sim=None),
            "column severity: allowed values repeat",
            id="repeated_codes",
        ),
        pytest.param(
            lambda d: d["simulation"].update(coverage={"other": 1.0}),
            "Extra inputs are not permitted",
            id="coverage_is_the_worlds_not_the_contracts",
        ),
        pytest.param(
            lambda d: column(d, "severity").update(allowed_from="sector_values"),
            "give allowed or allowed_from, not both",
            id="allowed_and_allowed_from",
        ),
        pytest.param(
            lambda d: column(d, "severity").update(allowed=None, allowed_from="regions", sim=None),
            "allowed_from",
            id="allowed_from_unknown_list",
        ),
        pytest.param(
            lambda d: d.update(refers_to={"source": "origin", "record": "decision_no"}),
            "refers_to source 'origin' is not a declared column",
            id="reference_to_unknown_column",
        ),
        pytest.param(
            lambda d: d.update(refers_to={"source": "severity", "record": "fine_amount"}),
            "refers_to record 'fine_amount' must be a string column",
            id="reference_record_not_text",
        ),
        pytest.param(
            lambda d: d.update(refers_to={"source": "decision_no", "record": "decision_no"}),
            "refers_to source 'decision_no' must list the sources it can name",
            id="reference_source_without_allowed_sources",
        ),
        pytest.param(
            lambda d: d.update(
                refers_to={
                    "source": "severity",
                    "record": "decision_no",
                    "when": {"severity": ["特别严重"]},
                }
            ),
            "refers_to when 'severity' names unknown ['特别严重']",
            id="reference_condition_outside_codes",
        ),
    ],
)
def test_broken_contract_is_rejected_naming_the_problem(mutate, message):
    with pytest.raises(ValidationError) as caught:
        parse_contract(broken(mutate))
    assert message in str(caught.value)


def test_file_whose_id_differs_from_its_name_is_rejected():
    text = TEXTS["penalty_tax"]
    with pytest.raises(ValueError, match=r"penalty_customs\.yaml declares id 'penalty_tax'"):
        catalog.parse_contract_text("penalty_customs", text)
