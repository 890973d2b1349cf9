"""Operations over the whole catalogue: requeue stale work, reconcile the database with Qdrant,
reindex with a new model. The database is the source of truth throughout."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from backend.core.domain.analysis import ClipAnalysis
from backend.core.domain.work import FAILED, PENDING_STATUSES, QUEUED, READY
from backend.core.services.context import ServiceContext
from backend.core.services.model_versions import ensure_active_model, register_model, set_active_model
from backend.core.storage.models import ModelVersion, RecommendationRequest, Track
from backend.core.storage.vectors import TrackPoint

log = logging.getLogger(__name__)


@dataclass
class RequeueReport:
    tracks: list[uuid.UUID] = field(default_factory=list)
    requests: list[uuid.UUID] = field(default_factory=list)
    not_sent: list[uuid.UUID] = field(default_factory=list)  # the broker was unreachable


def requeue(
    ctx: ServiceContext, now: datetime, older_than_seconds: float, include_failed: bool = False
) -> RequeueReport:
    """Enqueue again the work that has waited longer than ``older_than_seconds`` (and failed work, if asked).

    Failed work gets a fresh set of attempts; pending work keeps its count, so a poison item still
    ends failed.
    """
    cutoff = now - timedelta(seconds=older_than_seconds)
    statuses = (*PENDING_STATUSES, FAILED) if include_failed else PENDING_STATUSES
    report = RequeueReport()
    for model, send, found in (
        (Track, ctx.queue.embed_track, report.tracks),
        (RecommendationRequest, ctx.queue.answer_request, report.requests),
    ):
        with ctx.db.session() as session:
            rows = list(session.scalars(select(model).where(model.status.in_(statuses), model.updated_at <= cutoff)))
            for row in rows:
                if row.status == FAILED:
                    row.status, row.error, row.attempts = QUEUED, None, 0
                row.updated_at = now  # not stale again until another full wait has passed
            session.commit()
        for row in rows:
            found.append(row.id)
            if not send(row.id):
                report.not_sent.append(row.id)
    return report


@dataclass
class ReconcileReport:
    collection: str
    missing_vectors: list[uuid.UUID] = field(default_factory=list)  # ready rows without a vector: re-embedded
    orphan_vectors: list[uuid.UUID] = field(default_factory=list)  # vectors without a row: deleted
    not_sent: list[uuid.UUID] = field(default_factory=list)


def reconcile(ctx: ServiceContext, dry_run: bool = False) -> ReconcileReport:
    """Repair the active collection: re-embed ready tracks without vectors, delete vectors without tracks."""
    with ctx.db.session() as session:
        model = ensure_active_model(session, ctx.settings.model_dir)
        ready = set(session.scalars(select(Track.id).where(Track.status == READY)))
        known = set(session.scalars(select(Track.id)))
    stored = ctx.vectors.point_ids(model.collection)
    report = ReconcileReport(
        collection=model.collection,
        missing_vectors=sorted(ready - stored),
        orphan_vectors=sorted(stored - known),
    )
    if dry_run:
        return report
    ctx.vectors.delete(model.collection, report.orphan_vectors)
    if report.missing_vectors:
        with ctx.db.session() as session:
            for track in session.scalars(select(Track).where(Track.id.in_(report.missing_vectors))):
                track.status, track.attempts, track.error = QUEUED, 0, None
            session.commit()
        report.not_sent = [tid for tid in report.missing_vectors if not ctx.queue.embed_track(tid)]
    return report


# Embeds a batch of tracks (their stored audio) with the new model; the worker side provides it.
EmbedTracks = Callable[[Sequence[Track]], list[ClipAnalysis]]


@dataclass
class ReindexReport:
    previous: str
    version: str
    collection: str
    embedded: int = 0
    requeued: list[uuid.UUID] = field(default_factory=list)  # finished by the old model at the last moment
    switched: bool = False


def _chunks(items: Sequence[uuid.UUID], size: int) -> Iterator[Sequence[uuid.UUID]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def reindex(
    ctx: ServiceContext,
    model_dir: Path,
    embed_tracks: EmbedTracks,
    batch_size: int = 16,
    progress: Callable[[int], None] = lambda _n: None,
    announce: Callable[[int], None] = lambda _n: None,
) -> ReindexReport:
    """Embed every ready track into the new model's collection, then switch queries to it in one step.

    Queries keep using the active collection until the switch. Tracks that become ready while this
    runs are picked up by further passes; anything finished by the old model after the last pass is
    requeued for the new model once it is active.
    """
    with ctx.db.session() as session:
        previous = ensure_active_model(session, ctx.settings.model_dir)
        target = register_model(session, model_dir)
    report = ReindexReport(previous=previous.version, version=target.version, collection=target.collection)
    if target.version == previous.version:
        return report
    ctx.vectors.ensure_collection(target.collection)
    analyses: dict[uuid.UUID, ClipAnalysis] = {}
    while True:
        with ctx.db.session() as session:
            todo = [
                tid
                for tid in session.scalars(select(Track.id).where(Track.status == READY).order_by(Track.id))
                if tid not in analyses
            ]
        if not todo:
            break
        announce(len(todo))
        for chunk in _chunks(todo, batch_size):
            with ctx.db.session() as session:
                tracks = list(session.scalars(select(Track).where(Track.id.in_(chunk))))
            results = embed_tracks(tracks)
            points = [TrackPoint.from_analysis(t.id, a, t.tags) for t, a in zip(tracks, results, strict=True)]
            ctx.vectors.upsert(target.collection, points)
            analyses.update((track.id, analysis) for track, analysis in zip(tracks, results, strict=True))
            progress(len(tracks))
    report.embedded = len(analyses)
    report.requeued = _switch(ctx, target, analyses)
    report.switched = True
    for track_id in report.requeued:
        ctx.queue.embed_track(track_id)
    return report


def _switch(ctx: ServiceContext, target: ModelVersion, analyses: dict[uuid.UUID, ClipAnalysis]) -> list[uuid.UUID]:
    """In one transaction: store the new analyses on the rows and make ``target`` active."""
    requeued = []
    with ctx.db.session() as session:
        for track in session.scalars(select(Track).where(Track.status == READY).with_for_update()):
            analysis = analyses.get(track.id)
            if analysis is None:
                track.status, track.attempts = QUEUED, 0
                requeued.append(track.id)
                continue
            track.emotion, track.probabilities = analysis.label, analysis.probabilities
            track.valence, track.arousal, track.model_version = analysis.valence, analysis.arousal, target.version
        set_active_model(session, target.version)
        session.commit()
    log.info("switched queries to model %s (%s)", target.version, target.collection)
    return requeued
