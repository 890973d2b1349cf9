"""Database rows: catalogues and their API keys, tracks (with tags), recommendation requests, timelines,
emotion labels, model versions, the audit log.

Rows hold data only; they never talk to Qdrant, the broker or the file store.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from backend.core.domain.work import WORK_STATUSES

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
_STATUS_CHECK = "status IN (" + ", ".join(f"'{s}'" for s in WORK_STATUSES) + ")"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {dict[str, Any]: JSON, list[Any]: JSON}


# The catalogue that rows of an install from before catalogues existed were moved into (migration 0003).
DEFAULT_CATALOGUE_ID = uuid.UUID("00000000-0000-0000-0000-000000000001")
DEFAULT_CATALOGUE_NAME = "default"


class Catalogue(Base):
    """One owner's tracks and requests (a tenant): nothing of one catalogue is visible from another."""

    __tablename__ = "catalogues"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiKey(Base):
    """A client's key: only its SHA-256 is stored; it belongs to one catalogue and carries scopes."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    catalogue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("catalogues.id"), index=True)
    key_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # The key's first characters, so people can tell their keys apart in `s2m keys list`.
    prefix: Mapped[str] = mapped_column(String(16))
    scopes: Mapped[list[Any]]
    # Requests per period for this key ("60/minute"); None: the configured default.
    rate_limit: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    catalogue: Mapped[Catalogue] = relationship(lazy="joined")


class AuditEvent(Base):
    """Who did what when: key creation and revocation, deletes."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    # "key:<id>" for a request made with a key, "cli" for the command line.
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    catalogue_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    target: Mapped[str] = mapped_column(String(64))


class EmotionLabel(Base):
    """One label of the emotion vocabulary (a snapshot of backend.core.domain.emotions)."""

    __tablename__ = "emotion_labels"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    valence: Mapped[float] = mapped_column(Float)
    arousal: Mapped[float] = mapped_column(Float)
    speech: Mapped[bool]
    music: Mapped[bool]


class ModelVersion(Base):
    """An embedding model the catalogue was (or is being) indexed with, its Qdrant collection and labels.

    Everything the API needs to know about a model is in these rows (written when a worker or
    ``s2m reindex`` registers it); ``model_dir`` is where workers load the weights from, and only
    workers read it.
    """

    __tablename__ = "model_versions"

    version: Mapped[str] = mapped_column(String(128), primary_key=True)
    model_dir: Mapped[str] = mapped_column(Text)
    collection: Mapped[str] = mapped_column(String(160), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    labels: Mapped[list[ModelLabel]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="ModelLabel.position"
    )


class ModelLabel(Base):
    """One label a model knows: its valence/arousal point, which side carries it, and its music prototype.

    ``prototype`` is the model's mean music embedding of the label (music labels only): searching
    by emotion ranks tracks by cosine similarity to it.
    """

    __tablename__ = "model_labels"

    version: Mapped[str] = mapped_column(ForeignKey("model_versions.version", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    valence: Mapped[float] = mapped_column(Float)
    arousal: Mapped[float] = mapped_column(Float)
    speech: Mapped[bool]
    music: Mapped[bool]
    prototype: Mapped[list[Any] | None]


class ActiveModel(Base):
    """The single row naming the model version queries use; switching it is one update."""

    __tablename__ = "active_model"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[str] = mapped_column(ForeignKey("model_versions.version"))
    switched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    model: Mapped[ModelVersion] = relationship(lazy="joined")


class _Work:
    """Columns shared by the two kinds of queued work (tracks to embed, requests to answer)."""

    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    # Task starts so far; a task that keeps dying is given up after Settings.max_task_attempts.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    media_format: Mapped[str] = mapped_column(String(16))
    duration_seconds: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Track(_Work, Base):
    """A catalogue track: its stored audio, metadata and the emotion analysis of the active model.

    The same audio is one track per catalogue: the content hash is unique within a catalogue only.
    """

    __tablename__ = "tracks"
    __table_args__ = (
        CheckConstraint(_STATUS_CHECK, name="status"),
        UniqueConstraint("catalogue_id", "content_sha256"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    catalogue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("catalogues.id"), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    title: Mapped[str | None] = mapped_column(String(500))
    artist: Mapped[str | None] = mapped_column(String(500))
    external_id: Mapped[str | None] = mapped_column(String(500), index=True)
    content_sha256: Mapped[str] = mapped_column(String(64), index=True)
    emotion: Mapped[str | None] = mapped_column(ForeignKey("emotion_labels.name"), index=True)
    probabilities: Mapped[dict[str, Any] | None]
    valence: Mapped[float | None] = mapped_column(Float)
    arousal: Mapped[float | None] = mapped_column(Float)

    tag_rows: Mapped[list[TrackTag]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="TrackTag.position"
    )

    @property
    def tags(self) -> list[str]:
        return [row.tag for row in self.tag_rows]


class TrackTag(Base):
    """One tag of a track (a row each, so tag filters are plain indexed SQL on every database)."""

    __tablename__ = "track_tags"

    track_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class RecommendationRequest(_Work, Base):
    """A speech clip waiting for (or answered with) emotion-matched tracks."""

    __tablename__ = "recommendation_requests"
    __table_args__ = (CheckConstraint(_STATUS_CHECK, name="status"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    catalogue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("catalogues.id"), index=True)
    speech_sha256: Mapped[str] = mapped_column(String(64), index=True)
    transcript: Mapped[str | None] = mapped_column(Text)
    # Validated filters (backend.core.domain.filters.TrackFilters) and the number of results wanted.
    filters: Mapped[dict[str, Any]]
    result_limit: Mapped[int] = mapped_column(Integer)
    # The speech clip's own analysis: emotion, probabilities, valence, arousal.
    query: Mapped[dict[str, Any] | None]
    results: Mapped[list[Any] | None]


class Timeline(_Work, Base):
    """A long recording turned into an emotion timeline: speech segments, scenes, tracks per scene.

    It is worked on in chunks of the recording (one task each); ``chunks_done`` says how far it got,
    and ``attempts`` counts the starts of the current chunk.
    """

    __tablename__ = "timelines"
    __table_args__ = (CheckConstraint(_STATUS_CHECK, name="status"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    catalogue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("catalogues.id"), index=True)
    speech_sha256: Mapped[str] = mapped_column(String(64), index=True)
    transcript: Mapped[str | None] = mapped_column(Text)
    # Validated filters (backend.core.domain.filters.TrackFilters) and the timeline options
    # (backend.core.domain.timeline.TimelineOptions).
    filters: Mapped[dict[str, Any]]
    options: Mapped[dict[str, Any]]
    chunk_seconds: Mapped[float] = mapped_column(Float)
    chunks_total: Mapped[int] = mapped_column(Integer)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    # The segments found so far (with their embeddings), then the scenes with their tracks.
    segments: Mapped[list[Any]] = mapped_column(JSON, default=list)
    scenes: Mapped[list[Any] | None]
