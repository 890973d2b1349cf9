"""The single-page web client served at ``/``: record or upload speech, browse the catalogue.

The page is plain HTML, CSS and JavaScript with no build step and nothing loaded from outside; it
talks to the same ``/v1`` API as every other client.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response

web = Blueprint("web", __name__, static_folder="static", static_url_path="/web")
# Nothing external is ever loaded, and no other site may frame the page; say so to the browser too.
PAGE_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; media-src 'self' blob:; img-src 'self' data:; style-src 'self'; script-src 'self';"
    " object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


@web.get("/")
def index() -> Response:
    """Serve the page."""
    response = web.send_static_file("index.html")
    response.headers["Content-Security-Policy"] = PAGE_CONTENT_SECURITY_POLICY
    return response


def init_app(app: Flask) -> None:
    """Register the web page on ``app``."""
    app.register_blueprint(web)
