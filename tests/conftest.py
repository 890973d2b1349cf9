"""Fixtures shared by every test module."""

import pytest


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory: pytest.TempPathFactory):
    """Build ``s2m corpus build --size small`` once per session; return its root and manifest rows."""
    from corpus.build import build_corpus
    from ml.manifest import read_manifest

    root = tmp_path_factory.mktemp("corpus_small")
    manifest = build_corpus(root, size="small", seed=7, progress=False)
    return root, read_manifest(manifest)
