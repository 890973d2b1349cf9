"""The Flask application factory."""

from __future__ import annotations

from flask import Flask

from backend.config import Settings


def create_app(config: Settings | None = None) -> Flask:
    """Build the API application from ``config`` (default: settings from the environment)."""
    settings = config or Settings.from_env()
    app = Flask(__name__)
    app.extensions["s2m_settings"] = settings

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
