"""Embed labelled speech queries and a music catalogue with a model, then score full-catalogue rankings.

Embedding (needs a model) and scoring (pure, :mod:`ml.evaluation.metrics`) are separate steps:
:func:`embed_queries` / :func:`embed_catalogue` produce an :class:`EmbeddedSet`, :func:`score`
turns two of them into an :class:`Evaluation`. The model is anything with the ``EmotionModel``
methods of ``ml.embedding.bundle``, so this module never imports torch itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from tqdm import tqdm

from backend.core.audio import AudioError, DecodedAudio, check_clip, decode_audio
from backend.core.domain.analysis import ClipAnalysis
from backend.core.domain.emotions import MUSIC_LABELS, SPEECH_LABELS
from ml.evaluation import metrics
from ml.evaluation.dataset import LabelledClip, corpus_split_dirs, manifest_transcripts, scan_label_tree


class ClipError(ValueError):
    """One file of a label tree cannot be used; the message starts with its path."""


class EmbeddingModel(Protocol):
    """The part of ``ml.embedding.bundle.EmotionModel`` evaluation uses."""

    version: str

    def embed_speech(self, samples: np.ndarray, sample_rate: int, transcript: str | None = None) -> ClipAnalysis: ...

    def embed_music_batch(self, clips: list[tuple[np.ndarray, int]]) -> list[ClipAnalysis]: ...


@dataclass(frozen=True)
class EmbeddedSet:
    """Clips of one modality with their true labels, unit vectors (n, D) and the model's predicted labels."""

    clips: list[LabelledClip]
    vectors: np.ndarray
    predicted: list[str]

    @property
    def labels(self) -> list[str]:
        return [clip.label for clip in self.clips]


@dataclass(frozen=True)
class Evaluation:
    """Retrieval metrics of speech queries against a music catalogue, plus speech emotion recognition."""

    report: metrics.RetrievalReport
    confusion: dict[str, dict[str, int]]  # true speech label -> predicted label -> count
    speech_accuracy: float
    music_confusion: dict[str, dict[str, int]]  # true music label -> predicted label -> count
    music_accuracy: float  # top-1: the track's most probable mood is its label
    chance: dict[str, float]  # the same metrics for uniformly random rankings of this catalogue
    model_version: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form printed by ``s2m evaluate --json``."""
        return {
            **self.report.overall,
            "per_label": self.report.per_label,
            "n_queries": self.report.n_queries,
            "n_catalogue": self.report.n_catalogue,
            "speech_accuracy": self.speech_accuracy,
            "confusion": self.confusion,
            "music_accuracy": self.music_accuracy,
            "music_confusion": self.music_confusion,
            "chance": self.chance,
            "model_version": self.model_version,
        }


def load_clip(path: Path) -> DecodedAudio:
    """Decode an audio file and refuse a silent one; errors start with the file's path."""
    try:
        audio = decode_audio(path)
        check_clip(audio, min_seconds=0.0, max_seconds=math.inf)
    except AudioError as exc:
        raise ClipError(f"{path}: {exc}") from None
    return audio


def embed_queries(model: EmbeddingModel, clips: Sequence[LabelledClip], progress: bool = True) -> EmbeddedSet:
    """Embed every speech clip (with its transcript when it has one)."""
    analyses = []
    for clip in tqdm(clips, desc="embedding speech queries", unit="clip", disable=not progress):
        audio = load_clip(clip.path)
        with _naming(clip.path):
            analyses.append(model.embed_speech(audio.samples, audio.sample_rate, transcript=clip.transcript))
    return _embedded(clips, analyses)


def embed_catalogue(
    model: EmbeddingModel, clips: Sequence[LabelledClip], batch_size: int = 8, progress: bool = True
) -> EmbeddedSet:
    """Embed every music track, ``batch_size`` tracks per model call."""
    analyses: list[ClipAnalysis] = []
    with tqdm(total=len(clips), desc="embedding music catalogue", unit="track", disable=not progress) as bar:
        for batch in _chunks(list(clips), batch_size):
            decoded = [load_clip(clip.path) for clip in batch]
            with _naming(*(clip.path for clip in batch)):
                analyses.extend(model.embed_music_batch([(a.samples, a.sample_rate) for a in decoded]))
            bar.update(len(batch))
    return _embedded(clips, analyses)


def score(queries: EmbeddedSet, catalogue: EmbeddedSet, model_version: str = "") -> Evaluation:
    """Rank the whole catalogue for every query by cosine and compute the metrics (pure)."""
    rankings = metrics.rank_by_cosine(queries.vectors, catalogue.vectors)
    return Evaluation(
        report=metrics.score_rankings(queries.labels, catalogue.labels, rankings),
        confusion=metrics.confusion_matrix(queries.labels, queries.predicted),
        speech_accuracy=metrics.accuracy(queries.labels, queries.predicted),
        music_confusion=metrics.confusion_matrix(catalogue.labels, catalogue.predicted),
        music_accuracy=metrics.accuracy(catalogue.labels, catalogue.predicted),
        chance=metrics.chance_scores(queries.labels, catalogue.labels),
        model_version=model_version,
    )


def collect_trees(
    queries_dir: Path, catalogue_dir: Path, transcripts: dict[Path, str] | None = None
) -> tuple[list[LabelledClip], list[LabelledClip]]:
    """List the speech queries and music catalogue of two folder-per-label trees (checks labels, no decoding)."""
    return (
        scan_label_tree(queries_dir, SPEECH_LABELS, "speech", transcripts),
        scan_label_tree(catalogue_dir, MUSIC_LABELS, "music"),
    )


def collect_corpus(corpus_dir: Path, split: str = "test") -> tuple[list[LabelledClip], list[LabelledClip]]:
    """List one split of a built corpus: speech clips (manifest transcripts) and music tracks."""
    queries_dir, catalogue_dir = corpus_split_dirs(corpus_dir, split)
    return collect_trees(queries_dir, catalogue_dir, manifest_transcripts(corpus_dir))


def evaluate_clips(
    model: EmbeddingModel,
    query_clips: Sequence[LabelledClip],
    catalogue_clips: Sequence[LabelledClip],
    batch_size: int = 8,
    progress: bool = True,
) -> Evaluation:
    """Embed the queries and the catalogue with ``model`` and score every query's full ranking."""
    queries = embed_queries(model, query_clips, progress)
    catalogue = embed_catalogue(model, catalogue_clips, batch_size, progress)
    return score(queries, catalogue, model_version=getattr(model, "version", ""))


def _embedded(clips: Sequence[LabelledClip], analyses: list[ClipAnalysis]) -> EmbeddedSet:
    vectors = np.asarray([a.vector for a in analyses], dtype=np.float32).reshape(len(clips), -1)
    return EmbeddedSet(clips=list(clips), vectors=vectors, predicted=[a.label for a in analyses])


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), max(size, 1)):
        yield items[start : start + size]


@contextmanager
def _naming(*paths: Path) -> Iterator[None]:
    """Re-raise a ``ValueError`` from the model as a :class:`ClipError` naming the file(s) involved."""
    try:
        yield
    except ClipError:
        raise
    except ValueError as exc:
        names = ", ".join(str(p) for p in paths)
        raise ClipError(f"{names}: the model could not embed it ({exc})") from exc
