"""Facts: the evidence behind a feature, usable at the as-of date, in both languages."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from features.facts import FACT_COLUMNS, evidence_for, facts_for
from features.registry import feature_names
from tests.features.tiny_lake import arrival_after, frames, master, months, rec

T = date(2024, 6, 30)


def facts(records, features, firms=("F1",)) -> pl.DataFrame:
    return facts_for(frames(records), list(firms), T, features)


def test_capital_reduction_fact_gives_date_and_amounts():
    records = [
        master(),
        rec(
            "reg_capital_change",
            change_date=date(2024, 3, 2),
            capital_before=1000.0,
            capital_after=500.0,
        ),
        rec(
            "reg_capital_change",
            change_date=date(2024, 4, 2),
            capital_before=500.0,
            capital_after=800.0,
        ),
    ]
    got = facts(records, ["capital_reduction_count_365d"])
    assert got.columns == list(FACT_COLUMNS)
    assert got["fact_zh"].to_list() == [
        "2024-03-02 注册资本变更登记：变更前注册资本（万元） 1,000；变更后注册资本（万元） 500"
    ]
    assert got["fact_en"][0].startswith("2024-03-02 Registered capital changes: Registered")


def _contribution(source_id: str, period: date, arrears: float):
    return rec(
        source_id,
        period=period,
        insured_count=5,
        amount_due=100.0,
        amount_paid=100.0 - arrears,
        arrears_amount=arrears,
        arrived_at=arrival_after(period, 20),
    )


def test_arrears_facts_list_the_months_in_arrears_newest_first():
    records = [master()] + [
        _contribution("si_pension", p, a)
        for p, a in zip(months(date(2024, 1, 1), 5), (0.0, 50.0, 0.0, 70.0, 80.0), strict=True)
    ]
    got = facts(records, ["si_arrears_months_3m"])
    assert [f[:7] for f in got["fact_zh"]] == ["2024-05", "2024-04"]
    assert "当月欠缴金额（元） 80" in got["fact_zh"][0]


def test_complaint_facts_count_by_category_with_the_latest_date():
    records = [master()] + [
        rec("complaint_12345", received_date=d, category=c)
        for d, c in (
            (date(2024, 6, 1), "拖欠工资"),
            (date(2024, 5, 1), "拖欠工资"),
            (date(2024, 5, 20), "其他"),
            (date(2023, 1, 1), "其他"),
        )
    ]
    got = facts(records, ["complaint_count_90d"])
    assert got["fact_zh"].to_list() == [
        "近90天12345政务服务热线企业诉求「拖欠工资」 2 件，最近一次 2024-06-01",
        "近90天12345政务服务热线企业诉求「其他」 1 件，最近一次 2024-05-20",
    ]


def test_penalty_fact_names_the_department_and_fine():
    records = [
        master(),
        rec(
            "penalty_tax",
            decision_date=date(2024, 5, 5),
            penalty_type="罚款",
            severity="严重",
            fine_amount=20000.0,
            violation_type="偷税",
        ),
    ]
    got = facts(records, ["penalty_serious_count_365d", "penalty_finance_tax_count_365d"])
    assert got["feature"].to_list() == [
        "penalty_serious_count_365d",
        "penalty_finance_tax_count_365d",
    ]
    assert "税务局" in got["fact_zh"][0] and "20,000" in got["fact_zh"][0]


def test_evidence_not_usable_at_t_is_not_shown():
    records = [
        master(),
        rec(
            "penalty_tax",
            decision_date=date(2024, 6, 20),
            penalty_type="罚款",
            severity="一般",
            fine_amount=1.0,
            arrived_at=datetime(2024, 7, 3),
        ),
    ]
    assert facts(records, ["penalty_count_365d"]).height == 0


def test_pii_columns_are_never_shown():
    records = [
        master(),
        rec(
            "reg_legal_rep_change",
            change_date=date(2024, 6, 1),
            old_legal_rep_name="张三",
            new_legal_rep_name="李四",
        ),
    ]
    got = facts(records, ["legal_rep_change_count_90d"])
    assert got.height == 1 and "张三" not in got["fact_zh"][0] and "李四" not in got["fact_zh"][0]


def test_facts_follow_the_order_of_the_firms_given():
    records = [master("F1"), master("F2")] + [
        rec("complaint_12345", uscc=u, received_date=date(2024, 6, 1), category="其他")
        for u in ("F1", "F2")
    ]
    got = facts(records, ["complaint_count_365d"], firms=("F2", "F1"))
    assert got["uscc"].to_list() == ["F2", "F1"]


def test_linked_firm_fact_names_the_closed_firm():
    records = [
        master(),
        rec(
            "reg_legal_rep_other_firms",
            linked_uscc="L1",
            linked_name="旧公司",
            linked_status="吊销",
            status_date=date(2023, 5, 1),
            link_role="任股东",
        ),
    ]
    got = facts(records, ["linked_firms_closed_count"])
    assert "旧公司" in got["fact_zh"][0] and "吊销" in got["fact_zh"][0]


def test_every_feature_but_coverage_has_evidence():
    without = [n for n in feature_names() if not evidence_for(n)]
    assert without == ["n_sources_known"]


def test_unknown_feature_is_an_error():
    with pytest.raises(KeyError, match="nope"):
        facts([master()], ["nope"])


def test_licence_fact_of_a_consistency_topic_shows_its_number_and_end_date():
    """The licence validity topic shows the licences its rules declare as evidence."""
    records = [
        master(),
        rec(
            "licence_work_safety",
            licence_no="SP-1",
            issue_date=date(2020, 1, 1),
            valid_to=date(2024, 3, 1),
            status="有效",
            arrived_at=datetime(2020, 1, 2),
        ),
        rec(
            "licence_drainage",
            licence_no="PS-2",
            issue_date=date(2020, 1, 1),
            valid_to=date(2027, 3, 1),
            status="有效",
            arrived_at=datetime(2020, 1, 2),
        ),
    ]
    got = facts(records, ["consistency_licence_validity_rules_violated"])
    assert got.height == 1, "drainage is no rule's evidence"
    assert "SP-1" in got["fact_zh"][0] and "2024-03-01" in got["fact_zh"][0]


def test_panel_fact_shows_the_months_compared():
    records = [master()] + [
        rec(
            "si_pension",
            period=p,
            insured_count=c,
            amount_due=1.0,
            amount_paid=1.0,
            arrears_amount=0.0,
            arrived_at=arrival_after(p, 20),
        )
        for p, c in zip(months(date(2024, 1, 1), 5), (50, 49, 48, 47, 40), strict=True)
    ]
    got = facts(records, ["headcount_change_3m"])
    assert [f[:7] for f in got["fact_zh"]] == ["2024-05", "2024-02"]
    assert "40" in got["fact_zh"][0] and "47" not in got["fact_zh"][0]


def _reduction_facts(n: int, cap: int) -> pl.DataFrame:
    """Facts for a firm with ``n`` capital reductions in January 2024, at most ``cap`` shown."""
    records = [master()] + [
        rec(
            "reg_capital_change",
            change_date=date(2024, 1, 1 + day),
            capital_before=1000.0 - day,
            capital_after=900.0 - day,
        )
        for day in range(n)
    ]
    feature = ["capital_reduction_count_365d"]
    return facts_for(frames(records), ["F1"], T, feature, max_per_feature=cap)


def test_facts_past_the_cap_are_counted_in_one_closing_line():
    got = _reduction_facts(6, cap=4)
    assert got.height == 4
    assert got["fact_zh"][0].startswith("2024-01-06")  # the newest facts are the ones kept
    assert got["fact_zh"][2].startswith("2024-01-04")
    assert got["fact_zh"][3] == "另有 3 条记录未列出"
    assert got["fact_en"][3] == "3 more records not shown"


def test_facts_up_to_the_cap_are_all_shown():
    got = _reduction_facts(4, cap=4)
    assert got.height == 4
    assert not got["fact_en"].str.contains("not shown").any()


def test_paid_ratio_facts_show_the_months_in_arrears_first_across_schemes():
    # Pension is fully paid; the medical scheme is short in its oldest month only. Each scheme
    # lists its newest month first, so without the ordering two paid months would come first.
    records = [master()]
    for period in months(date(2024, 4, 1), 3):
        records.append(_contribution("si_pension", period, 0.0))
        records.append(_contribution("si_medical", period, 40.0 if period.month == 4 else 0.0))
    got = facts(records, ["si_paid_ratio_3m"])
    assert got.height == 6  # every contribution month is still evidence of the ratio
    assert got["fact_en"][0].startswith("2024-04 ")
    assert "Unpaid contribution (CNY) 40" in got["fact_en"][0]
    assert not got["fact_en"][1:].str.contains("Unpaid contribution \\(CNY\\) 40").any()


def _closed_linked_firm(code: str, closed_on: date):
    return rec(
        "reg_legal_rep_other_firms",
        linked_uscc=code,
        linked_name=f"关联企业{code}",
        linked_status="注销",
        status_date=closed_on,
        link_role="任法定代表人",
    )


def test_linked_firms_closed_the_same_day_are_listed_by_code_whatever_the_lake_order():
    """Ties in date: the facts' order comes from the records' keys, not from where the rows
    lie in the lake (a re-derived list must be byte-identical)."""
    closed_on = date(2024, 2, 1)
    linked = [_closed_linked_firm(c, closed_on) for c in ("L3", "L1", "L4", "L2")]
    linked.append(_closed_linked_firm("L0", date(2024, 1, 1)))  # older: after the tie
    orders = (linked, linked[::-1], linked[2:] + linked[:2])
    got = [facts([master(), *rows], ["linked_firms_closed_count"]) for rows in orders]
    assert all(frame.equals(got[0]) for frame in got[1:])
    codes = [fact.split("统一社会信用代码 ")[1].split("；")[0] for fact in got[0]["fact_zh"]]
    assert codes == ["L1", "L2", "L3", "L4", "L0"]


def test_complaint_categories_as_frequent_and_as_recent_are_listed_by_name():
    day = date(2024, 6, 1)
    complaints = [
        rec("complaint_12345", received_date=day, category=c)
        for c in ("其他", "拖欠工资", "产品质量")
    ]
    got = [
        facts([master(), *rows], ["complaint_count_90d"]) for rows in (complaints, complaints[::-1])
    ]
    assert got[0].equals(got[1])
    categories = [f.split("「")[1].split("」")[0] for f in got[0]["fact_zh"]]
    assert categories == sorted(categories)
