"""Sending work to the Celery workers by task name, so the API never imports the worker code."""

from __future__ import annotations

import logging
import uuid
from functools import cached_property
from typing import TYPE_CHECKING

from backend.config import Settings

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)

INGEST_QUEUE = "ingest"
QUERY_QUEUE = "query"
EMBED_TRACK_TASK = "s2m.embed_track"
ANSWER_REQUEST_TASK = "s2m.answer_request"
TASK_QUEUES = {EMBED_TRACK_TASK: INGEST_QUEUE, ANSWER_REQUEST_TASK: QUERY_QUEUE}


class TaskQueue:
    """Enqueue tasks; a broker that cannot be reached is reported as ``False``, not raised."""

    def __init__(self, settings: Settings, celery: "Celery | None" = None):
        self.settings = settings
        if celery is not None:
            self.__dict__["celery"] = celery

    @cached_property
    def celery(self) -> "Celery":
        from workers.celery_app import create_celery  # configuration only: no model code, no torch

        return create_celery(self.settings)

    def send(self, task_name: str, work_id: uuid.UUID) -> bool:
        """Enqueue ``task_name(work_id)`` on its queue; return False when the broker is unreachable."""
        try:
            self.celery.send_task(task_name, args=[str(work_id)], queue=TASK_QUEUES[task_name])
        except Exception as exc:  # kombu raises OperationalError and socket errors alike
            log.warning("could not enqueue %s(%s): %s; `s2m requeue` will retry it", task_name, work_id, exc)
            return False
        return True

    def embed_track(self, track_id: uuid.UUID) -> bool:
        return self.send(EMBED_TRACK_TASK, track_id)

    def answer_request(self, request_id: uuid.UUID) -> bool:
        return self.send(ANSWER_REQUEST_TASK, request_id)

    def ping(self) -> None:
        """Connect to the broker once; raises when it cannot be reached."""
        with self.celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
