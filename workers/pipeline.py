"""What the tasks do, as plain functions: embed a track, answer a speech request.

Each function is idempotent and counts its attempts on the row before working, so a message
delivered twice leaves one row and one vector, and work that keeps killing its worker ends
``failed`` after ``max_task_attempts`` starts. Transient errors (database, Qdrant unreachable)
propagate for the task to retry with backoff; anything else fails the row with the reason.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError, OperationalError

from backend.core.audio import AudioError, decode_audio
from backend.core.domain.analysis import ClipAnalysis
from backend.core.domain.filters import TrackFilters
from backend.core.domain.work import (
    FAILED,
    FINISHED_STATUSES,
    PROCESSING,
    QUEUED,
    READY,
    attempts_exhausted,
    gave_up_message,
)
from backend.core.services import recommendations as recommendation_service
from backend.core.services import tracks as track_service
from backend.core.services.search import find_tracks
from backend.core.storage.models import RecommendationRequest, Track, utcnow
from backend.core.storage.vectors import TRANSIENT_ERRORS, EmbeddingQuery, TrackPoint
from workers.context import WorkerContext, load_worker_model

log = logging.getLogger(__name__)

# Errors a retry may cure; everything else is recorded on the row as a permanent failure.
TRANSIENT = (OperationalError, *TRANSIENT_ERRORS)
Work = TypeVar("Work", Track, RecommendationRequest)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def _start(worker: WorkerContext, model: type[Work], work_id: uuid.UUID) -> Work | str:
    """Count one more attempt and mark the work processing; or say why there is nothing to do."""
    with worker.services.db.session() as session:
        row = session.get(model, work_id, with_for_update=True)
        if row is None or row.status in FINISHED_STATUSES:
            return "skipped"  # deleted, or a duplicate delivery of finished work
        if attempts_exhausted(row.attempts, worker.settings.max_task_attempts):
            row.status, row.error = FAILED, gave_up_message(row.attempts, row.error)
            session.commit()
            log.warning("%s %s failed: %s", model.__name__, work_id, row.error)
            return FAILED
        row.attempts += 1
        row.status = PROCESSING
        session.commit()
    if worker.settings.task_delay_seconds:  # fault injection for tests: a slow task to kill
        time.sleep(worker.settings.task_delay_seconds)
    return row


def _fail(worker: WorkerContext, model: type[Work], work_id: uuid.UUID, exc: BaseException) -> str:
    log.warning("%s %s failed permanently: %s", model.__name__, work_id, _describe(exc))
    with worker.services.db.session() as session:
        row = session.get(model, work_id)
        if row is not None:
            row.status, row.error = FAILED, _describe(exc)
            session.commit()
    return FAILED


def note_transient_error(worker: WorkerContext, model: type[Work], work_id: uuid.UUID, exc: BaseException) -> None:
    """Keep the last transient error on the row (best effort) so a final failure can name it."""
    try:
        with worker.services.db.session() as session:
            row = session.get(model, work_id)
            if row is not None:
                row.error = f"retrying after {_describe(exc)}"
                session.commit()
    except (OperationalError, DBAPIError):
        log.warning("could not record the transient error of %s %s", model.__name__, work_id)


def _run(worker: WorkerContext, model: type[Work], work_id: uuid.UUID, body: Callable[[Work], str]) -> str:
    row = _start(worker, model, work_id)
    if isinstance(row, str):
        return row
    try:
        return body(row)
    except TRANSIENT as exc:
        note_transient_error(worker, model, work_id, exc)
        raise
    except Exception as exc:  # permanent: record the reason instead of retrying forever
        return _fail(worker, model, work_id, exc)


def track_clip(worker: WorkerContext, track: Track) -> tuple[np.ndarray, int]:
    """Decode a track's stored audio into mono samples and their rate."""
    audio = decode_audio(worker.services.media.read(track_service.MEDIA_KIND, track.content_sha256))
    return audio.mono(), audio.sample_rate


def music_embedder(worker: WorkerContext, model_dir: Path) -> Callable[[Sequence[Track]], list[ClipAnalysis]]:
    """Load the model in ``model_dir`` and return a function embedding tracks' stored audio in one batch."""
    model = load_worker_model(worker.settings, model_dir)

    def embed(tracks: Sequence[Track]) -> list[ClipAnalysis]:
        return model.embed_music_batch([track_clip(worker, track) for track in tracks])

    return embed


def claim_queued_tracks(worker: WorkerContext, exclude: uuid.UUID, limit: int) -> list[Track]:
    """Take up to ``limit`` never-started queued tracks to embed in the same batch.

    Each claim is a compare-and-set (``status = 'queued'`` in the UPDATE), so two workers never
    take the same track. Only fresh tracks are taken: a track that might be poison runs alone.
    Their own messages arrive later, find them ready and do nothing.
    """
    if limit <= 0:
        return []
    claimed = []
    with worker.services.db.session() as session:
        candidates = session.scalars(
            select(Track.id)
            .where(Track.status == QUEUED, Track.attempts == 0, Track.id != exclude)
            .order_by(Track.created_at)
            .limit(limit)
        ).all()
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


def embed_track(worker: WorkerContext, track_id: uuid.UUID) -> str:
    """Embed a track (with other waiting tracks in one batch), write the vectors, mark them ready."""

    def body(track: Track) -> str:
        batch = [track, *claim_queued_tracks(worker, track.id, worker.settings.embed_batch_size - 1)]
        clips, decoded = [], []
        for item in batch:
            try:
                clips.append(track_clip(worker, item))
                decoded.append(item)
            except (AudioError, OSError) as exc:
                _fail(worker, Track, item.id, exc)
        if not decoded:
            return FAILED
        model, active = worker.model()
        analyses = model.embed_music_batch(clips)
        worker.services.ensure_collection(active.collection)
        points = [TrackPoint.from_analysis(t.id, a, t.tags) for t, a in zip(decoded, analyses, strict=True)]
        worker.services.vectors.upsert(active.collection, points)
        gone = []
        with worker.services.db.session() as session:
            for item, analysis in zip(decoded, analyses, strict=True):
                row = session.get(Track, item.id)
                if row is None:  # deleted while we worked: its vector comes back out below
                    gone.append(item.id)
                    continue
                row.status, row.error = READY, None
                row.emotion, row.probabilities = analysis.label, analysis.probabilities
                row.valence, row.arousal, row.model_version = analysis.valence, analysis.arousal, active.version
            session.commit()
        worker.services.vectors.delete(active.collection, gone)
        if track_id in gone:
            return "deleted"
        return READY if track in decoded else FAILED

    return _run(worker, Track, track_id, body)


def answer_request(worker: WorkerContext, request_id: uuid.UUID) -> str:
    """Analyse a speech clip and store the tracks that match it, best first."""

    def body(request: RecommendationRequest) -> str:
        model, active = worker.model()
        audio = decode_audio(worker.services.media.read(recommendation_service.MEDIA_KIND, request.speech_sha256))
        analysis = model.embed_speech(audio.mono(), audio.sample_rate, request.transcript)
        filters = TrackFilters.model_validate(request.filters)
        results = find_tracks(
            worker.services, active.collection, EmbeddingQuery(analysis.vector), filters, request.result_limit
        )
        with worker.services.db.session() as session:
            row = session.get(RecommendationRequest, request_id)
            if row is None:
                return "deleted"
            row.query = {
                "emotion": analysis.label,
                "probabilities": analysis.probabilities,
                "valence": analysis.valence,
                "arousal": analysis.arousal,
            }
            row.results, row.model_version = results, active.version
            row.status, row.error = READY, None
            session.commit()
        return READY

    return _run(worker, RecommendationRequest, request_id, body)
