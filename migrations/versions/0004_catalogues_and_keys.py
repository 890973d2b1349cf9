"""catalogues, API keys and the audit log; every track, request and timeline belongs to a catalogue

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Rows of an existing install (tracks, recommendation requests, timelines) move into the catalogue named "default" (a fixed id). The content hash
of a track becomes unique per catalogue. Each track gets its stored size (read from the media store
of the environment's settings when the file is there, else 0) for the per-catalogue byte cap.
Vectors in Qdrant get their catalogue from `s2m reconcile`, which the upgrade notes in the README ask
for after `s2m db upgrade`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

DEFAULT_CATALOGUE_ID = uuid.UUID("00000000-0000-0000-0000-000000000001")
DEFAULT_CATALOGUE_NAME = "default"
# The tables whose rows belong to a catalogue.
OWNED_TABLES = ("tracks", "recommendation_requests", "timelines")


def _stored_sizes(connection: sa.Connection) -> dict[str, int]:
    """Sizes of the stored track files, by content hash (empty when the media store is elsewhere)."""
    from backend.core.config import ConfigError, Settings

    try:
        root = Settings.from_env().resolved_media_dir / "tracks"
    except ConfigError:
        return {}
    sizes = {}
    for (sha,) in connection.execute(sa.text("SELECT content_sha256 FROM tracks")):
        path = root / sha[:2] / sha
        if path.is_file():
            sizes[sha] = path.stat().st_size
    return sizes


def upgrade() -> None:
    catalogues = op.create_table(
        "catalogues",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogues")),
        sa.UniqueConstraint("name", name=op.f("uq_catalogues_name")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("catalogue_id", sa.Uuid(), nullable=False),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("rate_limit", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["catalogue_id"], ["catalogues.id"], name=op.f("fk_api_keys_catalogue_id_catalogues")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_sha256", name=op.f("uq_api_keys_key_sha256")),
    )
    op.create_index(op.f("ix_api_keys_catalogue_id"), "api_keys", ["catalogue_id"], unique=False)
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("catalogue_id", sa.Uuid(), nullable=True),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"], unique=False)
    op.create_index(op.f("ix_audit_events_catalogue_id"), "audit_events", ["catalogue_id"], unique=False)

    # Always there, so an upgraded install keeps its rows and a fresh one has a catalogue to key.
    op.bulk_insert(catalogues, [{"id": DEFAULT_CATALOGUE_ID, "name": DEFAULT_CATALOGUE_NAME, "created_at": _now()}])
    connection = op.get_bind()
    sizes = _stored_sizes(connection)

    for table in OWNED_TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("catalogue_id", sa.Uuid(), nullable=True))
    with op.batch_alter_table("tracks") as batch_op:
        batch_op.add_column(sa.Column("size_bytes", sa.BigInteger(), nullable=False, server_default="0"))
    for table in OWNED_TABLES:
        rows = sa.table(table, sa.column("catalogue_id", sa.Uuid()))
        connection.execute(sa.update(rows).values(catalogue_id=DEFAULT_CATALOGUE_ID))
    for sha, size in sizes.items():
        connection.execute(
            sa.text("UPDATE tracks SET size_bytes = :size WHERE content_sha256 = :sha"), {"size": size, "sha": sha}
        )
    for table in OWNED_TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column("catalogue_id", existing_type=sa.Uuid(), nullable=False)
            batch_op.create_foreign_key(
                op.f(f"fk_{table}_catalogue_id_catalogues"), "catalogues", ["catalogue_id"], ["id"]
            )
            batch_op.create_index(op.f(f"ix_{table}_catalogue_id"), ["catalogue_id"], unique=False)
    with op.batch_alter_table("tracks") as batch_op:
        batch_op.drop_constraint(op.f("uq_tracks_content_sha256"), type_="unique")
        batch_op.create_unique_constraint(
            op.f("uq_tracks_catalogue_id_content_sha256"), ["catalogue_id", "content_sha256"]
        )
        batch_op.create_index(op.f("ix_tracks_content_sha256"), ["content_sha256"], unique=False)


def _now() -> datetime:
    return datetime.now(UTC)


def downgrade() -> None:
    with op.batch_alter_table("tracks") as batch_op:
        batch_op.drop_index(op.f("ix_tracks_content_sha256"))
        batch_op.drop_constraint(op.f("uq_tracks_catalogue_id_content_sha256"), type_="unique")
        batch_op.create_unique_constraint(op.f("uq_tracks_content_sha256"), ["content_sha256"])
        batch_op.drop_column("size_bytes")
    for table in OWNED_TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_index(op.f(f"ix_{table}_catalogue_id"))
            batch_op.drop_constraint(op.f(f"fk_{table}_catalogue_id_catalogues"), type_="foreignkey")
            batch_op.drop_column("catalogue_id")
    op.drop_table("audit_events")
    op.drop_table("api_keys")
    op.drop_table("catalogues")
