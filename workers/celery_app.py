"""The Celery application: queues ``ingest`` and ``query``, JSON only, late acknowledgement.

Start a worker with ``celery -A workers.celery_app worker -Q ingest,query`` (settings from the
environment). Building the app connects to nothing and loads no model; the API uses the same
configuration to send tasks by name.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from kombu import Exchange, Queue

from backend.config import Settings
from backend.services.queue import INGEST_QUEUE, QUERY_QUEUE, TASK_QUEUES


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


def create_celery(settings: Settings) -> Celery:
    """Build the Celery app for ``settings``; the workers import ``workers.tasks`` through it."""
    app = Celery("speech2music", broker=settings.resolved_broker_url, include=["workers.tasks"], set_as_current=False)
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
        task_queues=tuple(
            Queue(name, Exchange(name, type="direct"), routing_key=name) for name in (INGEST_QUEUE, QUERY_QUEUE)
        ),
        task_default_queue=INGEST_QUEUE,
        task_routes={name: {"queue": queue} for name, queue in TASK_QUEUES.items()},
        broker_transport_options=broker_transport_options(settings),
        broker_connection_retry_on_startup=True,
        # The API must not hang when the broker is down: give up quickly, `s2m requeue` resends.
        task_publish_retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5},
        worker_hijack_root_logger=False,
        enable_utc=True,
    )
    app.s2m_settings = settings  # type: ignore[attr-defined]
    return app


def __getattr__(name: str) -> Celery:
    """Build ``app`` on first access (``celery -A workers.celery_app``), not at import time."""
    if name in ("app", "celery"):
        globals()["app"] = globals()["celery"] = create_celery(Settings.from_env())
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

