"""Making an emotion timeline, one chunk of the recording per task.

Each task reads the chunk the row says is next (``chunks_done``), decodes just that range, finds
the speech with the voice activity detector, embeds each segment and appends the segments to the
row in one compare-and-set commit, then enqueues the next chunk. The last chunk's task also merges
the segments into scenes and picks each scene's tracks. Memory is one chunk's audio, whatever the
recording's length; a query waiting on the same worker waits for one chunk at most.
"""

from __future__ import annotations

import logging
import uuid
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from backend.core.audio import SilentAudioError, stream_audio
from backend.core.domain.filters import TrackFilters
from backend.core.domain.timeline import (
    Scene,
    Segment,
    TimelineOptions,
    build_scenes,
    choose_scene_tracks,
    split_speech,
)
from backend.core.domain.work import READY
from backend.core.services import timelines as timeline_service
from backend.core.services import work_items
from backend.core.services.search import QueryEmotion, find_tracks
from backend.core.storage.models import Timeline
from backend.core.storage.vectors import EmbeddingQuery
from workers.context import WorkerContext
from workers.pipeline import run_work

log = logging.getLogger(__name__)

# Candidates fetched per scene beyond the tracks earlier scenes took (so new ones can be preferred).
MAX_SCENE_CANDIDATES = 200
VAD_RATE = 16_000


def chunk_range(timeline: Timeline, chunk: int) -> tuple[float, float | None]:
    """Seconds of the recording chunk ``chunk`` covers; the last one reads to the end of the file."""
    start = chunk * timeline.chunk_seconds
    last = chunk >= timeline.chunks_total - 1
    return start, None if last else start + timeline.chunk_seconds


def analyse_chunk(worker: WorkerContext, timeline: Timeline, chunk: int) -> list[Segment]:
    """Decode one chunk, find its speech and embed each segment (times from the start of the file).

    The chunk is cut into ``TIMELINE_THREADS`` consecutive parts analysed side by side (decoding,
    the detector and torch all release the GIL), each with a voice activity detector of its own.
    """
    start, end = chunk_range(timeline, chunk)
    parts = max(1, worker.settings.timeline_threads)
    stop = end if end is not None else max(start + 1.0, timeline.duration_seconds)
    step = (stop - start) / parts
    ranges = [(start + i * step, start + (i + 1) * step) for i in range(parts)]
    ranges[-1] = (ranges[-1][0], end)  # the last part of the last chunk reads to the end of the file
    if parts == 1:
        return analyse_range(worker, timeline, *ranges[0], slot=0)
    with ThreadPoolExecutor(parts, thread_name_prefix="timeline") as pool:
        found = pool.map(lambda part: analyse_range(worker, timeline, *ranges[part], slot=part), range(parts))
        return [segment for segments in found for segment in segments]


def analyse_range(
    worker: WorkerContext, timeline: Timeline, start: float, end: float | None, slot: int
) -> list[Segment]:
    """Decode ``start``..``end`` seconds of the recording, find its speech and embed each segment."""
    model, _active = worker.model()
    path = worker.services.media.path(timeline_service.MEDIA_KIND, timeline.speech_sha256)
    blocks = list(
        stream_audio(
            path,
            target_rate=VAD_RATE,
            max_seconds=worker.settings.max_timeline_seconds,
            start_seconds=start,
            end_seconds=end,
        )
    )
    if not blocks:
        return []
    samples = np.concatenate(blocks)
    del blocks
    options = TimelineOptions.model_validate(timeline.options)
    regions = worker.vad(slot).speech_regions(samples)
    segments = []
    for begin, finish in split_speech(regions, options.segment_seconds):
        piece = samples[round(begin * VAD_RATE) : round(finish * VAD_RATE)]
        try:
            analysis = model.embed_speech(piece, VAD_RATE, timeline.transcript)
        except SilentAudioError:  # the detector heard speech in near silence: nothing to analyse
            continue
        segments.append(
            Segment(
                start=round(start + begin, 3),
                end=round(start + finish, 3),
                probabilities=analysis.probabilities,
                valence=analysis.valence,
                arousal=analysis.arousal,
                vector=analysis.vector,
            )
        )
    return segments


def scene_tracks(worker: WorkerContext, collection: str, timeline: Timeline, scenes: list[Scene]) -> list[dict]:
    """Each scene with its ranked tracks, preferring tracks no earlier scene got."""
    options = TimelineOptions.model_validate(timeline.options)
    filters = TrackFilters.model_validate(timeline.filters)
    used: set[str] = set()
    out = []
    for scene in scenes:
        # Enough candidates to find unused tracks, and long ones when those are wanted.
        wanted = min(MAX_SCENE_CANDIDATES, 2 * options.tracks_per_scene + len(used))
        if options.cover_scene:
            wanted = MAX_SCENE_CANDIDATES
        candidates = find_tracks(
            worker.services,
            timeline.catalogue_id,
            collection,
            EmbeddingQuery(scene.vector),
            filters,
            wanted,
            QueryEmotion(scene.emotion, scene.probability, scene.valence, scene.arousal),
        )
        chosen = choose_scene_tracks(candidates, options.tracks_per_scene, used, scene.seconds, options.cover_scene)
        used.update(track["track_id"] for track in chosen)
        out.append(
            {
                "start": scene.start,
                "end": scene.end,
                "emotion": scene.emotion,
                "valence": scene.valence,
                "arousal": scene.arousal,
                "tracks": chosen,
            }
        )
    return out


def timeline_chunk(worker: WorkerContext, timeline_id: uuid.UUID) -> str:
    """Analyse the timeline's next chunk; after the last, build its scenes and mark it ready."""
    db = worker.services.db

    def body(timeline: Timeline) -> str:
        chunk = timeline.chunks_done
        if chunk < timeline.chunks_total:
            segments = analyse_chunk(worker, timeline, chunk)
            if not work_items.finish_timeline_chunk(db, timeline_id, chunk, [s.to_json() for s in segments]):
                return "skipped"  # deleted, or another delivery did this chunk
            log.info("timeline %s: chunk %d of %d done", timeline_id, chunk + 1, timeline.chunks_total)
            if chunk + 1 < timeline.chunks_total:
                worker.services.queue.timeline_chunk(timeline_id)  # if this fails, `s2m requeue` resends it
                return "chunk"
            timeline = timeline_service.get_timeline(worker.services, timeline.catalogue_id, timeline_id)
        _model, active = worker.model()
        options = TimelineOptions.model_validate(timeline.options)
        scenes = build_scenes([Segment.from_json(s) for s in timeline.segments], options.min_scene_seconds)
        if not work_items.finish_timeline(
            db, timeline_id, scene_tracks(worker, active.collection, timeline, scenes), active.version
        ):
            return "deleted"
        return READY

    return run_work(worker, Timeline, timeline_id, body)
