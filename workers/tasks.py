"""Celery tasks: thin wrappers that parse the id and call the plain functions in workers.pipeline.

The worker context (database pool, Qdrant client, model) is created on a process's first task, so
each prefork child builds its own after the fork; the parent only imports torch.
"""

from __future__ import annotations

import uuid

from celery import shared_task
from celery.signals import worker_init

from backend.core.services.queue import ANSWER_REQUEST_TASK, EMBED_TRACK_TASK
from workers import pipeline
from workers.context import worker_context
from workers.signals import connect_worker_signals

RETRY_OPTIONS = {
    "autoretry_for": pipeline.TRANSIENT,
    "retry_backoff": 2,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    # Attempts on the row end the work first; this only bounds retries while the database is down.
    "max_retries": 20,
}


@shared_task(bind=True, name=EMBED_TRACK_TASK, **RETRY_OPTIONS)
def embed_track(self, track_id: str) -> str:
    """Embed one catalogue track."""
    return pipeline.embed_track(worker_context(self.app), uuid.UUID(track_id))


@shared_task(bind=True, name=ANSWER_REQUEST_TASK, **RETRY_OPTIONS)
def answer_request(self, request_id: str) -> str:
    """Answer one speech recommendation request."""
    return pipeline.answer_request(worker_context(self.app), uuid.UUID(request_id))


@worker_init.connect
def _import_torch_before_fork(**_kwargs: object) -> None:
    """Import torch once in the parent so each forked child starts fast (no CUDA is touched)."""
    import ml.embedding.bundle  # noqa: F401


# JSON logs with the track or request id of the running task (workers.signals).
connect_worker_signals()
