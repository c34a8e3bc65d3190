"""The contract of what comes back from inspections (``feedback.yaml``, package data).

One place says which editable columns the weekly workbook carries, which methods and outcomes a
regulator may choose, which outcomes confirm a warning, and how the departments' own inspection
sources map onto the same outcomes. The workbook writer, the import, the accuracy report and the
labels all read it from here.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml
from pydantic import Field, model_validator

from data_contracts.catalog import get
from data_contracts.schema import Bilingual, Frozen


class Choice(Bilingual):
    """A value a regulator picks: its Chinese label is what the workbook shows."""


class Outcome(Choice):
    inspected: bool
    confirms: bool


class WorkbookColumns(Frozen):
    inspection_date: Bilingual
    method: Bilingual
    outcome: Bilingual
    note: Bilingual


class WorkbookLayout(Frozen):
    list_sheet: str
    notes_sheet: str
    key_column: str
    week_item: str
    regulator_item: str
    industry_item: str
    columns: WorkbookColumns
    note_max_chars: int = Field(gt=0)

    def editable(self) -> dict[str, Bilingual]:
        """Editable columns by canonical name, in workbook order."""
        return dict(self.columns)


class DepartmentSource(Frozen):
    method: str
    result_column: str
    outcomes: dict[str, str]


class FeedbackContract(Frozen):
    workbook: WorkbookLayout
    methods: dict[str, Choice]
    outcomes: dict[str, Outcome]
    department_sources: dict[str, DepartmentSource]

    @model_validator(mode="after")
    def _consistent(self) -> FeedbackContract:
        for kind, choices in (("method", self.methods), ("outcome", self.outcomes)):
            labels = [c.zh for c in choices.values()]
            if len(set(labels)) != len(labels):
                raise ValueError(f"two {kind}s share a Chinese label: {labels}")
        for source_id, mapping in self.department_sources.items():
            if mapping.method not in self.methods:
                raise ValueError(f"{source_id}: unknown method {mapping.method!r}")
            column = get(source_id).column(mapping.result_column)
            unmapped = sorted(set(column.allowed or []) - set(mapping.outcomes))
            if unmapped:
                raise ValueError(f"{source_id}.{column.name}: values {unmapped} are not mapped")
            unknown = sorted(set(mapping.outcomes.values()) - set(self.outcomes))
            if unknown:
                raise ValueError(f"{source_id}: unknown outcomes {unknown}")
        return self

    def method_by_label(self) -> dict[str, str]:
        return {choice.zh: key for key, choice in self.methods.items()}

    def outcome_by_label(self) -> dict[str, str]:
        return {choice.zh: key for key, choice in self.outcomes.items()}

    def confirming(self) -> list[str]:
        return [key for key, outcome in self.outcomes.items() if outcome.confirms]

    def inspected(self) -> list[str]:
        return [key for key, outcome in self.outcomes.items() if outcome.inspected]


def parse_feedback(data: dict) -> FeedbackContract:
    return FeedbackContract.model_validate(data)


@cache
def load_feedback() -> FeedbackContract:
    text = (resources.files("data_contracts") / "feedback.yaml").read_text(encoding="utf-8")
    return parse_feedback(yaml.safe_load(text))
