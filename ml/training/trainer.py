"""Train the emotion network on a corpus directory and write a model directory.

Model selection uses the valid split only; the test split is scored once, at the end, for the
model card.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from backend.core.domain.emotions import EMOTIONS, is_match
from ml.embedding.bundle import EmotionModel, load_network, save_model_dir
from ml.embedding.text import load_sentence_encoder
from ml.embedding.wav2vec2 import load_local_wav2vec2
from ml.evaluation import metrics
from ml.model.config import METHODS, MODALITIES, ModelConfig, check_choice
from ml.model.network import FUSION_MODES, EmotionNetwork
from ml.training import losses
from ml.training.augment import Augmenter
from ml.training.card import model_card, training_command
from ml.training.data import BalancedSampler, Clip, as_numpy, load_clips, make_inputs


@dataclass
class TrainConfig:
    """Hyper-parameters of one training run (any field can be overridden by keyword)."""

    method: str = "emosim"
    modality: str = "audio"
    seed: int = 0
    epochs: int = 4
    steps_per_epoch: int = 110
    batch_size: int = 40  # speech anchors per step (speech is the harder, cheaper side)
    music_batch_size: int = 12  # music clips per step (the anchors' positives and negatives)
    learning_rate: float = 2e-3
    weight_decay: float = 1e-2
    warmup_steps: int = 20
    emosim_weight: float = 1.0  # lambda of L = L_triplet + lambda * L_EmoSim
    margin: float = losses.TRIPLET_MARGIN
    head_weight: float = 0.5  # weight of the label / valence-arousal heads (trained on detached vectors)
    # triplet/emosim only: label cross-entropy through the encoders, standing in for the paper's
    # pretrained backbones (0 gives the pure method)
    supervised_weight: float = 0.5
    word_weight: float = 0.5  # weight of the emotion-word branch loss when word_branch is on
    augment: bool = True
    # Each speech anchor's positive: the in-batch match most similar to its emotion (else any match).
    nearest_positive: bool = False
    speech_seconds: tuple[float, float] = (2.5, 4.0)  # training speech crop length range, s
    patience: int = 8  # stop after this many epochs without a better valid score
    wav2vec2_dir: str | None = None  # local Wav2Vec2Model directory for the pretrained speech backbone
    init_dir: str | None = None  # start from this model directory's weights (fine-tuning)
    word_branch: bool = False
    threads: int | None = None  # torch CPU threads (None: leave torch's default)
    name: str | None = None  # model name prefix of the version string

    def __post_init__(self) -> None:
        check_choice("method", self.method, METHODS)
        check_choice("modality", self.modality, MODALITIES)
        for name in ("epochs", "steps_per_epoch", "batch_size", "music_batch_size", "patience"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.music_batch_size < 2:
            raise ValueError(f"music_batch_size must be at least 2 for in-batch negatives, got {self.music_batch_size}")
        self.speech_seconds = tuple(self.speech_seconds)


# How often a training speech crop gets a pitch move (Augmenter.p_pitch); music keeps its key.
SPEECH_PITCH_SHIFT_P = 0.5

# Tracks per label averaged into a label prototype.
PROTOTYPE_TRACKS = 64

MODEL_OVERRIDES = (
    "embed_dim",
    "projection_hidden",
    "speech",
    "music",
    "speech_min_seconds",
    "speech_max_seconds",
    "music_crop_seconds",
    "music_hop_seconds",
)


def split_overrides(overrides: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Separate keyword overrides into TrainConfig and ModelConfig fields; unknown keys are errors."""
    train_fields = {f.name for f in fields(TrainConfig)}
    train, model = {}, {}
    for key, value in overrides.items():
        if key in train_fields:
            train[key] = value
        elif key in MODEL_OVERRIDES:
            model[key] = value
        else:
            known = ", ".join(sorted(train_fields | set(MODEL_OVERRIDES)))
            raise ValueError(f"unknown training option {key!r}; known: {known}")
    return train, model


class Trainer:
    """One training run: data in memory, the network, its optimiser and the best valid state."""

    def __init__(self, corpus_dir: Path, config: TrainConfig, model_overrides: dict[str, Any], progress: bool):
        self.corpus_dir = Path(corpus_dir)
        self.config = config
        self.progress = progress
        torch.manual_seed(config.seed)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.initial_version: str | None = None
        if config.init_dir:
            if model_overrides or config.wav2vec2_dir or config.word_branch:
                raise ValueError(
                    "a model started from --init keeps its own architecture: drop the architecture options"
                )
            self.network, self.initial_version = _initial_network(Path(config.init_dir), config)
            model_config = self.network.config
        else:
            backbone = load_local_wav2vec2(Path(config.wav2vec2_dir)) if config.wav2vec2_dir else None
            model_config = ModelConfig(
                name=config.name or f"s2m-{config.method}-{config.modality}",
                method=config.method,
                modality=config.modality,
                speech_backbone="wav2vec2" if backbone is not None else "conv",
                wav2vec2=backbone.config.to_dict() if backbone is not None else None,
                word_branch=config.word_branch,
                **model_overrides,
            )
            self.network = EmotionNetwork(model_config, wav2vec2=backbone)
            if backbone is not None:
                backbone.freeze_feature_encoder()  # docs/method.md#model: CNN feature encoder frozen
        self.model_config = model_config
        rates = {"speech": model_config.speech_rate, "music": model_config.music_rate}
        self.rates = rates
        clips = load_clips(self.corpus_dir, rates, progress=progress)
        self.clips = {
            (modality, split): [c for c in clips if c.modality == modality and c.split == split]
            for modality in ("speech", "music")
            for split in ("train", "valid", "test")
        }
        for key in (("speech", "train"), ("music", "train"), ("speech", "valid"), ("music", "valid")):
            if not self.clips[key]:
                raise ValueError(f"{self.corpus_dir} has no {key[0]} clips in its {key[1]} split")
        self.sampler = BalancedSampler(
            self.clips["speech", "train"], self.clips["music", "train"], nearest_positive=config.nearest_positive
        )
        self.text_encoder = load_sentence_encoder() if model_config.uses_text or config.word_branch else None
        self.text_features = self._encode_transcripts(clips) if model_config.uses_text else {}
        labels = model_config.labels
        self.word_features = self.text_encoder(list(labels)) if config.word_branch else None
        self.label_index = {label: i for i, label in enumerate(labels)}
        self.speech_allowed = torch.tensor([label in model_config.speech_labels for label in labels])
        self.music_allowed = torch.tensor([label in model_config.music_labels for label in labels])
        self.augmenters = {}
        if config.augment:
            self.augmenters = {
                "speech": Augmenter(rates["speech"], p_pitch=SPEECH_PITCH_SHIFT_P),
                "music": Augmenter(rates["music"]),
            }
        trainable = [p for p in self.network.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=config.weight_decay)
        total = config.epochs * config.steps_per_epoch
        self.schedule = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: _warmup_cosine(step, config.warmup_steps, total)
        )

    def _encode_transcripts(self, clips: list[Clip]) -> dict[str, torch.Tensor]:
        texts = sorted({c.transcript for c in clips if c.modality == "speech"})
        if not all(texts):
            raise ValueError("a text or fusion model needs a transcript for every speech clip in the manifest")
        return dict(zip(texts, self.text_encoder(texts), strict=True))

    def step(self) -> dict[str, float]:
        """Run one optimisation step; return its loss terms."""
        config, net = self.config, self.network
        net.train()
        batch = self.sampler.sample(config.batch_size, config.music_batch_size, self.generator)
        speech = [self.clips["speech", "train"][i] for i in batch.speech]
        music = [self.clips["music", "train"][i] for i in batch.music]
        low, high = config.speech_seconds
        speech_seconds = low + (high - low) * float(torch.rand((), generator=self.generator))
        wave = None
        if self.model_config.uses_audio:
            wave = make_inputs(
                speech, speech_seconds, self.rates["speech"], self.generator, self.augmenters.get("speech")
            )
        text = torch.stack([self.text_features[c.transcript] for c in speech]) if self.model_config.uses_text else None
        keep = FUSION_MODES[int(torch.randint(0, 3, (), generator=self.generator))]  # masking fusion
        z_speech = net.embed_speech(wave, text, keep=keep)  # (b, d)
        # As long as the inference crops: pooled frame statistics depend on crop length.
        music_seconds = self.model_config.music_crop_seconds
        music_wave = make_inputs(
            music, music_seconds, self.rates["music"], self.generator, self.augmenters.get("music")
        )
        z_music = net.embed_music(music_wave)  # (b, d)
        terms = self._losses(speech, music, torch.tensor(batch.positive), z_speech, z_music)
        total = sum(terms.values())
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        self.optimizer.step()
        self.schedule.step()
        return {name: float(value.detach()) for name, value in terms.items()}

    def _losses(
        self,
        speech: list[Clip],
        music: list[Clip],
        positive: torch.Tensor,
        z_speech: torch.Tensor,
        z_music: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        config, net = self.config, self.network
        speech_labels = [c.label for c in speech]
        music_labels = [c.label for c in music]
        speech_targets = torch.tensor([self.label_index[label] for label in speech_labels])
        music_targets = torch.tensor([self.label_index[label] for label in music_labels])
        terms: dict[str, torch.Tensor] = {}
        # Heads read detached vectors unless they are the method being trained.
        cls_in = (z_speech, z_music) if config.method == "classify" else (z_speech.detach(), z_music.detach())
        va_in = (z_speech, z_music) if config.method == "regress" else (z_speech.detach(), z_music.detach())
        classification = losses.label_loss(
            net.label_logits(cls_in[0]), speech_targets, self.speech_allowed
        ) + losses.label_loss(net.label_logits(cls_in[1]), music_targets, self.music_allowed)
        regression = losses.valence_arousal_loss(
            net.valence_arousal(va_in[0]), _va_targets(speech_labels)
        ) + losses.valence_arousal_loss(net.valence_arousal(va_in[1]), _va_targets(music_labels))
        head_weight = config.head_weight
        terms["classify"] = classification * (1.0 if config.method == "classify" else head_weight)
        terms["regress"] = regression * (1.0 if config.method == "regress" else head_weight)
        if config.method in ("triplet", "emosim"):
            if config.supervised_weight:
                terms["supervised"] = config.supervised_weight * (
                    losses.label_loss(net.label_logits(z_speech), speech_targets, self.speech_allowed)
                    + losses.label_loss(net.label_logits(z_music), music_targets, self.music_allowed)
                )
            relevant = torch.tensor([[is_match(s, m) for m in music_labels] for s in speech_labels])
            terms["triplet"] = losses.triplet_loss(z_speech, z_music, positive, relevant, self.generator, config.margin)
            if config.method == "emosim":
                target = losses.label_similarity(speech_labels, music_labels)
                terms["emosim"] = config.emosim_weight * losses.emosim_loss(z_speech, z_music, target, self.generator)
        if config.word_branch:
            words = net.embed_words(self.word_features)  # (n_labels, d)
            both = torch.cat([z_speech, z_music])
            targets = torch.cat([speech_targets, music_targets])
            own = torch.nn.functional.one_hot(targets, len(self.label_index)).bool()
            terms["word"] = config.word_weight * losses.triplet_loss(
                both, words, targets, own, self.generator, config.margin
            )
        return terms

    def inference_model(self) -> EmotionModel:
        """The network wrapped for inference (eval mode), exactly as load_model would give it."""
        self.network.eval()
        return EmotionModel(self.network, "training", torch.device("cpu"), text_encoder=self.text_encoder)

    def evaluate(self, split: str) -> metrics.RetrievalReport:
        """Retrieval metrics of ``split`` speech against ``split`` music, through the inference path."""
        model = self.inference_model()
        speech = self.clips["speech", split]
        music = self.clips["music", split]
        queries = np.array(
            [model.embed_speech(as_numpy(c), self.rates["speech"], c.transcript or None).vector for c in speech]
        )
        tracks = self.embed_tracks(model, music)
        rankings = metrics.rank_by_cosine(queries, tracks)
        return metrics.score_rankings([c.label for c in speech], [c.label for c in music], rankings)

    def embed_tracks(self, model: EmotionModel, music: list[Clip]) -> np.ndarray:
        """Whole-track vectors (n, d) of cached music clips."""
        vectors = []
        for start in range(0, len(music), 8):
            chunk = [(as_numpy(c), self.rates["music"]) for c in music[start : start + 8]]
            vectors += [a.vector for a in model.embed_music_batch(chunk)]
        return np.array(vectors)

    def prototypes(self) -> dict[str, list[float]]:
        """Mean whole-track music vector per music label over train + valid, renormalised.

        At most PROTOTYPE_TRACKS tracks per label (the first by path) keep this step short.
        """
        model = self.inference_model()
        by_label: dict[str, list[Clip]] = {}
        for clip in sorted(self.clips["music", "train"] + self.clips["music", "valid"], key=lambda c: c.path):
            by_label.setdefault(clip.label, []).append(clip)
        music = [clip for clips in by_label.values() for clip in clips[:PROTOTYPE_TRACKS]]
        vectors = self.embed_tracks(model, music)
        out = {}
        for label in self.model_config.music_labels:
            rows = vectors[[c.label == label for c in music]]
            if len(rows):
                mean = rows.mean(axis=0)
                out[label] = [float(v) for v in mean / max(np.linalg.norm(mean), 1e-12)]
        return out

    def fit(self) -> dict[str, Any]:
        """Train with early stopping on valid MRR (+ nDCG@5); keep the best state."""
        config = self.config
        best_score, best_state, best_epoch, best_report, stale = -math.inf, None, 0, None, 0
        history = []
        for epoch in range(1, config.epochs + 1):
            bar = tqdm(
                range(config.steps_per_epoch),
                desc=f"epoch {epoch}/{config.epochs}",
                unit="step",
                disable=not self.progress,
            )
            sums: dict[str, float] = {}
            for _ in bar:
                terms = self.step()
                for name, value in terms.items():
                    sums[name] = sums.get(name, 0.0) + value
                bar.set_postfix(loss=f"{sum(terms.values()):.3f}")
            report = self.evaluate("valid")
            score = report.overall["mrr"] + report.overall["ndcg_at_5"]
            mean_terms = {name: value / config.steps_per_epoch for name, value in sums.items()}
            valid = {f"valid_{name}": value for name, value in report.overall.items()}
            history.append({"epoch": epoch, "loss": sum(mean_terms.values()), **mean_terms, **valid})
            if self.progress:
                tqdm.write(
                    f"epoch {epoch}: loss {history[-1]['loss']:.4f} valid MRR {valid['valid_mrr']:.3f} "
                    f"nDCG@5 {valid['valid_ndcg_at_5']:.3f}"
                )
            if score > best_score:
                best_score, best_epoch, best_report, stale = score, epoch, report, 0
                best_state = copy.deepcopy(self.network.state_dict())
            else:
                stale += 1
                if stale >= config.patience:
                    break
        self.network.load_state_dict(best_state)
        return {"history": history, "best_epoch": best_epoch, "valid": best_report}


def _initial_network(model_dir: Path, config: TrainConfig) -> tuple[EmotionNetwork, str]:
    """The network of an existing model directory, to go on training (fine-tuning) from its weights."""
    network, version = load_network(model_dir)
    have = network.config
    if (have.method, have.modality) != (config.method, config.modality):
        raise ValueError(
            f"{model_dir} holds a model of method {have.method}, modality {have.modality}; "
            f"train it with --method {have.method} --modality {have.modality}"
        )
    if have.speech_backbone == "wav2vec2":
        network.speech_encoder.backbone.freeze_feature_encoder()
    return network.train(), version


def _va_targets(labels: list[str]) -> torch.Tensor:
    """(b, 2) valence/arousal points of the labels."""
    return torch.tensor([[EMOTIONS[label].valence, EMOTIONS[label].arousal] for label in labels])


def _warmup_cosine(step: int, warmup: int, total: int) -> float:
    """Learning-rate factor: linear warm-up, then cosine decay to 5%."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress))


def train_model(
    corpus_dir: Path,
    out_dir: Path,
    *,
    method: str = "emosim",
    modality: str = "audio",
    seed: int = 0,
    epochs: int | None = None,
    progress: bool = True,
    **overrides: Any,
) -> Path:
    """Train on ``corpus_dir`` and write a complete model directory to ``out_dir``; return it."""
    train_overrides, model_overrides = split_overrides(overrides)
    config = TrainConfig(method=method, modality=modality, seed=seed, **train_overrides)
    if epochs is not None:
        config = replace(config, epochs=epochs)
    previous_threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        started = time.monotonic()
        trainer = Trainer(corpus_dir, config, model_overrides, progress)
        result = trainer.fit()
        test = trainer.evaluate("test") if trainer.clips["speech", "test"] and trainer.clips["music", "test"] else None
        prototypes = trainer.prototypes()
        card = model_card(
            command=training_command(Path(corpus_dir), Path(out_dir), config, overrides),
            config=config,
            corpus_dir=Path(corpus_dir),
            clips=trainer.clips,
            history=result["history"],
            best_epoch=result["best_epoch"],
            valid=result["valid"],
            test=test,
            seconds=time.monotonic() - started,
            parameters=sum(p.numel() for p in trainer.network.parameters()),
            pooling=trainer.model_config.speech.pooling,
            initial_version=trainer.initial_version,
        )
        save_model_dir(Path(out_dir), trainer.network, prototypes, card)
    finally:
        torch.set_num_threads(previous_threads)
    return Path(out_dir)
