"""A worker for fault tests (test code only): every task sleeps after marking its item processing.

Run as ``celery -A tests.workers.fault_injection worker ...`` with ``TEST_TASK_DELAY_SECONDS`` set:
it is the production worker app, with :func:`backend.core.services.work_items.start` wrapped so
that a started task stays in ``processing`` long enough for a test to kill its worker.
"""

from __future__ import annotations

import functools
import os
import time

from backend.core.config import Settings
from backend.core.services import work_items
from workers.celery_app import create_worker_celery

DELAY_VARIABLE = "TEST_TASK_DELAY_SECONDS"


def slow_start(delay_seconds: float):
    """Wrap ``work_items.start``: after a real start, wait ``delay_seconds`` before the work goes on."""
    start = work_items.start

    @functools.wraps(start)
    def start_then_wait(*args, **kwargs):
        outcome = start(*args, **kwargs)
        if not isinstance(outcome, str):  # it started (not skipped, not given up)
            time.sleep(delay_seconds)
        return outcome

    return start_then_wait


work_items.start = slow_start(float(os.environ.get(DELAY_VARIABLE, "0")))
app = create_worker_celery(Settings.from_env())
