"""The workers' Celery application: the shared configuration, this package's tasks, and a task base
class that carries the per-process worker context (the Flask way: a small ``Task`` subclass).

Start a worker with ``celery -A workers.celery_app worker -Q ingest,query,timeline`` (settings from the
environment). Building the app connects to nothing and loads no model.
"""

from __future__ import annotations

import os
from typing import ClassVar

from celery import Celery, Task

from backend.core.config import Settings
from backend.core.services.queue import create_celery
from workers.context import WorkerContext

TASK_MODULES = ("workers.tasks",)


class ProcessContext:
    """One :class:`WorkerContext` per process, made on first use (so each prefork child makes its own)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._context: WorkerContext | None = None
        self._pid = 0

    def get(self) -> WorkerContext:
        if self._context is None or self._pid != os.getpid():
            self._context, self._pid = WorkerContext(self.settings), os.getpid()
        return self._context


class WorkerTask(Task):
    """Base of every worker task: ``self.worker`` is this process's context (database, Qdrant, model)."""

    settings: ClassVar[Settings]
    process_context: ClassVar[ProcessContext]

    @property
    def worker(self) -> WorkerContext:
        return self.process_context.get()


def worker_task_class(settings: Settings) -> type[WorkerTask]:
    """A :class:`WorkerTask` subclass bound to ``settings``, shared by all tasks of one app."""
    return type(
        "SettingsWorkerTask", (WorkerTask,), {"settings": settings, "process_context": ProcessContext(settings)}
    )


def create_worker_celery(settings: Settings) -> Celery:
    """Build the worker's Celery app for ``settings``, with the task modules and the task base class."""
    return create_celery(settings, include=TASK_MODULES, task_cls=worker_task_class(settings))


def app_settings(app: Celery) -> Settings | None:
    """The settings a worker app was built with (None for an app built elsewhere)."""
    return getattr(app.Task, "settings", None)


def __getattr__(name: str) -> Celery:
    """Build ``app`` on first access (``celery -A workers.celery_app``), not at import time."""
    if name in ("app", "celery"):
        globals()["app"] = globals()["celery"] = create_worker_celery(Settings.from_env())
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
