"""A small generated corpus, built once per test session and shared by the corpus tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus.build import build_corpus
from ml.manifest import ManifestRow, read_manifest

SMALL_SEED = 7


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[ManifestRow]]:
    """Build ``--size small`` once; return its root and manifest rows."""
    root = tmp_path_factory.mktemp("corpus_small")
    manifest = build_corpus(root, size="small", seed=SMALL_SEED, progress=False)
    return root, read_manifest(manifest)
