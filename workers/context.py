"""What a worker process holds: settings, service context and the loaded model, all created on
first use, so a prefork child builds its own database pool, Qdrant client and model after fork."""

from __future__ import annotations

import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from backend.core.config import Settings
from backend.core.services.context import ServiceContext
from backend.core.services.model_versions import ModelDescription, activate_if_none, active_model, register_model
from backend.core.storage.models import ModelVersion
from workers.registry import read_model_description

if TYPE_CHECKING:
    from ml.embedding.bundle import EmotionModel
    from ml.embedding.vad import VoiceActivityDetector


class ModelMismatchError(RuntimeError):
    """The model directory recorded for a version now holds another version."""


class WorkerContext:
    """Per-process worker resources; the model follows the database's active model version."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._model: EmotionModel | None = None
        self._model_lock = threading.Lock()
        self._vads: dict[int, VoiceActivityDetector] = {}

    @cached_property
    def services(self) -> ServiceContext:
        return ServiceContext.from_settings(self.settings)

    @cached_property
    def own_model(self) -> ModelDescription:
        """The model of this worker's ``MODEL_DIR``, as the registry stores it."""
        return read_model_description(self.settings.model_dir)

    def register_own_model(self) -> ModelVersion:
        """Register this worker's model; it becomes active if no model is yet."""
        with self.services.db.session() as session:
            row = register_model(session, self.own_model)
            return activate_if_none(session, row.version)

    def active_model(self) -> ModelVersion:
        """The model queries use; this worker's own model when none is registered yet."""
        with self.services.db.session() as session:
            current = active_model(session)
        return current if current is not None else self.register_own_model()

    def model(self) -> tuple[EmotionModel, ModelVersion]:
        """Return the loaded model of the active version (loading or switching it if needed)."""
        active = self.active_model()
        with self._model_lock:
            if self._model is None or self._model.version != active.version:
                model = load_worker_model(self.settings, Path(active.model_dir))
                if model.version != active.version:
                    raise ModelMismatchError(
                        f"{active.model_dir} holds model {model.version}, but the database expects {active.version}"
                    )
                self._model = model
            return self._model, active

    def vad(self, slot: int = 0) -> VoiceActivityDetector:
        """A voice activity detector, loaded on first use (its weights are inside its package); one per
        ``slot``, since a detector keeps its state between windows and threads must not share one."""
        with self._model_lock:
            if slot not in self._vads:
                import torch

                from ml.embedding.vad import VoiceActivityDetector  # torch: only inside workers

                self._vads[slot] = VoiceActivityDetector()
                torch.set_num_threads(self.settings.torch_threads)  # importing silero_vad sets it to 1
            return self._vads[slot]

    def close(self) -> None:
        if "services" in self.__dict__:
            self.services.close()
            del self.__dict__["services"]
        self._model = None


def load_worker_model(settings: Settings, model_dir: Path) -> EmotionModel:
    """Load a model directory with this process's torch thread budget."""
    import torch

    from ml.embedding.bundle import load_model  # torch: only inside workers

    torch.set_num_threads(settings.torch_threads)
    return load_model(model_dir, settings.device)
