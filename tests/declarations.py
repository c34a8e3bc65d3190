"""Changed copies of the industries declaration (models/industries.yaml) for tests: written as
YAML to a folder of the test's, and put in force through EWS_INDUSTRIES, which every reader of
the declaration follows, in this process and the ones it starts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from data_contracts import industries

Change = Callable[[dict[str, Any]], None]


def write_changed_copy(source: Path, folder: Path, change: Change) -> Path:
    """``source`` read, changed in place by ``change`` and written to ``folder``."""
    declared = yaml.safe_load(source.read_text(encoding="utf-8"))
    change(declared)
    path = folder / "industries.yaml"
    path.write_text(yaml.safe_dump(declared, allow_unicode=True, sort_keys=False), "utf-8")
    return path


@contextmanager
def changed_declaration_in_force(folder: Path, change: Change) -> Iterator[Path]:
    """The declaration in force (the tests' light copy of the shipped one) with ``change``,
    in force while open."""
    path = write_changed_copy(industries.declaration_path(), folder, change)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(industries.ENV, str(path))
        yield path
