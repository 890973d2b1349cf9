"""Speed of the pretrained encoders of ml/pretrained/ on ONE CPU thread.

Measures (best of --repeats passes after a warm-up, synthetic audio, nothing downloaded):

* Whisper tiny.en encoder on a 10 s 16 kHz clip: front end, encoder to hidden layer 2 and to
  layer 4 (+ final LayerNorm), in ms; the speech query target is <= 150 ms for a 10 s query.
* musicnn (MSD_musicnn, MTT_musicnn) on a 16 kHz track: x real time with 3 s patches every
  --hop-seconds (3 s = every sample analysed once), the front end's share, and the whole ingest
  path from a 44.1 kHz stereo Ogg Vorbis file (decode with soundfile, mono mix, resample with
  torchaudio, front end, patches) for several hops; the ingest target is >= 150x real time.
* Variants that do not change the outputs (beyond float rounding), to show what each buys:
  scaled_dot_product_attention vs explicit softmax attention, inference_mode vs no_grad,
  musicnn's pool-before-norm eval path vs the literal conv -> ReLU -> norm -> pool order,
  channels-last input, and musicnn's patches per pass (``Musicnn.patches_per_pass``).

    PYTHONPATH=$PWD python benchmarks/pretrained_speed.py [--json] [--repeats N]
"""

from __future__ import annotations

import argparse
import io
import json
import math
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio.functional as AF
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ml.pretrained.musicnn import Musicnn, MusicnnFrontend, split_patches
from ml.pretrained.musicnn_bundle import load_musicnn
from ml.pretrained.whisper import SelfAttention, WhisperEncoder, WhisperFrontend
from ml.pretrained.whisper_bundle import load_whisper_encoder

RATE = 16000
INGEST_RATE = 44100
TARGETS = {"speech_query_ms": 150.0, "ingest_x_realtime": 150.0}
PATCH_FRAMES = 187  # 3 s at hop 256


def best_ms(run: Callable[[], object], repeats: int) -> float:
    """Fastest of ``repeats`` timed calls after one warm-up call, in milliseconds."""
    run()
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return 1000 * best


def speech_like(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = 150 + 40 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 10)) * (0.5 - 0.5 * np.cos(2 * np.pi * 4 * t))
    return (0.2 * voice + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def music_like(seconds: float, rate: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    roots = 110 * 2 ** (rng.integers(0, 12, int(seconds * 2) + 1) / 12)
    f = roots[np.minimum((t * 2).astype(int), roots.size - 1)]
    phase = 2 * np.pi * np.cumsum(f) / rate
    chord = sum(np.sin(k * phase * ratio) / k for ratio in (1, 1.26, 1.5) for k in range(1, 5))
    drums = rng.standard_normal(t.size) * np.exp(-((t * 4) % 1) * 30)
    return (0.1 * chord + 0.2 * drums).astype(np.float32)


def explicit_attention(module: SelfAttention, x: torch.Tensor) -> torch.Tensor:
    """SelfAttention.forward with softmax(QK^T / sqrt(d)) V written out (the pre-fused way)."""
    batch, positions, width = x.shape
    q, k, v = module.qkv(x).view(batch, positions, 3, module.heads, width // module.heads).permute(2, 0, 3, 1, 4)
    weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
    return module.out((weights @ v).transpose(1, 2).reshape(batch, positions, width))


def whisper_numbers(repeats: int) -> dict[str, object]:
    frontend = WhisperFrontend()
    encoder: WhisperEncoder = load_whisper_encoder()
    truncated = load_whisper_encoder(layers=2)
    wave = torch.from_numpy(speech_like(10.0, seed=1))[None]
    with torch.inference_mode():
        mel = frontend(wave)
        frontend_ms = best_ms(lambda: frontend(wave), repeats)
        layer2_ms = best_ms(lambda: truncated(mel), repeats)
        layer4_ms = best_ms(lambda: encoder(mel), repeats)
        attention = encoder.layers[0].attention
        normed = encoder.layers[0].attention_norm(encoder(mel, num_layers=0).hidden_states[0])
        sdpa_ms = best_ms(lambda: attention(normed), repeats)
        explicit_ms = best_ms(lambda: explicit_attention(attention, normed), repeats)
        explicit_difference = float((attention(normed) - explicit_attention(attention, normed)).abs().max())
    with torch.no_grad():
        layer2_no_grad_ms = best_ms(lambda: truncated(mel), repeats)
    query_ms = frontend_ms + layer2_ms
    return {
        "clip": "10 s at 16 kHz (500 encoder positions)",
        "frontend_ms": round(frontend_ms, 2),
        "encoder_to_layer2_ms": round(layer2_ms, 1),
        "encoder_to_layer4_ms": round(layer4_ms, 1),
        "query_layer2_ms": round(query_ms, 1),
        "query_layer4_ms": round(frontend_ms + layer4_ms, 1),
        "frontend_share_of_query_layer2": round(frontend_ms / query_ms, 3),
        "variants": {
            "one_attention_block_sdpa_ms": round(sdpa_ms, 2),
            "one_attention_block_explicit_softmax_ms": round(explicit_ms, 2),
            "sdpa_vs_explicit_max_abs_difference": explicit_difference,
            "encoder_to_layer2_no_grad_ms": round(layer2_no_grad_ms, 1),
        },
    }


def literal_order_forward(model: Musicnn, patches: torch.Tensor) -> torch.Tensor:
    """musicnn's front-end branches in the TF graph's literal order: conv -> ReLU -> norm -> max over bins."""
    x = model.input_norm(patches.unsqueeze(1))
    outputs = []
    for branch in [*model.timbral, *model.temporal]:
        outputs.append(branch.norm(F.relu(branch.conv(F.pad(x, (0, 0, *branch.time_padding))))).amax(dim=3))
    return torch.cat(outputs, dim=1)


def pooled_first_forward(model: Musicnn, patches: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
    x = model.input_norm(patches.unsqueeze(1))
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return torch.cat([branch(x) for branch in [*model.timbral, *model.temporal]], dim=1)


def ogg_track(seconds: float) -> bytes:
    mono = music_like(seconds, INGEST_RATE, seed=3)
    stereo = np.stack([mono, np.roll(mono, 441)], axis=1)
    buffer = io.BytesIO()
    sf.write(buffer, stereo, INGEST_RATE, format="OGG", subtype="VORBIS")
    return buffer.getvalue()


def musicnn_numbers(repeats: int, track_seconds: float, hops: list[float]) -> dict[str, object]:
    frontend = MusicnnFrontend()
    models = {name: load_musicnn(name) for name in ("MSD_musicnn", "MTT_musicnn")}
    wave = torch.from_numpy(music_like(track_seconds, RATE, seed=2))[None]
    encoded = ogg_track(track_seconds)
    results: dict[str, object] = {
        "track": f"{track_seconds:g} s at 16 kHz, the whole track's patches in one call",
        "patch_seconds": 3.0,
        "patches_per_pass": models["MSD_musicnn"].patches_per_pass,
    }
    with torch.inference_mode():
        log_mel = frontend(wave)[0]
        frontend_ms = best_ms(lambda: frontend(wave), repeats)
        results["frontend_x_realtime"] = round(track_seconds / (frontend_ms / 1000), 1)
        hop3 = split_patches(log_mel, PATCH_FRAMES, PATCH_FRAMES)
        for name, model in models.items():
            model_ms = best_ms(lambda model=model: model(hop3), repeats)
            results[name] = {
                "patches_at_3s_hop": hop3.shape[0],
                "x_realtime_3s_hop": round(track_seconds / ((frontend_ms + model_ms) / 1000), 1),
                "ms_per_patch": round(model_ms / hop3.shape[0], 1),
                "frontend_share": round(frontend_ms / (frontend_ms + model_ms), 3),
            }
        model = models["MSD_musicnn"]
        decode_ms = best_ms(lambda: sf.read(io.BytesIO(encoded), dtype="float32", always_2d=True), repeats)
        stereo, _ = sf.read(io.BytesIO(encoded), dtype="float32", always_2d=True)
        mono = torch.from_numpy(stereo.mean(axis=1))
        resample_ms = best_ms(lambda: AF.resample(mono, INGEST_RATE, RATE), repeats)
        ingest = {"decode_ms": round(decode_ms, 1), "resample_ms": round(resample_ms, 1), "by_hop_seconds": {}}
        for hop in hops:
            hop_frames = max(1, int(hop * RATE // 256))  # 3 s -> 187 frames, musicnn's patch
            patches = split_patches(log_mel, PATCH_FRAMES, hop_frames)
            model_ms = best_ms(lambda patches=patches: model(patches), repeats)
            total_ms = decode_ms + resample_ms + frontend_ms + model_ms
            ingest["by_hop_seconds"][f"{hop:g}"] = {
                "patches": patches.shape[0],
                "share_of_audio_analysed": round(patches.shape[0] * 3.0 / track_seconds, 3),
                "embed_x_realtime": round(track_seconds / ((frontend_ms + model_ms) / 1000), 1),
                "ingest_x_realtime": round(track_seconds / (total_ms / 1000), 1),
            }
        results["ingest_44k1_stereo_ogg_msd"] = ingest
        one = hop3[:2]
        variants = {
            "frontend_branches_literal_order_ms_per_patch": best_ms(lambda: literal_order_forward(model, one), repeats)
            / 2,
            "frontend_branches_pooled_first_ms_per_patch": best_ms(lambda: pooled_first_forward(model, one), repeats)
            / 2,
            "frontend_branches_pooled_first_channels_last_ms_per_patch": best_ms(
                lambda: pooled_first_forward(model, one, channels_last=True), repeats
            )
            / 2,
        }
        default_pass = model.patches_per_pass
        for per_pass in (1, 2, 5, hop3.shape[0]):
            model.patches_per_pass = per_pass
            variants[f"model_ms_per_patch_{per_pass}_per_pass"] = best_ms(lambda: model(hop3), repeats) / hop3.shape[0]
        model.patches_per_pass = default_pass
    with torch.no_grad():
        variants["model_ms_per_patch_no_grad"] = best_ms(lambda: model(hop3), repeats) / hop3.shape[0]
    results["variants"] = {key: round(value, 1) for key, value in variants.items()}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object (default: a short summary)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--track-seconds", type=float, default=30.0)
    parser.add_argument("--hops", type=float, nargs="+", default=[3.0, 6.0, 9.0, 12.0], help="musicnn patch hops, s")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    whisper = whisper_numbers(args.repeats)
    musicnn = musicnn_numbers(args.repeats, args.track_seconds, args.hops)
    ingest = musicnn["ingest_44k1_stereo_ogg_msd"]["by_hop_seconds"]
    report = {
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "timing": f"best of {args.repeats} after a warm-up, torch.inference_mode",
        "whisper_tiny_en": whisper,
        "musicnn": musicnn,
        "targets": {
            "speech_query_ms<=150 (layer 2)": whisper["query_layer2_ms"] <= TARGETS["speech_query_ms"],
            "speech_query_ms<=150 (layer 4)": whisper["query_layer4_ms"] <= TARGETS["speech_query_ms"],
            **{
                f"ingest>=150x at {hop} s hop": values["ingest_x_realtime"] >= TARGETS["ingest_x_realtime"]
                for hop, values in ingest.items()
            },
        },
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"Whisper 10 s query: {whisper['query_layer2_ms']} ms to layer 2, {whisper['query_layer4_ms']} ms to layer 4")
    for name in ("MSD_musicnn", "MTT_musicnn"):
        numbers = musicnn[name]
        print(f"{name}: {numbers['x_realtime_3s_hop']}x real time at a 3 s hop ({numbers['ms_per_patch']} ms a patch)")
    for hop, values in ingest.items():
        print(f"ingest 44.1 kHz stereo, {hop} s hop: {values['ingest_x_realtime']}x real time")


if __name__ == "__main__":
    main()
