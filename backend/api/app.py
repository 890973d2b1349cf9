"""The Flask application factory."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from backend.api.forms import ApiRequest, body_limits
from backend.core.config import Settings
from backend.core.services.context import ServiceContext
from backend.core.services.queue import TaskQueue


class ApiJSONProvider(DefaultJSONProvider):
    """Flask's JSON, naming the type of anything it cannot encode instead of failing.

    spectree encodes its own validation answer (which the app replaces with its error body) before
    the app sees the error; an uploaded file among the inputs must not break that.
    """

    @staticmethod
    def default(o: Any) -> Any:
        try:
            return DefaultJSONProvider.default(o)
        except TypeError:
            return f"<{type(o).__name__}>"


def init_services(app: Flask, settings: Settings) -> None:
    """Give the app its settings, request size limit, Celery app and service context (nothing connects yet)."""
    from backend.api import celery_init_app

    app.extensions["s2m_settings"] = settings
    # The file itself is limited exactly (backend.api.forms); these bound the whole body and its fields.
    app.config.update(body_limits(settings.max_upload_bytes))
    queue = TaskQueue(settings, celery=celery_init_app(app))
    app.extensions["s2m"] = ServiceContext.from_settings(settings, queue)


def create_app(config: Settings | None = None) -> Flask:
    """Build the API application from ``config`` (default: settings from the environment)."""
    from backend import api
    from backend.api import auth, limits, observability, security, web

    settings = config or Settings.from_env()
    app = Flask(__name__, static_folder=None)
    app.json = ApiJSONProvider(app)
    app.request_class = ApiRequest
    init_services(app, settings)
    api.init_app(app)
    observability.init_app(app)
    # After the request id is given (so refusals are logged with it); keys before the limiter, which counts per key.
    auth.init_app(app)
    limits.init_app(app)
    security.init_app(app)
    web.init_app(app)
    if settings.allowed_origins:  # none by default: browsers then allow only the page's own origin
        from flask_cors import CORS

        CORS(
            app,
            origins=settings.allowed_origins,
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["Location", "Retry-After", "X-Request-ID"],
            max_age=600,
        )
    return app
