"""Catalogue use cases: ingest (deduplicated by content), read, list, delete."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError

from backend.core.domain.filters import TrackListQuery, TrackMetadata
from backend.core.domain.text import excerpt
from backend.core.domain.work import QUEUED
from backend.core.services.context import ServiceContext
from backend.core.services.errors import InvalidInputError, QuotaExceededError
from backend.core.services.keys import record
from backend.core.services.lookup import delete_row, get_row, parse_id
from backend.core.services.model_versions import all_collections
from backend.core.services.uploads import accept_audio, publish_or_undo, staged_upload
from backend.core.storage.models import Track, TrackTag

MEDIA_KIND = "tracks"


@dataclass(frozen=True)
class IngestResult:
    track: Track
    created: bool  # False: the same audio was already in the catalogue
    enqueued: bool  # False: the broker was unreachable; `s2m requeue` sends it later


def parse_track_id(raw: str) -> uuid.UUID:
    return parse_id(raw, "track")


def _find_by_sha(ctx: ServiceContext, catalogue_id: uuid.UUID, sha256: str) -> Track | None:
    with ctx.db.session() as session:
        return session.scalar(select(Track).where(Track.catalogue_id == catalogue_id, Track.content_sha256 == sha256))


def check_quota(ctx: ServiceContext, catalogue_id: uuid.UUID, size: int) -> None:
    """Refuse a new track that would take the catalogue past CATALOGUE_MAX_TRACKS or CATALOGUE_MAX_BYTES."""
    max_tracks, max_bytes = ctx.settings.catalogue_max_tracks, ctx.settings.catalogue_max_bytes
    if not max_tracks and not max_bytes:
        return
    with ctx.db.session() as session:
        count, stored = session.execute(
            select(func.count(Track.id), func.coalesce(func.sum(Track.size_bytes), 0)).where(
                Track.catalogue_id == catalogue_id
            )
        ).one()
    if max_tracks and count + 1 > max_tracks:
        raise QuotaExceededError(f"the catalogue holds {count} tracks, its limit (CATALOGUE_MAX_TRACKS)")
    if max_bytes and stored + size > max_bytes:
        raise QuotaExceededError(
            f"the catalogue stores {stored} bytes; this file of {size} bytes would pass its limit of "
            f"{max_bytes} bytes (CATALOGUE_MAX_BYTES)"
        )


def ingest_track(
    ctx: ServiceContext, catalogue_id: uuid.UUID, upload: BinaryIO | bytes, metadata: TrackMetadata
) -> IngestResult:
    """Validate, store and register a track, then enqueue its embedding; the same audio is ingested once
    per catalogue (the same file in two catalogues is two tracks).

    The upload is staged and checked, its row committed, and only then is the file moved into the
    store: a refusal or a failed commit leaves neither a row nor a file.
    """
    with staged_upload(ctx.media, upload) as staged:
        existing = _find_by_sha(ctx, catalogue_id, staged.sha256)
        if existing is not None:
            return IngestResult(existing, created=False, enqueued=False)
        check_quota(ctx, catalogue_id, staged.size)
        accepted = accept_audio(
            staged.path, min_seconds=ctx.settings.min_audio_seconds, max_seconds=ctx.settings.max_track_seconds
        )
        track = Track(
            catalogue_id=catalogue_id,
            size_bytes=staged.size,
            status=QUEUED,
            title=metadata.title,
            artist=metadata.artist,
            external_id=metadata.external_id,
            content_sha256=staged.sha256,
            media_format=accepted.format,
            duration_seconds=accepted.duration_seconds,
            tag_rows=[TrackTag(tag=tag, position=i) for i, tag in enumerate(metadata.tags)],
        )
        with ctx.db.session() as session:
            session.add(track)
            try:
                session.commit()
            except IntegrityError:  # the same audio committed concurrently by another request
                session.rollback()
                existing = _find_by_sha(ctx, catalogue_id, staged.sha256)
                if existing is None:
                    raise
                return IngestResult(existing, created=False, enqueued=False)
        publish_or_undo(ctx.media, MEDIA_KIND, staged, lambda: delete_row(ctx, Track, track.id))
    return IngestResult(track, created=True, enqueued=ctx.queue.embed_track(track.id))


def get_track(ctx: ServiceContext, catalogue_id: uuid.UUID, track_id: uuid.UUID) -> Track:
    return get_row(ctx, Track, track_id, "track", catalogue_id)


def encode_cursor(track: Track) -> str:
    raw = json.dumps([track.created_at.isoformat(), str(track.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, track_id = json.loads(base64.urlsafe_b64decode(padded))
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is not None:  # the database compares in UTC; out-of-range offsets are refused here
            moment = moment.astimezone(UTC)
        return moment, uuid.UUID(track_id)
    except (ValueError, TypeError, OverflowError, RecursionError, binascii.Error):
        raise InvalidInputError(
            f"cursor {excerpt(cursor)} is not a cursor this API returned", code="invalid_cursor"
        ) from None


def list_tracks(ctx: ServiceContext, catalogue_id: uuid.UUID, query: TrackListQuery) -> tuple[list[Track], str | None]:
    """Return one page of the catalogue's tracks in ingest order and the cursor of the next page (None at the end)."""
    statement = (
        select(Track)
        .where(Track.catalogue_id == catalogue_id)
        .order_by(Track.created_at, Track.id)
        .limit(query.limit + 1)
    )
    if query.emotion:
        statement = statement.where(Track.emotion == query.emotion)
    if query.status:
        statement = statement.where(Track.status == query.status)
    if query.tag:
        statement = statement.where(Track.id.in_(select(TrackTag.track_id).where(TrackTag.tag == query.tag)))
    if query.cursor:
        created_at, track_id = decode_cursor(query.cursor)
        statement = statement.where(
            or_(Track.created_at > created_at, and_(Track.created_at == created_at, Track.id > track_id))
        )
    with ctx.db.session() as session:
        tracks = list(session.scalars(statement))
    if len(tracks) <= query.limit:
        return tracks, None
    page = tracks[: query.limit]
    return page, encode_cursor(page[-1])


def delete_track(ctx: ServiceContext, catalogue_id: uuid.UUID, track_id: uuid.UUID, actor: str) -> None:
    """Remove the track's vectors (every model version), then its row (noting who did it in the audit
    log), then its stored audio unless a track of another catalogue holds the same file."""
    track = get_track(ctx, catalogue_id, track_id)
    with ctx.db.session() as session:
        collections = all_collections(session)
    for collection in collections:
        ctx.vectors.delete(collection, [track_id], catalogue_id=catalogue_id)
    with ctx.db.session() as session:
        row = session.get(Track, track_id)
        if row is not None:
            session.delete(row)
            record(session, actor, "track.delete", catalogue_id, str(track_id))
            session.commit()
        shared = session.scalar(select(Track.id).where(Track.content_sha256 == track.content_sha256).limit(1))
    if shared is None:
        ctx.media.delete(MEDIA_KIND, track.content_sha256)
