"""The supervised industries, declared once: ``models/industries.yaml``.

That file is the one place an industry is declared: its key, the sector value the registration
master delivers for it, its distress event type, its regulator and model settings, and (for an
industry the simulated park has no profile of its own for) how the simulator models it. Each
layer reads the part it needs from it: the contracts take their allowed sector values, event types
and industry keys from here (``allowed_from``), the simulator its industries, ``models.config``
the model settings. The file is read as data, so this package imports nothing from ``models``.

``EWS_INDUSTRIES`` names another declaration (a copy with an industry added, for a try-out or a
test); every reader follows it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "industries.yaml"
ENV = "EWS_INDUSTRIES"
# Every firm outside the declared industries: present in every source, scored by no model.
OTHER = "other"
OTHER_SECTOR = "其他"


@dataclass(frozen=True)
class Industry:
    key: str
    sector_value: str
    event_type: str | None
    # How the simulated park models an industry without a profile of its own in world.yaml:
    # ``profile`` (an industry whose profile it borrows) and ``populations`` (firms per scale).
    simulation: dict[str, Any] = field(default_factory=dict)


def declaration_path() -> Path:
    chosen = os.environ.get(ENV)
    return Path(chosen).expanduser().resolve() if chosen else SHIPPED


@cache
def _read(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("industries"), dict):
        raise ValueError(f"{path}: an industry declaration needs an 'industries' mapping")
    return data


def declaration() -> dict[str, Any]:
    """The whole declaration (a fresh copy of its top level)."""
    return dict(_read(declaration_path()))


def declared() -> tuple[Industry, ...]:
    """The supervised industries in declaration order (``other`` is not one of them)."""
    out = []
    path = declaration_path()
    for key, entry in _read(path)["industries"].items():
        if key == OTHER:
            raise ValueError(f"{path}: {OTHER!r} is every firm outside the industries")
        out.append(
            Industry(
                key=key,
                sector_value=entry["sector_value"],
                event_type=entry.get("event_type"),
                simulation=dict(entry.get("simulation") or {}),
            )
        )
    return tuple(out)


def keys() -> list[str]:
    return [i.key for i in declared()]


def keys_and_other() -> list[str]:
    """Every firm's industry: the declared ones, then ``other``."""
    return [*keys(), OTHER]


def sector_values() -> list[str]:
    """The registration master's sector values: the declared industries', then ``other``'s."""
    return [*(i.sector_value for i in declared()), OTHER_SECTOR]


def event_types() -> list[str]:
    return [i.event_type for i in declared() if i.event_type is not None]


# What a contract's ``allowed_from`` may name.
ALLOWED_FROM = {"industry_keys": keys, "sector_values": sector_values, "event_types": event_types}
