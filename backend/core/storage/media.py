"""Content-addressed file store for uploaded audio: a file's name is the sha256 of its bytes.

Writing the same bytes twice is a no-op, writes are atomic (temporary file + rename), and the
store is a plain folder so the API and the workers share it (a shared volume in production).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

# Kinds of stored audio, each in its own folder so deleting a track never touches a speech clip.
KINDS = ("tracks", "speech")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class MediaStore:
    """Files under ``root/<kind>/<sha[:2]>/<sha>``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, kind: str, sha256: str) -> Path:
        if kind not in KINDS:
            raise ValueError(f"unknown media kind {kind!r}; expected one of {KINDS}")
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / kind / sha256[:2] / sha256

    def put(self, kind: str, data: bytes) -> str:
        """Store ``data`` (once) and return its sha256."""
        digest = sha256_hex(data)
        target = self.path(kind, digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def read(self, kind: str, sha256: str) -> bytes:
        return self.path(kind, sha256).read_bytes()

    def exists(self, kind: str, sha256: str) -> bool:
        return self.path(kind, sha256).is_file()

    def delete(self, kind: str, sha256: str) -> None:
        self.path(kind, sha256).unlink(missing_ok=True)
