"""One settings object, read from environment variables with strict parsing (pydantic-settings).

Every process (API, worker, CLI) builds a :class:`Settings` with :meth:`Settings.from_env`; tests
build one directly (``Settings(data_dir=...)`` reads no environment) and change it with
:meth:`Settings.with_overrides`. Nothing reads the environment anywhere else. A value that cannot
work raises :class:`ConfigError` naming the variable: ``MAX_UPLOAD_BYTES must be an integer, got 'lots'``.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = REPO_ROOT / "var"
# The bundled default model shipped in the repository (see its MODEL_CARD.md).
DEFAULT_MODEL_DIR = REPO_ROOT / "workers" / "bundled_model"
DEVICES = ("cpu", "cuda", "auto")
# Each pool process holds its own model; past this many the memory grows faster than throughput.
MAX_AUTO_WORKER_CONCURRENCY = 8


class ConfigError(ValueError):
    """An environment variable holds a value that cannot be used; the message names it."""


def _empty_is_false(value: Any) -> Any:
    """An empty variable (``LOG_JSON=``) means off, as it always has."""
    return False if isinstance(value, str) and not value.strip() else value


Switch = Annotated[bool, BeforeValidator(_empty_is_false)]
Positive = Annotated[int, Field(ge=1)]
NonNegative = Annotated[float, Field(ge=0)]

# What a value of each kind must be, in the words of the error message.
_EXPECTED = {
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_parsing": "a number",
    "float_type": "a number",
    "finite_number": "a finite number",
    "bool_parsing": "a boolean (1/0, true/false)",
    "bool_type": "a boolean (1/0, true/false)",
    "path_type": "a path",
    "string_type": "text",
}


def _describe(error: Mapping[str, Any]) -> str:
    kind, context = error["type"], error.get("ctx") or {}
    if not error["loc"]:  # a rule over several settings states its own message
        return str(context.get("error", error["msg"]))
    name = str(error["loc"][0]).upper()
    got = error.get("input")
    shown = "" if isinstance(got, dict) else f", got {got!r}"
    if kind == "greater_than_equal" and context.get("ge") == 0:
        return f"{name} must not be negative{shown}"
    if kind in _EXPECTED:
        requirement = _EXPECTED[kind]
    elif kind == "greater_than_equal":
        requirement = f"at least {context['ge']}"
    elif kind == "value_error":
        requirement = str(context.get("error", error["msg"]))
    else:
        requirement = error["msg"]
    return f"{name} must be {requirement}{shown}"


def config_error(exc: ValidationError) -> ConfigError:
    """Turn pydantic's error into one message naming each offending variable."""
    return ConfigError("; ".join(_describe(error) for error in exc.errors()))


# The environment mapping :meth:`Settings.from_env` reads (unset: construction reads no environment).
_ENVIRON: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar("s2m_environ", default=None)


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading a given mapping instead of ``os.environ``."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]):
        super().__init__(settings_cls)
        self.env_vars = parse_env_vars(environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str)


class Settings(BaseSettings):
    """Runtime configuration. Field names are the environment variable names, lower-cased."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid", case_sensitive=False, validate_default=True)

    # Where the embedded default keeps its SQLite file, Qdrant folder, broker folder and media.
    data_dir: Path = DEFAULT_DATA_DIR
    # SQLAlchemy URL; empty means SQLite under data_dir (the embedded default).
    database_url: str = ""
    # Celery broker; empty means the filesystem broker under data_dir (no server needed).
    celery_broker_url: str = ""
    # Qdrant server URL (production); when empty, the embedded engine in qdrant_path is used.
    qdrant_url: str = ""
    qdrant_api_key: str = ""
    # The embedded vector engine's folder (qdrant-edge); empty means data_dir/qdrant.
    qdrant_path: str = ""
    # Content-addressed store for uploaded audio; empty means data_dir/media.
    media_dir: str = ""
    # Model directory the workers load and register (weights, config, labels); the bundled model by default.
    model_dir: Path = DEFAULT_MODEL_DIR
    # "cpu", "cuda", or "auto" (cuda when available).
    device: str = "auto"
    # How many clips a GPU worker embeds in one forward pass.
    embed_batch_size: Positive = 16
    # Pool processes of the embedded catalogue worker (`s2m serve`, `s2m demo`) and the default of
    # `s2m worker --concurrency`; 0 sizes it to the machine: one per usable CPU core, at most 8.
    worker_concurrency: Annotated[int, Field(ge=0)] = 0
    # CPU threads torch may use in each worker process (scale with worker processes instead: on a
    # shared CPU, several threads per process spin against each other and run many times slower).
    torch_threads: Positive = 1
    # Upload limits.
    max_upload_bytes: Positive = 50 * 1024 * 1024
    max_speech_seconds: float = 60.0
    max_track_seconds: float = 900.0
    min_audio_seconds: float = 0.5
    # Long recordings turned into an emotion timeline (POST /v1/timelines): their own, larger limits.
    max_timeline_seconds: float = 3 * 3600.0
    max_timeline_upload_bytes: Positive = 512 * 1024 * 1024
    # A timeline is processed in chunks of this many seconds of audio, one task each, so a query
    # waiting behind it on the same worker waits for one chunk at most.
    timeline_chunk_seconds: Annotated[float, Field(ge=10.0)] = 300.0
    # Threads that analyse one chunk side by side (each on a part of it, one torch thread each).
    timeline_threads: Annotated[int, Field(ge=1, le=16)] = 2
    # Task attempts before an item that keeps failing (or killing its worker) is marked failed.
    max_task_attempts: Positive = 3
    # Seconds after which queued/processing work counts as stale for `s2m requeue`.
    stale_after_seconds: int = 600
    log_json: Switch = False
    # Seconds a delivered but unacknowledged task waits before the broker (Redis) hands it out again.
    broker_visibility_timeout: Positive = 3600
    # Prefix for every Redis key the broker uses, so several deployments (or test runs) share one Redis.
    broker_key_prefix: str = ""
    # Upper bound for `GET /v1/recommendations/<id>?wait=SECONDS` long-polling.
    max_wait_seconds: NonNegative = 30.0
    # Seconds a process waits for the owner of the embedded vector folder to answer.
    qdrant_lock_timeout: NonNegative = 60.0
    # Rate limits per API key ("60/minute", several joined by ";"): every /v1 request of a key without
    # its own limit, and on top of that uploads (POST tracks and recommendations) and queries (search,
    # reading recommendation answers) separately.
    default_key_rate_limit: str = "600/minute"
    upload_rate_limit: str = "60/minute"
    query_rate_limit: str = "300/minute"
    # Where rate-limit counters live: empty means the broker's Redis when the broker is Redis (all API
    # processes share it), else the API process's memory (the embedded default serves from one process).
    rate_limit_storage_url: str = ""
    # Caps per catalogue (0: none): tracks, and bytes of stored track audio.
    catalogue_max_tracks: Annotated[int, Field(ge=0)] = 0
    catalogue_max_bytes: Annotated[int, Field(ge=0)] = 0
    # /readyz and /metrics answer only to an admin-scoped key when set (else they are open, for probes).
    protect_operations: Switch = False
    # Origins (comma-separated) whose web pages may call the API from a browser; none by default.
    cors_origins: str = ""

    def __init__(self, **values: Any):
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise config_error(exc) from None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Keyword arguments first, then the environment :meth:`from_env` was given (if any)."""
        environ = _ENVIRON.get()
        return (init_settings,) if environ is None else (init_settings, _MappingEnvSource(settings_cls, environ))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from ``environ`` (default ``os.environ``); keyword overrides win."""
        token = _ENVIRON.set(os.environ if environ is None else environ)
        try:
            return cls(**overrides)
        finally:
            _ENVIRON.reset(token)

    def with_overrides(self, **overrides: Any) -> Settings:
        """Return a validated copy with some fields replaced."""
        return type(self)(**{**self.model_dump(exclude_unset=True), **overrides})

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        if value not in DEVICES:
            raise ValueError("cpu, cuda or auto")
        return value

    @field_validator("default_key_rate_limit", "upload_rate_limit", "query_rate_limit")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from backend.core.domain.access import check_rate_limit

        return check_rate_limit(value)

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: str) -> str:
        for origin in filter(None, (part.strip() for part in value.split(","))):
            if origin != "*" and not origin.startswith(("http://", "https://")):
                raise ValueError(f"a comma-separated list of origins like https://example.org, got {origin!r}")
        return value

    @property
    def allowed_origins(self) -> list[str]:
        return [part.strip() for part in self.cors_origins.split(",") if part.strip()]

    @property
    def resolved_rate_limit_storage_url(self) -> str:
        if self.rate_limit_storage_url:
            return self.rate_limit_storage_url
        if self.resolved_broker_url.startswith(("redis://", "rediss://")):
            return self.resolved_broker_url
        return "memory://"

    @model_validator(mode="after")
    def _durations_in_order(self) -> Settings:
        if not 0 < self.min_audio_seconds < min(self.max_speech_seconds, self.max_track_seconds):
            raise ValueError("MIN_AUDIO_SECONDS must be positive and below the maximum durations")
        return self

    def environment(self) -> dict[str, str]:
        """The environment variables that make :meth:`from_env` rebuild these settings in another process."""
        return {
            name.upper(): ("1" if value else "0") if isinstance(value, bool) else str(value)
            for name, value in self.model_dump().items()
        }

    @property
    def resolved_worker_concurrency(self) -> int:
        if self.worker_concurrency:
            return self.worker_concurrency
        return max(1, min(len(os.sched_getaffinity(0)), MAX_AUTO_WORKER_CONCURRENCY))

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
