"""Credit codes with the right shape but the wrong check character fail, naming where."""

from __future__ import annotations

import polars as pl

from data_contracts import catalog
from data_contracts.check_characters import check_character_failures
from data_contracts.checksums import uscc_check

MASTER = catalog.get("reg_enterprise_master")
BODY = "91320594MA1XXXXXX"
GOOD = BODY + str(uscc_check([BODY])[0])
BAD = BODY + ("0" if GOOD[-1] != "0" else "1")


def _text(codes: list[str | None]) -> pl.DataFrame:
    columns = {c.name: [None] * len(codes) for c in MASTER.columns}
    columns["uscc"] = codes
    schema = {c.name: pl.String for c in MASTER.columns}
    frame = pl.DataFrame(columns, schema=schema)
    return frame.with_row_index("_row", offset=1).with_columns(pl.col("_row").cast(pl.Int64))


def test_only_a_wrong_check_character_fails_and_the_reason_names_file_row_column_and_rule():
    failures = check_character_failures(
        _text([GOOD, BAD, None, "NOT-A-CODE", f" {BAD} "]), MASTER, "m file 2026-01-05.csv"
    )
    assert failures["_row"].to_list() == [2, 5]  # the malformed code is the pattern's to report
    assert set(failures["_expectation"]) == {"uscc_check_character"}
    assert failures["_reason"][0] == (
        f"m file 2026-01-05.csv row 2 column uscc: '{BAD}' ends in check character '{BAD[-1]}' "
        f"but GB 32100-2015 gives '{GOOD[-1]}' for its first 17 characters "
        f"(a mistyped or invented code)"
    )


def test_a_column_checks_digits_when_its_pattern_is_the_credit_codes():
    checked = {c.name for c in MASTER.columns if c.check_character}
    assert "uscc" in checked
    assert all(MASTER.column(n).pattern for n in checked)
