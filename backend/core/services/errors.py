"""Errors the services raise for the caller to report: each has a code and an HTTP status."""

from __future__ import annotations


class ServiceError(Exception):
    """A request that cannot be served; ``message`` is meant for the person who sent it."""

    code = "error"
    status = 500

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status


class NotFoundError(ServiceError):
    code = "not_found"
    status = 404


class InvalidInputError(ServiceError):
    code = "invalid_input"
    status = 422


class UnavailableError(ServiceError):
    code = "unavailable"
    status = 503


class QuotaExceededError(ServiceError):
    """The catalogue is full: CATALOGUE_MAX_TRACKS or CATALOGUE_MAX_BYTES."""

    code = "quota_exceeded"
    status = 413
