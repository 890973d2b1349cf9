"""The one place where queued work changes state: queued -> processing -> ready | failed.

A work item is a track to embed, a recommendation request to answer or a timeline to make (all rows carry
``status``, ``attempts`` and ``error``). Every caller (the worker pipeline, requeue, reconcile,
reindex) changes those columns through these functions, so the rules live here:

- a start counts one more attempt, under a row lock; a row that is gone or finished is skipped
  (a duplicate delivery), and a row whose attempts are spent ends failed instead of starting;
- batch claims are compare-and-set on ``status = 'queued'``, so two workers never take one item;
- a reset (requeue of failed work, reconcile, reindex) gives the item fresh attempts.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Literal, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from backend.core.audio import AudioError
from backend.core.domain.analysis import ClipAnalysis
from backend.core.domain.work import (
    FAILED,
    FINISHED_STATUSES,
    PROCESSING,
    QUEUED,
    READY,
    attempts_exhausted,
    gave_up_message,
)
from backend.core.storage.db import Database
from backend.core.storage.models import RecommendationRequest, Timeline, Track, utcnow
from backend.core.storage.vectors import TRANSIENT_ERRORS

log = logging.getLogger(__name__)

Work = TypeVar("Work", Track, RecommendationRequest, Timeline)
WorkModel = type[Track] | type[RecommendationRequest] | type[Timeline]
# Why a start did not hand back a row: nothing to do, or the attempts ran out.
NotStarted = Literal["skipped", "failed"]
SKIPPED: NotStarted = "skipped"
MAX_ERROR_CHARS = 2000


def describe_error(exc: BaseException) -> str:
    """The reason stored on a row, in words: the audio problem, or the kind of failure, never raw exception text.

    The exception itself goes to the worker's log (:func:`log_text`).
    """
    if isinstance(exc, AudioError):
        return str(exc)[:MAX_ERROR_CHARS]
    if isinstance(exc, FileNotFoundError):
        return "the stored audio file is missing from the media store"
    if isinstance(exc, OperationalError):
        return "the database did not answer"
    if isinstance(exc, TRANSIENT_ERRORS):
        return "the vector store did not answer"
    return "the worker failed on an internal error (its log has the details)"


def log_text(exc: BaseException) -> str:
    """The exception's type and message, bounded, for the log."""
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]


def start(db: Database, model: type[Work], work_id: uuid.UUID, max_attempts: int) -> Work | NotStarted:
    """Count one more attempt and mark the item processing; or say why there is nothing to do."""
    with db.session() as session:
        row = session.get(model, work_id, with_for_update=True)
        if row is None or row.status in FINISHED_STATUSES:
            return SKIPPED  # deleted, or a duplicate delivery of finished work
        if attempts_exhausted(row.attempts, max_attempts):
            row.status, row.error = FAILED, gave_up_message(row.attempts, row.error)
            session.commit()
            log.warning("%s %s failed: %s", model.__name__, work_id, row.error)
            return FAILED
        row.attempts += 1
        row.status = PROCESSING
        session.commit()
        return row


def fail(db: Database, model: WorkModel, work_id: uuid.UUID, reason: str) -> None:
    """Mark the item failed for good with ``reason`` (a missing row is fine: it was deleted)."""
    log.warning("%s %s failed permanently: %s", model.__name__, work_id, reason)
    with db.session() as session:
        row = session.get(model, work_id)
        if row is not None:
            row.status, row.error = FAILED, reason[:MAX_ERROR_CHARS]
            session.commit()


def note_retry(db: Database, model: WorkModel, work_id: uuid.UUID, reason: str) -> None:
    """Keep the last transient error on the row, so a final failure can name it (status unchanged)."""
    with db.session() as session:
        row = session.get(model, work_id)
        if row is not None:
            row.error = f"retrying after {reason}"[:MAX_ERROR_CHARS]
            session.commit()


def claim_fresh_tracks(
    db: Database,
    exclude: uuid.UUID,
    limit: int,
    seconds_budget: float = math.inf,
    has_audio: Callable[[str], bool] = lambda _sha256: True,
) -> list[Track]:
    """Take up to ``limit`` never-started queued tracks (oldest first), ``seconds_budget`` of audio at most.

    Each claim is a compare-and-set (``status = 'queued'`` in the UPDATE), so two workers never
    take the same track, and a claim counts an attempt like a start. Only fresh tracks are taken:
    a track that might be poison runs alone; and only tracks whose audio ``has_audio`` (by sha256)
    says is stored. Their own messages arrive later and are skipped.
    """
    if limit <= 0:
        return []
    claimed = []
    with db.session() as session:
        rows = session.execute(
            select(Track.id, Track.content_sha256, Track.duration_seconds)
            .where(Track.status == QUEUED, Track.attempts == 0, Track.id != exclude)
            .order_by(Track.created_at)
            .limit(limit)
        ).all()
        candidates = []
        for track_id, sha256, seconds in rows:
            if seconds > seconds_budget or not has_audio(sha256):
                continue
            seconds_budget -= seconds
            candidates.append(track_id)
        for candidate in candidates:
            taken = session.execute(
                update(Track)
                .where(Track.id == candidate, Track.status == QUEUED)
                .values(status=PROCESSING, attempts=Track.attempts + 1, updated_at=utcnow())
            )
            if taken.rowcount == 1:
                claimed.append(candidate)
        session.commit()
        return list(session.scalars(select(Track).where(Track.id.in_(claimed))))


def record_track_analysis(track: Track, analysis: ClipAnalysis, model_version: str) -> None:
    """Store a model's analysis on a track row (in the caller's session; its status is not changed)."""
    track.emotion, track.probabilities = analysis.label, analysis.probabilities
    track.valence, track.arousal, track.model_version = analysis.valence, analysis.arousal, model_version


def finish_tracks(
    db: Database, results: Sequence[tuple[uuid.UUID, ClipAnalysis]], model_version: str
) -> list[uuid.UUID]:
    """Mark embedded tracks ready with their analyses in one transaction; return the ids already deleted."""
    gone = []
    with db.session() as session:
        for track_id, analysis in results:
            row = session.get(Track, track_id)
            if row is None:  # deleted while the worker embedded it
                gone.append(track_id)
                continue
            row.status, row.error = READY, None
            record_track_analysis(row, analysis, model_version)
        session.commit()
    return gone


def finish_request(db: Database, request_id: uuid.UUID, query: dict, results: list[dict], model_version: str) -> bool:
    """Mark a recommendation request ready with its answer; False when it was deleted meanwhile."""
    with db.session() as session:
        row = session.get(RecommendationRequest, request_id)
        if row is None:
            return False
        row.query, row.results, row.model_version = query, results, model_version
        row.status, row.error = READY, None
        session.commit()
    return True


def finish_timeline_chunk(db: Database, timeline_id: uuid.UUID, chunk: int, segments: list[dict]) -> bool:
    """Append one chunk's segments and count the chunk done, if no other delivery did it first.

    A compare-and-set on ``chunks_done``: a chunk delivered twice adds its segments once. The next
    chunk starts with fresh attempts. False when the row is gone or the chunk was already done.
    """
    with db.session() as session:
        row = session.get(Timeline, timeline_id, with_for_update=True)
        if row is None or row.chunks_done != chunk or row.status in FINISHED_STATUSES:
            return False
        row.segments = [*row.segments, *segments]
        row.chunks_done, row.attempts, row.error = chunk + 1, 0, None
        session.commit()
    return True


def finish_timeline(db: Database, timeline_id: uuid.UUID, scenes: list[dict], model_version: str) -> bool:
    """Mark a timeline ready with its scenes; False when it was deleted or finished meanwhile."""
    with db.session() as session:
        row = session.get(Timeline, timeline_id, with_for_update=True)
        if row is None or row.status in FINISHED_STATUSES or row.chunks_done < row.chunks_total:
            return False
        row.scenes, row.model_version = scenes, model_version
        row.status, row.error = READY, None
        session.commit()
    return True


def reset(row: Track | RecommendationRequest | Timeline) -> None:
    """Queue the item again with fresh attempts (in the caller's session)."""
    row.status, row.error, row.attempts = QUEUED, None, 0


def reset_tracks(db: Database, track_ids: Sequence[uuid.UUID]) -> None:
    """Queue these tracks again with fresh attempts (reconcile re-embeds them)."""
    if not track_ids:
        return
    with db.session() as session:
        for track in session.scalars(select(Track).where(Track.id.in_(track_ids))):
            reset(track)
        session.commit()


def take_stale(
    db: Database, model: WorkModel, statuses: Sequence[str], cutoff: datetime, now: datetime
) -> list[uuid.UUID]:
    """Return the items in ``statuses`` untouched since ``cutoff``, stamped ``now`` so they are not stale again.

    Failed items among them get fresh attempts; pending items keep their count, so a poison item
    still ends failed.
    """
    with db.session() as session:
        rows = list(session.scalars(select(model).where(model.status.in_(statuses), model.updated_at <= cutoff)))
        for row in rows:
            if row.status == FAILED:
                reset(row)
            row.updated_at = now  # not stale again until another full wait has passed
        session.commit()
        return [row.id for row in rows]


def ready_track_ids(session: Session) -> list[uuid.UUID]:
    """The ids of every ready track, in id order."""
    return list(session.scalars(select(Track.id).where(Track.status == READY).order_by(Track.id)))


def lock_ready_tracks(session: Session) -> list[Track]:
    """The ready track rows, locked for the caller's transaction (the reindex switch-over)."""
    return list(session.scalars(select(Track).where(Track.status == READY).with_for_update()))
