"""Shared fixtures. Prefect runs against one session-scoped test harness, started only when a
test asks for it (it costs ~15 s)."""

from __future__ import annotations

import pytest

from pipelines import runtime

runtime.configure()


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield
