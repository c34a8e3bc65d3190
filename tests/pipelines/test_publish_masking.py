import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from data_contracts.catalog import get
from data_contracts.schema import PII
from pipelines.masking import (
    PHONE,
    TextScrubber,
    find_id_numbers,
    is_id_number,
    known_pii,
    mask_frame,
    mask_id_number,
    mask_name,
    mask_phone,
)


def test_name_keeps_only_the_family_name():
    assert mask_name("张三丰") == "张**"
    assert mask_name("李四") == "李*"


def test_single_character_name_still_gets_a_star():
    assert mask_name("王") == "王*"


def test_id_number_keeps_region_prefix_and_last_four():
    assert mask_id_number("32058319850612123X") == "320***********123X"


def test_phone_keeps_prefix_and_last_four():
    assert mask_phone("13812345678") == "138****5678"


VALID_ID = "32058319850612123X"  # born 1985-06-12, check character X


def test_masked_values_no_longer_match_the_id_and_phone_patterns():
    assert find_id_numbers(VALID_ID) == [VALID_ID]
    assert not find_id_numbers(mask_id_number(VALID_ID))
    assert not PHONE.search(mask_phone("13812345678"))


def test_id_number_needs_a_real_birth_date_and_check_character():
    assert is_id_number(VALID_ID) and is_id_number(VALID_ID.lower())
    assert not is_id_number("320583198506121234")  # wrong check character
    assert not is_id_number("320583198513121238")  # month 13 (check character right)
    assert not is_id_number("320583180006121238")  # born 1800


def test_all_digit_credit_codes_are_not_taken_for_id_numbers():
    code = "52320594009609242X"  # a valid unified social credit code of a social organisation
    assert not is_id_number(code)
    assert TextScrubber()(f"关联企业{code}已注销") == f"关联企业{code}已注销"


def test_mask_frame_masks_exactly_the_columns_the_contract_flags():
    master = get("reg_enterprise_master")
    frame = pl.DataFrame(
        {
            "uscc": ["91320594MA1XXXXX0A"],
            "name": ["苏州张三精密有限公司"],
            "legal_rep_name": ["张三"],
            "legal_rep_id_number": ["320583198506121234"],
            "legal_rep_phone": [None],
        }
    )
    masked = mask_frame(frame, master)
    assert masked.row(0) == (
        "91320594MA1XXXXX0A",
        "苏州张三精密有限公司",  # the firm's registered name is public, not personal data
        "张*",
        "320***********1234",
        None,
    )


def test_scrubber_masks_known_names_inside_sentences():
    scrub = TextScrubber([("欧阳娜娜", PII.person_name), ("欧阳", PII.person_name)])
    assert scrub("法定代表人欧阳娜娜另任3家企业法人") == "法定代表人欧***另任3家企业法人"


def test_scrubber_masks_unknown_id_and_phone_lookalikes():
    scrub = TextScrubber()
    text = f"联系人电话13912345678，证件{VALID_ID}，座机0512-66881234"
    assert scrub(text) == "联系人电话139****5678，证件320***********123X，座机051******1234"


def test_scrubber_leaves_codes_and_amounts_alone():
    scrub = TextScrubber()
    text = "统一社会信用代码91320594MA1XXXXX0A，欠缴金额1234567890123元"
    assert scrub(text) == text


def test_known_pii_lists_each_distinct_value_with_its_kind():
    master = get("reg_enterprise_master")
    frame = pl.DataFrame(
        {"legal_rep_name": ["张三", "张三", None], "legal_rep_phone": ["1", "2", "3"]}
    )
    found = known_pii(frame, master)
    assert ("张三", PII.person_name) in found
    assert len([v for v, kind in found if kind == PII.phone]) == 3
    assert len(found) == 4


@given(digits=st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_any_mobile_number_is_masked_in_text(digits):
    number = "13" + digits
    assert number not in TextScrubber()(f"电话{number}。")
