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

from backend.core.audio import DURATION_SLACK_SECONDS, AudioError, check_clip, decode_audio
from backend.core.domain.analysis import ClipAnalysis
from backend.core.domain.filters import QueryFilters
from backend.core.domain.work import FAILED, READY
from backend.core.services import recommendations as recommendation_service
from backend.core.services import tracks as track_service
from backend.core.services import work_items
from backend.core.services.search import QueryEmotion, find_tracks, steering_of
from backend.core.storage.models import RecommendationRequest, Timeline, Track
from backend.core.storage.vectors import TRANSIENT_ERRORS, EmbeddingQuery, TrackPoint, UnknownPointError
from workers.context import WorkerContext, load_worker_model

log = logging.getLogger(__name__)

# Errors a retry may cure; everything else is recorded on the row as a permanent failure.
TRANSIENT = (OperationalError, *TRANSIENT_ERRORS)
Work = TypeVar("Work", Track, RecommendationRequest, Timeline)
# Seconds of audio one embedding batch may hold: its memory grows with the audio, not the track count.
BATCH_AUDIO_SECONDS = 1200.0


def note_transient_error(worker: WorkerContext, model: type[Work], work_id: uuid.UUID, exc: BaseException) -> None:
    """Keep the last transient error on the row (best effort) so a final failure can name it."""
    log.warning("%s %s will be retried: %s", model.__name__, work_id, work_items.log_text(exc))
    try:
        work_items.note_retry(worker.services.db, model, work_id, work_items.describe_error(exc))
    except (OperationalError, DBAPIError):
        log.warning("could not record the transient error of %s %s", model.__name__, work_id)


def run_work(worker: WorkerContext, model: type[Work], work_id: uuid.UUID, body: Callable[[Work], str]) -> str:
    """Start the item (counting an attempt), run ``body`` on it; transient errors propagate for a retry,
    anything else fails the item with the reason."""
    row = work_items.start(worker.services.db, model, work_id, worker.settings.max_task_attempts)
    if isinstance(row, str):
        return row
    try:
        return body(row)
    except TRANSIENT as exc:
        note_transient_error(worker, model, work_id, exc)
        raise
    except Exception as exc:  # permanent: record the reason instead of retrying forever
        _fail(worker, model, work_id, exc)
        return FAILED


def _fail(worker: WorkerContext, model: type[Work], work_id: uuid.UUID, exc: BaseException) -> None:
    """Fail the item: the log gets the exception, the row the reason in words."""
    log.warning("%s %s failed on %s", model.__name__, work_id, work_items.log_text(exc))
    work_items.fail(worker.services.db, model, work_id, work_items.describe_error(exc))


def _fail_with(worker: WorkerContext, request_id: uuid.UUID, reason: str) -> None:
    log.warning("RecommendationRequest %s failed: %s", request_id, reason)
    work_items.fail(worker.services.db, RecommendationRequest, request_id, reason)


def track_clip(worker: WorkerContext, track: Track, rate: int) -> tuple[np.ndarray, int]:
    """Decode a track's stored audio into checked mono samples at ``rate`` (the model's music rate)."""
    path = worker.services.media.path(track_service.MEDIA_KIND, track.content_sha256)
    audio = decode_audio(path, target_rate=rate, max_seconds=worker.settings.max_track_seconds)
    check_clip(audio, min_seconds=0.0, max_seconds=worker.settings.max_track_seconds + DURATION_SLACK_SECONDS)
    return audio.samples, audio.sample_rate


def music_embedder(worker: WorkerContext, model_dir: Path) -> Callable[[Sequence[Track]], list[ClipAnalysis]]:
    """Load the model in ``model_dir`` and return a function embedding tracks' stored audio in one batch."""
    model = load_worker_model(worker.settings, model_dir)

    def embed(tracks: Sequence[Track]) -> list[ClipAnalysis]:
        rate = model.config.music_rate
        return model.embed_music_batch([track_clip(worker, track, rate) for track in tracks])

    return embed


def embed_track(worker: WorkerContext, track_id: uuid.UUID) -> str:
    """Embed a track (with other waiting tracks in one batch), write the vectors, mark them ready."""
    db = worker.services.db

    def has_audio(sha256: str) -> bool:  # a row is committed a moment before its file is moved into place
        return worker.services.media.exists(track_service.MEDIA_KIND, sha256)

    def body(track: Track) -> str:
        model, active = worker.model()
        batch = [
            track,
            *work_items.claim_fresh_tracks(
                db,
                track.id,
                worker.settings.embed_batch_size - 1,
                seconds_budget=max(0.0, BATCH_AUDIO_SECONDS - track.duration_seconds),
                has_audio=has_audio,
            ),
        ]
        rate = model.config.music_rate
        clips, decoded = [], []
        for item in batch:
            try:
                clips.append(track_clip(worker, item, rate))
                decoded.append(item)
            except (AudioError, OSError) as exc:
                _fail(worker, Track, item.id, exc)
        if not decoded:
            return FAILED
        analyses = model.embed_music_batch(clips)
        worker.services.ensure_collection(active.collection)
        points = [
            TrackPoint.from_analysis(t.id, t.catalogue_id, a, t.tags, t.artist)
            for t, a in zip(decoded, analyses, strict=True)
        ]
        worker.services.vectors.upsert(active.collection, points)
        results = [(item.id, analysis) for item, analysis in zip(decoded, analyses, strict=True)]
        gone = work_items.finish_tracks(db, results, active.version)
        worker.services.vectors.delete(active.collection, gone)  # deleted while we worked
        if track_id in gone:
            return "deleted"
        return READY if track in decoded else FAILED

    return run_work(worker, Track, track_id, body)


def answer_request(worker: WorkerContext, request_id: uuid.UUID) -> str:
    """Analyse a speech clip and store the tracks that match it, best first."""

    def body(request: RecommendationRequest) -> str:
        model, active = worker.model()
        path = worker.services.media.path(recommendation_service.MEDIA_KIND, request.speech_sha256)
        limit = worker.settings.max_speech_seconds
        audio = decode_audio(path, target_rate=model.config.speech_rate, max_seconds=limit)
        check_clip(audio, min_seconds=0.0, max_seconds=limit + DURATION_SLACK_SECONDS)
        analysis = model.embed_speech(audio.samples, audio.sample_rate, request.transcript)
        fields = QueryFilters.model_validate(request.filters)
        try:
            results = find_tracks(
                worker.services,
                request.catalogue_id,
                active.collection,
                EmbeddingQuery(analysis.vector),
                fields.filters_only(),
                request.result_limit,
                QueryEmotion(
                    analysis.label, analysis.probabilities[analysis.label], analysis.valence, analysis.arousal
                ),
                steering_of(fields),
                fields.steering_names(),
            )
        except UnknownPointError as exc:  # a steering track deleted since the request was accepted
            _fail_with(worker, request_id, str(exc))
            return FAILED
        query = {
            "emotion": analysis.label,
            "probabilities": analysis.probabilities,
            "valence": analysis.valence,
            "arousal": analysis.arousal,
        }
        if not work_items.finish_request(worker.services.db, request_id, query, results, active.version):
            return "deleted"
        return READY

    return run_work(worker, RecommendationRequest, request_id, body)
