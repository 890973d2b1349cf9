"""What the tasks do, as plain functions: embed a track, answer a speech request.

Each function is idempotent and counts its attempts on the row before working (state changes go
through :mod:`backend.core.services.work_items`), so a message delivered twice leaves one row and
one vector, and work that keeps killing its worker ends ``failed`` after ``max_task_attempts``
starts. Transient errors (database, Qdrant unreachable) propagate for the task to retry with
backoff; anything else fails the row with the reason.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
from sqlalchemy.exc import DBAPIError, OperationalError

from backend.core.audio import AudioError, decode_audio
from backend.core.domain.analysis import ClipAnalysis
from backend.core.domain.filters import TrackFilters
from backend.core.domain.work import FAILED, READY
from backend.core.services import recommendations as recommendation_service
from backend.core.services import tracks as track_service
from backend.core.services import work_items
from backend.core.services.search import find_tracks
from backend.core.storage.models import RecommendationRequest, Track
from backend.core.storage.vectors import TRANSIENT_ERRORS, EmbeddingQuery, TrackPoint
from workers.context import WorkerContext, load_worker_model

log = logging.getLogger(__name__)

# Errors a retry may cure; everything else is recorded on the row as a permanent failure.
TRANSIENT = (OperationalError, *TRANSIENT_ERRORS)
Work = TypeVar("Work", Track, RecommendationRequest)


def note_transient_error(worker: WorkerContext, model: type[Work], work_id: uuid.UUID, exc: BaseException) -> None:
    """Keep the last transient error on the row (best effort) so a final failure can name it."""
    try:
        work_items.note_retry(worker.services.db, model, work_id, work_items.describe_error(exc))
    except (OperationalError, DBAPIError):
        log.warning("could not record the transient error of %s %s", model.__name__, work_id)


def _run(worker: WorkerContext, model: type[Work], work_id: uuid.UUID, body: Callable[[Work], str]) -> str:
    row = work_items.start(worker.services.db, model, work_id, worker.settings.max_task_attempts)
    if isinstance(row, str):
        return row
    try:
        return body(row)
    except TRANSIENT as exc:
        note_transient_error(worker, model, work_id, exc)
        raise
    except Exception as exc:  # permanent: record the reason instead of retrying forever
        work_items.fail(worker.services.db, model, work_id, work_items.describe_error(exc))
        return FAILED


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


def embed_track(worker: WorkerContext, track_id: uuid.UUID) -> str:
    """Embed a track (with other waiting tracks in one batch), write the vectors, mark them ready."""
    db = worker.services.db

    def body(track: Track) -> str:
        batch = [track, *work_items.claim_fresh_tracks(db, track.id, worker.settings.embed_batch_size - 1)]
        clips, decoded = [], []
        for item in batch:
            try:
                clips.append(track_clip(worker, item))
                decoded.append(item)
            except (AudioError, OSError) as exc:
                work_items.fail(db, Track, item.id, work_items.describe_error(exc))
        if not decoded:
            return FAILED
        model, active = worker.model()
        analyses = model.embed_music_batch(clips)
        worker.services.ensure_collection(active.collection)
        points = [TrackPoint.from_analysis(t.id, a, t.tags) for t, a in zip(decoded, analyses, strict=True)]
        worker.services.vectors.upsert(active.collection, points)
        results = [(item.id, analysis) for item, analysis in zip(decoded, analyses, strict=True)]
        gone = work_items.finish_tracks(db, results, active.version)
        worker.services.vectors.delete(active.collection, gone)  # deleted while we worked
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
        query = {
            "emotion": analysis.label,
            "probabilities": analysis.probabilities,
            "valence": analysis.valence,
            "arousal": analysis.arousal,
        }
        if not work_items.finish_request(worker.services.db, request_id, query, results, active.version):
            return "deleted"
        return READY

    return _run(worker, RecommendationRequest, request_id, body)
