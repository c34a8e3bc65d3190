"""Benchmark scripts (benchmarks/*.py, not a package) loaded as modules for their tests."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import yaml

from data_contracts import industries
from models.config import parse_industries
from models.train import TrainConfig

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve the module's annotations through it
    spec.loader.exec_module(module)
    return module


def shipped_training() -> TrainConfig:
    """The shipped declaration's shared training block, which the benchmarks measure (the test
    parks train a light copy of it: tests/conftest.py)."""
    declared = yaml.safe_load(industries.SHIPPED.read_text(encoding="utf-8"))
    return next(iter(parse_industries(declared).industries.values())).training
