"""Text columns as model inputs: one numeric code per category, by a fixed, documented rule.

The rule (``fit_encoding``):
- Each category with at least ``MIN_LEVEL_ROWS`` rows gets its own code, up to ``MAX_LEVELS``
  categories; codes 0, 1, 2, ... go to the categories by descending row count, ties broken by
  the category text, so the same table always gives the same codes.
- Every other category (rare ones, and at scoring time categories never seen in training) shares
  the code ``other_code`` (= the number of coded categories).
- A missing value stays missing (the trees learn where missing rows go).

One column stays one column, so its SHAP contribution and its reasons read "sector = retail"
rather than being split over one indicator per category. The codes use no label, so fitting them
on the whole table lets nothing about the outcome into the cross-validation folds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

MIN_LEVEL_ROWS = 10
MAX_LEVELS = 50
OTHER = "(other)"


@dataclass(frozen=True)
class CategoricalEncoding:
    """The coded categories of one column, in code order."""

    column: str
    levels: tuple[str, ...]
    pooled: int = 0  # categories of the training table that share the other code

    @property
    def other_code(self) -> int:
        return len(self.levels)

    def code_of(self) -> dict[str, int]:
        return {level: code for code, level in enumerate(self.levels)}

    def label_of(self, code: float | None) -> str | None:
        """The category a code stands for (OTHER for the shared code, None for missing)."""
        if code is None or code != code:  # NaN
            return None
        code = int(code)
        return self.levels[code] if code < len(self.levels) else OTHER

    def encode(self, values: pl.Series) -> pl.Series:
        """Codes as Float64 (the model's input type); unseen and rare categories get other_code."""
        text = values.cast(pl.String)
        codes = text.replace_strict(self.code_of(), default=self.other_code, return_dtype=pl.Int64)
        return codes.set(text.is_null(), None).cast(pl.Float64).alias(self.column)

    def unseen(self, values: pl.Series) -> dict[str, int]:
        """Categories in ``values`` that have no code of their own: {category: rows}."""
        text = values.cast(pl.String).drop_nulls()
        outside = text.filter(~text.is_in(list(self.levels)))
        counts = outside.value_counts(sort=True, name="rows")
        return {row[0]: int(row[1]) for row in counts.sort(["rows", values.name or ""]).iter_rows()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "column": self.column,
            "levels": list(self.levels),
            "other_code": self.other_code,
            "pooled": self.pooled,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CategoricalEncoding:
        return cls(column=data["column"], levels=tuple(data["levels"]), pooled=data["pooled"])


def fit_encoding(
    values: pl.Series, min_rows: int = MIN_LEVEL_ROWS, max_levels: int = MAX_LEVELS
) -> CategoricalEncoding:
    """The encoding of one text column by the rule in the module docstring."""
    counts = (
        values.cast(pl.String)
        .drop_nulls()
        .value_counts(name="rows")
        .sort(["rows", values.name], descending=[True, False])
    )
    eligible = counts.filter(pl.col("rows") >= min_rows)
    levels = tuple(eligible.get_column(values.name).head(max_levels).to_list())
    return CategoricalEncoding(
        column=values.name, levels=levels, pooled=counts.height - len(levels)
    )


def describe_levels(encoding: CategoricalEncoding, values: pl.Series, top: int = 10) -> list:
    """The first ``top`` coded categories with their code and row count (for the data report)."""
    counts = dict(values.cast(pl.String).drop_nulls().value_counts(name="rows").iter_rows())
    return [
        {"code": code, "category": level, "rows": int(counts.get(level, 0))}
        for code, level in enumerate(encoding.levels[:top])
    ]


def encode_columns(frame: pl.DataFrame, encodings: Sequence[CategoricalEncoding]) -> pl.DataFrame:
    """``frame`` with each encoded column replaced by its codes."""
    if not encodings:
        return frame
    return frame.with_columns(e.encode(frame.get_column(e.column)) for e in encodings)
