"""Running the real service for tests: a Celery worker subprocess and the API on a local port."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import requests
from werkzeug.serving import make_server

from backend.api.app import create_app
from backend.api.security import ApiRequestHandler
from backend.core.config import Settings
from backend.core.services.context import ServiceContext
from s2m.local_stack import settings_environment

REPO_ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def wait_until(probe: Callable[[], T], timeout: float, interval: float = 0.2, what: str = "condition") -> T:
    """Call ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment variables that make ``Settings.from_env()`` rebuild ``settings``."""
    return {**settings_environment(settings), "HF_HUB_OFFLINE": "1"}


def run_cli(settings: Settings, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``s2m ARGS`` in a subprocess with ``settings`` as its environment."""
    return subprocess.run(
        [sys.executable, "-m", "s2m.cli", *args],
        env=settings_env(settings),
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class WorkerProcess:
    """One ``celery worker`` (prefork, one child) consuming both queues, logging to a file."""

    def __init__(
        self,
        settings: Settings,
        log_path: Path,
        app_module: str = "workers.celery_app",
        extra_env: dict[str, str] | None = None,
    ):
        self.settings = settings
        self.log_path = log_path
        self.app_module = app_module  # a test-only worker module (fault injection) may stand in
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    def start(self, timeout: float = 90) -> None:
        self._log_offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    self.app_module,
                    "worker",
                    "-Q",
                    "ingest,query,timeline",
                    "-c",
                    "1",
                    "-P",
                    "prefork",
                    "--without-mingle",
                    "--without-gossip",
                    "--without-heartbeat",
                    "-l",
                    "INFO",
                ],
                env={**settings_env(self.settings), **self.extra_env},
                cwd=REPO_ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() takes the pool children too
            )
        wait_until(lambda: " ready." in self.new_log() or self._exited(), timeout, 0.2, "the worker to start")
        assert not self._exited(), f"the worker exited:\n{self.new_log()}"

    def _exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def new_log(self) -> str:
        if not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace")

    def child_pids(self) -> list[int]:
        """The pool processes (pids of the worker's children)."""
        assert self.process is not None
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True)
        return [int(pid) for pid in out.stdout.split()]

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once, as a crash or OOM kill would."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        """Shut the worker down cold (SIGQUIT: a task in flight stays unacknowledged and is redelivered)."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGQUIT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None


class ApiServer:
    """The Flask app served by Werkzeug in a thread on a free port."""

    def __init__(self, settings: Settings):
        self.app = create_app(settings)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=ApiRequestHandler)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> ApiServer:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


@dataclasses.dataclass
class Stack:
    """A running service: settings, the API's URL, its worker and a service context to inspect state."""

    name: str
    settings: Settings
    base_url: str
    worker: WorkerProcess
    context: ServiceContext
    api_key: str = ""  # every scope, for the test catalogue; ``http`` sends it
    http: requests.Session = dataclasses.field(default_factory=requests.Session)

    def url(self, path: str) -> str:
        return self.base_url + path

    def wait_track(self, track_id: str, timeout: float = 120, statuses: tuple[str, ...] = ("ready", "failed")) -> dict:
        def probe() -> dict | None:
            body = self.http.get(self.url(f"/v1/tracks/{track_id}")).json()
            return body if body["status"] in statuses else None

        return wait_until(probe, timeout, 0.2, f"track {track_id} to reach {statuses}")

    def active_collection(self) -> str:
        from backend.core.services.search import active_model_version

        return active_model_version(self.context).collection
