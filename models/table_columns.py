"""Which columns of an analyst's table the model uses, how, and why the others are left out.

``plan_columns`` decides once, on the prepared table, and the decision is written next to the
model (``ColumnPlan.to_dict``) so scoring applies exactly the same inputs. The rules, in order,
for every column that is not the label, segment, id or time column:

1. ``--drop`` columns are left out.
2. Empty columns (no value in any row) and constant ones (one value in every row) are left out.
   A column holding one value where present and missing elsewhere stays: it is a flag.
3. Dates and times are left out (a date says when, not how risky; pass ``--time``).
4. Numbers and true/false are inputs, except (unless ``--keep``) whole numbers that look like a
   time (a name such as year/period/年度 with values like 2015 or 201503) or like an id (a
   different whole number in every row from a dense range such as 1..n, or a name such as
   firm_id/编号).
5. Text is an input encoded by ``models.categorical`` (one code per frequent category), except
   (unless ``--keep``) text whose name looks like an id or which has more than
   ``MAX_TEXT_DISTINCT`` distinct values making up more than half of its rows (ids, names,
   free text).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

from models.categorical import CategoricalEncoding, encode_columns, fit_encoding
from models.tabular import TableLayout

MAX_TEXT_DISTINCT = 50
ID_NAME = re.compile(
    r"(?i)((^|[_\s.\-])(id|uuid|uscc|key|no)$|^id([_\s.\-]|$)|编号$|^统一社会信用代码$|^序号$)"
)
TIME_NAME = re.compile(
    r"(?i)((^|[_\s.\-])(year|yr|yyyy|period|date|month|quarter|time)$|^(year|period|date)([_\s.\-]|$)"
    r"|年份$|年度$|日期$|期间$|月份$)"
)
Kind = Literal["numeric", "boolean", "categorical"]


class ColumnPlanError(ValueError):
    """The column options contradict the table (names the option and the column)."""


@dataclass(frozen=True)
class FeatureColumn:
    """One model input as it was in the training table."""

    name: str
    kind: Kind
    dtype: str
    missing_share: float
    low: float | None = None
    high: float | None = None
    encoding: CategoricalEncoding | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "dtype": self.dtype,
            "missing_share": self.missing_share,
            "low": self.low,
            "high": self.high,
            "encoding": None if self.encoding is None else self.encoding.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureColumn:
        encoding = data.get("encoding")
        return cls(
            name=data["name"],
            kind=data["kind"],
            dtype=data["dtype"],
            missing_share=data["missing_share"],
            low=data.get("low"),
            high=data.get("high"),
            encoding=None if encoding is None else CategoricalEncoding.from_dict(encoding),
        )


@dataclass(frozen=True)
class ColumnPlan:
    features: tuple[FeatureColumn, ...]
    # Left-out column -> why, in table order.
    dropped: Mapping[str, str] = field(default_factory=dict)
    # Column -> the option the analyst may have meant ("--id", "--time").
    suggestions: Mapping[str, str] = field(default_factory=dict)

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def encodings(self) -> list[CategoricalEncoding]:
        return [f.encoding for f in self.features if f.encoding is not None]

    def feature(self, name: str) -> FeatureColumn:
        return next(f for f in self.features if f.name == name)

    def encode(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The model's inputs: categorical columns as codes, true/false as 0/1."""
        booleans = [f.name for f in self.features if f.kind == "boolean"]
        encoded = encode_columns(frame, self.encodings)
        return encoded.with_columns(pl.col(booleans).cast(pl.Int8)) if booleans else encoded

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": [f.to_dict() for f in self.features],
            "dropped": dict(self.dropped),
            "suggestions": dict(self.suggestions),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColumnPlan:
        return cls(
            features=tuple(FeatureColumn.from_dict(f) for f in data["features"]),
            dropped=dict(data.get("dropped", {})),
            suggestions=dict(data.get("suggestions", {})),
        )


def plan_columns(
    frame: pl.DataFrame,
    layout: TableLayout,
    keep: Sequence[str] = (),
    drop: Sequence[str] = (),
) -> ColumnPlan:
    """The plan for a prepared table (see the module docstring for the rules)."""
    _check_options(frame, layout, keep, drop)
    features: list[FeatureColumn] = []
    dropped: dict[str, str] = {}
    suggestions: dict[str, str] = {}
    for name in frame.columns:
        if name in layout.reserved:
            continue
        values = frame.get_column(name)
        reason, suggestion = _left_out(values, frame.height, keep=name in keep, drop=name in drop)
        if suggestion:
            suggestions[name] = suggestion
        if reason:
            dropped[name] = reason
            continue
        features.append(_feature(values))
    if not features:
        raise ColumnPlanError(
            f"table {layout.name}: no column can be a model input; left out: "
            + "; ".join(f"{name} ({why})" for name, why in list(dropped.items())[:8])
        )
    return ColumnPlan(features=tuple(features), dropped=dropped, suggestions=suggestions)


def _check_options(
    frame: pl.DataFrame, layout: TableLayout, keep: Sequence[str], drop: Sequence[str]
) -> None:
    for option, names in (("--keep", keep), ("--drop", drop)):
        for name in names:
            if name not in frame.columns:
                raise ColumnPlanError(
                    f"table {layout.name}: {option} {name!r} is not a column; columns are "
                    f"{frame.columns[:20]}"
                )
            if name in layout.reserved:
                raise ColumnPlanError(
                    f"table {layout.name}: {option} {name!r} is the label, segment, id or time "
                    "column, which is never a model input"
                )
    both = sorted(set(keep) & set(drop))
    if both:
        raise ColumnPlanError(
            f"table {layout.name}: {both[0]!r} is given to both --keep and --drop"
        )


def _left_out(values: pl.Series, rows: int, *, keep: bool, drop: bool) -> tuple[str | None, str]:
    """(why the column is left out or None, the option it suggests or '')."""
    dtype, name = values.dtype, values.name
    if drop:
        return "left out by --drop", ""
    text = dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)
    if not (dtype.is_numeric() or dtype == pl.Boolean or dtype.is_temporal() or text):
        return f"type {dtype} cannot be a model input", ""
    present = values.drop_nulls()
    if dtype.is_float():
        present = present.filter(present.is_not_nan())
    if present.len() == 0:
        return "empty: no value in any row", ""
    distinct = present.n_unique()
    if distinct == 1 and present.len() == rows:
        return f"constant: every row holds {present[0]!r}", ""
    if dtype.is_temporal():
        return "a date or time, not a risk input (pass --time for out-of-time folds)", "--time"
    if dtype.is_numeric() or dtype == pl.Boolean:
        if keep or dtype == pl.Boolean:
            return None, ""
        whole = dtype.is_integer() or bool((present == present.round(0)).all())
        if whole and _looks_like_time(name, present):
            low, high = int(present.min()), int(present.max())
            return (
                f"looks like a time ({low}..{high}); pass --time for out-of-time folds or "
                "--keep to use it as an input",
                "--time",
            )
        if whole and distinct == rows and rows > 20 and _dense(present, rows):
            return (
                "a different whole number in every row: looks like a row number or id "
                "(--keep to use it)",
                "--id",
            )
        if ID_NAME.search(name):
            return "its name looks like an identifier (--keep to use it)", "--id"
        return None, ""
    if keep:
        return None, ""
    repeats = distinct < present.len()
    if ID_NAME.search(name):
        return "its name looks like an identifier (--keep to encode it)", "--id" if repeats else ""
    if distinct > MAX_TEXT_DISTINCT and distinct > 0.5 * present.len():
        return (
            f"text with {distinct} distinct values in {present.len()} rows: looks like an "
            "id, a name or free text (--keep to encode its frequent values)",
            "--id" if repeats else "",
        )
    return None, ""


def _dense(present: pl.Series, rows: int) -> bool:
    """Whole numbers spanning at most twice as many values as rows (1..n, 1001..1000+n, ...)."""
    return float(present.max()) - float(present.min()) + 1 <= 2 * rows


def _looks_like_time(name: str, present: pl.Series) -> bool:
    if not TIME_NAME.search(name):
        return False
    low, high = float(present.min()), float(present.max())
    years = low >= 1900 and high <= 2100
    months = low >= 190001 and high <= 210012
    days = low >= 19000101 and high <= 21001231
    return years or months or days


def _feature(values: pl.Series) -> FeatureColumn:
    dtype = values.dtype
    missing = values.null_count() + (int(values.is_nan().sum()) if dtype.is_float() else 0)
    share = missing / max(values.len(), 1)
    if dtype == pl.Boolean:
        return FeatureColumn(values.name, "boolean", str(dtype), share, 0.0, 1.0)
    if dtype.is_numeric():
        finite = values.cast(pl.Float64).drop_nulls()
        finite = finite.filter(finite.is_finite())
        low = float(finite.min()) if finite.len() else None
        high = float(finite.max()) if finite.len() else None
        return FeatureColumn(values.name, "numeric", str(dtype), share, low, high)
    return FeatureColumn(
        values.name, "categorical", str(dtype), share, encoding=fit_encoding(values)
    )
