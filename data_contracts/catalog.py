"""The catalog of source contracts shipped with EWS (package data, read once)."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import yaml

from data_contracts import industries
from data_contracts.schema import Domain, SourceContract, parse_contract


def contract_texts() -> dict[str, str]:
    """Every contract YAML's text by file stem, in a stable order."""
    folder = resources.files("data_contracts") / "sources"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)
    return {f.name.removesuffix(".yaml"): f.read_text(encoding="utf-8") for f in files}


# libyaml's loader parses the 174 contracts several times faster than the pure-Python one.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_contract_text(stem: str, text: str) -> SourceContract:
    contract = parse_contract(yaml.load(text, Loader=_Loader))
    if contract.id != stem:
        raise ValueError(f"contract file {stem}.yaml declares id {contract.id!r}")
    return contract


def load_all() -> dict[str, SourceContract]:
    """All contracts by id (validated; cached for the process and the industry declaration
    their ``allowed_from`` values come from)."""
    return _load_all(industries.declaration_path())


@cache
def _load_all(declaration: Path) -> dict[str, SourceContract]:
    return {stem: parse_contract_text(stem, text) for stem, text in contract_texts().items()}


def by_domain(domain: Domain | str) -> list[SourceContract]:
    return [c for c in load_all().values() if c.domain == Domain(domain)]


def get(source_id: str) -> SourceContract:
    contracts = load_all()
    if source_id not in contracts:
        raise KeyError(f"no contract for source {source_id!r}")
    return contracts[source_id]
