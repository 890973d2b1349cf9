"""Frozen pretrained encoders as clip-feature extractors: Whisper for speech, musicnn for music.

Both turn one clip into one fixed-size vector of statistics that the projection heads read
(docs/method.md#pretrained-encoders). They hold already-loaded modules (``ml.pretrained`` reads the
weights from their packages), so this module does no I/O; nothing here is trained.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ml.pretrained import Musicnn, MusicnnFrontend, WhisperEncoder, WhisperFrontend, split_patches


def mean_and_std(frames: torch.Tensor, dim: int) -> torch.Tensor:
    """Concatenate the mean and the (biased) standard deviation over ``dim``."""
    mean = frames.mean(dim=dim)
    std = (frames - mean.unsqueeze(dim)).pow(2).mean(dim=dim).sqrt()
    return torch.cat([mean, std], dim=-1)


class WhisperSpeechFeatures(nn.Module):
    """16 kHz speech (b, samples) -> mean and std over time of one Whisper hidden layer (b, 2 x width).

    Hidden layer 2 of tiny.en carries prosody better than its last layer, which is tuned to words
    (docs/method.md#pretrained-encoders). Clips of a batch must have the same length (Whisper has no
    attention mask); inference embeds one query at a time.
    """

    def __init__(self, encoder: WhisperEncoder, layer: int):
        super().__init__()
        if not 1 <= layer <= encoder.config.layers:
            raise ValueError(f"layer must be in 1..{encoder.config.layers} of this encoder, got {layer}")
        self.frontend = WhisperFrontend()
        self.encoder = encoder.requires_grad_(False)
        self.layer = layer
        self.out_dim = 2 * encoder.config.width

    @property
    def max_samples(self) -> int:
        return self.frontend.max_samples

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(self.frontend(wave), num_layers=self.layer).hidden_states[self.layer]  # (b, t, width)
        return mean_and_std(hidden, dim=1)


class MusicnnMusicFeatures(nn.Module):
    """A whole 16 kHz track (1, samples) -> statistics of musicnn's patch outputs (1, out_dim).

    3 s patches every ``patch_hop_seconds``; per patch and tagger the ``outputs`` (the 50 tag logits,
    the 200 penultimate features), then their mean (and std, ``statistics``) over the track's patches.
    A track shorter than a patch is repeated to fill one (musicnn's own padding).
    """

    def __init__(
        self,
        taggers: Sequence[Musicnn],
        patch_hop_seconds: float,
        outputs: Sequence[str] = ("logits", "penultimate"),
        statistics: str = "mean_std",
    ):
        super().__init__()
        if not taggers:
            raise ValueError("MusicnnMusicFeatures needs at least one tagger")
        self.outputs = tuple(outputs)
        self.statistics = statistics
        self.frontend = MusicnnFrontend()
        self.taggers = nn.ModuleList(taggers).requires_grad_(False)
        self.patch_frames = taggers[0].config.patch_frames
        hop = self.frontend.config.hop_length / self.frontend.config.sample_rate
        self.hop_frames = max(1, round(patch_hop_seconds / hop))
        sizes = {"logits": lambda t: len(t.config.tags), "penultimate": lambda t: t.config.backend_units}
        per_patch = sum(sizes[name](t) for t in taggers for name in self.outputs)
        self.out_dim = per_patch * (2 if statistics == "mean_std" else 1)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        return torch.stack([self._track(track) for track in wave])

    def _track(self, wave: torch.Tensor) -> torch.Tensor:
        log_mel = self.frontend(wave.unsqueeze(0))[0]  # (frames, n_mels)
        patches = split_patches(log_mel, self.patch_frames, self.hop_frames)  # (patches, frames, n_mels)
        parts = []
        for tagger in self.taggers:
            out = tagger(patches)
            parts += [getattr(out, name) for name in self.outputs]  # each (patches, features)
        frames = torch.cat(parts, dim=1)
        return mean_and_std(frames, dim=0) if self.statistics == "mean_std" else frames.mean(dim=0)
