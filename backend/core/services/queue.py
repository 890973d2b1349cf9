"""The message contract with the workers: queue and task names, the Celery configuration, sending.

The API sends tasks by name with a Celery app built here (configuration only: no task code, no
torch); the workers build theirs with the same function and add their task modules.
"""

from __future__ import annotations

import logging
import uuid
from functools import cached_property
from typing import Any

from celery import Celery, Task
from kombu import Exchange, Queue

from backend.core.config import Settings

log = logging.getLogger(__name__)

INGEST_QUEUE = "ingest"
QUERY_QUEUE = "query"
# Chunks of long recordings: consumed by the query workers too, on a queue of their own, so a
# short query is never queued behind the chunks of a three-hour file (it waits for one chunk at most).
TIMELINE_QUEUE = "timeline"
QUEUES = (INGEST_QUEUE, QUERY_QUEUE, TIMELINE_QUEUE)
EMBED_TRACK_TASK = "s2m.embed_track"
ANSWER_REQUEST_TASK = "s2m.answer_request"
TIMELINE_CHUNK_TASK = "s2m.timeline_chunk"
TASK_QUEUES = {EMBED_TRACK_TASK: INGEST_QUEUE, ANSWER_REQUEST_TASK: QUERY_QUEUE, TIMELINE_CHUNK_TASK: TIMELINE_QUEUE}


def broker_transport_options(settings: Settings) -> dict[str, Any]:
    """Transport options: folders for the filesystem broker; redelivery timeout for Redis."""
    if settings.resolved_broker_url.startswith("filesystem"):
        queue_folder = settings.broker_folder / "queue"
        processed = settings.broker_folder / "processed"
        control = settings.broker_folder / "control"  # broadcast exchanges (kombu's default is ./control)
        for folder in (queue_folder, processed, control):
            folder.mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(queue_folder),
            "data_folder_out": str(queue_folder),
            "processed_folder": str(processed),
            "control_folder": str(control),
            "store_processed": False,
            # How often an idle worker looks for new message files (kombu's default is 1 s).
            "polling_interval": 0.2,
        }
    # A task still unacknowledged this long after delivery (its worker died) is delivered again;
    # workers sweep for such tasks at start and then every few seconds.
    timeout = settings.broker_visibility_timeout
    return {
        "visibility_timeout": timeout,
        "unacked_restore_interval": max(1, min(10, timeout // 4)),
        "unacked_restore_throttle": 1,
        "global_keyprefix": settings.broker_key_prefix,
        "socket_connect_timeout": 3,
        "socket_timeout": 10,
    }


def create_celery(settings: Settings, include: tuple[str, ...] = (), task_cls: type[Task] | None = None) -> Celery:
    """Build the Celery app for ``settings``.

    The API sends with it as it is; workers add their task modules in ``include`` and their
    task base class (which carries the per-process worker context) as ``task_cls``.
    """
    app = Celery(
        "speech2music",
        broker=settings.resolved_broker_url,
        include=list(include),
        set_as_current=False,
        task_cls=task_cls or Task,
    )
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        # A task is acknowledged after it ran, and requeued when its worker process dies mid-task;
        # the attempts counted on the row stop a task that keeps killing its worker.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # Each queue has its own exchange and routing key, so a query never lands behind ingest work.
        task_queues=tuple(Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUES),
        task_default_queue=INGEST_QUEUE,
        task_routes={name: {"queue": queue} for name, queue in TASK_QUEUES.items()},
        broker_transport_options=broker_transport_options(settings),
        broker_connection_retry_on_startup=True,
        # The API must not hang when the broker is down: give up quickly, `s2m requeue` resends.
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5},
        worker_hijack_root_logger=False,
        enable_utc=True,
    )
    return app


class TaskQueue:
    """Enqueue tasks; a broker that cannot be reached is reported as ``False``, not raised."""

    def __init__(self, settings: Settings, celery: Celery | None = None):
        self.settings = settings
        if celery is not None:
            self.__dict__["celery"] = celery

    @cached_property
    def celery(self) -> Celery:
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

    def timeline_chunk(self, timeline_id: uuid.UUID) -> bool:
        """Enqueue the timeline's next chunk (the task reads which one from the row)."""
        return self.send(TIMELINE_CHUNK_TASK, timeline_id)

    def ping(self) -> None:
        """Connect to the broker once; raises when it cannot be reached."""
        with self.celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
