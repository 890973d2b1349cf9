"""Model directories: save and load the emotion network, and run it on audio (EmotionModel).

A model directory holds ``config.json`` (architecture config plus ``version``),
``model.safetensors``, ``labels.json`` (label -> valence/arousal), ``prototypes.json`` (music label
-> mean 64-d music embedding) and ``MODEL_CARD.md``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from backend.core.domain.analysis import ClipAnalysis
from backend.core.domain.emotions import EMOTIONS
from ml.embedding import preprocess, vectors
from ml.embedding.text import SentenceEncoder, load_sentence_encoder
from ml.embedding.wav2vec2 import wav2vec2_from_config
from ml.model.config import ModelConfig
from ml.model.network import EmotionNetwork
from ml.model.pretrained_encoders import MusicnnMusicFeatures, WhisperSpeechFeatures
from ml.pretrained import load_musicnn, load_whisper_encoder

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
LABELS_FILE = "labels.json"
PROTOTYPES_FILE = "prototypes.json"
CARD_FILE = "MODEL_CARD.md"
MODEL_FILES = (CONFIG_FILE, WEIGHTS_FILE, LABELS_FILE, PROTOTYPES_FILE, CARD_FILE)
# Music crops embedded per forward pass.
CROPS_PER_BATCH = 16


def resolve_device(device: str) -> torch.device:
    """Map "cpu", "cuda" or "auto" to a torch device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ValueError(f"unknown device {device!r}; use cpu, cuda or auto")
    return torch.device(device)


def build_network(config: ModelConfig) -> EmotionNetwork:
    """Build the network for ``config``: frozen pretrained encoders loaded from their packages, the rest
    randomly initialised (wav2vec2 built from its config dict)."""
    backbone = wav2vec2_from_config(config.wav2vec2) if config.speech_backbone == "wav2vec2" else None
    pretrained = config.pretrained
    speech_features = music_features = None
    if config.uses_audio and config.frozen_speech:
        layer = pretrained.whisper_layer
        speech_features = WhisperSpeechFeatures(load_whisper_encoder(layers=layer), layer)
    if config.frozen_music:
        taggers = [load_musicnn(name) for name in pretrained.musicnn_models]
        music_features = MusicnnMusicFeatures(
            taggers, pretrained.musicnn_patch_hop_seconds, pretrained.musicnn_outputs, pretrained.music_statistics
        )
    return EmotionNetwork(config, wav2vec2=backbone, speech_features=speech_features, music_features=music_features)


def save_model_dir(
    model_dir: Path,
    network: EmotionNetwork,
    prototypes: dict[str, list[float]],
    card: str,
) -> str:
    """Write a complete model directory for ``network``; return its version string."""
    model_dir = Path(model_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    # Frozen pretrained encoders stay in their packages: the file holds what training made.
    state = {key: value.detach().cpu().contiguous() for key, value in network.trained_state_dict().items()}
    weights = model_dir / WEIGHTS_FILE
    save_file(state, str(weights))
    config = network.config
    version = f"{config.name}-{hashlib.sha256(weights.read_bytes()).hexdigest()[:8]}"
    _write_json(model_dir / CONFIG_FILE, {"version": version, **config.to_dict()})
    labels = {
        label: {"valence": EMOTIONS[label].valence, "arousal": EMOTIONS[label].arousal} for label in config.labels
    }
    _write_json(model_dir / LABELS_FILE, labels)
    _write_json(model_dir / PROTOTYPES_FILE, prototypes)
    (model_dir / CARD_FILE).write_text(card.replace("{version}", version), encoding="utf-8")
    return version


def _write_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def load_network(model_dir: Path, device: str = "cpu") -> tuple[EmotionNetwork, str]:
    """Load the network of a model directory in eval mode; return it and its version."""
    model_dir = Path(model_dir)
    torch_device = resolve_device(device)
    missing = [name for name in (CONFIG_FILE, WEIGHTS_FILE) if not (model_dir / name).is_file()]
    if missing:
        raise ValueError(f"{model_dir} is not a model directory (missing {', '.join(missing)})")
    data = json.loads((model_dir / CONFIG_FILE).read_text(encoding="utf-8"))
    version = data.pop("version", None)
    if not version:
        raise ValueError(f"{model_dir / CONFIG_FILE} has no 'version'")
    network = build_network(ModelConfig.from_dict(data))
    network.load_trained_state_dict(load_file(str(model_dir / WEIGHTS_FILE)))
    return network.to(torch_device).eval(), version


class EmotionModel:
    """A loaded model directory: embeds speech queries and whole music tracks."""

    def __init__(
        self, network: EmotionNetwork, version: str, device: torch.device, text_encoder: SentenceEncoder | None = None
    ):
        self.network = network
        self.config: ModelConfig = network.config
        self.version = version
        self.device = device
        self._text_encoder = text_encoder  # loaded on first use when None

    @property
    def labels(self) -> tuple[str, ...]:
        return self.config.labels

    def embed_music(self, samples: np.ndarray, sample_rate: int) -> ClipAnalysis:
        """Embed a whole track: fixed-hop crops, each L2-normalised, averaged and renormalised."""
        return self.embed_music_batch([(samples, sample_rate)])[0]

    def embed_music_batch(self, clips: Sequence[tuple[np.ndarray, int]]) -> list[ClipAnalysis]:
        """Embed several whole tracks, batching their crops together."""
        inputs = [self.music_track_input(samples, sample_rate) for samples, sample_rate in clips]
        if not inputs:
            return []
        with torch.inference_mode():
            if self.config.frozen_music:  # the encoder reads each whole track and pools it itself
                features = torch.cat([self.network.music_encoder(wave.to(self.device)) for wave in inputs])
                return [self.analyse_music_features(row.unsqueeze(0)) for row in features]
            owners = torch.cat([torch.full((len(crops),), i) for i, crops in enumerate(inputs)])
            z = torch.cat(
                [self.network.embed_music(chunk.to(self.device)) for chunk in torch.cat(inputs).split(CROPS_PER_BATCH)]
            )  # (n_crops, embed_dim)
        owners = owners.to(z.device)
        return [self._analyse_music(z[owners == index]) for index in range(len(inputs))]

    def music_track_input(self, samples: np.ndarray, sample_rate: int) -> torch.Tensor:
        """A track's encoder input: the whole track (1, samples) for a frozen encoder, else its
        loudness-normalised crops (n_crops, samples)."""
        config = self.config
        rate = config.music_rate
        wave = preprocess.to_model_rate(samples, sample_rate, rate)
        preprocess.check_not_silent(wave)
        if config.frozen_music:
            # Loudness is left as mastered: musicnn learnt from real levels, and loud is a mood cue.
            return wave.unsqueeze(0)
        crops = preprocess.music_crops(
            wave, round(config.music_crop_seconds * rate), round(config.music_hop_seconds * rate)
        )
        return preprocess.normalise_loudness(crops)

    def analyse_music_features(self, features: torch.Tensor) -> ClipAnalysis:
        """One track's music encoder output (1, out_dim) -> its analysis."""
        with torch.inference_mode():
            return self._analyse_music(self.network.embed_music_features(features.to(self.device)))

    def _analyse_music(self, parts: torch.Tensor) -> ClipAnalysis:
        """A track's crop vectors (n, d): mean, renormalised, is the track's vector."""
        pooled = torch.nn.functional.normalize(parts.mean(dim=0, keepdim=True), dim=-1)
        return self._analyse(pooled, parts, self.config.music_labels, speech=False)

    def speech_input(self, samples: np.ndarray, sample_rate: int) -> torch.Tensor:
        """A speech clip's encoder input (1, samples): at the model rate, cut, tiled, loudness-normalised."""
        config = self.config
        rate = config.speech_rate
        wave = preprocess.to_model_rate(samples, sample_rate, rate)
        preprocess.check_not_silent(wave)
        wave = wave[: round(config.speech_max_seconds * rate)]
        wave = preprocess.tile_to_length(wave, round(config.speech_min_seconds * rate))
        return preprocess.normalise_loudness(wave).unsqueeze(0)

    def embed_speech(self, samples: np.ndarray, sample_rate: int, transcript: str | None = None) -> ClipAnalysis:
        """Embed a speech query (audio, plus its transcript for text and fusion models)."""
        config = self.config
        audio = None
        if config.uses_audio:
            with torch.inference_mode():
                audio = self.network.speech_encoder(self.speech_input(samples, sample_rate).to(self.device))
        return self.analyse_speech_features(audio, transcript)

    def analyse_speech_features(self, audio: torch.Tensor | None, transcript: str | None = None) -> ClipAnalysis:
        """A query's speech encoder output (1, out_dim) (None for a text model) and transcript -> its analysis."""
        config = self.config
        transcript = (transcript or "").strip() or None
        text = None
        if config.uses_text and transcript is not None:
            text = self._encode_text([transcript]).to(self.device)  # (1, text_dim)
        if config.modality == "text" and text is None:
            raise ValueError(f"model {self.version} ranks by transcript; a non-empty transcript is required")
        with torch.inference_mode():
            z = self.network.embed_speech_features(None if audio is None else audio.to(self.device), text)
        return self._analyse(z, z, config.speech_labels, speech=True)

    def _encode_text(self, texts: list[str]) -> torch.Tensor:
        if self._text_encoder is None:
            self._text_encoder = load_sentence_encoder(str(self.device))
        return self._text_encoder(texts)

    def _analyse(
        self, pooled: torch.Tensor, parts: torch.Tensor, allowed: tuple[str, ...], *, speech: bool
    ) -> ClipAnalysis:
        """Turn a pooled vector (1, d) and its parts (n, d) into a ClipAnalysis."""
        labels = self.config.labels
        with torch.inference_mode():
            logits = self.network.label_logits(parts)  # (n, n_labels)
            mask = torch.tensor([label in allowed for label in labels], device=logits.device)
            probs = logits.masked_fill(~mask, float("-inf")).softmax(dim=-1).mean(dim=0)  # (n_labels,)
            va = self.network.valence_arousal(parts).mean(dim=0)  # (2,)
        probs, va, pooled = probs.cpu(), va.cpu(), pooled.cpu()
        label = labels[int(probs.argmax())]
        dim = self.config.embed_dim
        method = self.config.method
        if method == "classify":
            vector = (
                vectors.classify_speech_vectors([label], labels, dim)
                if speech
                else vectors.classify_music_vectors(probs.unsqueeze(0), dim)
            )[0]
        elif method == "regress":
            make = vectors.regress_speech_vectors if speech else vectors.regress_music_vectors
            vector = make(va.unsqueeze(0), dim)[0]
        else:
            vector = pooled[0]
        return ClipAnalysis(
            vector=[float(v) for v in vector],
            probabilities={name: float(p) for name, p in zip(labels, probs, strict=True)},
            label=label,
            valence=float(va[0]),
            arousal=float(va[1]),
            extra={"parts": float(parts.shape[0])},
        )


def load_model(model_dir: Path, device: str = "cpu") -> EmotionModel:
    """Load a model directory for inference."""
    network, version = load_network(model_dir, device)
    return EmotionModel(network, version, resolve_device(device))


UNTRAINED_CARD = """# Untrained emotion model ({version})

Randomly initialised weights (seed {seed}) written by `write_untrained_model`. It exists to test the
service plumbing: its embeddings, labels and valence/arousal values carry no meaning, and its
prototypes are random unit vectors. Never use it for real recommendations.
"""


def write_untrained_model(model_dir: Path, seed: int = 0) -> Path:
    """Write a valid, randomly initialised model directory and return its path."""
    generator = torch.Generator().manual_seed(seed)
    config = ModelConfig(name="untrained")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        network = build_network(config).eval()
    prototypes = {}
    for label in config.music_labels:
        vector = torch.nn.functional.normalize(torch.randn(config.embed_dim, generator=generator), dim=0)
        prototypes[label] = [float(v) for v in vector]
    save_model_dir(Path(model_dir), network, prototypes, UNTRAINED_CARD.replace("{seed}", str(seed)))
    return Path(model_dir)
