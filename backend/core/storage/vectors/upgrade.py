"""Convert an embedded folder written by qdrant-client's local mode into qdrant-edge shards.

Older versions kept the embedded vectors in qdrant-client's local mode (``meta.json`` and
``collection/<name>/storage.sqlite``). The owner of the folder converts it when it first opens
it (``s2m db upgrade`` does it too): every point of every collection, vectors and whole payload,
is copied into a staging folder, counted, and only then moved into place; the old files are kept
under ``local-mode-backup/``. A conversion cut short leaves the old files in place and is redone.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from backend.core.storage.vectors.edge import COLLECTIONS_FOLDER, EdgeEngine
from backend.core.storage.vectors.qdrant_server import QdrantClientEngine

log = logging.getLogger(__name__)

LOCAL_MODE_FILES = ("meta.json", "collection", ".lock")
BACKUP_FOLDER = "local-mode-backup"
STAGING_FOLDER = ".converting"
PAGE = 1000


class UpgradeError(RuntimeError):
    """The converted folder does not hold what the old one did; nothing was replaced."""


def is_local_mode_folder(root: Path) -> bool:
    return (root / "meta.json").is_file()


def convert_local_mode_folder(root: Path) -> dict[str, int] | None:
    """Convert ``root`` in place if it is a local-mode folder; return the points per collection."""
    if not is_local_mode_folder(root):
        return None
    counts: dict[str, int] = {}
    if not (root / COLLECTIONS_FOLDER).is_dir():
        staging = root / STAGING_FOLDER
        shutil.rmtree(staging, ignore_errors=True)
        source = QdrantClientEngine.for_local_folder(str(root))
        target = EdgeEngine(staging)
        try:
            for name in source.collection_names():
                counts[name] = _copy(source, target, name)
        finally:
            source.close()
            target.close()
        os.replace(staging / COLLECTIONS_FOLDER, root / COLLECTIONS_FOLDER)
        shutil.rmtree(staging)
    backup = root / BACKUP_FOLDER
    backup.mkdir(exist_ok=True)
    for entry in LOCAL_MODE_FILES:
        if (root / entry).exists():
            os.replace(root / entry, backup / entry)
    log.info("converted the local-mode vector folder to qdrant-edge: %s (old files in %s)", counts, backup)
    return counts


def _copy(source: QdrantClientEngine, target: EdgeEngine, name: str) -> int:
    target.ensure_collection(name)
    offset = None
    while True:
        page, offset = source.scroll(name, offset, PAGE, with_vectors=True)
        target.write_records(name, page)
        if offset is None:
            break
    expected, copied = source.count(name), target.count(name)
    if copied != expected:
        raise UpgradeError(f"collection {name}: {copied} of {expected} points copied; the old folder is unchanged")
    target.optimize(name)
    return copied
