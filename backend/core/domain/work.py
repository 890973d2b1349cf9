"""Queued work (a track to embed, a speech request to answer): its statuses and attempt rules."""

from __future__ import annotations

QUEUED = "queued"
PROCESSING = "processing"
READY = "ready"
FAILED = "failed"
WORK_STATUSES: tuple[str, ...] = (QUEUED, PROCESSING, READY, FAILED)
# Statuses of work that a worker still owes.
PENDING_STATUSES: tuple[str, ...] = (QUEUED, PROCESSING)
FINISHED_STATUSES: tuple[str, ...] = (READY, FAILED)


def attempts_exhausted(attempts: int, max_attempts: int) -> bool:
    """Whether work already started ``attempts`` times may not be started again."""
    return attempts >= max_attempts


def gave_up_message(attempts: int, last_error: str | None) -> str:
    """Explain why work ended failed after too many attempts."""
    reason = last_error or "the worker died or was stopped while processing it"
    return f"gave up after {attempts} attempts; last failure: {reason}"
