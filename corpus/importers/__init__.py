"""Importers of real emotion datasets into the corpus layout (same manifest, rates and splits rules)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from corpus.importers.audioset import import_audioset_mood
from corpus.importers.debian_audio import import_debian_audio
from corpus.importers.iemocap import import_iemocap
from corpus.importers.ravdess import import_ravdess

IMPORTERS: dict[str, Callable[..., Path]] = {
    "iemocap": import_iemocap,
    "ravdess": import_ravdess,
    "audioset-mood": import_audioset_mood,
    "debian-audio": import_debian_audio,
}
