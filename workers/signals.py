"""Worker logs: configure logging when the worker starts, and tag each task's records with its ids."""

from __future__ import annotations

import contextvars
import logging
import time

from celery.signals import task_postrun, task_prerun, worker_init

from backend.core.logging import bind_log_ids, configure_logging, unbind_log_ids
from backend.core.services.queue import ANSWER_REQUEST_TASK, EMBED_TRACK_TASK

log = logging.getLogger(__name__)

# Which log field names the id a task is called with.
TASK_ID_FIELDS = {EMBED_TRACK_TASK: "track_id", ANSWER_REQUEST_TASK: "request_id"}
_running_tasks: dict[str, tuple[contextvars.Token, float]] = {}


def _configure_worker_logging(sender: object = None, **_kwargs: object) -> None:
    app = getattr(sender, "app", None)
    settings = getattr(app.Task, "settings", None) if app is not None else None
    configure_logging(bool(settings and settings.log_json))


def _enter_task(task_id: str, task: object, args: tuple = (), **_kwargs: object) -> None:
    ids = {"task_id": task_id}
    field = TASK_ID_FIELDS.get(getattr(task, "name", ""))
    if field and args:
        ids[field] = str(args[0])
    _running_tasks[task_id] = (bind_log_ids(**ids), time.perf_counter())
    log.info("task %s started", getattr(task, "name", "?"))


def _leave_task(task_id: str, task: object, state: str | None = None, **_kwargs: object) -> None:
    token, started = _running_tasks.pop(task_id, (None, time.perf_counter()))
    log.info(
        "task %s finished: %s",
        getattr(task, "name", "?"),
        state,
        extra={"state": state, "duration_ms": round((time.perf_counter() - started) * 1000, 1)},
    )
    if token is not None:
        unbind_log_ids(token)


def connect_worker_signals() -> None:
    """In a worker: configure logging at start, and tag every task's log records with its ids."""
    worker_init.connect(_configure_worker_logging, weak=False)
    task_prerun.connect(_enter_task, weak=False)
    task_postrun.connect(_leave_task, weak=False)
