"""Headers every response carries: no MIME sniffing, no framing, no referrer; and no server version.

JSON responses get a policy that allows nothing (they are data, never a page); the web page sets its
own policy (backend.api.web) and this module leaves it alone.
"""

from __future__ import annotations

from flask import Flask, Response
from werkzeug.serving import WSGIRequestHandler

API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
SERVER_NAME = "speech2music"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class ApiRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler, saying ``Server: speech2music`` instead of Werkzeug's and Python's versions.

    The server, not the application, writes that header, so every Werkzeug server of the project
    (``s2m api``, the local stack, the tests) is made with this handler. Gunicorn names no version.
    """

    def version_string(self) -> str:
        return SERVER_NAME


def _secure(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    response.headers.setdefault("Content-Security-Policy", API_CONTENT_SECURITY_POLICY)
    return response


def init_app(app: Flask) -> None:
    """Add the security headers to every response of ``app``, errors included."""
    app.after_request(_secure)
