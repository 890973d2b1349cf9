"""timelines: long recordings turned into emotion segments and scenes with tracks

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "timelines",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("speech_sha256", sa.String(length=64), nullable=False),
        sa.Column("transcript", sa.Text(), nullable=True),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("chunk_seconds", sa.Float(), nullable=False),
        sa.Column("chunks_total", sa.Integer(), nullable=False),
        sa.Column("chunks_done", sa.Integer(), nullable=False),
        sa.Column("segments", sa.JSON(), nullable=False),
        sa.Column("scenes", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("media_format", sa.String(length=16), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("model_version", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('queued', 'processing', 'ready', 'failed')", name=op.f("ck_timelines_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timelines")),
    )
    with op.batch_alter_table("timelines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_timelines_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_timelines_speech_sha256"), ["speech_sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_timelines_status"), ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("timelines")
