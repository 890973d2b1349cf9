"""Run the whole service on one machine: the API in a thread and a Celery worker subprocess.

Used by ``s2m demo`` (and its tests) on the embedded default; the worker is an ordinary
``celery worker`` process, so the demo exercises the same code paths as a deployment.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

from werkzeug.serving import BaseWSGIServer, make_server

from backend.core.config import REPO_ROOT, Settings

WORKER_STOP_SECONDS = 30.0


class LocalStackError(RuntimeError):
    """The local stack cannot start or keep running; the message says why."""


class WorkerDiedError(LocalStackError):
    """The worker subprocess exited while work was still expected of it."""


def settings_environment(settings: Settings, base: dict[str, str] | None = None) -> dict[str, str]:
    """Return an environment that makes ``Settings.from_env()`` rebuild ``settings`` in a subprocess."""
    environ = {**(os.environ if base is None else base), **settings.environment()}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), environ.get("PYTHONPATH")]))
    return environ


class LocalStack:
    """API server thread plus one worker process; a context manager that always stops both."""

    def __init__(self, settings: Settings, host: str = "127.0.0.1", port: int = 0, queues: str = "ingest,query"):
        self.settings = settings
        self.host, self.port, self.queues = host, port, queues
        self.worker_log = settings.data_dir / "worker.log"
        self.api_log = settings.data_dir / "api.log"
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.worker: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "the stack is not started"
        return f"http://{self.host}:{self._server.server_port}"

    def __enter__(self) -> LocalStack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Migrate the database, start serving the API, start the worker."""
        from backend.api.app import create_app
        from backend.api.security import ApiRequestHandler
        from backend.core.logging import configure_logging
        from backend.core.storage.db import upgrade_database

        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade_database(self.settings.resolved_database_url)
        app = create_app(self.settings)
        # The serving process owns the embedded vector folder and serves it to its workers, so a
        # worker that dies or restarts never takes the shards with it.
        app.extensions["s2m"].vectors.own()
        # The API logs to a file beside the worker's, leaving the terminal to the caller's output.
        configure_logging(self.settings.log_json, filename=self.api_log)
        try:
            self._server = make_server(self.host, self.port, app, threaded=True, request_handler=ApiRequestHandler)
        except OSError as exc:
            raise LocalStackError(f"cannot listen on {self.host}:{self.port}: {exc.strerror}") from exc
        self._thread = threading.Thread(target=self._server.serve_forever, name="s2m-api", daemon=True)
        self._thread.start()
        self.worker = self._start_worker()

    def _start_worker(self) -> subprocess.Popen:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.celery_app",
            "worker",
            "-Q",
            self.queues,
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--hostname",
            f"demo-{os.getpid()}@%h",
        ]
        with self.worker_log.open("ab") as log:
            # A session of its own, so stopping it never signals the caller's terminal group.
            return subprocess.Popen(
                command,
                env=settings_environment(self.settings),
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT,
                start_new_session=True,
            )

    def check_worker(self) -> None:
        """Raise :class:`WorkerDiedError` (with the log's tail) if the worker has exited."""
        if self.worker is not None and self.worker.poll() is not None:
            tail = self.worker_log.read_text(errors="replace").splitlines()[-15:]
            raise WorkerDiedError(
                f"the worker exited with status {self.worker.returncode}; last lines of {self.worker_log}:\n"
                + "\n".join(tail)
            )

    def sleep(self, seconds: float) -> None:
        """Sleep, but fail fast if the worker has died meanwhile."""
        self.check_worker()
        time.sleep(seconds)

    def stop(self) -> None:
        """Stop the worker (warm shutdown: it finishes its task) and the API server."""
        if self.worker is not None and self.worker.poll() is None:
            self.worker.send_signal(signal.SIGTERM)
            try:
                self.worker.wait(WORKER_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.worker.pid, signal.SIGKILL)
                self.worker.wait()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
