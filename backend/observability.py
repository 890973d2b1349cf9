"""Structured logs with request/track ids, and the service-level Prometheus metrics.

Logs: one line per record, JSON when ``LOG_JSON`` is on, each carrying the ids of the work it is
about: ``request_id`` for an HTTP request (taken from ``X-Request-ID`` or made up, and echoed
back), ``track_id`` / ``request_id`` inside worker tasks (set with :func:`log_context`).

Metrics: the API already counts and times HTTP requests (backend.api.metrics). This module adds
what the workers do, read where every process can see it, so the numbers reach the API's
``/metrics`` even when the workers run on other hosts: queue depth from the broker, and task
durations, failures and embedding throughput from the database rows the workers write.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import redis
from flask import Flask, Response, g, has_request_context, request
from kombu.transport.redis import Channel as RedisChannel
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from backend.domain.work import FAILED, FINISHED_STATUSES, READY
from backend.services.context import ServiceContext
from backend.services.queue import ANSWER_REQUEST_TASK, EMBED_TRACK_TASK, INGEST_QUEUE, QUERY_QUEUE
from backend.storage.models import RecommendationRequest, Track

log = logging.getLogger(__name__)

# Ids that may come from a client header: short, and nothing that could forge a log line.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_CONTEXT: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("s2m_log_context", default={})
_HANDLER_NAME = "s2m"
# Which log field names the id a task is called with.
TASK_ID_FIELDS = {EMBED_TRACK_TASK: "track_id", ANSWER_REQUEST_TASK: "request_id"}
WORK_KINDS = {"track": Track, "recommendation": RecommendationRequest}
# Submission-to-result seconds: a speech query should land in the first buckets, a long track later.
DURATION_BUCKETS = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
THROUGHPUT_WINDOW = timedelta(seconds=60)


# ---- Logs -----------------------------------------------------------------------------------------

@contextmanager
def log_context(**ids: object) -> Iterator[None]:
    """Attach ids (``track_id=...``, ``request_id=...``) to every log record inside the block."""
    token = _CONTEXT.set({**_CONTEXT.get(), **{name: str(value) for name, value in ids.items()}})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


class ContextFilter(logging.Filter):
    """Copy the current ids onto each record (the HTTP request's, then any set by log_context)."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = dict(_CONTEXT.get())
        if has_request_context() and "request_id" in g:
            ids.setdefault("request_id", g.request_id)
        for name, value in ids.items():
            setattr(record, name, value)
        record.ids = " ".join(f"{name}={value}" for name, value in sorted(ids.items()))
        return True


def configure_logging(json_lines: bool, level: int = logging.INFO, filename: Path | None = None) -> None:
    """Send every logger's records to stderr (or ``filename``), as JSON lines or plain text; safe to call again."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(handler)
        handler.close()
    handler = logging.FileHandler(filename) if filename else logging.StreamHandler()
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(ContextFilter())
    if json_lines:
        # The ids travel as their own fields; the joined `ids` text is for the plain format only.
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                           rename_fields={"levelname": "level", "name": "logger"},
                                           reserved_attrs=[*RESERVED_ATTRS, "ids"]))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s %(ids)s"))
    root.addHandler(handler)
    root.setLevel(level)


def _install_request_ids(app: Flask) -> None:
    access = logging.getLogger("backend.access")

    @app.before_request
    def _assign_request_id() -> None:
        supplied = request.headers.get("X-Request-ID", "")
        g.request_id = supplied if _REQUEST_ID.match(supplied) else uuid.uuid4().hex
        g.observability_started = time.perf_counter()

    @app.after_request
    def _log_request(response: Response) -> Response:
        response.headers["X-Request-ID"] = g.get("request_id", "")
        started = g.get("observability_started")
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
        access.info("%s %s %s", request.method, request.path, response.status_code,
                    extra={"method": request.method, "path": request.path, "status": response.status_code,
                           "duration_ms": elapsed_ms})
        return response


# ---- Worker logs ----------------------------------------------------------------------------------

_running_tasks: dict[str, tuple[contextvars.Token, float]] = {}


def _configure_worker_logging(sender: object = None, **_kwargs: object) -> None:
    settings = getattr(getattr(sender, "app", None), "s2m_settings", None)
    configure_logging(bool(settings and settings.log_json))


def _enter_task(task_id: str, task: object, args: tuple = (), **_kwargs: object) -> None:
    ids = {"task_id": task_id}
    field = TASK_ID_FIELDS.get(getattr(task, "name", ""))
    if field and args:
        ids[field] = str(args[0])
    token = _CONTEXT.set({**_CONTEXT.get(), **ids})
    _running_tasks[task_id] = (token, time.perf_counter())
    log.info("task %s started", getattr(task, "name", "?"))


def _leave_task(task_id: str, task: object, state: str | None = None, **_kwargs: object) -> None:
    token, started = _running_tasks.pop(task_id, (None, time.perf_counter()))
    log.info("task %s finished: %s", getattr(task, "name", "?"), state,
             extra={"state": state, "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
    if token is not None:
        _CONTEXT.reset(token)


def connect_worker_signals() -> None:
    """In a worker: configure logging at start, and tag every task's log records with its ids."""
    from celery.signals import task_postrun, task_prerun, worker_init

    worker_init.connect(_configure_worker_logging, weak=False)
    task_prerun.connect(_enter_task, weak=False)
    task_postrun.connect(_leave_task, weak=False)


# ---- Metrics ------------------------------------------------------------------------------------

def _seconds_between(start: ColumnElement, end: ColumnElement, dialect: str) -> ColumnElement:
    """SQL for ``end - start`` in seconds on PostgreSQL and SQLite."""
    if dialect == "sqlite":
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return func.extract("epoch", end - start)


class WorkerMetricsCollector(Collector):
    """Queue depth from the broker; task durations, failures and throughput from the database."""

    def __init__(self, context: ServiceContext, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.context = context
        self.clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | HistogramMetricFamily]:
        yield from self._queue_depth()
        yield from self._from_database()

    def queue_depths(self) -> dict[str, int]:
        """Return the number of messages waiting in each queue: Redis list lengths, or broker files."""
        celery = self.context.queue.celery
        options = celery.conf.broker_transport_options or {}
        url = self.context.settings.resolved_broker_url
        if url.startswith(("redis://", "rediss://")):
            prefix = options.get("global_keyprefix", "")
            # Kombu keeps prioritised messages in sibling lists named queue + separator + priority.
            suffixes = [""] + [f"{RedisChannel.sep}{step}" for step in RedisChannel.priority_steps if step]
            client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
            try:
                return {q: sum(client.llen(f"{prefix}{q}{s}") for s in suffixes) for q in (INGEST_QUEUE, QUERY_QUEUE)}
            finally:
                client.close()
        if url.startswith("filesystem"):
            names = [p.name for p in Path(options["data_folder_in"]).iterdir()]
            return {q: sum(1 for n in names if n.endswith(f".{q}.msg")) for q in (INGEST_QUEUE, QUERY_QUEUE)}
        raise ValueError(f"cannot read queue depth from broker {url.split('://')[0]!r}")

    def _queue_depth(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("s2m_queue_depth", "Tasks waiting in each broker queue", labels=["queue"])
        try:
            for queue, depth in self.queue_depths().items():
                gauge.add_metric([queue], depth)
        except Exception as exc:  # an unreachable broker must not break the whole scrape
            log.warning("cannot read queue depth from the broker: %s", exc)
        yield gauge

    def _from_database(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | HistogramMetricFamily]:
        failures = CounterMetricFamily("s2m_task_failures", "Work items that ended failed", labels=["kind"])
        durations = HistogramMetricFamily(
            "s2m_task_duration_seconds",
            "Seconds from submission to a finished result (queue wait plus processing), per finished item",
            labels=["kind"],
        )
        rate = GaugeMetricFamily("s2m_embeddings_per_second",
                                 f"Clips embedded per second over the last {THROUGHPUT_WINDOW.seconds} s",
                                 labels=["kind"])
        audio_rate = GaugeMetricFamily("s2m_audio_seconds_embedded_per_second",
                                       f"Seconds of audio embedded per second over the last {THROUGHPUT_WINDOW.seconds} s",
                                       labels=["kind"])
        since = self.clock() - THROUGHPUT_WINDOW
        window = THROUGHPUT_WINDOW.total_seconds()
        with self.context.db.session() as session:
            dialect = session.get_bind().dialect.name
            for kind, model in WORK_KINDS.items():
                failed = session.scalar(select(func.count()).where(model.status == FAILED))
                failures.add_metric([kind], failed or 0)
                buckets, total = self._duration_histogram(session, model, dialect)
                durations.add_metric([kind], buckets, total)
                recent, audio = session.execute(
                    select(func.count(), func.coalesce(func.sum(model.duration_seconds), 0.0))
                    .where(model.status == READY, model.updated_at >= since)
                ).one()
                rate.add_metric([kind], recent / window)
                audio_rate.add_metric([kind], float(audio) / window)
        yield from (failures, durations, rate, audio_rate)

    @staticmethod
    def _duration_histogram(
        session: Session, model: type[Track] | type[RecommendationRequest], dialect: str
    ) -> tuple[list[tuple[str, int]], float]:
        """Return the cumulative bucket counts and the sum of finished items' durations, in one query."""
        seconds = _seconds_between(model.created_at, model.updated_at, dialect)
        columns = [func.sum(case((seconds <= bound, 1), else_=0)) for bound in DURATION_BUCKETS]
        row = session.execute(
            select(func.count(), func.coalesce(func.sum(seconds), 0.0), *columns)
            .where(model.status.in_(FINISHED_STATUSES))
        ).one()
        count, total, *cumulative = (value or 0 for value in row)
        buckets = [(str(bound), int(n)) for bound, n in zip(DURATION_BUCKETS, cumulative)] + [("+Inf", int(count))]
        return buckets, float(total)


def init_app(app: Flask) -> None:
    """Structured logs and request ids for ``app``; worker metrics on its ``/metrics`` registry."""
    settings = app.extensions["s2m_settings"]
    configure_logging(settings.log_json)
    _install_request_ids(app)
    app.extensions["s2m_metrics"].register(WorkerMetricsCollector(app.extensions["s2m"]))
