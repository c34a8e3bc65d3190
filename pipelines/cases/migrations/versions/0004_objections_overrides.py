"""Objections and overrides: a firm's objections with their workflow, analysts' overrides.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

Both tables are append-only record tables like those of 0001 (``supersedes_id`` chains, one
``objection_id`` / ``override_id`` per record); see docs/objections.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _record_columns() -> list[sa.Column]:
    """The columns of ``pipelines.cases.tables.Recorded`` (as in revision 0001)."""
    return [
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn", sa.Boolean(), nullable=False),
    ]


def _record_constraints(table: str) -> list[sa.Constraint]:
    return [
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f(f"fk_{table}_batch_id_batches")
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"], [f"{table}.id"], name=op.f(f"fk_{table}_supersedes_id_{table}")
        ),
        sa.UniqueConstraint("supersedes_id", name=op.f(f"uq_{table}_supersedes_id")),
    ]


def _record_indexes(table: str) -> None:
    op.create_index(op.f(f"ix_{table}_batch_id"), table, ["batch_id"])
    op.create_index(op.f(f"ix_{table}_received_at"), table, ["received_at"])


def upgrade() -> None:
    op.create_table(
        "objections",
        *_record_columns(),
        sa.Column("objection_id", sa.String(length=16), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("firm_name", sa.String(length=300), nullable=True),
        sa.Column("industry", sa.String(length=32), nullable=True),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("fact_text", sa.Text(), nullable=True),
        sa.Column("filed_by", sa.String(length=16), nullable=False),
        sa.Column("claim", sa.Text(), nullable=False),
        sa.Column("filed_on", sa.Date(), nullable=False),
        sa.Column("acknowledge_by", sa.Date(), nullable=False),
        sa.Column("decide_by", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reviewer", sa.String(length=128), nullable=True),
        sa.Column("acknowledged_on", sa.Date(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("remedy", sa.String(length=16), nullable=True),
        sa.Column("tier", sa.String(length=1), nullable=True),
        *_record_constraints("objections"),
    )
    _record_indexes("objections")
    op.create_index("ix_objections_objection_id", "objections", ["objection_id"])
    op.create_index(op.f("ix_objections_uscc"), "objections", ["uscc"])
    op.create_table(
        "overrides",
        *_record_columns(),
        sa.Column("override_id", sa.String(length=16), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("firm_name", sa.String(length=300), nullable=True),
        sa.Column("industry", sa.String(length=32), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("tier", sa.String(length=1), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("analyst", sa.String(length=128), nullable=False),
        sa.Column("set_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("revoked_on", sa.Date(), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        *_record_constraints("overrides"),
    )
    _record_indexes("overrides")
    op.create_index("ix_overrides_override_id", "overrides", ["override_id"])
    op.create_index(op.f("ix_overrides_uscc"), "overrides", ["uscc"])


def downgrade() -> None:
    op.drop_table("overrides")
    op.drop_table("objections")
