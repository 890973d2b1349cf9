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
    """Linear -> BatchNorm -> ReLU -> Linear -> BatchNorm: (b, d_in) -> (b, d_out)."""

    def __init__(self, d_in: int, hidden: int, d_out: int):
        super().__init__()
        self.layers = nn.Sequential(
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

    def __init__(self, config: ModelConfig, wav2vec2: nn.Module | None = None):
        super().__init__()
        self.config = config
        dim, hidden = config.embed_dim, config.projection_hidden
        half = dim // 2 if config.modality == "fusion" else dim
        if config.uses_audio:
            if config.speech_backbone == "wav2vec2":
                if wav2vec2 is None:
                    raise ValueError("speech_backbone 'wav2vec2' needs a Wav2Vec2Model passed in")
                self.speech_encoder: nn.Module = Wav2Vec2Encoder(wav2vec2)
            else:
                self.speech_encoder = AudioEncoder(config.speech)
            self.speech_head = ProjectionHead(self.speech_encoder.out_dim, hidden, half)
        if config.uses_text:
            self.text_head = ProjectionHead(config.text_dim, hidden, half)
        self.music_encoder = AudioEncoder(config.music)
        self.music_head = ProjectionHead(self.music_encoder.out_dim, hidden, dim)
        if config.word_branch:
            self.word_head = ProjectionHead(config.text_dim, hidden, dim)
        # Cosine classifier: one unit direction per label in the joint space, logits scaled so the
        # unit-norm joint vectors can still give confident probabilities.
        self.classifier = nn.Linear(dim, len(config.labels), bias=False)
        self.va_head = nn.Linear(dim, 2)  # valence, arousal (before the sigmoid)

    def embed_music(self, wave: torch.Tensor) -> torch.Tensor:
        """Music crops (b, samples) at the music rate -> unit vectors (b, embed_dim)."""
        return F.normalize(self.music_head(self.music_encoder(wave)), dim=-1)

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
        config = self.config
        if config.modality == "audio":
            if wave is None:
                raise ValueError("this audio model needs the speech waveform")
            return F.normalize(self.speech_head(self.speech_encoder(wave)), dim=-1)
        if config.modality == "text":
            if text is None:
                raise ValueError("this text model needs transcript features")
            return F.normalize(self.text_head(text), dim=-1)
        if keep not in FUSION_MODES:
            raise ValueError(f"unknown fusion mode {keep!r}; choose one of {', '.join(FUSION_MODES)}")
        if wave is None and text is None:
            raise ValueError("a fusion model needs the speech waveform, transcript features or both")
        batch = (wave if wave is not None else text).shape[0]
        half = config.embed_dim // 2
        device = self.classifier.weight.device
        audio_half = torch.zeros(batch, half, device=device)
        text_half = torch.zeros(batch, half, device=device)
        if wave is not None and keep in ("audio", "both"):
            audio_half = F.normalize(self.speech_head(self.speech_encoder(wave)), dim=-1)
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
