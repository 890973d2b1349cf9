"""Content-addressed file store for uploaded audio: a file's name is the sha256 of its bytes.

An upload is first written to a staging file (hashed as it is written, never held in memory), then
checked, then its row is committed, and only then is it renamed into place. So a refused upload or a
failed commit leaves no stored file behind, and every file in place has a committed row. The store
is a plain folder so the API and the workers share it (a shared volume in production).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

# Kinds of stored audio, each in its own folder so deleting a track never touches a speech clip.
KINDS = ("tracks", "speech")
STAGING = ".staging"
_COPY_BYTES = 1024 * 1024
_HEX = frozenset("0123456789abcdef")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_sha256(name: str) -> bool:
    return len(name) == 64 and set(name) <= _HEX


@dataclass(frozen=True)
class StagedFile:
    """An upload written to the staging folder, not yet part of the store."""

    path: Path
    sha256: str
    size: int


@dataclass(frozen=True)
class StoredFile:
    kind: str
    sha256: str
    path: Path


class MediaStore:
    """Files under ``root/<kind>/<sha[:2]>/<sha>``; uploads in progress under ``root/.staging``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, kind: str, sha256: str) -> Path:
        if kind not in KINDS:
            raise ValueError(f"unknown media kind {kind!r}; expected one of {KINDS}")
        if not is_sha256(sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256[:80]!r}")
        return self.root / kind / sha256[:2] / sha256

    @property
    def staging_dir(self) -> Path:
        return self.root / STAGING

    def stage(self, stream: BinaryIO | bytes) -> StagedFile:
        """Copy ``stream`` (or bytes) into a staging file, hashing it on the way; nothing is published yet."""
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=self.staging_dir, prefix="upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                if isinstance(stream, (bytes, bytearray, memoryview)):
                    digest.update(stream)
                    handle.write(stream)
                    size = len(stream)
                else:
                    while chunk := stream.read(_COPY_BYTES):
                        digest.update(chunk)
                        handle.write(chunk)
                        size += len(chunk)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return StagedFile(path=Path(tmp), sha256=digest.hexdigest(), size=size)

    def publish(self, kind: str, staged: StagedFile) -> Path:
        """Move a staged file into place (atomically; the same bytes already stored are kept, not rewritten)."""
        target = self.path(kind, staged.sha256)
        if target.is_file():
            self.discard(staged)
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, target)
        return target

    def discard(self, staged: StagedFile) -> None:
        staged.path.unlink(missing_ok=True)

    def put(self, kind: str, data: bytes) -> str:
        """Store ``data`` (once) and return its sha256."""
        staged = self.stage(data)
        try:
            self.publish(kind, staged)
        finally:
            self.discard(staged)
        return staged.sha256

    def read(self, kind: str, sha256: str) -> bytes:
        return self.path(kind, sha256).read_bytes()

    def exists(self, kind: str, sha256: str) -> bool:
        return self.path(kind, sha256).is_file()

    def delete(self, kind: str, sha256: str) -> None:
        self.path(kind, sha256).unlink(missing_ok=True)

    def stored(self) -> Iterator[StoredFile]:
        """Every file in place, of every kind (anything that is not a stored file is skipped)."""
        for kind in KINDS:
            folder = self.root / kind
            if not folder.is_dir():
                continue
            for path in sorted(folder.glob("*/*")):
                if path.is_file() and is_sha256(path.name) and path.parent.name == path.name[:2]:
                    yield StoredFile(kind=kind, sha256=path.name, path=path)

    def stale_staging(self, older_than_seconds: float, now: float | None = None) -> list[Path]:
        """Staging files left by uploads that died (not touched for ``older_than_seconds``)."""
        if not self.staging_dir.is_dir():
            return []
        cutoff = (time.time() if now is None else now) - older_than_seconds
        return sorted(p for p in self.staging_dir.iterdir() if p.is_file() and p.stat().st_mtime < cutoff)
