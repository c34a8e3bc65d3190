"""The park's enforcing departments (``departments.yaml``, package data), declared once.

Sources about inspections name a department by its Chinese name, as departments write it;
``by_name`` turns that back into the department.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml
from pydantic import Field, field_validator

from data_contracts.schema import SNAKE, Bilingual, Frozen


class DepartmentSimulation(Frozen):
    capacity_share: float = Field(gt=0, le=1)
    visits_per_inspector: int = Field(gt=0)


class Department(Frozen):
    key: str
    name: Bilingual
    industries: list[str] = Field(min_length=1)
    simulation: DepartmentSimulation

    @field_validator("key")
    @classmethod
    def _snake(cls, value: str) -> str:
        if not SNAKE.match(value):
            raise ValueError(f"department key {value!r} is not snake_case")
        return value


class Departments(Frozen):
    departments: dict[str, Department]

    def names(self) -> list[str]:
        """Every department's Chinese name, in file order (a contract's allowed values)."""
        return [d.name.zh for d in self.departments.values()]

    def by_name(self, name: str) -> Department:
        for department in self.departments.values():
            if department.name.zh == name:
                return department
        raise KeyError(f"no department named {name!r}; known: {self.names()}")


def parse_departments(data: dict) -> Departments:
    entries = {key: {**value, "key": key} for key, value in (data.get("departments") or {}).items()}
    parsed = Departments(departments=entries)
    names = parsed.names()
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"departments share the name(s) {repeated}")
    if not parsed.departments:
        raise ValueError("departments.yaml declares no department")
    return parsed


@cache
def load_departments() -> Departments:
    text = (resources.files("data_contracts") / "departments.yaml").read_text(encoding="utf-8")
    return parse_departments(yaml.safe_load(text))
