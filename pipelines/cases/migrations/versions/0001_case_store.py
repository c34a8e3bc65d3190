"""The case store: batches (one committed write each), listings and inspections.

Revision ID: 0001
Revises:
Create Date: 2026-12-06

Times are stored as naive UTC (``pipelines.cases.tables.UTCDateTime``). Record tables are
append-only: ``supersedes_id`` (unique) chains corrections, ``withdrawn`` marks withdrawals.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _record_columns() -> list[sa.Column]:
    """The columns of ``pipelines.cases.tables.Recorded``."""
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
        "batches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("operator", sa.String(length=128), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
    )
    op.create_table(
        "listings",
        *_record_columns(),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("industry", sa.String(length=32), nullable=False),
        sa.Column("regulator", sa.String(length=100), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("firm_name", sa.String(length=300), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("tier", sa.String(length=1), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("model_name", sa.String(length=100), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        *_record_constraints("listings"),
    )
    _record_indexes("listings")
    op.create_index("ix_listings_identity", "listings", ["week", "industry", "uscc"])
    op.create_table(
        "inspections",
        *_record_columns(),
        sa.Column("report_key", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("industry", sa.String(length=32), nullable=False),
        sa.Column("week", sa.String(length=8), nullable=True),
        sa.Column("inspection_date", sa.Date(), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("origin", sa.String(length=200), nullable=True),
        *_record_constraints("inspections"),
    )
    _record_indexes("inspections")
    op.create_index("ix_inspections_report_key", "inspections", ["report_key"])
    op.create_index(op.f("ix_inspections_uscc"), "inspections", ["uscc"])


def downgrade() -> None:
    op.drop_table("inspections")
    op.drop_table("listings")
    op.drop_table("batches")
