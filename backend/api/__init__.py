"""HTTP API: one blueprint module per resource, JSON bodies, JSON errors."""

from __future__ import annotations

from celery import Celery
from flask import Flask, current_app
from pydantic import BaseModel

from backend.core.services.context import ServiceContext
from backend.core.services.queue import create_celery


def init_app(app: Flask) -> None:
    """Register every blueprint and the JSON error handlers."""
    from backend.api import (
        emotions,
        errors,
        health,
        keys,
        metrics,
        openapi,
        recommendations,
        search,
        timelines,
        tracks,
    )

    errors.init_app(app)
    metrics.init_app(app)
    for module in (tracks, recommendations, timelines, search, emotions, keys, health, openapi):
        app.register_blueprint(module.blueprint)


def celery_init_app(app: Flask) -> Celery:
    """Give the app the Celery app it sends tasks with (configuration only: no task code, no torch)."""
    celery = create_celery(app.extensions["s2m_settings"])
    app.extensions["celery"] = celery
    return celery


def service_context() -> ServiceContext:
    return current_app.extensions["s2m"]


def respond(body: BaseModel, status: int = 200, headers: dict[str, str] | None = None):
    """Serialise a response model as the JSON body."""
    return current_app.response_class(
        body.model_dump_json(), status=status, headers=headers, mimetype="application/json"
    )
