"""Planned inspections: the firms each department's monthly double-random plan drew.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "planned_inspections"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("firm_name", sa.String(length=300), nullable=True),
        sa.Column("industry", sa.String(length=32), nullable=False),
        sa.Column("tier", sa.String(length=1), nullable=False),
        sa.Column("basis", sa.String(length=32), nullable=False),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("selection", sa.String(length=16), nullable=False),
        sa.Column("design", sa.String(length=16), nullable=False),
        sa.Column("inclusion", sa.Float(), nullable=False),
        sa.Column("inspectors", sa.String(length=200), nullable=False),
        sa.Column("seed", sa.String(length=24), nullable=False),
        sa.Column("snapshot_week", sa.String(length=8), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f(f"fk_{TABLE}_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"], [f"{TABLE}.id"], name=op.f(f"fk_{TABLE}_supersedes_id_{TABLE}")
        ),
        sa.UniqueConstraint("supersedes_id", name=op.f(f"uq_{TABLE}_supersedes_id")),
    )
    op.create_index(op.f(f"ix_{TABLE}_batch_id"), TABLE, ["batch_id"])
    op.create_index(op.f(f"ix_{TABLE}_received_at"), TABLE, ["received_at"])
    op.create_index(op.f(f"ix_{TABLE}_uscc"), TABLE, ["uscc"])
    op.create_index(f"ix_{TABLE}_identity", TABLE, ["month", "department", "uscc"])


def downgrade() -> None:
    op.drop_table(TABLE)
