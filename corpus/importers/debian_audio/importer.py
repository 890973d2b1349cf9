"""Import real music and voices from extracted Debian package trees into the corpus layout.

SRC holds one folder per package, as scripts/fetch_real_audio.sh leaves it: ``SRC/<package>/``
is the package's own file tree (``usr/share/...``) plus ``.deb-control`` (its Package and Version
fields). The rule tables in :mod:`corpus.importers.debian_audio.sources` give the labels.

``--set benchmark`` imports the held-out packages, whole recordings, all in the ``test`` split.
``--set train`` imports the others: groups (a music track, a speaker) go whole to train or valid,
long tracks are cut into crops, and audio that no rule labels goes to ``unlabelled/`` with its own
list ``unlabelled.csv`` (for self-training; the benchmark's unlabelled audio is never written).
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path, PurePosixPath

import numpy as np
import soundfile as sf
from tqdm import tqdm

from backend.core.audio import AudioError, decode_audio, resample
from corpus.build import CorpusError, prepare_output
from corpus.datacard import summary
from corpus.importers.common import SourceClip, require_dir
from corpus.importers.debian_audio.sources import (
    HEDGEWARS_TRAIN_PACKS,
    NOT_USED,
    ROLES,
    AudioSource,
    Exclusion,
    Rule,
    sources_for,
)
from ml.manifest import SAMPLE_RATES, ManifestRow, make_row, write_manifest

AUDIO_SUFFIXES: tuple[str, ...] = (".ogg", ".wav", ".mp3", ".flac", ".opus")
# Shorter clips say too little: the service refuses speech under 0.5 s, and a music sting of a few
# seconds is no catalogue track.
MIN_SECONDS: dict[str, float] = {"speech": 0.5, "music": 5.0}
CROP_SECONDS = 30.0  # training crops of long music tracks
MAX_CROPS = 6  # per track, spread evenly over it, so long tracks do not swamp short ones
VALID_FRACTION = 0.2  # of each label's groups, in the training set
UNLABELLED_DIR = "unlabelled"
UNLABELLED_LIST = "unlabelled.csv"
CONTROL_FILE = ".deb-control"


@dataclass(frozen=True)
class Item:
    """One recording found in a package: its files (several for a song made of stems) and its fate."""

    source: AudioSource
    relpath: str  # below the source's root (a folder for stems)
    files: tuple[Path, ...]
    rule: Rule | None = None
    exclusion: Exclusion | None = None

    @property
    def group(self) -> str:
        """The split group: the speaker for speech in speaker folders, else the recording itself."""
        parts = PurePosixPath(self.relpath).parts
        depth = self.source.speaker_depth
        if self.source.modality == "speech" and depth and len(parts) > depth:
            return f"{self.source.package}/{'/'.join(parts[:depth])}"
        return f"{self.source.package}/{self.relpath}"

    @property
    def clip_id(self) -> str:
        return slug(f"{self.source.package}__{self.relpath}")


@dataclass(frozen=True)
class PackageInfo:
    """What the data card says about a package: version and licence, read from its own files."""

    package: str
    version: str
    licence: str


def slug(text: str) -> str:
    """A file-name-safe id: runs of anything but letters, digits, '.', '_' become '-'."""
    return re.sub(r"[^A-Za-z0-9._]+", "-", PurePosixPath(text).with_suffix("").as_posix()).strip("-")


def classify(source: AudioSource, relpath: str) -> tuple[Rule | None, Exclusion | None]:
    """The exclusion or the first rule whose glob matches ``relpath`` (exclusions first)."""
    for exclusion in source.exclude:
        if fnmatchcase(relpath, exclusion.pattern):
            return None, exclusion
    for rule in source.rules:
        if fnmatchcase(relpath, rule.pattern):
            return rule, None
    return None, None


def find_items(tree: Path, source: AudioSource) -> list[Item]:
    """Every recording under the source's root in an extracted package tree."""
    root = tree / source.root
    if not root.is_dir():
        raise CorpusError(
            f"{source.package}: folder {source.root} is missing from {tree.name}; "
            "was the package fetched with scripts/fetch_real_audio.sh?"
        )
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
    if source.stems:
        by_folder: dict[Path, list[Path]] = defaultdict(list)
        for path in files:
            by_folder[path.parent].append(path)
        found = [(folder.relative_to(root).as_posix(), tuple(paths)) for folder, paths in sorted(by_folder.items())]
    else:
        found = [(path.relative_to(root).as_posix(), (path,)) for path in files]
    items = []
    for relpath, paths in found:
        rule, exclusion = classify(source, relpath)
        items.append(Item(source, relpath, paths, rule, exclusion))
    return items


def read_package_info(tree: Path, package: str) -> PackageInfo:
    """Version from ``.deb-control``; licence names from the DEP-5 copyright file, if it has them."""
    version = "unknown"
    control = tree / CONTROL_FILE
    if control.is_file():
        for line in control.read_text(encoding="utf-8").splitlines():
            if line.startswith("Version:"):
                version = line.split(":", 1)[1].strip()
    copyright_path = f"usr/share/doc/{package}/copyright"
    licences: list[str] = []
    if (tree / copyright_path).is_file():
        text = (tree / copyright_path).read_text(encoding="utf-8", errors="replace")
        licences = list(dict.fromkeys(m.strip() for m in re.findall(r"^License:[ \t]*(\S.*)$", text, re.M)))
    licence = ", ".join(licences[:8]) + (" ..." if len(licences) > 8 else "") if licences else "free-form"
    return PackageInfo(package, version, f"{licence} (see {copyright_path})")


def load_recording(item: Item) -> tuple[np.ndarray, int]:
    """Mono float32 samples of a recording; stems of one song are summed, as the game plays them."""
    tracks = [decode_audio(path) for path in item.files]
    rate = tracks[0].sample_rate
    if any(t.sample_rate != rate for t in tracks):
        raise AudioError(f"the stems of {item.relpath} have different sample rates")
    length = max(len(t.samples) for t in tracks)
    mix = np.zeros(length, dtype=np.float32)
    for track in tracks:
        mono = track.mono()
        mix[: len(mono)] += mono
    peak = float(np.abs(mix).max())
    if len(tracks) > 1 and peak > 1.0:
        mix /= peak
    return mix, rate


def crop_starts(seconds: float) -> list[float]:
    """Start times of the training crops of a track: the whole track if short, else up to MAX_CROPS crops."""
    if seconds < 1.5 * CROP_SECONDS:
        return [0.0]
    count = min(MAX_CROPS, int(seconds // CROP_SECONDS))
    span = seconds - CROP_SECONDS
    return [span * i / (count - 1) for i in range(count)] if count > 1 else [0.0]


def assign_splits(items: Sequence[Item], role: str, seed: int) -> dict[str, str]:
    """Group -> split. Benchmark: all test. Train: per label, a hashed VALID_FRACTION of groups go to valid."""
    if role == "benchmark":
        return {item.group: "test" for item in items}
    groups_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    for item in items:
        assert item.rule is not None
        groups_of[(item.source.modality, item.rule.label)].add(item.group)
    splits: dict[str, str] = {}
    for key in sorted(groups_of):
        groups = sorted(groups_of[key] - splits.keys(), key=lambda g: hashlib.sha1(f"{seed}:{g}".encode()).hexdigest())
        n_valid = round(len(groups) * VALID_FRACTION) if len(groups) >= 3 else 0
        for i, group in enumerate(groups):
            splits[group] = "valid" if i < max(n_valid, 1 if len(groups) >= 3 else 0) else "train"
    return splits


@dataclass
class ImportLog:
    """What happened to every recording, for the data card."""

    labelled: list[tuple[Item, str, float, int]]  # item, split, seconds of the recording, clips written
    unlabelled: list[tuple[Item, float]]
    skipped: list[tuple[Item, str]]


def import_debian_audio(
    src: Path,
    out_dir: Path,
    *,
    role: str,
    seed: int = 0,
    unlabelled: bool = True,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Import the ``role`` ("benchmark" or "train") packages found in ``src`` into ``out_dir``; return the manifest.

    ``unlabelled``: the training set also keeps the files no rule labels, in ``unlabelled/``.
    """
    if role not in ROLES:
        raise CorpusError(f"unknown package set {role!r}; choose one of {', '.join(ROLES)}")
    src = require_dir(Path(src), "Debian audio")
    out_dir = Path(out_dir)
    sources = sources_for(role)
    missing = sorted({s.package for s in sources if not (src / s.package).is_dir()})
    if missing:
        raise CorpusError(
            f"{src.name} lacks the {role} package folders {', '.join(missing)}; run scripts/fetch_real_audio.sh first"
        )
    started = time.monotonic()
    items = [item for s in sources for item in find_items(src / s.package, s)]
    labelled = [i for i in items if i.rule is not None]
    if not labelled:
        raise CorpusError(f"no file in the {role} packages matches a labelling rule")
    if force and (out_dir / UNLABELLED_DIR).is_dir():
        shutil.rmtree(out_dir / UNLABELLED_DIR)
    if force and (out_dir / UNLABELLED_LIST).exists():
        (out_dir / UNLABELLED_LIST).unlink()
    prepare_output(out_dir, force)
    splits = assign_splits(labelled, role, seed)
    log = ImportLog([], [], [(i, f"excluded: {i.exclusion.reason}") for i in items if i.exclusion])
    rows: list[ManifestRow] = []
    keep_unlabelled = role == "train" and unlabelled
    work = labelled + ([i for i in items if i.rule is None and i.exclusion is None] if keep_unlabelled else [])
    for item in tqdm(work, desc=f"import debian-audio {role}", unit="file", disable=not progress):
        try:
            samples, rate = load_recording(item)
        except AudioError as error:
            log.skipped.append((item, f"unreadable: {error}"))
            continue
        seconds = len(samples) / rate
        modality = item.source.modality
        if seconds < MIN_SECONDS[modality]:
            log.skipped.append((item, f"{seconds:.1f} s, shorter than {MIN_SECONDS[modality]:g} s"))
            continue
        target_rate = SAMPLE_RATES[modality]
        if item.rule is None:
            path = f"{UNLABELLED_DIR}/{modality}/{item.source.package}/{item.clip_id}.wav"
            _write(out_dir / path, samples, rate, target_rate)
            log.unlabelled.append((item, seconds))
            continue
        split = splits[item.group]
        crops = [0.0] if role == "benchmark" or modality == "speech" else crop_starts(seconds)
        for k, start in enumerate(crops):
            clip = SourceClip(
                item.files[0],
                item.clip_id if len(crops) == 1 else f"{item.clip_id}_c{k}",
                modality,
                split,
                item.rule.label,
                item.group,
                item.rule.transcript,
            )
            piece = samples if len(crops) == 1 else samples[int(start * rate) : int((start + CROP_SECONDS) * rate)]
            row = make_row(
                clip.clip_id,
                clip.modality,
                clip.split,
                clip.label,
                clip.group,
                f"{item.source.package}:{item.relpath}",
                clip.transcript,
            )
            _write(out_dir / row.path, piece, rate, target_rate)
            rows.append(row)
        log.labelled.append((item, split, seconds, len(crops)))
    if not rows:
        raise CorpusError(
            f"none of the {len(labelled)} labelled recordings could be imported; "
            f"first problem: {log.skipped[0][1] if log.skipped else 'none'}"
        )
    if keep_unlabelled:
        _write_unlabelled_list(out_dir / UNLABELLED_LIST, log.unlabelled)
    manifest = write_manifest(rows, out_dir / "manifest.csv")
    unlabelled_names = [i for i in items if i.rule is None and i.exclusion is None]
    card = render_card(
        role,
        sources,
        {s.package: read_package_info(src / s.package, s.package) for s in sources},
        rows,
        log,
        unlabelled_names,
        time.monotonic() - started,
    )
    (out_dir / "CORPUS.md").write_text(card, encoding="utf-8")
    return manifest


def _write(path: Path, samples: np.ndarray, rate: int, target_rate: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    out = resample(samples, rate, target_rate)
    sf.write(path, np.clip(out, -1.0, 1.0), target_rate, subtype="PCM_16")


def _write_unlabelled_list(path: Path, unlabelled: Sequence[tuple[Item, float]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["path", "modality", "package", "source_path", "seconds"])
        for item, seconds in sorted(unlabelled, key=lambda x: x[0].clip_id):
            m, p = item.source.modality, item.source.package
            writer.writerow(
                [
                    f"{UNLABELLED_DIR}/{m}/{p}/{item.clip_id}.wav",
                    m,
                    p,
                    f"{item.source.root}/{item.relpath}",
                    f"{seconds:.1f}",
                ]
            )


def render_card(
    role: str,
    sources: Sequence[AudioSource],
    info: dict[str, PackageInfo],
    rows: Sequence[ManifestRow],
    log: ImportLog,
    unlabelled: Sequence[Item],
    seconds_taken: float,
) -> str:
    """CORPUS.md: per package its version, licence, rules, counts, skipped and unlabelled files."""
    title = "Real-audio benchmark" if role == "benchmark" else "Real-audio training set"
    packages = list(dict.fromkeys(s.package for s in sources))
    without = " --no-unlabelled" if role == "train" and not log.unlabelled else ""
    lines = [
        f"# {title}: music and voices from Debian packages",
        "",
        f"Made by `bash scripts/fetch_real_audio.sh` then `s2m corpus import debian-audio data/real --set {role}"
        f"{without}` in {seconds_taken:.0f} s. Packages: {', '.join(packages)}.",
        "",
    ]
    train_packs = ", ".join(HEDGEWARS_TRAIN_PACKS)
    if role == "benchmark":
        lines += [
            "These packages are held out: never use them for training, model selection or tuning. The one "
            f"exception is Hedgewars' voice packs in other languages ({train_packs}), which are left out "
            "here and train: the benchmark keeps the English packs. Every recording is whole (music tracks "
            "as the catalogue would hold them) and in the `test` split. Their unlabelled audio is not written.",
            "",
        ]
    else:
        unlabelled_text = (
            f"Audio no rule labels is in `{UNLABELLED_DIR}/` and listed in `{UNLABELLED_LIST}`."
            if log.unlabelled
            else "Audio no rule labels was not written (`--no-unlabelled`)."
        )
        lines += [
            "Of the benchmark packages only Hedgewars' voice packs in other languages are here "
            f"({train_packs}); never an English pack, not even as unlabelled audio. Split groups are music "
            f"tracks and speakers: each label's groups go {1 - VALID_FRACTION:.0%} to train and "
            f"{VALID_FRACTION:.0%} to valid (none to valid under 3 groups). Music tracks of "
            f"{1.5 * CROP_SECONDS:g} s or more are cut into up to {MAX_CROPS} crops of {CROP_SECONDS:g} s "
            f"spread over the track (the manifest's group is the track). {unlabelled_text}",
            "",
        ]
    lines += [
        "Labels come only from the rule tables in corpus/importers/debian_audio/sources.py: a glob on the "
        "path, a label, and the words of the evidence (a file, folder or title name, or the game's own "
        "code saying when the track plays). Files that say nothing get no label. No model made a label.",
        "",
        "## Counts",
        "",
        summary(rows),
        "",
        "## Duration per label (whole recordings, before crops)",
        "",
        "| modality | label | recordings | minutes |",
        "|---|---|---|---|",
    ]
    duration: Counter[tuple[str, str]] = Counter()
    count: Counter[tuple[str, str]] = Counter()
    for item, _, seconds, _ in log.labelled:
        key = (item.source.modality, item.rule.label if item.rule else "")
        duration[key] += seconds
        count[key] += 1
    for key in sorted(count):
        lines.append(f"| {key[0]} | {key[1]} | {count[key]} | {duration[key] / 60:.1f} |")
    if log.unlabelled:
        total = sum(s for _, s in log.unlabelled) / 60
        lines += ["", f"Unlabelled real audio written: {len(log.unlabelled)} recordings, {total:.1f} minutes."]
    lines += ["", "## Packages", ""]
    for package in packages:
        pinfo = info[package]
        lines += [f"### {package} {pinfo.version}", "", f"Licence: {pinfo.licence}.", ""]
        for source in (s for s in sources if s.package == package):
            lines += [f"{source.modality.capitalize()} in `{source.root}`: {source.note}", ""]
            done = [x for x in log.labelled if x[0].source is source]
            if done:
                lines += ["| file | label | split | seconds | evidence |", "|---|---|---|---|---|"]
                for item, split, seconds, _ in sorted(done, key=lambda x: x[0].relpath):
                    assert item.rule is not None
                    lines.append(
                        f"| {item.relpath} | {item.rule.label} | {split} | {seconds:.1f} | {item.rule.evidence} |"
                    )
                lines.append("")
            by_reason: dict[str, list[str]] = defaultdict(list)
            for i, why in log.skipped:
                if i.source is source:
                    by_reason[why if why.startswith("excluded") else "too short or unreadable"].append(
                        i.relpath if why.startswith("excluded") else f"{i.relpath} ({why})"
                    )
            for why, names in by_reason.items():
                lines += [
                    f"Skipped, {why} ({len(names)}): "
                    + ", ".join(names[:12])
                    + (f", and {len(names) - 12} more" if len(names) > 12 else "")
                    + ".",
                    "",
                ]
            names = [i.relpath for i in unlabelled if i.source is source]
            if names:
                lines += [
                    f"Unlabelled ({len(names)}): "
                    + ", ".join(names[:30])
                    + (f", and {len(names) - 30} more" if len(names) > 30 else "")
                    + ".",
                    "",
                ]
    lines += [
        "## Seen and not used",
        "",
        *[f"- {what}: {why}." for what, why in NOT_USED],
        "",
        "## Known limits",
        "",
        "- Labels are weak: a game's name for a situation (battle, victory, ghost forest) says what the "
        "composer aimed at, not what a listener reports; win/lose music is short.",
        "- Speech is acted game voice lines (short, 0.5-3 s) and neutral read or spoken prompts; "
        "no spontaneous emotional speech.",
        "- Music labels cover battle (exciting), horror (scary), peace and ambience (calm), victory (happy), "
        "defeat (sad), metal (angry); tender and funny have little or no evidence in these packages.",
        "",
    ]
    return "\n".join(lines)
