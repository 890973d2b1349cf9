"""musicnn (Pons & Serra, 2019) as torch modules: its log-mel front end and the tagger (no I/O here).

The architecture is the one the ``musicnn`` package defines in TensorFlow (``models.py``,
``build_musicnn``): a batch-normalised log-mel patch feeds five musically motivated conv
branches (two timbral: 7 frames x 38 or 67 mel bins; three temporal: 128, 64 or 32 frames x 1 bin),
each max-pooled over frequency; a mid-end of three 7-frame 1-D convolutions (the last two
residual) densely concatenated with the front end; a back end that max- and mean-pools over
time, then batch-norm, a dense ReLU layer (the "penultimate" features) and the tag logits.
Batch norm uses TensorFlow's epsilon, 1e-3.

Two bugs of the package's own ``extractor`` are deliberately not reproduced: it casts the mel
spectrogram to float16 before the log (inf on loud input), and it returns the first patch's
penultimate (and cnn1-3) features for every patch.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
import torchaudio
from torch import nn
from torch.nn import functional as F


@dataclass
class MusicnnFrontendConfig:
    """musicnn's input: librosa's mel spectrogram of 16 kHz audio, then log10(10000 x mel + 1)."""

    sample_rate: int = 16000  # Hz; inputs must already be at this rate
    n_fft: int = 512  # FFT size in samples (32 ms)
    hop_length: int = 256  # frame hop in samples (16 ms)
    n_mels: int = 96  # Slaney-scale, Slaney-normalised mel bins from 0 Hz to Nyquist (librosa's default)
    log_gain: float = 10000.0  # log10(log_gain * mel + 1), the "logC" pre-processing of its training


@dataclass
class MusicnnConfig:
    """Sizes of ``build_musicnn``; defaults are MSD_musicnn / MTT_musicnn."""

    tags: tuple[str, ...]  # names of the tag outputs, in order
    n_mels: int = 96  # input mel bins
    patch_frames: int = 187  # frames of a training patch (3 s); other lengths work, see Musicnn
    timbral_filters: int = 204  # int(1.6 * 128) per timbral branch
    timbral_frames: int = 7  # kernel length in time of the timbral branches
    timbral_bins: tuple[int, ...] = (38, 67)  # int(0.4 * 96), int(0.7 * 96): kernel heights in mel bins
    temporal_filters: int = 51  # int(1.6 * 32) per temporal branch
    temporal_frames: tuple[int, ...] = (128, 64, 32)  # kernel lengths in time of the temporal branches
    midend_filters: int = 64  # channels of each mid-end convolution
    midend_frames: int = 7  # kernel length of the mid-end convolutions
    backend_units: int = 200  # width of the penultimate dense layer
    batch_norm_eps: float = 1e-3  # TensorFlow's default epsilon

    def __post_init__(self) -> None:
        if not self.tags:
            raise ValueError("MusicnnConfig.tags must name at least one tag")
        for bins in self.timbral_bins:
            if not 1 <= bins <= self.n_mels:
                raise ValueError(f"MusicnnConfig.timbral_bins {bins} must be in 1..{self.n_mels}")

    @property
    def frontend_channels(self) -> int:
        return len(self.timbral_bins) * self.timbral_filters + len(self.temporal_frames) * self.temporal_filters

    @property
    def midend_channels(self) -> int:
        """Width of the dense mid-end output: the front end's channels plus three mid-end layers."""
        return self.frontend_channels + 3 * self.midend_filters


@dataclass
class MusicnnOutput:
    """Per-patch outputs of ``Musicnn.forward``, each (patches, features)."""

    logits: torch.Tensor  # (patches, tags)
    taggram: torch.Tensor  # (patches, tags): sigmoid(logits), the tag probabilities
    penultimate: torch.Tensor  # (patches, backend_units): batch-normed dense ReLU layer
    mean_pool: torch.Tensor  # (patches, midend_channels): mid-end features averaged over time
    max_pool: torch.Tensor  # (patches, midend_channels): mid-end features max-pooled over time


class MusicnnFrontend(nn.Module):
    """16 kHz waveform (batch, samples) -> log-mel (batch, samples // hop_length + 1, n_mels).

    As ``librosa.feature.melspectrogram`` (power 2, periodic Hann window, centred frames with
    reflect padding, the default of the librosa versions musicnn was built with) followed by
    log10(10000 x mel + 1), all in float32. Needs more than ``n_fft // 2`` samples.
    """

    def __init__(self, config: MusicnnFrontendConfig | None = None):
        super().__init__()
        self.config = config or MusicnnFrontendConfig()
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
        self.register_buffer("mel_filters", filters.contiguous(), persistent=False)  # (freqs, n_mels)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        c = self.config
        if wave.dim() != 2:
            raise ValueError(f"MusicnnFrontend wants a (batch, samples) waveform, got shape {tuple(wave.shape)}")
        if wave.shape[1] <= c.n_fft // 2:
            raise ValueError(f"MusicnnFrontend needs more than {c.n_fft // 2} samples, got {wave.shape[1]}")
        spectrum = torch.stft(
            wave.float(),
            c.n_fft,
            c.hop_length,
            window=self.window,
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )  # (batch, freqs, frames)
        power = spectrum.abs().pow(2).transpose(1, 2)  # (batch, frames, freqs)
        mel = power @ self.mel_filters  # (batch, frames, n_mels)
        return torch.log10(c.log_gain * mel + 1.0)


def split_patches(log_mel: torch.Tensor, patch_frames: int = 187, hop_frames: int = 187) -> torch.Tensor:
    """One clip's log-mel (frames, n_mels) -> patches (count, patch_frames, n_mels).

    Patches start at 0, hop_frames, 2 x hop_frames, ... and end inside the clip, as musicnn's
    extractor cuts them (a tail shorter than a patch is left out). A clip shorter than one
    patch is repeated until it fills one (musicnn's training config: ``pad_short: repeat-pad``).
    """
    if log_mel.dim() != 2:
        raise ValueError(f"split_patches wants one clip's log-mel (frames, n_mels), got shape {tuple(log_mel.shape)}")
    if patch_frames < 1 or hop_frames < 1:
        raise ValueError(f"patch_frames and hop_frames must be >= 1, got {patch_frames} and {hop_frames}")
    frames = log_mel.shape[0]
    if frames == 0:
        raise ValueError("split_patches got an empty log-mel (0 frames)")
    if frames < patch_frames:
        repeats = -(-patch_frames // frames)
        return log_mel.repeat(repeats, 1)[:patch_frames].unsqueeze(0)
    return log_mel.unfold(0, patch_frames, hop_frames).transpose(1, 2).contiguous()


def _same_padding(kernel: int) -> tuple[int, int]:
    """TensorFlow's "same" padding for stride 1: the extra row of an even kernel goes after."""
    return (kernel - 1) // 2, kernel // 2


class _FrequencyPooledConv(nn.Module):
    """Conv2d over (time, mel) + ReLU + batch norm, then max over the remaining mel axis.

    (batch, 1, frames, n_mels) -> (batch, filters, frames); time is zero-padded so the frame
    count is kept (TensorFlow pads the batch-normalised input the same way).
    """

    def __init__(self, filters: int, frames: int, bins: int, time_padding: tuple[int, int], eps: float):
        super().__init__()
        self.time_padding = time_padding
        self.conv = nn.Conv2d(1, filters, kernel_size=(frames, bins))
        self.norm = nn.BatchNorm2d(filters, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (0, 0, *self.time_padding))
        if self.training:  # batch statistics are taken before pooling, as in training
            return self.norm(F.relu(self.conv(x))).amax(dim=3)
        # In eval mode ReLU then batch norm is monotone per channel: increasing where the norm's
        # scale (gamma) is >= 0, decreasing where it is negative. So the max over bins can be
        # taken on the raw conv output (the max for increasing channels, the min for decreasing
        # ones: the max of the negated output, computed exactly by negating those filters), and
        # ReLU and norm then run on a tensor `bins` times smaller. Same values, about 2x faster.
        norm = self.norm
        sign = torch.where(norm.weight >= 0, 1.0, -1.0)  # (filters,)
        signed = F.conv2d(x, self.conv.weight * sign[:, None, None, None], self.conv.bias * sign)
        pooled = signed.amax(dim=3) * sign[:, None]  # (batch, filters, frames)
        return F.batch_norm(
            F.relu(pooled), norm.running_mean, norm.running_var, norm.weight, norm.bias, False, 0.0, norm.eps
        )


class _MidendLayer(nn.Module):
    """7-frame 1-D conv + ReLU + batch norm over (batch, channels, frames), frame count kept."""

    def __init__(self, in_channels: int, filters: int, frames: int, eps: float):
        super().__init__()
        self.time_padding = _same_padding(frames)
        self.conv = nn.Conv1d(in_channels, filters, kernel_size=frames)
        self.norm = nn.BatchNorm1d(filters, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(F.relu(self.conv(F.pad(x, self.time_padding))))


class Musicnn(nn.Module):
    """musicnn tagger: log-mel patches (patches, frames, n_mels) -> ``MusicnnOutput`` per patch.

    ``frames`` is normally ``patch_frames`` (187, the length it was trained on); every layer is
    convolutional or pools over time, so other lengths run too (as the package's notebooks show),
    with outputs that drift from the 3 s behaviour. Feed patches from ``split_patches``.
    """

    def __init__(self, config: MusicnnConfig):
        super().__init__()
        self.config = config
        c = config
        eps = c.batch_norm_eps
        self.input_norm = nn.BatchNorm2d(1, eps=eps)
        half = c.timbral_frames // 2
        self.timbral = nn.ModuleList(
            _FrequencyPooledConv(c.timbral_filters, c.timbral_frames, bins, (half, half), eps)
            for bins in c.timbral_bins
        )
        self.temporal = nn.ModuleList(
            _FrequencyPooledConv(c.temporal_filters, frames, 1, _same_padding(frames), eps)
            for frames in c.temporal_frames
        )
        self.midend = nn.ModuleList(
            [_MidendLayer(c.frontend_channels, c.midend_filters, c.midend_frames, eps)]
            + [_MidendLayer(c.midend_filters, c.midend_filters, c.midend_frames, eps) for _ in range(2)]
        )
        self.pool_norm = nn.BatchNorm1d(2 * c.midend_channels, eps=eps)
        self.dense = nn.Linear(2 * c.midend_channels, c.backend_units)
        self.dense_norm = nn.BatchNorm1d(c.backend_units, eps=eps)
        self.classifier = nn.Linear(c.backend_units, len(c.tags))
        self.patches_per_pass = 2  # eval mode: patches per pass through the network (speed only)

    def forward(self, patches: torch.Tensor) -> MusicnnOutput:
        c = self.config
        if patches.dim() != 3 or patches.shape[2] != c.n_mels:
            raise ValueError(f"Musicnn wants log-mel patches (patches, frames, {c.n_mels}), got {tuple(patches.shape)}")
        if patches.shape[1] < 1:
            raise ValueError("Musicnn got patches of 0 frames")
        if self.training or patches.shape[0] <= self.patches_per_pass:
            return self._forward(patches)
        # Each patch's timbral conv output is about 9 MB; a few patches per pass keep it in
        # cache (on one core, 10 patches at once cost 1.7x more per patch) and bound the memory
        # of a whole track. Eval-mode patches are independent, so the outputs are the same.
        parts = [self._forward(chunk) for chunk in patches.split(self.patches_per_pass)]
        return MusicnnOutput(
            **{f.name: torch.cat([getattr(part, f.name) for part in parts]) for f in fields(MusicnnOutput)}
        )

    def _forward(self, patches: torch.Tensor) -> MusicnnOutput:
        x = self.input_norm(patches.unsqueeze(1))  # (patches, 1, frames, n_mels)
        frontend = torch.cat([branch(x) for branch in [*self.timbral, *self.temporal]], dim=1)  # (patches, 561, frames)
        first = self.midend[0](frontend)  # (patches, 64, frames)
        second = self.midend[1](first) + first
        third = self.midend[2](second) + second
        midend = torch.cat([frontend, first, second, third], dim=1)  # (patches, 753, frames)
        max_pool = midend.amax(dim=2)  # (patches, 753)
        mean_pool = midend.mean(dim=2)
        # TensorFlow flattens the (753, 2) stack of [max, mean]: max and mean alternate.
        pooled = torch.stack([max_pool, mean_pool], dim=2).flatten(1)  # (patches, 1506)
        penultimate = self.dense_norm(F.relu(self.dense(self.pool_norm(pooled))))  # (patches, 200)
        logits = self.classifier(penultimate)
        return MusicnnOutput(logits, torch.sigmoid(logits), penultimate, mean_pool, max_pool)
