"""Whisper's audio encoder and its log-mel front end, as torch modules (no I/O here).

The weights come from a CTranslate2 conversion (see ``ml.pretrained.whisper_bundle``); the
module layout follows CTranslate2's ``WhisperEncoder`` (conv1 + GELU, conv2 stride 2 + GELU,
position encodings, pre-LayerNorm transformer layers, final LayerNorm), which is OpenAI
Whisper's ``AudioEncoder``. Unlike Whisper, inputs are not padded to 30 s: the encoder runs on
the real length and slices the position encodings to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torchaudio
from torch import nn
from torch.nn import functional as F


@dataclass
class WhisperFrontendConfig:
    """Whisper's log-mel spectrogram (``whisper.audio.log_mel_spectrogram``)."""

    sample_rate: int = 16000  # Hz; inputs must already be at this rate
    n_fft: int = 400  # FFT size in samples (25 ms)
    hop_length: int = 160  # frame hop in samples (10 ms)
    n_mels: int = 80  # Slaney-scale, Slaney-normalised mel bins from 0 Hz to Nyquist
    max_seconds: float = 30.0  # longest input the encoder's position encodings cover
    log_floor: float = 1e-10  # mel power is clamped to this before log10
    dynamic_range: float = 8.0  # log10 values below (max - this) are raised to it


@dataclass
class WhisperEncoderConfig:
    """Size of a Whisper audio encoder; the defaults are tiny / tiny.en."""

    n_mels: int = 80  # input mel bins
    width: int = 384  # model width (d_model)
    heads: int = 6  # attention heads; width must divide by it
    layers: int = 4  # transformer layers built
    ffn_width: int = 1536  # hidden width of each feed-forward block
    n_positions: int = 1500  # position encodings: 1500 x 20 ms = 30 s
    layer_norm_eps: float = 1e-5
    # False for an encoder built with fewer layers than it was trained with: its final
    # LayerNorm belongs after the last trained layer, so it is neither built nor applied.
    final_layer_norm: bool = True

    def __post_init__(self) -> None:
        for name in ("n_mels", "width", "heads", "layers", "ffn_width", "n_positions"):
            if getattr(self, name) < 1:
                raise ValueError(f"WhisperEncoderConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.width % self.heads:
            raise ValueError(f"WhisperEncoderConfig.width {self.width} does not divide into {self.heads} heads")


@dataclass
class WhisperEncoderOutput:
    """What ``WhisperEncoder.forward`` computed.

    ``hidden_states``: (layers_run + 1) tensors of shape (batch, positions, width): index 0 is the
    input to the first layer (convolutions + position encodings), index i the output of layer i
    (the residual stream, no final LayerNorm), as Hugging Face's ``hidden_states`` numbers them.
    ``last_hidden_state``: (batch, positions, width), the final LayerNorm of the last layer's
    output, i.e. Whisper's encoder output; None when the forward stopped early or the encoder
    has no final LayerNorm.
    """

    hidden_states: tuple[torch.Tensor, ...]
    last_hidden_state: torch.Tensor | None


def sinusoidal_position_encodings(positions: int, width: int) -> torch.Tensor:
    """Whisper's fixed encodings: (positions, width), sines in the first half, cosines in the second."""
    if width % 2 or width < 4:
        raise ValueError(f"sinusoidal position encodings need an even width >= 4, got {width}")
    log_increment = math.log(10000) / (width // 2 - 1)
    inverse_timescales = torch.exp(-log_increment * torch.arange(width // 2, dtype=torch.float32))
    scaled_time = torch.arange(positions, dtype=torch.float32)[:, None] * inverse_timescales[None, :]
    return torch.cat([torch.sin(scaled_time), torch.cos(scaled_time)], dim=1)


class WhisperFrontend(nn.Module):
    """16 kHz waveform (batch, samples) -> Whisper log-mel (batch, n_mels, samples // hop_length).

    Exactly Whisper's recipe without its padding to 30 s: a centred STFT with reflect padding
    and a periodic Hann window, power spectrum without the last frame, Slaney mel filters,
    log10 of the power clamped at ``log_floor``, raised to (max - ``dynamic_range``) where max is
    taken per clip, then (x + 4) / 4. Inputs from ``n_fft // 2 + 1`` samples up to
    ``max_seconds`` are accepted.
    """

    def __init__(self, config: WhisperFrontendConfig | None = None):
        super().__init__()
        self.config = config or WhisperFrontendConfig()
        c = self.config
        self.register_buffer("window", torch.hann_window(c.n_fft), persistent=False)
        filters = torchaudio.functional.melscale_fbanks(
            n_freqs=c.n_fft // 2 + 1,
            f_min=0.0,
            f_max=c.sample_rate / 2,
            n_mels=c.n_mels,
            sample_rate=c.sample_rate,
            norm="slaney",
            mel_scale="slaney",
        )
        self.register_buffer("mel_filters", filters.T.contiguous(), persistent=False)  # (n_mels, freqs)

    @property
    def max_samples(self) -> int:
        return round(self.config.max_seconds * self.config.sample_rate)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        c = self.config
        if wave.dim() != 2:
            raise ValueError(f"WhisperFrontend wants a (batch, samples) waveform, got shape {tuple(wave.shape)}")
        samples = wave.shape[1]
        if not c.n_fft // 2 < samples <= self.max_samples:
            raise ValueError(
                f"WhisperFrontend takes {c.n_fft // 2 + 1} to {self.max_samples} samples "
                f"({c.max_seconds:g} s at {c.sample_rate} Hz), got {samples}"
            )
        spectrum = torch.stft(
            wave.float(),
            c.n_fft,
            c.hop_length,
            window=self.window,
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )  # (batch, freqs, samples // hop + 1)
        power = spectrum[..., :-1].abs() ** 2  # (batch, freqs, frames)
        mel = self.mel_filters @ power  # (batch, n_mels, frames)
        log_mel = torch.clamp(mel, min=c.log_floor).log10()
        peak = log_mel.amax(dim=(1, 2), keepdim=True)  # (batch, 1, 1): per clip, as Whisper sees one clip
        log_mel = torch.maximum(log_mel, peak - c.dynamic_range)
        return (log_mel + 4.0) / 4.0


class SelfAttention(nn.Module):
    """Multi-head self-attention with one fused q/k/v projection (CTranslate2's ``linear_0``)."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, positions, width = x.shape
        qkv = self.qkv(x).view(batch, positions, 3, self.heads, width // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each (batch, heads, positions, head_width)
        attended = F.scaled_dot_product_attention(q, k, v)  # (batch, heads, positions, head_width)
        return self.out(attended.transpose(1, 2).reshape(batch, positions, width))


class EncoderLayer(nn.Module):
    """Pre-LayerNorm transformer layer: x + attention(LN(x)), then x + FFN(LN(x)) with GELU."""

    def __init__(self, config: WhisperEncoderConfig):
        super().__init__()
        self.attention_norm = nn.LayerNorm(config.width, eps=config.layer_norm_eps)
        self.attention = SelfAttention(config.width, config.heads)
        self.ffn_norm = nn.LayerNorm(config.width, eps=config.layer_norm_eps)
        self.ffn_in = nn.Linear(config.width, config.ffn_width)
        self.ffn_out = nn.Linear(config.ffn_width, config.width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.attention_norm(x))
        return x + self.ffn_out(F.gelu(self.ffn_in(self.ffn_norm(x))))


class WhisperEncoder(nn.Module):
    """Whisper's audio encoder: log-mel (batch, n_mels, frames) -> hidden states (batch, positions, width).

    ``positions = (frames + 1) // 2`` (one per 20 ms); ``frames`` may be anything from 1 up to
    ``2 * n_positions`` (30 s). There is no attention mask, as in Whisper: clips of a batch must
    have the same length, and zero-padding a clip changes its hidden states.
    """

    def __init__(self, config: WhisperEncoderConfig | None = None):
        super().__init__()
        self.config = config or WhisperEncoderConfig()
        c = self.config
        self.conv1 = nn.Conv1d(c.n_mels, c.width, kernel_size=3, padding=1)
        self.conv2 = nn.Conv1d(c.width, c.width, kernel_size=3, stride=2, padding=1)
        self.register_buffer("position_encodings", sinusoidal_position_encodings(c.n_positions, c.width))
        self.layers = nn.ModuleList(EncoderLayer(c) for _ in range(c.layers))
        self.layer_norm = nn.LayerNorm(c.width, eps=c.layer_norm_eps) if c.final_layer_norm else None

    def forward(self, mel: torch.Tensor, num_layers: int | None = None) -> WhisperEncoderOutput:
        """Run the convolutions and the first ``num_layers`` layers (default: all of them)."""
        c = self.config
        if mel.dim() != 3 or mel.shape[1] != c.n_mels:
            raise ValueError(
                f"WhisperEncoder wants log-mel of shape (batch, {c.n_mels}, frames), got {tuple(mel.shape)}"
            )
        if not 1 <= mel.shape[2] <= 2 * c.n_positions:
            raise ValueError(f"WhisperEncoder takes 1 to {2 * c.n_positions} frames, got {mel.shape[2]}")
        num_layers = c.layers if num_layers is None else num_layers
        if not 0 <= num_layers <= c.layers:
            raise ValueError(f"num_layers must be in 0..{c.layers}, got {num_layers}")
        x = F.gelu(self.conv1(mel))  # (batch, width, frames)
        x = F.gelu(self.conv2(x)).transpose(1, 2)  # (batch, positions, width)
        x = x + self.position_encodings[: x.shape[1]]
        hidden_states = [x]
        for layer in self.layers[:num_layers]:
            x = layer(x)
            hidden_states.append(x)
        last = None
        if num_layers == c.layers and self.layer_norm is not None:
            last = self.layer_norm(x)
        return WhisperEncoderOutput(tuple(hidden_states), last)
