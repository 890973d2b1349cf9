"""Operations over the whole catalogue: requeue stale work, reconcile the database with Qdrant and
the media store, reindex with a new model. The database is the source of truth throughout."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from backend.core.domain.analysis import ClipAnalysis
from backend.core.domain.work import FAILED, PENDING_STATUSES
from backend.core.services import work_items
from backend.core.services.context import ServiceContext
from backend.core.services.model_versions import (
    ModelDescription,
    active_model,
    register_model,
    require_active_model,
    set_active_model,
)
from backend.core.storage.media import StoredFile
from backend.core.storage.models import ModelVersion, RecommendationRequest, Timeline, Track
from backend.core.storage.vectors import ACTIVE_ALIAS, TrackPoint

log = logging.getLogger(__name__)


@dataclass
class RequeueReport:
    tracks: list[uuid.UUID] = field(default_factory=list)
    requests: list[uuid.UUID] = field(default_factory=list)
    timelines: list[uuid.UUID] = field(default_factory=list)
    not_sent: list[uuid.UUID] = field(default_factory=list)  # the broker was unreachable


def requeue(
    ctx: ServiceContext,
    now: datetime,
    older_than_seconds: float,
    include_failed: bool = False,
    kinds: tuple[str, ...] = ("tracks", "requests", "timelines"),
) -> RequeueReport:
    """Enqueue again the work that has waited longer than ``older_than_seconds`` (and failed work, if asked).

    Failed work gets a fresh set of attempts; pending work keeps its count, so a poison item still
    ends failed. ``kinds`` limits it to tracks, requests or timelines (a supervisor resends what one worker held).
    """
    cutoff = now - timedelta(seconds=older_than_seconds)
    statuses = (*PENDING_STATUSES, FAILED) if include_failed else PENDING_STATUSES
    report = RequeueReport()
    for kind, model, send, found in (
        ("tracks", Track, ctx.queue.embed_track, report.tracks),
        ("requests", RecommendationRequest, ctx.queue.answer_request, report.requests),
        ("timelines", Timeline, ctx.queue.timeline_chunk, report.timelines),
    ):
        if kind not in kinds:
            continue
        for work_id in work_items.take_stale(ctx.db, model, statuses, cutoff, now):
            found.append(work_id)
            if not send(work_id):
                report.not_sent.append(work_id)
    return report


# Staging files of uploads untouched this long belong to requests that died; reconcile removes them.
STALE_UPLOAD_SECONDS = 3600.0


@dataclass
class ReconcileReport:
    collection: str
    missing_vectors: list[uuid.UUID] = field(default_factory=list)  # ready rows without a vector: re-embedded
    # Vectors without their catalogue (written before catalogues existed): written again with it.
    relabelled_vectors: list[uuid.UUID] = field(default_factory=list)
    orphan_vectors: list[uuid.UUID] = field(default_factory=list)  # vectors without a row: deleted
    not_sent: list[uuid.UUID] = field(default_factory=list)
    orphan_files: list[str] = field(default_factory=list)  # stored audio no row refers to: deleted
    stale_uploads: list[str] = field(default_factory=list)  # staging files of uploads that died: deleted


def orphan_media(ctx: ServiceContext) -> list[StoredFile]:
    """Stored files that no track, request or timeline refers to.

    The files are listed before the rows are read: a file is moved into place only after its row
    is committed, so a file seen here whose row is not found below has no row.
    """
    stored = list(ctx.media.stored())
    with ctx.db.session() as session:
        referenced = {
            "tracks": set(session.scalars(select(Track.content_sha256))),
            "speech": set(session.scalars(select(RecommendationRequest.speech_sha256)))
            | set(session.scalars(select(Timeline.speech_sha256))),
        }
    return [item for item in stored if item.sha256 not in referenced[item.kind]]


def reconcile(ctx: ServiceContext, dry_run: bool = False, now: float | None = None) -> ReconcileReport:
    """Repair the active collection (re-embed ready tracks without vectors, give vectors without their
    catalogue the catalogue of their track, delete vectors without tracks) and the media store (delete
    files no row refers to, and staging files of uploads that died)."""
    orphans = orphan_media(ctx)
    stale = ctx.media.stale_staging(STALE_UPLOAD_SECONDS, now)
    with ctx.db.session() as session:
        model = require_active_model(session)
        ready = set(work_items.ready_track_ids(session))
        catalogue_of = dict(session.execute(select(Track.id, Track.catalogue_id)).all())
    if not dry_run:
        ctx.vectors.ensure_collection(model.collection)  # with the catalogue index, on a server
    stored = ctx.vectors.point_ids(model.collection)
    # Each catalogue's ready tracks against the points the engine finds under that catalogue.
    unfiled: dict[uuid.UUID, list[uuid.UUID]] = {}
    missing: list[uuid.UUID] = []
    for catalogue_id in sorted(set(catalogue_of.values())):
        in_catalogue = ctx.vectors.point_ids(model.collection, catalogue_id=catalogue_id)
        for track_id in sorted(tid for tid in ready - in_catalogue if catalogue_of.get(tid) == catalogue_id):
            if track_id in stored:
                unfiled.setdefault(catalogue_id, []).append(track_id)
            else:
                missing.append(track_id)
    report = ReconcileReport(
        collection=model.collection,
        missing_vectors=sorted(missing),
        relabelled_vectors=sorted(tid for ids in unfiled.values() for tid in ids),
        orphan_vectors=sorted(stored - set(catalogue_of)),
        orphan_files=[str(item.path.relative_to(ctx.media.root)) for item in orphans],
        stale_uploads=[str(path.relative_to(ctx.media.root)) for path in stale],
    )
    if dry_run:
        return report
    for item in orphans:
        item.path.unlink(missing_ok=True)
        log.info("deleted %s: no track or request refers to it", item.path)
    for path in stale:
        path.unlink(missing_ok=True)
    ctx.vectors.delete(model.collection, report.orphan_vectors)
    _refile(ctx, model.collection, report.relabelled_vectors)
    if report.missing_vectors:
        work_items.reset_tracks(ctx.db, report.missing_vectors)
        report.not_sent = [tid for tid in report.missing_vectors if not ctx.queue.embed_track(tid)]
    return report


def _refile(ctx: ServiceContext, collection: str, track_ids: Sequence[uuid.UUID]) -> None:
    """Write the points of ready tracks again with their catalogue: the stored embedding, and the
    emotion, valence, arousal and tags of the row (which the active model wrote); nothing is re-embedded."""
    if not track_ids:
        return
    embeddings = ctx.vectors.embeddings(collection, track_ids)
    with ctx.db.session() as session:
        tracks = list(session.scalars(select(Track).where(Track.id.in_(list(track_ids)))))
    points = [
        TrackPoint(t.id, t.catalogue_id, embeddings[t.id], t.emotion, t.valence, t.arousal, tuple(t.tags))
        for t in tracks
        if t.id in embeddings and t.emotion is not None and t.valence is not None and t.arousal is not None
    ]
    ctx.vectors.upsert(collection, points)


# Embeds a batch of tracks (their stored audio) with the new model; the worker side provides it.
EmbedTracks = Callable[[Sequence[Track]], list[ClipAnalysis]]


@dataclass
class ReindexReport:
    previous: str | None  # None: no model answered queries before
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
    target_model: ModelDescription,
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
        previous = active_model(session)
        target = register_model(session, target_model)
    previous_version = None if previous is None else previous.version
    report = ReindexReport(previous=previous_version, version=target.version, collection=target.collection)
    if target.version == previous_version:
        return report
    ctx.vectors.ensure_collection(target.collection)
    analyses: dict[uuid.UUID, ClipAnalysis] = {}
    while True:
        with ctx.db.session() as session:
            todo = [tid for tid in work_items.ready_track_ids(session) if tid not in analyses]
        if not todo:
            break
        announce(len(todo))
        for chunk in _chunks(todo, batch_size):
            with ctx.db.session() as session:
                tracks = list(session.scalars(select(Track).where(Track.id.in_(chunk))))
            results = embed_tracks(tracks)
            points = [
                TrackPoint.from_analysis(t.id, t.catalogue_id, a, t.tags, t.artist)
                for t, a in zip(tracks, results, strict=True)
            ]
            ctx.vectors.upsert(target.collection, points)
            analyses.update((track.id, analysis) for track, analysis in zip(tracks, results, strict=True))
            progress(len(tracks))
    report.embedded = len(analyses)
    report.requeued = _switch(ctx, target, analyses)
    # Tools that address the live collection by name follow the switch (the service asks the database).
    ctx.vectors.set_alias(ACTIVE_ALIAS, target.collection)
    report.switched = True
    for track_id in report.requeued:
        ctx.queue.embed_track(track_id)
    return report


def _switch(ctx: ServiceContext, target: ModelVersion, analyses: dict[uuid.UUID, ClipAnalysis]) -> list[uuid.UUID]:
    """In one transaction: store the new analyses on the rows and make ``target`` active."""
    requeued = []
    with ctx.db.session() as session:
        for track in work_items.lock_ready_tracks(session):
            analysis = analyses.get(track.id)
            if analysis is None:
                work_items.reset(track)
                requeued.append(track.id)
                continue
            work_items.record_track_analysis(track, analysis, target.version)
        set_active_model(session, target.version)
        session.commit()
    log.info("switched queries to model %s (%s)", target.version, target.collection)
    return requeued
