"""Identifiers whose last character checks the others, verified value by value (pure).

A unified social credit code that matches its pattern but carries the wrong check character
(GB 32100-2015) is a mistyped or invented code: it names another firm or none. Such a value fails
like a value that does not parse: one failure record naming source, file, row and column, and the
row is quarantined. Which columns hold such identifiers follows from the contract
(``Column.check_character``); the algorithm is ``data_contracts.checksums``, the one the
simulator uses to make codes.
"""

from __future__ import annotations

import polars as pl

from data_contracts.checksums import uscc_check
from data_contracts.coerce import COLUMN, EXPECTATION, FAILURE_SCHEMA, REASON, ROW, clean_text
from data_contracts.schema import USCC_PATTERN, SourceContract

# scheme -> (the pattern a value must match before its check character means anything,
#            the check character of the first characters, the standard's name)
SCHEMES = {"uscc": (USCC_PATTERN, uscc_check, "GB 32100-2015")}


def expectation(scheme: str) -> str:
    return f"{scheme}_check_character"


def check_character_failures(
    text: pl.DataFrame, contract: SourceContract, where: str, *, row_column: str = ROW
) -> pl.DataFrame:
    """One failure per value of ``text`` (canonical names, delivered text, ``row_column``) that
    has its identifier's shape but not its check character. ``where`` names source and file."""
    parts = [FAILURE_SCHEMA.to_frame()]
    for column in contract.columns:
        scheme = column.check_character
        if scheme is None or column.name not in text.columns:
            continue
        pattern, check, standard = SCHEMES[scheme]
        shaped = text.select(
            pl.col(row_column).alias(ROW), clean_text(column.name).alias("value")
        ).filter(pl.col("value").str.contains(pattern).fill_null(False))
        if shaped.height == 0:
            continue
        # The check of each distinct code once: deliveries repeat a firm's code row after row.
        codes = shaped.get_column("value").unique()
        width = len(codes[0])
        bodies = codes.str.slice(0, width - 1).to_numpy().astype(f"<U{width - 1}")
        checks = pl.DataFrame({"value": codes, "right": check(bodies).tolist()})
        bad = shaped.join(checks, on="value", how="left").filter(
            pl.col("value").str.slice(width - 1) != pl.col("right")
        )
        if bad.height == 0:
            continue
        bad = bad.sort(ROW)
        parts.append(
            pl.DataFrame(
                {
                    ROW: bad.get_column(ROW),
                    COLUMN: [column.name] * bad.height,
                    EXPECTATION: [expectation(scheme)] * bad.height,
                    REASON: [
                        f"{where} row {row} column {column.name}: '{value}' ends in check "
                        f"character '{value[-1]}' but {standard} gives '{right}' for its first "
                        f"{len(value) - 1} characters (a mistyped or invented code)"
                        for row, value, right in bad.select(ROW, "value", "right").iter_rows()
                    ],
                },
                schema=FAILURE_SCHEMA,
            )
        )
    return pl.concat(parts, how="vertical").sort(ROW, COLUMN, maintain_order=True)
