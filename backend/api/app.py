"""The Flask application factory."""

from __future__ import annotations

from flask import Flask

from backend.core.config import Settings
from backend.core.services.context import ServiceContext
from backend.core.services.queue import TaskQueue


def init_services(app: Flask, settings: Settings, queue: TaskQueue | None = None) -> None:
    """Give the app its settings, request size limit and service context (nothing connects yet)."""
    app.extensions["s2m_settings"] = settings
    # Room for the multipart envelope around the largest accepted file.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes + 64 * 1024
    app.extensions["s2m"] = ServiceContext.from_settings(settings, queue)


def create_app(config: Settings | None = None) -> Flask:
    """Build the API application from ``config`` (default: settings from the environment)."""
    from backend import api
    from backend.api import observability, web

    settings = config or Settings.from_env()
    app = Flask(__name__, static_folder=None)
    init_services(app, settings)
    api.init_app(app)
    observability.init_app(app)
    web.init_app(app)
    return app
