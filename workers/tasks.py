"""Celery tasks: thin wrappers that parse the id and call the plain functions in workers.pipeline.

``self.worker`` (from :class:`workers.celery_app.WorkerTask`) is created on a process's first
task, so each prefork child builds its own database pool, Qdrant client and model after the fork;
the parent only imports torch and registers the worker's model.
"""

from __future__ import annotations

import logging
import uuid

from celery import shared_task
from celery.signals import worker_init
from sqlalchemy.exc import OperationalError

from backend.core.services.queue import ANSWER_REQUEST_TASK, EMBED_TRACK_TASK, TIMELINE_CHUNK_TASK
from backend.core.storage.db import Database
from workers import pipeline, timeline
from workers.celery_app import WorkerTask, app_settings
from workers.registry import register_model_dir
from workers.signals import connect_worker_signals

log = logging.getLogger(__name__)

RETRY_OPTIONS = {
    "autoretry_for": pipeline.TRANSIENT,
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    # Attempts on the row end the work first; this only bounds retries while the database is down.
    "max_retries": 20,
}


@shared_task(bind=True, name=EMBED_TRACK_TASK, **RETRY_OPTIONS)
def embed_track(self: WorkerTask, track_id: str) -> str:
    """Embed one catalogue track."""
    return pipeline.embed_track(self.worker, uuid.UUID(track_id))


@shared_task(bind=True, name=ANSWER_REQUEST_TASK, **RETRY_OPTIONS)
def answer_request(self: WorkerTask, request_id: str) -> str:
    """Answer one speech recommendation request."""
    return pipeline.answer_request(self.worker, uuid.UUID(request_id))


@shared_task(bind=True, name=TIMELINE_CHUNK_TASK, **RETRY_OPTIONS)
def timeline_chunk(self: WorkerTask, timeline_id: str) -> str:
    """Analyse the next chunk of a long recording's timeline (the last one also builds its scenes)."""
    return timeline.timeline_chunk(self.worker, uuid.UUID(timeline_id))


@worker_init.connect
def _import_torch_before_fork(**_kwargs: object) -> None:
    """Import torch once in the parent so each forked child starts fast (no CUDA is touched)."""
    import ml.embedding.bundle  # noqa: F401


@worker_init.connect
def _register_model_at_start(sender: object = None, **_kwargs: object) -> None:
    """Store this worker's model (version, labels, prototypes) in the registry, where the API reads it."""
    settings = app_settings(sender.app) if hasattr(sender, "app") else None
    if settings is None:
        return
    db = Database.from_settings(settings)
    try:
        model = register_model_dir(db, settings.model_dir)
        log.info("registered model %s from %s", model.version, settings.model_dir)
    except OperationalError as exc:  # the first task registers it once the database answers
        log.warning("could not register the model at start: %s", exc)
    finally:
        db.dispose()  # nothing opened here survives into the forked children


# JSON logs with the track or request id of the running task (workers.signals).
connect_worker_signals()
