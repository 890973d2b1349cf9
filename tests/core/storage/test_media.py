"""The content-addressed media store: one file per content, atomic writes, kinds kept apart."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from backend.core.storage.media import MediaStore, sha256_hex


def test_put_names_the_file_by_its_sha256_and_reads_it_back(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    digest = store.put("tracks", b"some audio bytes")
    assert digest == hashlib.sha256(b"some audio bytes").hexdigest() == sha256_hex(b"some audio bytes")
    assert store.path("tracks", digest) == tmp_path / "tracks" / digest[:2] / digest
    assert store.read("tracks", digest) == b"some audio bytes"
    assert store.exists("tracks", digest)


def test_the_same_bytes_twice_make_one_file_and_no_temporary_is_left(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    first = store.put("tracks", b"x" * 1000)
    mtime = store.path("tracks", first).stat().st_mtime_ns
    assert store.put("tracks", b"x" * 1000) == first
    assert store.path("tracks", first).stat().st_mtime_ns == mtime  # not rewritten
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [first]


def test_kinds_are_separate_folders(tmp_path: Path) -> None:
    store = MediaStore(tmp_path)
    digest = store.put("speech", b"hello")
    assert store.exists("speech", digest) and not store.exists("tracks", digest)
    store.delete("tracks", digest)  # deleting in another kind touches nothing
    assert store.exists("speech", digest)
    store.delete("speech", digest)
    assert not store.exists("speech", digest)
    store.delete("speech", digest)  # deleting a missing file is fine


@pytest.mark.parametrize(
    ("kind", "digest", "message"),
    [
        ("video", "a" * 64, "unknown media kind 'video'"),
        ("tracks", "../" + "a" * 61, "not a sha256 hex digest"),
        ("tracks", "A" * 64, "not a sha256 hex digest"),
        ("tracks", "a" * 63, "not a sha256 hex digest"),
    ],
)
def test_paths_outside_the_store_are_refused(tmp_path: Path, kind: str, digest: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MediaStore(tmp_path).path(kind, digest)
