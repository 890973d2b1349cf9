"""Run the whole service on one machine: the API in a thread and supervised Celery worker processes.

Used by ``s2m demo`` and ``s2m serve`` (and their tests) on the embedded default. The workers are
ordinary ``celery worker`` processes, so the demo exercises the code paths of a deployment: one
for speech queries (so a query never waits behind a bulk ingest) and one for the catalogue, with
as many pool processes as the machine has cores (``WORKER_CONCURRENCY``). The serving process owns
the embedded vector folder, and a supervisor thread watches the workers: a worker that exits is
restarted with a growing pause, and the work it held is sent again first (the filesystem broker
forgets a message once it hands it out), so nothing waits for a manual ``s2m requeue``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from werkzeug.serving import BaseWSGIServer, make_server

from backend.core.config import REPO_ROOT, Settings
from backend.core.services.context import ServiceContext

log = logging.getLogger(__name__)

WORKER_STOP_SECONDS = 30.0
SUPERVISE_INTERVAL = 0.2
# Restart pauses grow from the first to the last; a worker that ran this long counts as healthy again.
RESTART_PAUSES = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
HEALTHY_AFTER_SECONDS = 60.0
# This many deaths in a row, each soon after its start, mean the worker cannot run (a broken
# install, a bad model): stop trying and say so.
GIVE_UP_AFTER_QUICK_DEATHS = 5
QUICK_DEATH_SECONDS = 10.0


class LocalStackError(RuntimeError):
    """The local stack cannot start or keep running; the message says why."""


class WorkerDiedError(LocalStackError):
    """A worker keeps dying right after it starts; the supervisor gave up on it."""


def settings_environment(settings: Settings, base: dict[str, str] | None = None) -> dict[str, str]:
    """Return an environment that makes ``Settings.from_env()`` rebuild ``settings`` in a subprocess."""
    environ = {**(os.environ if base is None else base), **settings.environment()}
    environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), environ.get("PYTHONPATH")]))
    return environ


@dataclass(frozen=True)
class WorkerSpec:
    """One supervised worker: its name, its queues, and how many pool processes run its tasks."""

    name: str
    queues: tuple[str, ...]
    concurrency: int

    @property
    def kinds(self) -> tuple[str, ...]:
        """Which work (tracks, requests, timelines) this worker's queues carry."""
        carried = (("ingest", "tracks"), ("query", "requests"), ("timeline", "timelines"))
        return tuple(kind for queue, kind in carried if queue in self.queues)


def default_workers(settings: Settings) -> tuple[WorkerSpec, ...]:
    """A query worker (one process, also making timelines chunk by chunk) and a catalogue worker sized to the
    machine."""
    return (
        WorkerSpec("query", ("query", "timeline"), 1),
        WorkerSpec("ingest", ("ingest",), settings.resolved_worker_concurrency),
    )


class SupervisedWorker:
    """One ``celery worker`` subprocess, in a process group of its own, and its restart history."""

    def __init__(self, spec: WorkerSpec, settings: Settings):
        self.spec = spec
        self.settings = settings
        self.log_path = settings.data_dir / f"worker-{spec.name}.log"
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0
        self.restarts = 0
        self.quick_deaths = 0
        self.gave_up: str | None = None

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.celery_app",
            "worker",
            "-Q",
            ",".join(self.spec.queues),
            "--pool",
            "prefork" if self.spec.concurrency > 1 else "solo",
            "--concurrency",
            str(self.spec.concurrency),
            "--loglevel",
            "INFO",
            "--hostname",
            f"{self.spec.name}-{os.getpid()}@%h",
        ]

    def start(self) -> None:
        with self.log_path.open("ab") as log_file:
            # A session of its own: stopping it never signals the caller's terminal, and its pool
            # processes can be cleared as one group if the main worker process dies.
            self.process = subprocess.Popen(
                self.command(),
                env=settings_environment(self.settings),
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT,
                start_new_session=True,
            )
        self.started_at = time.monotonic()

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def clear_group(self) -> None:
        """Kill what is left of the worker's process group (pool processes of a dead main process)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):  # nothing left
                os.killpg(self.process.pid, signal.SIGKILL)

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """Warm shutdown (it finishes its task), then whatever is left of its group is killed."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(WORKER_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                self.clear_group()
                self.process.wait()
        self.clear_group()


class LocalStack:
    """API server thread plus supervised worker processes; a context manager that always stops them."""

    def __init__(
        self,
        settings: Settings,
        host: str = "127.0.0.1",
        port: int = 0,
        workers: Sequence[WorkerSpec] | None = None,
    ):
        self.settings = settings
        self.host, self.port = host, port
        self.api_log = settings.data_dir / "api.log"
        self.workers = [SupervisedWorker(spec, settings) for spec in (workers or default_workers(settings))]
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._context: ServiceContext | None = None
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "the stack is not started"
        return f"http://{self.host}:{self._server.server_port}"

    @property
    def worker_logs(self) -> str:
        return ", ".join(str(w.log_path) for w in self.workers)

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
        """Migrate the database, start serving the API, start and supervise the workers."""
        from backend.api.app import create_app
        from backend.api.security import ApiRequestHandler
        from backend.core.logging import configure_logging
        from backend.core.storage.db import upgrade_database

        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade_database(self.settings.resolved_database_url)
        app = create_app(self.settings)
        self._context = app.extensions["s2m"]
        # The serving process owns the embedded vector folder and serves it to the workers, so a
        # worker that dies or restarts never takes the shards with it.
        self._context.vectors.own()
        # The API logs to a file beside the workers', leaving the terminal to the caller's output.
        configure_logging(self.settings.log_json, filename=self.api_log)
        try:
            self._server = make_server(self.host, self.port, app, threaded=True, request_handler=ApiRequestHandler)
        except OSError as exc:
            raise LocalStackError(f"cannot listen on {self.host}:{self.port}: {exc.strerror}") from exc
        self._thread = threading.Thread(target=self._server.serve_forever, name="s2m-api", daemon=True)
        self._thread.start()
        for worker in self.workers:
            worker.start()
        self._supervisor = threading.Thread(target=self._supervise, name="s2m-supervisor", daemon=True)
        self._supervisor.start()

    def _supervise(self) -> None:
        while not self._stopping.wait(SUPERVISE_INTERVAL):
            for worker in self.workers:
                if worker.gave_up is None and worker.exited() and not self._stopping.is_set():
                    self._recover(worker)

    def _recover(self, worker: SupervisedWorker) -> None:
        """Send the dead worker's work again, then restart it after a pause that grows with each death."""
        assert worker.process is not None
        lived = time.monotonic() - worker.started_at
        status = worker.process.returncode
        worker.clear_group()
        if lived >= HEALTHY_AFTER_SECONDS:
            worker.restarts = 0
        worker.quick_deaths = worker.quick_deaths + 1 if lived < QUICK_DEATH_SECONDS else 0
        if worker.quick_deaths >= GIVE_UP_AFTER_QUICK_DEATHS:
            worker.gave_up = f"the {worker.spec.name} worker died {worker.quick_deaths} times right after starting"
            log.error("%s; last lines of %s:\n%s", worker.gave_up, worker.log_path, worker.log_tail())
            return
        pause = RESTART_PAUSES[min(worker.restarts, len(RESTART_PAUSES) - 1)]
        log.warning(
            "the %s worker exited (status %s) after %.0f s; restarting in %g s", worker.spec.name, status, lived, pause
        )
        if self._stopping.wait(pause):
            return
        # No process of this worker runs now, so everything it had started is orphaned: send its
        # pending work again (a copy of a message still queued is skipped when it arrives).
        self._requeue(worker.spec.kinds)
        worker.restarts += 1
        worker.start()

    def _requeue(self, kinds: tuple[str, ...]) -> None:
        from backend.core.services.maintenance import requeue

        assert self._context is not None
        try:
            report = requeue(self._context, datetime.now(UTC), 0.0, kinds=kinds)
        except Exception:  # the database is down: the restarted worker and `s2m requeue` pick it up later
            log.exception("could not send the dead worker's work again")
            return
        log.warning(
            "sent again after a worker died: %d track(s), %d request(s)", len(report.tracks), len(report.requests)
        )

    def check_workers(self) -> None:
        """Raise :class:`WorkerDiedError` (with the log's tail) if the supervisor gave up on a worker."""
        for worker in self.workers:
            if worker.gave_up is not None:
                raise WorkerDiedError(f"{worker.gave_up}; last lines of {worker.log_path}:\n{worker.log_tail()}")

    def sleep(self, seconds: float) -> None:
        """Sleep, but fail fast if a worker cannot be kept running."""
        self.check_workers()
        time.sleep(seconds)

    def stop(self) -> None:
        """Stop supervising, stop the workers (warm shutdown: each finishes its task) and the API server."""
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.join(WORKER_STOP_SECONDS)
        for worker in self.workers:
            worker.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._context is not None:
            self._context.close()
            self._context = None
