"""``/metrics``: Prometheus request counts and latency, plus pending work read from the database.

Each app has its own registry (no process globals), so several apps in one test process never
collide. Pending work is counted in the database, the source of truth whatever the broker is.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from backend.services.context import ServiceContext
from backend.storage.models import RecommendationRequest, Track

blueprint = Blueprint("metrics", __name__)


class PendingWorkCollector(Collector):
    """Report tracks and recommendation requests per status at scrape time."""

    def __init__(self, context: ServiceContext):
        self.context = context

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily("s2m_work_items", "Tracks and recommendation requests by status", labels=["kind", "status"])

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


def init_app(app: Flask) -> None:
    """Count and time every request; serve the registry at /metrics."""
    registry = CollectorRegistry()
    requests_total = Counter(
        "s2m_http_requests_total", "HTTP requests", ["method", "endpoint", "status"], registry=registry
    )
    latency = Histogram("s2m_http_request_seconds", "HTTP request latency", ["endpoint"], registry=registry)
    registry.register(PendingWorkCollector(app.extensions["s2m"]))
    app.extensions["s2m_metrics"] = registry

    @app.before_request
    def _start_timer() -> None:
        g.s2m_request_started = time.perf_counter()

    @app.after_request
    def _record(response: Response) -> Response:
        endpoint = request.endpoint or "unmatched"
        requests_total.labels(request.method, endpoint, str(response.status_code)).inc()
        started = g.get("s2m_request_started")
        if started is not None:
            latency.labels(endpoint).observe(time.perf_counter() - started)
        return response

    app.register_blueprint(blueprint)


@blueprint.get("/metrics")
def metrics() -> Response:
    """Expose the Prometheus metrics of this app."""
    return Response(generate_latest(current_app.extensions["s2m_metrics"]), mimetype=CONTENT_TYPE_LATEST)
