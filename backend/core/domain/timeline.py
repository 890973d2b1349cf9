"""Emotion timelines: speech regions cut into segments, segments smoothed and merged into scenes,
and the tracks of each scene chosen so that scenes get different music.

Pure functions over plain numbers (no I/O): the worker finds the speech regions and embeds each
segment, then calls these. Times are seconds from the start of the recording.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_SEGMENT_SECONDS = 8.0
DEFAULT_MIN_SCENE_SECONDS = 10.0
DEFAULT_TRACKS_PER_SCENE = 3
MAX_TRACKS_PER_SCENE = 20
# A piece of speech shorter than this is joined to its neighbour rather than embedded alone.
MIN_SEGMENT_SECONDS = 1.0
# Two speech regions closer than this are one stretch of speech for segmenting.
JOIN_GAP_SECONDS = 0.3


class TimelineOptions(BaseModel):
    """How a recording is cut into segments and scenes, and how many tracks each scene gets."""

    model_config = ConfigDict(extra="forbid")

    segment_seconds: float = Field(
        DEFAULT_SEGMENT_SECONDS,
        ge=2.0,
        le=60.0,
        allow_inf_nan=False,
        description="longest speech segment analysed on its own (seconds); longer speech is cut into equal pieces",
    )
    min_scene_seconds: float = Field(
        DEFAULT_MIN_SCENE_SECONDS,
        ge=0.0,
        le=600.0,
        allow_inf_nan=False,
        description="shortest scene (seconds): a shorter run of one emotion joins the neighbouring scene",
    )
    tracks_per_scene: int = Field(DEFAULT_TRACKS_PER_SCENE, ge=1, le=MAX_TRACKS_PER_SCENE)
    cover_scene: bool = Field(
        False, description="prefer tracks at least as long as their scene (then shorter ones if too few are)"
    )


def split_speech(regions: Sequence[tuple[float, float]], segment_seconds: float) -> list[tuple[float, float]]:
    """Cut speech regions into segments of at most ``segment_seconds``, in equal pieces.

    Regions closer than :data:`JOIN_GAP_SECONDS` are joined first; a region shorter than
    :data:`MIN_SEGMENT_SECONDS` joins the segment before it when that one is near, else is dropped.
    """
    joined: list[list[float]] = []
    for start, end in sorted(regions):
        if end <= start:
            continue
        if joined and start - joined[-1][1] < JOIN_GAP_SECONDS:
            joined[-1][1] = max(joined[-1][1], end)
        else:
            joined.append([start, end])
    segments: list[tuple[float, float]] = []
    for start, end in joined:
        length = end - start
        if length < MIN_SEGMENT_SECONDS:
            if segments and start - segments[-1][1] < 1.0 and end - segments[-1][0] <= 1.5 * segment_seconds:
                segments[-1] = (segments[-1][0], end)
            continue
        pieces = max(1, math.ceil(length / segment_seconds))
        step = length / pieces
        segments += [(start + i * step, start + (i + 1) * step) for i in range(pieces)]
    return segments


@dataclass(frozen=True)
class Segment:
    """One analysed piece of speech."""

    start: float
    end: float
    probabilities: dict[str, float]
    valence: float
    arousal: float
    vector: Sequence[float]

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def emotion(self) -> str:
        return max(self.probabilities, key=self.probabilities.__getitem__)

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "emotion": self.emotion,
            "probabilities": self.probabilities,
            "valence": self.valence,
            "arousal": self.arousal,
            "vector": [round(float(v), 6) for v in self.vector],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Segment:
        return cls(data["start"], data["end"], data["probabilities"], data["valence"], data["arousal"], data["vector"])


@dataclass(frozen=True)
class Scene:
    """Consecutive segments of one (smoothed) emotion."""

    start: float
    end: float
    emotion: str
    probability: float  # the scene's mean probability of its emotion
    valence: float
    arousal: float
    vector: list[float]  # the unit mean of its segments' embeddings

    @property
    def seconds(self) -> float:
        return self.end - self.start


def smoothed_labels(segments: Sequence[Segment]) -> list[str]:
    """Each segment's emotion after averaging its probabilities with its neighbours' (weights 1, 2, 1).

    A lone segment whose emotion its two neighbours disagree with takes theirs unless it is sure of
    its own; at a real change (one neighbour each way) the segment's own probabilities decide.
    """
    labels = []
    for index, segment in enumerate(segments):
        window = [(segment, 2.0)]
        window += [(segments[i], 1.0) for i in (index - 1, index + 1) if 0 <= i < len(segments)]
        total = sum(weight for _, weight in window)
        mean = {
            label: sum(part.probabilities.get(label, 0.0) * weight for part, weight in window) / total
            for label in segment.probabilities
        }
        labels.append(max(mean, key=mean.__getitem__))
    return labels


def _scene_of(segments: Sequence[Segment], emotion: str) -> Scene:
    weights = [max(segment.seconds, 1e-6) for segment in segments]
    total = sum(weights)

    def mean(value: Callable[[Segment], float]) -> float:
        return sum(value(segment) * weight for segment, weight in zip(segments, weights, strict=True)) / total

    dim = len(segments[0].vector)
    summed = [sum(s.vector[i] * w for s, w in zip(segments, weights, strict=True)) for i in range(dim)]
    norm = math.sqrt(sum(v * v for v in summed)) or 1.0
    return Scene(
        start=segments[0].start,
        end=segments[-1].end,
        emotion=emotion,
        probability=mean(lambda s: s.probabilities.get(emotion, 0.0)),
        valence=mean(lambda s: s.valence),
        arousal=mean(lambda s: s.arousal),
        vector=[v / norm for v in summed],
    )


def build_scenes(segments: Sequence[Segment], min_scene_seconds: float) -> list[Scene]:
    """Merge consecutive segments of one smoothed emotion into scenes, then fold scenes shorter than
    ``min_scene_seconds`` into a neighbour (the one nearer in valence/arousal), shortest first."""
    if not segments:
        return []
    labels = smoothed_labels(segments)
    runs: list[tuple[str, list[Segment]]] = []
    for segment, label in zip(segments, labels, strict=True):
        if runs and runs[-1][0] == label:
            runs[-1][1].append(segment)
        else:
            runs.append((label, [segment]))
    while len(runs) > 1:
        scenes = [_scene_of(parts, label) for label, parts in runs]
        short = [i for i, scene in enumerate(scenes) if scene.seconds < min_scene_seconds]
        if not short:
            break
        index = min(short, key=lambda i: scenes[i].seconds)
        neighbours = [i for i in (index - 1, index + 1) if 0 <= i < len(runs)]
        into = min(
            neighbours,
            key=lambda i: math.dist(
                (scenes[i].valence, scenes[i].arousal), (scenes[index].valence, scenes[index].arousal)
            ),
        )
        label = runs[into][0]
        merged = runs[min(index, into)][1] + runs[max(index, into)][1]
        runs[min(index, into)] = (label, merged)
        del runs[max(index, into)]
        # Neighbours of one emotion that the fold brought together become one scene.
        position = min(index, into)
        for other in (position - 1, position + 1):
            if 0 <= other < len(runs) and runs[other][0] == runs[position][0]:
                low, high = sorted((other, position))
                runs[low] = (runs[low][0], runs[low][1] + runs[high][1])
                del runs[high]
                position = low
    return [_scene_of(parts, label) for label, parts in runs]


def choose_scene_tracks(
    candidates: Sequence[dict[str, Any]],
    count: int,
    used: set[str],
    scene_seconds: float,
    cover_scene: bool,
) -> list[dict[str, Any]]:
    """Pick ``count`` of a scene's candidates (best first): tracks no earlier scene got come before
    repeats, and with ``cover_scene`` tracks at least as long as the scene come before shorter ones."""

    def rank(indexed: tuple[int, dict[str, Any]]) -> tuple[bool, bool, int]:
        position, candidate = indexed
        too_short = cover_scene and (candidate.get("duration_seconds") or 0.0) < scene_seconds
        return (too_short, candidate["track_id"] in used, position)

    return [candidate for _, candidate in sorted(enumerate(candidates), key=rank)[:count]]
