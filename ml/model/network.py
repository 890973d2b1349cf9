"""The joint emotion network: encoders, projection heads into one space, label and VA heads."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ml.model.config import ModelConfig
from ml.model.encoders import AudioEncoder, Wav2Vec2Encoder

# Which halves of a fused speech embedding are kept: audio, text or both (masking fusion).
FUSION_MODES = ("audio", "text", "both")
# Logit scale of the cosine label classifier (inverse temperature).
LOGIT_SCALE = 10.0


class ProjectionHead(nn.Module):
    """Linear -> BatchNorm -> ReLU -> Linear -> BatchNorm: (b, d_in) -> (b, d_out).

    ``standardize``: a BatchNorm without affine weights first, so that frozen features of very
    different scales (tag logits, hidden states) enter on one scale, learnt from the training data.
    """

    def __init__(self, d_in: int, hidden: int, d_out: int, standardize: bool = False):
        super().__init__()
        first = [nn.BatchNorm1d(d_in, affine=False), nn.Dropout(0.2)] if standardize else []
        self.layers = nn.Sequential(
            *first,
            nn.Linear(d_in, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, d_out),
            nn.BatchNorm1d(d_out),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class EmotionNetwork(nn.Module):
    """Speech (audio and/or transcript features) and music into one ``embed_dim`` space.

    Every ``embed_*`` method returns L2-normalised vectors (b, embed_dim). Transcripts arrive as
    frozen sentence embeddings (b, text_dim) computed outside, so this module does no I/O.
    """

    def __init__(
        self,
        config: ModelConfig,
        wav2vec2: nn.Module | None = None,
        speech_features: nn.Module | None = None,
        music_features: nn.Module | None = None,
    ):
        """``wav2vec2``, ``speech_features`` and ``music_features``: the pretrained modules that the
        config's backbones name (wav2vec2, whisper features, musicnn features), already loaded."""
        super().__init__()
        self.config = config
        dim, hidden = config.embed_dim, config.projection_hidden
        half = dim // 2 if config.modality == "fusion" else dim
        if config.uses_audio:
            if config.speech_backbone == "wav2vec2":
                if wav2vec2 is None:
                    raise ValueError("speech_backbone 'wav2vec2' needs a Wav2Vec2Model passed in")
                self.speech_encoder: nn.Module = Wav2Vec2Encoder(wav2vec2)
            elif config.frozen_speech:
                if speech_features is None:
                    raise ValueError(f"speech_backbone {config.speech_backbone!r} needs its feature module passed in")
                self.speech_encoder = speech_features
            else:
                self.speech_encoder = AudioEncoder(config.speech)
            self.speech_head = ProjectionHead(
                self.speech_encoder.out_dim, hidden, half, standardize=config.frozen_speech
            )
        if config.uses_text:
            self.text_head = ProjectionHead(config.text_dim, hidden, half)
        if config.frozen_music:
            if music_features is None:
                raise ValueError(f"music_backbone {config.music_backbone!r} needs its feature module passed in")
            self.music_encoder: nn.Module = music_features
        else:
            self.music_encoder = AudioEncoder(config.music)
        self.music_head = ProjectionHead(self.music_encoder.out_dim, hidden, dim, standardize=config.frozen_music)
        if config.word_branch:
            self.word_head = ProjectionHead(config.text_dim, hidden, dim)
        # Cosine classifier: one unit direction per label in the joint space, logits scaled so the
        # unit-norm joint vectors can still give confident probabilities.
        self.classifier = nn.Linear(dim, len(config.labels), bias=False)
        self.va_head = nn.Linear(dim, 2)  # valence, arousal (before the sigmoid)

    def train(self, mode: bool = True) -> EmotionNetwork:
        """As nn.Module.train, but frozen pretrained encoders stay in eval mode (their batch norms keep
        the statistics they were trained with)."""
        super().train(mode)
        config = self.config
        if config.uses_audio and config.frozen_speech:
            self.speech_encoder.eval()
        if config.frozen_music:
            self.music_encoder.eval()
        return self

    def frozen_prefixes(self) -> tuple[str, ...]:
        """State-dict prefixes of frozen pretrained encoders: loaded from their packages, never saved."""
        config = self.config
        prefixes = []
        if config.uses_audio and config.frozen_speech:
            prefixes.append("speech_encoder.")
        if config.frozen_music:
            prefixes.append("music_encoder.")
        return tuple(prefixes)

    def trained_state_dict(self) -> dict[str, torch.Tensor]:
        """The state that training produced (everything but the frozen pretrained encoders)."""
        frozen = self.frozen_prefixes()
        return {k: v for k, v in self.state_dict().items() if not k.startswith(frozen)}

    def load_trained_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Load :meth:`trained_state_dict` output; every trained tensor must be there, nothing else."""
        result = self.load_state_dict(state, strict=False)
        frozen = self.frozen_prefixes()
        missing = [k for k in result.missing_keys if not k.startswith(frozen)]
        if missing or result.unexpected_keys:
            raise ValueError(
                f"weights do not fit this network: missing {missing[:5]}, unexpected {result.unexpected_keys[:5]}"
            )

    def embed_music(self, wave: torch.Tensor) -> torch.Tensor:
        """Music crops (b, samples) at the music rate -> unit vectors (b, embed_dim)."""
        return self.embed_music_features(self.music_encoder(wave))

    def embed_music_features(self, features: torch.Tensor) -> torch.Tensor:
        """Music encoder outputs (b, encoder.out_dim) -> unit vectors (b, embed_dim)."""
        return F.normalize(self.music_head(features), dim=-1)

    def embed_speech(
        self,
        wave: torch.Tensor | None = None,
        text: torch.Tensor | None = None,
        keep: str = "both",
    ) -> torch.Tensor:
        """Speech wave (b, samples) and/or transcript features (b, text_dim) -> unit vectors (b, embed_dim).

        For fusion models ``keep`` chooses which halves survive (masking fusion zeroes the other);
        a missing input counts as masked.
        """
        return self.embed_speech_features(None if wave is None else self.speech_encoder(wave), text, keep)

    def embed_speech_features(
        self,
        audio: torch.Tensor | None = None,
        text: torch.Tensor | None = None,
        keep: str = "both",
    ) -> torch.Tensor:
        """As :meth:`embed_speech`, from speech encoder outputs (b, encoder.out_dim) instead of waves."""
        config = self.config
        if config.modality == "audio":
            if audio is None:
                raise ValueError("this audio model needs the speech waveform")
            return F.normalize(self.speech_head(audio), dim=-1)
        if config.modality == "text":
            if text is None:
                raise ValueError("this text model needs transcript features")
            return F.normalize(self.text_head(text), dim=-1)
        if keep not in FUSION_MODES:
            raise ValueError(f"unknown fusion mode {keep!r}; choose one of {', '.join(FUSION_MODES)}")
        if audio is None and text is None:
            raise ValueError("a fusion model needs the speech waveform, transcript features or both")
        batch = (audio if audio is not None else text).shape[0]
        half = config.embed_dim // 2
        device = self.classifier.weight.device
        audio_half = torch.zeros(batch, half, device=device)
        text_half = torch.zeros(batch, half, device=device)
        if audio is not None and keep in ("audio", "both"):
            audio_half = F.normalize(self.speech_head(audio), dim=-1)
        if text is not None and keep in ("text", "both"):
            text_half = F.normalize(self.text_head(text), dim=-1)
        return F.normalize(torch.cat([audio_half, text_half], dim=-1), dim=-1)  # (b, embed_dim)

    def embed_words(self, word_features: torch.Tensor) -> torch.Tensor:
        """Emotion-word sentence embeddings (n, text_dim) -> unit vectors (n, embed_dim)."""
        return F.normalize(self.word_head(word_features), dim=-1)

    def label_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Joint vectors (b, embed_dim) -> logits over ``config.labels`` (b, n_labels)."""
        return LOGIT_SCALE * F.normalize(z, dim=-1) @ F.normalize(self.classifier.weight, dim=-1).T

    def valence_arousal(self, z: torch.Tensor) -> torch.Tensor:
        """Joint vectors (b, embed_dim) -> (valence, arousal) in [0, 1], shape (b, 2)."""
        return torch.sigmoid(self.va_head(z))
