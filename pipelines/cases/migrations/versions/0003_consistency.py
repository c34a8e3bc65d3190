"""Consistency follow-ups: the anomalies the runs found and where each one's follow-up stands.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

Both tables are append-only record tables like those of 0001 (``supersedes_id`` chains, one
``anomaly_key`` per anomaly).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
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
        "anomalies",
        *_record_columns(),
        sa.Column("anomaly_key", sa.String(length=300), nullable=False),
        sa.Column("rule_id", sa.String(length=80), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("firm_name", sa.String(length=300), nullable=True),
        sa.Column("period", sa.String(length=200), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("left_value", sa.Text(), nullable=False),
        sa.Column("right_value", sa.Text(), nullable=False),
        sa.Column("left_source", sa.String(length=80), nullable=False),
        sa.Column("right_source", sa.String(length=80), nullable=False),
        sa.Column("measure", sa.Float(), nullable=True),
        sa.Column("text_zh", sa.Text(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        *_record_constraints("anomalies"),
    )
    _record_indexes("anomalies")
    op.create_index("ix_anomalies_anomaly_key", "anomalies", ["anomaly_key"])
    op.create_index(op.f("ix_anomalies_rule_id"), "anomalies", ["rule_id"])
    op.create_index(op.f("ix_anomalies_uscc"), "anomalies", ["uscc"])
    op.create_table(
        "anomaly_followups",
        *_record_columns(),
        sa.Column("anomaly_key", sa.String(length=300), nullable=False),
        sa.Column("rule_id", sa.String(length=80), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("by", sa.String(length=128), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        *_record_constraints("anomaly_followups"),
    )
    _record_indexes("anomaly_followups")
    op.create_index("ix_anomaly_followups_anomaly_key", "anomaly_followups", ["anomaly_key"])
    op.create_index(op.f("ix_anomaly_followups_rule_id"), "anomaly_followups", ["rule_id"])


def downgrade() -> None:
    op.drop_table("anomaly_followups")
    op.drop_table("anomalies")
