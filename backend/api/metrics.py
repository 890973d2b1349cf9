"""``/metrics``: Prometheus request counts and latency, pending work, queue depth and worker throughput.

Each app has its own registry (no process globals), so several apps in one test process never
collide. Pending work is counted in the database, the source of truth whatever the broker is.
What the workers do is read where every process can see it, so the numbers reach the API's
``/metrics`` even when the workers run on other hosts: queue depth from the broker, and task
durations, failures and embedding throughput from the database rows the workers write.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Flask, Response, current_app, g, request
from kombu import Connection, Queue
from kombu.exceptions import ChannelError
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from spectree import Response as Responses
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from backend.api.auth import operations
from backend.api.openapi import spec
from backend.core.domain.work import FAILED, FINISHED_STATUSES, READY
from backend.core.services.context import ServiceContext
from backend.core.services.queue import QUEUES
from backend.core.storage.models import RecommendationRequest, Track

blueprint = Blueprint("metrics", __name__)
log = logging.getLogger(__name__)

WORK_KINDS = {"track": Track, "recommendation": RecommendationRequest}
# Submission-to-result seconds: a speech query should land in the first buckets, a long track later.
DURATION_BUCKETS = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
THROUGHPUT_WINDOW = timedelta(seconds=60)
# AMQP's reply code for a queue that does not exist.
NOT_FOUND = 404
# Label values come from this set only, so made-up methods cannot grow the registry.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class PendingWorkCollector(Collector):
    """Report tracks and recommendation requests per status at scrape time."""

    def __init__(self, context: ServiceContext):
        self.context = context

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "s2m_work_items", "Tracks and recommendation requests by status", labels=["kind", "status"]
        )

    def describe(self) -> Iterator[GaugeMetricFamily]:
        """Name the metric without querying (the registry calls this when the app is built)."""
        yield self._family()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = self._family()
        with self.context.db.session() as session:
            for kind, model in (("track", Track), ("recommendation", RecommendationRequest)):
                for status, count in session.execute(select(model.status, func.count()).group_by(model.status)):
                    gauge.add_metric([kind, status], count)
        yield gauge


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
        """Return the number of messages waiting in each queue, from the broker (kombu, any transport).

        A passive queue declare answers the message count without creating anything. When the broker
        says it knows no such queue (Redis drops an emptied queue's key, and kombu's Redis transport
        checks for the key without the global key prefix), the queue is declared as Celery declares
        it (same arguments: it creates nothing on Redis, and on AMQP brokers the queue a worker
        declares anyway) and its count read from that.
        """
        celery = self.context.queue.celery
        depths = {}
        with celery.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=3)
            for name in QUEUES:
                depths[name] = self._message_count(connection, celery.amqp.queues[name])
        return depths

    @staticmethod
    def _message_count(connection: Connection, queue: Queue) -> int:
        channel = connection.channel()  # a refused passive declare closes its channel on AMQP brokers
        try:
            return queue.bind(channel).queue_declare(passive=True).message_count
        except ChannelError as exc:
            if getattr(exc, "reply_code", None) != NOT_FOUND and "NOT_FOUND" not in str(exc):
                raise
        finally:
            channel.close()
        channel = connection.channel()
        try:
            return queue.bind(channel).queue_declare().message_count
        finally:
            channel.close()

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
        rate = GaugeMetricFamily(
            "s2m_embeddings_per_second",
            f"Clips embedded per second over the last {THROUGHPUT_WINDOW.seconds} s",
            labels=["kind"],
        )
        audio_rate = GaugeMetricFamily(
            "s2m_audio_seconds_embedded_per_second",
            f"Seconds of audio embedded per second over the last {THROUGHPUT_WINDOW.seconds} s",
            labels=["kind"],
        )
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
                    select(func.count(), func.coalesce(func.sum(model.duration_seconds), 0.0)).where(
                        model.status == READY, model.updated_at >= since
                    )
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
            select(func.count(), func.coalesce(func.sum(seconds), 0.0), *columns).where(
                model.status.in_(FINISHED_STATUSES)
            )
        ).one()
        count, total, *cumulative = (value or 0 for value in row)
        buckets = [(str(bound), int(n)) for bound, n in zip(DURATION_BUCKETS, cumulative, strict=True)] + [
            ("+Inf", int(count))
        ]
        return buckets, float(total)


def init_app(app: Flask) -> None:
    """Count and time every request; serve the registry at /metrics."""
    registry = CollectorRegistry()
    requests_total = Counter(
        "s2m_http_requests_total", "HTTP requests", ["method", "endpoint", "status"], registry=registry
    )
    latency = Histogram("s2m_http_request_seconds", "HTTP request latency", ["endpoint"], registry=registry)
    registry.register(PendingWorkCollector(app.extensions["s2m"]))
    registry.register(WorkerMetricsCollector(app.extensions["s2m"]))
    app.extensions["s2m_metrics"] = registry

    @app.before_request
    def _start_timer() -> None:
        g.s2m_request_started = time.perf_counter()

    @app.after_request
    def _record(response: Response) -> Response:
        endpoint = request.endpoint or "unmatched"
        method = request.method if request.method in HTTP_METHODS else "other"
        requests_total.labels(method, endpoint, str(response.status_code)).inc()
        started = g.get("s2m_request_started")
        if started is not None:
            latency.labels(endpoint).observe(time.perf_counter() - started)
        return response

    app.register_blueprint(blueprint)


@blueprint.get("/metrics")
@operations
@spec.validate(resp=Responses("HTTP_200"))
def metrics() -> Response:
    """Prometheus metrics: requests, pending work, queue depth, worker throughput."""
    return Response(generate_latest(current_app.extensions["s2m_metrics"]), mimetype=CONTENT_TYPE_LATEST)
