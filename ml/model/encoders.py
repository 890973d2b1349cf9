"""Audio encoders: log-mel front end, residual conv blocks, transformer with a CLS token."""

from __future__ import annotations

import itertools
import math

import torch
import torchaudio
from torch import nn

from ml.model.config import AudioEncoderConfig, FrontendConfig

# Added to mel power before the log, so silence maps to a finite floor.
LOG_OFFSET = 1e-6


class LogMel(nn.Module):
    """Waveform (batch, samples) -> log-mel (batch, n_mels, frames), per-bin normalised."""

    def __init__(self, config: FrontendConfig):
        super().__init__()
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=config.sample_rate,
            n_fft=config.n_fft,
            hop_length=config.hop_length,
            n_mels=config.n_mels,
            f_min=config.f_min,
            f_max=config.f_max,
            power=2.0,
        )
        # Learned per-bin input normalisation; part of the weights, so inference matches training.
        self.norm = nn.BatchNorm1d(config.n_mels)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        mel = self.mel(wave)  # (batch, n_mels, frames)
        return self.norm(torch.log(mel + LOG_OFFSET))


class ResidualBlock(nn.Module):
    """Two 3x3 convs with a shortcut, then 2x2 max pooling: (b, c_in, f, t) -> (b, c_out, f/2, t/2)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out))
        self.pool = nn.MaxPool2d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(torch.relu(self.body(x) + self.shortcut(x)))


def sinusoidal_positions(length: int, dim: int, device: torch.device) -> torch.Tensor:
    """Return (length, dim) sinusoidal position codes, so any input length works."""
    position = torch.arange(length, device=device, dtype=torch.float32).unsqueeze(1)
    scale = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    codes = torch.zeros(length, dim, device=device)
    codes[:, 0::2] = torch.sin(position * scale)
    codes[:, 1::2] = torch.cos(position * scale)
    return codes


class AudioEncoder(nn.Module):
    """Waveform (batch, samples) at the front end's rate -> clip feature (batch, out_dim)."""

    def __init__(self, config: AudioEncoderConfig):
        super().__init__()
        self.config = config
        self.frontend = LogMel(config.frontend)
        widths = (1, *tuple(config.channels))
        self.blocks = nn.Sequential(*(ResidualBlock(a, b) for a, b in itertools.pairwise(widths)))
        reduced_mels = config.frontend.n_mels // 2 ** len(config.channels)
        if reduced_mels < 1:
            raise ValueError(f"{config.frontend.n_mels} mels are too few for {len(config.channels)} pooling blocks")
        self.to_tokens = nn.Linear(config.channels[-1] * reduced_mels, config.d_model)
        self.cls = nn.Parameter(torch.zeros(1, 1, config.d_model))
        layer = nn.TransformerEncoderLayer(
            config.d_model,
            config.n_heads,
            dim_feedforward=2 * config.d_model,
            dropout=config.dropout,
            batch_first=True,
            norm_first=True,
        )
        self.transformer = nn.TransformerEncoder(layer, config.n_layers, enable_nested_tensor=False)
        self.pool_stats = config.pooling == "cls_stats"
        self.out_dim = config.d_model * (3 if self.pool_stats else 1)
        self.out_norm = nn.LayerNorm(self.out_dim)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = self.frontend(wave).unsqueeze(1)  # (b, 1, n_mels, frames)
        x = self.blocks(x)  # (b, c, n_mels / 2^k, frames / 2^k)
        b, c, f, t = x.shape
        tokens = self.to_tokens(x.permute(0, 3, 1, 2).reshape(b, t, c * f))  # (b, t, d_model)
        tokens = tokens + sinusoidal_positions(t, tokens.shape[-1], tokens.device)
        tokens = torch.cat([self.cls.expand(b, -1, -1), tokens], dim=1)  # (b, 1 + t, d_model)
        hidden = self.transformer(tokens)  # (b, 1 + t, d_model)
        pooled = hidden[:, 0]
        if self.pool_stats:
            frames = hidden[:, 1:]
            std = frames.var(dim=1, unbiased=False).clamp_min(1e-6).sqrt()
            pooled = torch.cat([pooled, frames.mean(dim=1), std], dim=-1)  # (b, 3 * d_model)
        return self.out_norm(pooled)  # (b, out_dim)


class Wav2Vec2Encoder(nn.Module):
    """A transformers Wav2Vec2Model as speech encoder: 16 kHz wave (b, samples) -> mean hidden (b, hidden)."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.out_dim = int(backbone.config.hidden_size)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        # wav2vec 2.0 expects zero-mean, unit-variance input per utterance.
        wave = (wave - wave.mean(dim=1, keepdim=True)) / (wave.std(dim=1, keepdim=True) + 1e-5)
        hidden = self.backbone(wave).last_hidden_state  # (b, frames, hidden)
        return hidden.mean(dim=1)
