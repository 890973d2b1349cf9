"""One settings object, read from environment variables with strict parsing.

Every process (API, worker, CLI) builds a :class:`Settings` with :meth:`Settings.from_env`; tests
build one directly with overrides. Nothing reads the environment anywhere else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = REPO_ROOT / "var"
# The bundled default model shipped in the repository (see its MODEL_CARD.md).
DEFAULT_MODEL_DIR = REPO_ROOT / "workers" / "bundled_model"


class ConfigError(ValueError):
    """An environment variable holds a value that cannot be used; the message names it."""


def _parse_int(name: str, raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None


def _parse_float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


@dataclass(frozen=True)
class Settings:
    """Runtime configuration. Field names are the environment variable names, lower-cased."""

    # Where the embedded default keeps its SQLite file, Qdrant folder, broker folder and media.
    data_dir: Path = DEFAULT_DATA_DIR
    # SQLAlchemy URL; empty means SQLite under data_dir (the embedded default).
    database_url: str = ""
    # Celery broker; empty means the filesystem broker under data_dir (no server needed).
    celery_broker_url: str = ""
    # Qdrant server URL (production); when empty, qdrant_path (local mode) is used.
    qdrant_url: str = ""
    qdrant_api_key: str = ""
    # Qdrant local-mode folder; empty means data_dir/qdrant.
    qdrant_path: str = ""
    # Content-addressed store for uploaded audio; empty means data_dir/media.
    media_dir: str = ""
    # Model directory the workers load (weights, config, labels); the bundled model by default.
    model_dir: Path = DEFAULT_MODEL_DIR
    # "cpu", "cuda", or "auto" (cuda when available).
    device: str = "auto"
    # How many clips a GPU worker embeds in one forward pass.
    embed_batch_size: int = 16
    # CPU threads torch may use in each worker process (scale with worker processes instead: on a
    # shared CPU, several threads per process spin against each other and run many times slower).
    torch_threads: int = 1
    # Upload limits.
    max_upload_bytes: int = 50 * 1024 * 1024
    max_speech_seconds: float = 60.0
    max_track_seconds: float = 900.0
    min_audio_seconds: float = 0.5
    # Task attempts before an item that keeps failing (or killing its worker) is marked failed.
    max_task_attempts: int = 3
    # Seconds after which queued/processing work counts as stale for `s2m requeue`.
    stale_after_seconds: int = 600
    log_json: bool = False
    # Seconds a delivered but unacknowledged task waits before the broker (Redis) hands it out again.
    broker_visibility_timeout: int = 3600
    # Prefix for every Redis key the broker uses, so several deployments (or test runs) share one Redis.
    broker_key_prefix: str = ""
    # Upper bound for `GET /v1/recommendations/<id>?wait=SECONDS` long-polling.
    max_wait_seconds: float = 30.0
    # Seconds to wait for the cross-process lock on a local-mode Qdrant folder.
    qdrant_lock_timeout: float = 60.0
    # Fault-injection for tests: seconds a worker sleeps inside each task after marking it processing.
    task_delay_seconds: float = 0.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from ``environ`` (default ``os.environ``); keyword overrides win."""
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in fields(cls):
            raw = environ.get(field.name.upper())
            if raw is None:
                continue
            name = field.name.upper()
            default = field.default
            if isinstance(default, bool):
                values[field.name] = _parse_bool(name, raw)
            elif isinstance(default, int):
                values[field.name] = _parse_int(name, raw)
            elif isinstance(default, float):
                values[field.name] = _parse_float(name, raw)
            elif isinstance(default, Path):
                values[field.name] = Path(raw)
            else:
                values[field.name] = raw
        values.update(overrides)
        settings = cls(**values)  # type: ignore[arg-type]
        settings.validate()
        return settings

    def with_overrides(self, **overrides: object) -> Settings:
        """Return a copy with some fields replaced."""
        return replace(self, **overrides)  # type: ignore[arg-type]

    def validate(self) -> None:
        """Raise :class:`ConfigError` for values that cannot work."""
        if self.device not in {"cpu", "cuda", "auto"}:
            raise ConfigError(f"DEVICE must be cpu, cuda or auto, got {self.device!r}")
        for name in (
            "embed_batch_size",
            "torch_threads",
            "max_upload_bytes",
            "max_task_attempts",
            "broker_visibility_timeout",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name.upper()} must be at least 1, got {getattr(self, name)}")
        if not 0 < self.min_audio_seconds < min(self.max_speech_seconds, self.max_track_seconds):
            raise ConfigError("MIN_AUDIO_SECONDS must be positive and below the maximum durations")
        for name in ("max_wait_seconds", "qdrant_lock_timeout", "task_delay_seconds"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name.upper()} must not be negative, got {getattr(self, name)}")

    # Resolved locations of the embedded default.
    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 's2m.db'}"

    @property
    def resolved_broker_url(self) -> str:
        return self.celery_broker_url or "filesystem://"

    @property
    def broker_folder(self) -> Path:
        return self.data_dir / "broker"

    @property
    def resolved_qdrant_path(self) -> Path:
        return Path(self.qdrant_path) if self.qdrant_path else self.data_dir / "qdrant"

    @property
    def resolved_media_dir(self) -> Path:
        return Path(self.media_dir) if self.media_dir else self.data_dir / "media"
