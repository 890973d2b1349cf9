"""Train the heads of a network whose encoders are frozen pretrained ones (Whisper, musicnn).

The encoders never change, so each clip's encoder output is computed once, through the very
functions inference uses (``EmotionModel.speech_input`` / ``music_track_input``), kept on disk,
and the projection heads, the label classifier and the valence/arousal head train on those
features in seconds per epoch. Several corpora train together (the generated corpus and real
recordings); batches draw labels uniformly and, within a label, corpora uniformly, so a few
hundred real clips are not drowned by thousands of generated ones (docs/method.md#real-audio).
Model selection uses the valid splits only.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from backend.core.audio import AudioError, decode_audio
from backend.core.domain.emotions import EMOTIONS, SPEECH_TO_MUSIC, is_match
from ml.embedding.bundle import EmotionModel, build_network, save_model_dir
from ml.evaluation import metrics
from ml.manifest import ManifestRow
from ml.model.config import ModelConfig, PretrainedConfig
from ml.training import losses
from ml.training.augment import Augmenter
from ml.training.card import heads_model_card
from ml.training.data import read_rows

# Tracks per label averaged into a label prototype.
PROTOTYPE_TRACKS = 64


@dataclass
class HeadsConfig:
    """Hyper-parameters of one heads-only training run."""

    seed: int = 0
    epochs: int = 12
    steps_per_epoch: int = 200
    batch_size: int = 96  # speech anchors per step
    music_batch_size: int = 48  # music tracks per step
    learning_rate: float = 1e-3
    weight_decay: float = 1e-2
    emosim_weight: float = 1.0
    supervised_weight: float = 1.0  # label cross-entropy on the joint vectors
    head_weight: float = 0.5  # valence/arousal head (on detached vectors)
    margin: float = losses.TRIPLET_MARGIN
    speech_views: int = 2  # feature views per speech clip: the clip, then augmented copies
    # At most this many clips per (modality, split, label) of each corpus, drawn with the seed; None: all.
    # Music features cost the most: a sample of a large generated corpus keeps a run short.
    max_music_per_label: int | None = None
    max_speech_per_label: int | None = None
    # Within a label, corpora are drawn in proportion to these weights (by the corpus folder's name; 1 if absent).
    corpus_weights: dict[str, float] = field(default_factory=dict)
    patience: int = 4  # epochs without a better valid score before stopping
    pretrained: PretrainedConfig = field(default_factory=PretrainedConfig)
    name: str = "s2m-pretrained"
    threads: int | None = None

    def __post_init__(self) -> None:
        for key in ("epochs", "steps_per_epoch", "batch_size", "music_batch_size", "speech_views", "patience"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1, got {getattr(self, key)}")
        if any(weight <= 0 for weight in self.corpus_weights.values()):
            raise ValueError(f"corpus weights must be positive, got {self.corpus_weights}")
        for key in ("max_music_per_label", "max_speech_per_label"):
            if getattr(self, key) is not None and getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1, got {getattr(self, key)}")


@dataclass
class FeatureClip:
    """One corpus clip reduced to its frozen encoder output(s)."""

    corpus: str  # the corpus folder's name
    path: str  # path inside the corpus
    modality: str
    split: str
    label: str
    views: torch.Tensor  # (views, out_dim)


class FeatureStore:
    """Encoder outputs of every clip of a corpus, computed once per encoder config and cached on disk."""

    def __init__(
        self,
        model: EmotionModel,
        cache_dir: Path | None,
        speech_views: int,
        seed: int,
        progress: bool,
        max_per_label: dict[str, int | None] | None = None,
    ):
        self.model = model
        self.max_per_label = max_per_label or {}
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.speech_views = speech_views
        self.seed = seed
        self.progress = progress
        self.augment = Augmenter(model.config.speech_rate, p_pitch=0.5)

    def load(self, corpus_dir: Path) -> list[FeatureClip]:
        corpus_dir = Path(corpus_dir)
        rows = self._sample(read_rows(corpus_dir))
        key = self._key(corpus_dir)
        cached = self._read_cache(corpus_dir, key)
        clips, fresh = [], {}
        for row in tqdm(rows, desc=f"features {corpus_dir.name}", unit="clip", disable=not self.progress):
            views = cached.get(row.path)
            if views is None:
                views = self._features(corpus_dir, row)
                if views is None:
                    continue
                fresh[row.path] = views
                if len(fresh) % 500 == 0:  # a long extraction that is stopped keeps most of its work
                    self._write_cache(corpus_dir, key, {**cached, **fresh})
            clips.append(FeatureClip(corpus_dir.name, row.path, row.modality, row.split, row.label, views))
        if fresh:
            self._write_cache(corpus_dir, key, {**cached, **fresh})
        return clips

    def _sample(self, rows: list[ManifestRow]) -> list[ManifestRow]:
        """At most ``max_per_label[modality]`` rows per (modality, split, label), a seeded draw."""
        groups: dict[tuple[str, str, str], list[ManifestRow]] = defaultdict(list)
        for row in rows:
            groups[row.modality, row.split, row.label].append(row)
        rng = np.random.default_rng(self.seed)
        kept = []
        for (modality, _, _), members in sorted(groups.items()):
            limit = self.max_per_label.get(modality)
            if limit is not None and len(members) > limit:
                members = [members[i] for i in sorted(rng.choice(len(members), limit, replace=False))]
            kept += members
        return kept

    def _features(self, corpus_dir: Path, row: ManifestRow) -> torch.Tensor | None:
        model, network = self.model, self.model.network
        rate = model.config.speech_rate if row.modality == "speech" else model.config.music_rate
        try:
            samples = decode_audio(corpus_dir / row.path, target_rate=rate).samples
        except AudioError as error:
            tqdm.write(f"skipped {row.path}: {error}")
            return None
        with torch.inference_mode():
            if row.modality == "music":
                return network.music_encoder(model.music_track_input(samples, rate))  # (1, out_dim)
            # Each clip's augmentations are seeded by its path, so a cache rebuild gives the same views.
            generator = torch.Generator().manual_seed(
                self.seed + int(hashlib.sha256(row.path.encode()).hexdigest()[:8], 16)
            )
            wave = torch.from_numpy(samples)
            views = [samples] + [self.augment(wave, generator).numpy() for _ in range(self.speech_views - 1)]
            return torch.cat([network.speech_encoder(model.speech_input(view, rate)) for view in views])

    def _key(self, corpus_dir: Path) -> str:
        manifest = hashlib.sha256((corpus_dir / "manifest.csv").read_bytes()).hexdigest()
        config = json.dumps(
            {
                "manifest": manifest,
                "pretrained": asdict(self.model.config.pretrained),
                "views": self.speech_views,
                "seed": self.seed,  # the augmented views depend on it
            },
            sort_keys=True,
        )
        return hashlib.sha256(config.encode()).hexdigest()[:16]

    def _cache_file(self, corpus_dir: Path, key: str) -> Path | None:
        return self.cache_dir / f"{corpus_dir.name}-{key}.pt" if self.cache_dir else None

    def _read_cache(self, corpus_dir: Path, key: str) -> dict[str, torch.Tensor]:
        path = self._cache_file(corpus_dir, key)
        return torch.load(path, weights_only=True) if path is not None and path.is_file() else {}

    def _write_cache(self, corpus_dir: Path, key: str, features: dict[str, torch.Tensor]) -> None:
        path = self._cache_file(corpus_dir, key)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(features, path.with_suffix(".tmp"))
            path.with_suffix(".tmp").replace(path)


class CorpusBalancedDraw:
    """Labels uniformly, then a corpus within the label (uniformly, or by weight), then a clip."""

    def __init__(self, clips: Sequence[FeatureClip], weights: dict[str, float] | None = None):
        self.groups: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for index, clip in enumerate(clips):
            self.groups[clip.label][clip.corpus].append(index)
        self.labels = sorted(self.groups)
        self.weights = weights or {}

    def draw(self, label: str, generator: torch.Generator) -> int:
        corpora = sorted(self.groups[label])
        weights = torch.tensor([self.weights.get(name, 1.0) for name in corpora])
        corpus = corpora[int(torch.multinomial(weights, 1, generator=generator))]
        items = self.groups[label][corpus]
        return items[_pick(len(items), generator)]


def _pick(n: int, generator: torch.Generator) -> int:
    return int(torch.randint(0, n, (), generator=generator))


class HeadsTrainer:
    """Heads-only training on cached frozen-encoder features of one or more corpora."""

    def __init__(self, corpora: Sequence[Path], config: HeadsConfig, cache_dir: Path | None, progress: bool):
        self.config = config
        self.progress = progress
        torch.manual_seed(config.seed)
        self.generator = torch.Generator().manual_seed(config.seed)
        model_config = ModelConfig(
            name=config.name,
            speech_backbone="whisper",
            music_backbone="musicnn",
            pretrained=config.pretrained,
        )
        self.network = build_network(model_config)
        self.model_config = model_config
        limits = {"music": config.max_music_per_label, "speech": config.max_speech_per_label}
        store = FeatureStore(self.inference_model(), cache_dir, config.speech_views, config.seed, progress, limits)
        self.corpora = [Path(c) for c in corpora]
        self.clips = [clip for corpus in self.corpora for clip in store.load(corpus)]
        self.train = {m: [c for c in self.clips if c.modality == m and c.split == "train"] for m in ("speech", "music")}
        for modality, items in self.train.items():
            if not items:
                raise ValueError(
                    f"no {modality} clips in the train splits of {', '.join(c.name for c in self.corpora)}"
                )
        self.draw = {m: CorpusBalancedDraw(items, config.corpus_weights) for m, items in self.train.items()}
        labels = model_config.labels
        self.label_index = {label: i for i, label in enumerate(labels)}
        self.allowed = {
            "speech": torch.tensor([label in model_config.speech_labels for label in labels]),
            "music": torch.tensor([label in model_config.music_labels for label in labels]),
        }
        self.speech_labels = [
            s for s in self.draw["speech"].labels if SPEECH_TO_MUSIC[s] & set(self.draw["music"].labels)
        ]
        heads = [p for p in self.network.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(heads, lr=config.learning_rate, weight_decay=config.weight_decay)
        total = config.epochs * config.steps_per_epoch
        self.schedule = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lambda step: _cosine(step, total))

    def inference_model(self) -> EmotionModel:
        self.network.eval()
        return EmotionModel(self.network, "training", torch.device("cpu"))

    def _batch(self, modality: str, labels: list[str]) -> torch.Tensor:
        """One clip of each label (a random view of it): (len(labels), out_dim) features."""
        rows = []
        for label in labels:
            views = self.train[modality][self.draw[modality].draw(label, self.generator)].views
            rows.append(views[_pick(views.shape[0], self.generator)])
        return torch.stack(rows)

    def step(self) -> dict[str, float]:
        config, net = self.config, self.network
        net.train()
        moods = self.draw["music"].labels
        music_labels = [moods[_pick(len(moods), self.generator)] for _ in range(config.music_batch_size)]
        answerable = [s for s in self.speech_labels if SPEECH_TO_MUSIC[s] & set(music_labels)]
        speech_labels = [answerable[_pick(len(answerable), self.generator)] for _ in range(config.batch_size)]
        music = self._batch("music", music_labels)
        speech = self._batch("speech", speech_labels)
        z_speech = net.embed_speech_features(speech)
        z_music = net.embed_music_features(music)
        targets = {
            "speech": torch.tensor([self.label_index[label] for label in speech_labels]),
            "music": torch.tensor([self.label_index[label] for label in music_labels]),
        }
        relevant = torch.tensor([[is_match(s, m) for m in music_labels] for s in speech_labels])
        positive = torch.multinomial(relevant.float(), 1, generator=self.generator).squeeze(1)
        terms = {
            "supervised": config.supervised_weight
            * (
                losses.label_loss(net.label_logits(z_speech), targets["speech"], self.allowed["speech"])
                + losses.label_loss(net.label_logits(z_music), targets["music"], self.allowed["music"])
            ),
            "triplet": losses.triplet_loss(z_speech, z_music, positive, relevant, self.generator, config.margin),
            "emosim": config.emosim_weight
            * losses.emosim_loss(
                z_speech, z_music, losses.label_similarity(speech_labels, music_labels), self.generator
            ),
            "regress": config.head_weight
            * (
                losses.valence_arousal_loss(net.valence_arousal(z_speech.detach()), _va(speech_labels))
                + losses.valence_arousal_loss(net.valence_arousal(z_music.detach()), _va(music_labels))
            ),
        }
        total = sum(terms.values())
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        self.optimizer.step()
        self.schedule.step()
        return {name: float(value.detach()) for name, value in terms.items()}

    def evaluate(self, split: str) -> dict[str, dict[str, Any]]:
        """Per corpus with both modalities in ``split``: retrieval report and music/speech top-1 accuracy."""
        model = self.inference_model()
        out = {}
        for corpus in self.corpora:
            speech = [c for c in self.clips if c.corpus == corpus.name and c.split == split and c.modality == "speech"]
            music = [c for c in self.clips if c.corpus == corpus.name and c.split == split and c.modality == "music"]
            if not speech or not music:
                continue
            queries = [model.analyse_speech_features(c.views[:1]) for c in speech]
            tracks = [model.analyse_music_features(c.views[:1]) for c in music]
            rankings = metrics.rank_by_cosine(
                np.array([q.vector for q in queries]), np.array([t.vector for t in tracks])
            )
            report = metrics.score_rankings([c.label for c in speech], [c.label for c in music], rankings)
            out[corpus.name] = {
                "report": report,
                "speech_accuracy": metrics.accuracy([c.label for c in speech], [q.label for q in queries]),
                "music_accuracy": metrics.accuracy([c.label for c in music], [t.label for t in tracks]),
            }
        return out

    def fit(self) -> dict[str, Any]:
        """Train with early stopping on the valid splits: mean over corpora of nDCG@5 + music accuracy."""
        config = self.config
        best_score, best_state, best_epoch, best_valid, stale = -math.inf, None, 0, {}, 0
        history = []
        for epoch in range(1, config.epochs + 1):
            sums: dict[str, float] = defaultdict(float)
            bar = tqdm(range(config.steps_per_epoch), desc=f"epoch {epoch}/{config.epochs}", disable=not self.progress)
            for _ in bar:
                for name, value in self.step().items():
                    sums[name] += value
            valid = self.evaluate("valid")
            if not valid:
                raise ValueError("no corpus has speech and music in its valid split: nothing to select the model on")
            score = float(np.mean([v["report"].overall["ndcg_at_5"] + v["music_accuracy"] for v in valid.values()]))
            row = {"epoch": epoch, "loss": sum(sums.values()) / config.steps_per_epoch, "score": score}
            row |= {f"{name} nDCG@5": v["report"].overall["ndcg_at_5"] for name, v in valid.items()}
            row |= {f"{name} music acc": v["music_accuracy"] for name, v in valid.items()}
            history.append(row)
            if self.progress:
                tqdm.write(", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()))
            if score > best_score:
                best_score, best_epoch, best_valid, stale = score, epoch, valid, 0
                best_state = copy.deepcopy(self.network.trained_state_dict())
            else:
                stale += 1
                if stale >= config.patience:
                    break
        self.network.load_trained_state_dict(best_state)
        return {"history": history, "best_epoch": best_epoch, "valid": best_valid}

    def prototypes(self) -> dict[str, list[float]]:
        """Mean whole-track vector per music label over train + valid music of every corpus, renormalised."""
        model = self.inference_model()
        by_label: dict[str, list[FeatureClip]] = defaultdict(list)
        music = [c for c in self.clips if c.modality == "music" and c.split in ("train", "valid")]
        for clip in sorted(music, key=lambda c: (c.corpus, c.path)):
            by_label[clip.label].append(clip)
        out = {}
        for label in self.model_config.music_labels:
            clips = by_label.get(label, [])[:PROTOTYPE_TRACKS]
            if clips:
                mean = np.mean([model.analyse_music_features(c.views[:1]).vector for c in clips], axis=0)
                out[label] = [float(v) for v in mean / max(np.linalg.norm(mean), 1e-12)]
        return out


def _va(labels: list[str]) -> torch.Tensor:
    return torch.tensor([[EMOTIONS[label].valence, EMOTIONS[label].arousal] for label in labels])


def _cosine(step: int, total: int) -> float:
    return 0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, step / max(1, total))))


def train_heads(
    corpora: Sequence[Path],
    out_dir: Path,
    *,
    command: str,
    cache_dir: Path | None = None,
    progress: bool = True,
    **overrides: Any,
) -> Path:
    """Train heads on frozen pretrained encoders over ``corpora``; write a model directory to ``out_dir``."""
    config = HeadsConfig(**overrides)
    previous_threads = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        started = time.monotonic()
        trainer = HeadsTrainer(corpora, config, cache_dir, progress)
        result = trainer.fit()
        test = trainer.evaluate("test")
        card = heads_model_card(
            command=command,
            config=config,
            clips=trainer.clips,
            history=result["history"],
            best_epoch=result["best_epoch"],
            valid=result["valid"],
            test=test,
            seconds=time.monotonic() - started,
            trained_parameters=sum(v.numel() for v in trainer.network.trained_state_dict().values()),
        )
        save_model_dir(Path(out_dir), trainer.network, trainer.prototypes(), card)
    finally:
        torch.set_num_threads(previous_threads)
    return Path(out_dir)
