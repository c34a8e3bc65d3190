"""Seeded random generators: one independent, reproducible stream per (seed, label, ...).

Python's ``hash`` is salted per process, so labels are turned into integers with SHA-256; the
same seed and labels give the same stream on every machine and in every process.
"""

from __future__ import annotations

import hashlib

import numpy as np


def label_entropy(label: str | int) -> int:
    """A stable 64-bit integer for a label (a source id, a stage name, a delivery id)."""
    if isinstance(label, int):
        return label
    return int.from_bytes(hashlib.sha256(label.encode("utf-8")).digest()[:8], "little")


def stream(seed: int, *labels: str | int) -> np.random.Generator:
    """The generator for one named part of the simulation, independent of every other part."""
    return np.random.default_rng([seed, *(label_entropy(label) for label in labels)])
