"""Wall and CPU seconds of the named steps of a run, for a flow to return (benchmarks read them).

CPU seconds are the process's (every thread), so a step's figure includes whatever ran beside it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class StageClock:
    def __init__(self) -> None:
        self.stages: dict[str, dict[str, float]] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block; a name timed again adds up (e.g. one step per industry)."""
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            spent = self.stages.setdefault(name, {"wall_s": 0.0, "cpu_s": 0.0})
            spent["wall_s"] = round(spent["wall_s"] + time.perf_counter() - wall, 3)
            spent["cpu_s"] = round(spent["cpu_s"] + time.process_time() - cpu, 3)
