"""A small HTTP client for the speech2music API, used by the ``s2m`` client commands and the demo."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from backend.core.domain.work import FINISHED_STATUSES

# Connection failures and "try again" answers are retried; uploads are safe to repeat because the
# API deduplicates by content.
_RETRY = Retry(
    total=3,
    backoff_factor=0.3,
    status_forcelist=(502, 503, 504),
    allowed_methods=None,
    raise_on_status=False,
)


class ApiError(RuntimeError):
    """The API answered with an error, or could not be reached; the message says which."""

    def __init__(self, message: str, status: int | None = None, code: str = "unreachable"):
        super().__init__(message)
        self.status = status
        self.code = code


class ApiClient:
    """Talk to one API base URL; safe to share between threads (one HTTP session per thread)."""

    def __init__(self, base_url: str, timeout: float = 60.0, api_key: str | None = None):
        if not base_url.startswith(("http://", "https://")):
            raise ApiError(f"API URL must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.api_key = api_key
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = HTTPAdapter(max_retries=_RETRY)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            if self.api_key:
                session.headers["Authorization"] = f"Bearer {self.api_key}"
            self._local.session = session
        return session

    def request(self, method: str, path: str, timeout: float | None = None, **kwargs: Any) -> requests.Response:
        """Send a request; raise :class:`ApiError` for transport failures and 4xx/5xx answers."""
        url = f"{self.base_url}{path}"
        try:
            response = self._session().request(method, url, timeout=timeout or self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise ApiError(f"cannot reach the API at {url}: {exc}") from exc
        if response.status_code >= 400:
            raise _error_from(response)
        return response

    def upload_track(self, path: Path, fields: Mapping[str, str] | None = None) -> tuple[dict, bool]:
        """Upload one audio file; return the track and whether it was new (202) or known (200)."""
        content = path.read_bytes()
        response = self.request("POST", "/v1/tracks", files={"file": (path.name, content)}, data=dict(fields or {}))
        return response.json(), response.status_code == 202

    def get_track(self, track_id: str) -> dict:
        """Return one track object."""
        return self.request("GET", f"/v1/tracks/{track_id}").json()

    def iter_tracks(self, **filters: str) -> Iterator[dict]:
        """Yield every track matching ``filters``, following the pagination cursor."""
        params: dict[str, str] = {"limit": "500", **filters}
        while True:
            page = self.request("GET", "/v1/tracks", params=params).json()
            yield from page["items"]
            if not page.get("next_cursor"):
                return
            params["cursor"] = page["next_cursor"]

    def recommend(self, path: Path, fields: Mapping[str, str]) -> dict:
        """Post a speech clip for recommendations; return the queued request object."""
        response = self.request(
            "POST", "/v1/recommendations", files={"file": (path.name, path.read_bytes())}, data=dict(fields)
        )
        return response.json()

    def wait_for_recommendation(self, request_id: str, timeout: float) -> dict:
        """Poll the request with ``?wait=`` until it is ready or failed, or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            wait = max(0, min(30, int(remaining)))
            # The server holds the request up to `wait` seconds; give the HTTP call a bit longer.
            answer = self.request(
                "GET", f"/v1/recommendations/{request_id}", params={"wait": str(wait)}, timeout=wait + 30
            ).json()
            if answer["status"] in FINISHED_STATUSES or remaining <= 0:
                return answer
            if wait == 0:
                time.sleep(0.2)

    def create_timeline(self, path: Path, fields: Mapping[str, str]) -> dict:
        """Post a long recording for an emotion timeline; return the queued timeline object."""
        with path.open("rb") as handle:
            response = self.request(
                "POST", "/v1/timelines", files={"file": (path.name, handle)}, data=dict(fields), timeout=600
            )
        return response.json()

    def wait_for_timeline(
        self, timeline_id: str, timeout: float, on_progress: Callable[[dict], None] | None = None
    ) -> dict:
        """Poll the timeline with ``?wait=`` until it is ready or failed, or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            wait = max(0, min(2, int(remaining)))  # short waits, so the progress shows
            answer = self.request(
                "GET", f"/v1/timelines/{timeline_id}", params={"wait": str(wait)}, timeout=wait + 30
            ).json()
            if on_progress is not None:
                on_progress(answer)
            if answer["status"] in FINISHED_STATUSES or remaining <= 0:
                return answer
            if wait == 0:
                time.sleep(0.2)


def _error_from(response: requests.Response) -> ApiError:
    """Turn an error answer (JSON ``{"error": {"code", "message"}}`` or anything else) into ApiError."""
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
    except (ValueError, KeyError, TypeError):
        code, message = "http_error", response.text.strip()[:200] or response.reason
    return ApiError(f"HTTP {response.status_code} {code}: {message}", status=response.status_code, code=code)
