"""The workers' Celery application: the shared configuration plus this package's tasks.

Start a worker with ``celery -A workers.celery_app worker -Q ingest,query`` (settings from the
environment). Building the app connects to nothing and loads no model.
"""

from __future__ import annotations

from celery import Celery

from backend.core.config import Settings
from backend.core.services.queue import create_celery

TASK_MODULES = ("workers.tasks",)


def create_worker_celery(settings: Settings) -> Celery:
    """Build the worker's Celery app for ``settings``, with the task modules registered."""
    return create_celery(settings, include=TASK_MODULES)


def __getattr__(name: str) -> Celery:
    """Build ``app`` on first access (``celery -A workers.celery_app``), not at import time."""
    if name in ("app", "celery"):
        globals()["app"] = globals()["celery"] = create_worker_celery(Settings.from_env())
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
