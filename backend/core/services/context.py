"""Everything a use case needs, built once per process from the settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from backend.core.config import Settings
from backend.core.services.queue import TaskQueue
from backend.core.storage.db import Database
from backend.core.storage.media import MediaStore
from backend.core.storage.vectors import VectorStore


@dataclass
class ServiceContext:
    """The settings, the database, the media store, the vector store and the task queue."""

    settings: Settings
    db: Database
    media: MediaStore
    vectors: VectorStore
    queue: TaskQueue
    # Collections known to exist (skips a round trip per vector write).
    ensured_collections: set[str] = field(default_factory=set)

    @classmethod
    def from_settings(cls, settings: Settings, queue: TaskQueue | None = None) -> ServiceContext:
        return cls(
            settings=settings,
            db=Database.from_settings(settings),
            media=MediaStore(settings.resolved_media_dir),
            vectors=VectorStore.from_settings(settings),
            queue=queue or TaskQueue(settings),
        )

    def ensure_collection(self, name: str) -> None:
        if name not in self.ensured_collections:
            self.vectors.ensure_collection(name)
            self.ensured_collections.add(name)

    def close(self) -> None:
        self.db.dispose()
        self.vectors.close()
