"""Publishing a prepared tiny workdir in a process of its own.

``prepare(root)`` builds the publish world (``tests.pipelines.publish_world``), adds a delivery
whose facts tie in date (complaints of two categories on the same day, the legal
representative's other firms closed on the same day) and pickles the world's champions, so that
another process can publish exactly the same inputs:

    python -m tests.pipelines.publish_process ROOT WEEK [WEEK ...]

publishes each week in turn with the pickled champions and the world's configuration. The
Prefect API is the caller's (``PREFECT_API_URL``), so the process starts no server of its own.
"""

from __future__ import annotations

import pickle
import sys
from datetime import date, datetime, time
from pathlib import Path

import polars as pl

from pipelines import io
from tests.pipelines.publish_world import World, _lake_frame, build_world

CHAMPIONS = "champions.pickle"
TIED_DELIVERY = "2026-11-12"
TIED_DAY = date(2026, 11, 2)


def prepare(root: Path, seed: int = 11) -> World:
    """The publish world in ``root`` with date ties in its facts and its champions saved."""
    world = build_world(root, seed)
    _add_tied_facts(world)
    (root / CHAMPIONS).write_bytes(pickle.dumps(world.tracker))
    return world


def _add_tied_facts(world: World) -> None:
    arrived = datetime.combine(TIED_DAY, time(9))
    common = {
        "arrived_at": arrived,
        "_delivery_id": TIED_DELIVERY,
        "_ingested_at": datetime.combine(date(2026, 11, 12), time(2)),
    }
    firms = world.firms.get_column("uscc").to_list()
    complaints = [
        {
            "ticket_id": f"TIE{k:05d}{n}",
            "uscc": uscc,
            "received_date": TIED_DAY,
            "category": category,
            "caller_phone": None,
            **common,
        }
        for k, uscc in enumerate(firms)
        for n, category in enumerate(("产品质量", "退费纠纷", "其他"))
    ]
    linked = [
        {
            "uscc": uscc,
            "linked_uscc": f"91320594MB{k:05d}{n:02d}X",
            "linked_name": f"苏州关联{n}号贸易有限公司",
            "linked_status": "注销",
            "status_date": TIED_DAY,
            "link_role": "任法定代表人",
            **common,
        }
        for k, uscc in enumerate(firms)
        for n in range(4)
    ]
    entries = []
    for source_id, rows in (("complaint_12345", complaints), ("reg_legal_rep_other_firms", linked)):
        io.write_partition(
            world.settings.lake, source_id, TIED_DELIVERY, _lake_frame(source_id, rows)
        )
        entries.append(
            {
                "source": source_id,
                "delivery_id": TIED_DELIVERY,
                "sha256": f"{len(rows):064d}",
                "rows": len(rows),
            }
        )
    io.append_ledger(world.settings.lake, entries)


def reverse_lake_rows(lake: Path) -> int:
    """Rewrite every lake partition with its rows in reverse order (the same rows, as a restore
    or a compaction might leave them); returns the partitions rewritten."""
    parts = sorted(lake.rglob(io.PART_NAME))
    for part in parts:
        frame = pl.read_parquet(part)
        frame.reverse().write_parquet(part)
    return len(parts)


def publish(root: Path, weeks: list[str]) -> None:
    from pipelines import tracking
    from pipelines.flows import publish as publish_module
    from tests.pipelines.publish_world import world_config

    champions = pickle.loads((root / CHAMPIONS).read_bytes())
    tracking.tracker_for = lambda settings: champions
    publish_module.load_config = world_config
    for week in weeks:
        publish_module.publish_flow(workdir=str(root), week=week)


if __name__ == "__main__":
    publish(Path(sys.argv[1]), sys.argv[2:])
