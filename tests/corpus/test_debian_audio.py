"""The debian-audio importer on fixture trees laid out like the real packages (tiny audio written here)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from backend.core.domain.emotions import MUSIC_LABELS, SPEECH_LABELS
from corpus.build import CorpusError
from corpus.importers.debian_audio import import_debian_audio
from corpus.importers.debian_audio.importer import crop_starts
from corpus.importers.debian_audio.sources import BENCHMARK_PACKAGES, HEDGEWARS_BENCHMARK_PACKS, SOURCES, packages
from ml.manifest import read_manifest
from s2m.cli import main

REPO = Path(__file__).resolve().parents[2]
HW_VOICES = "usr/share/games/hedgewars/Data/Sounds/voices"
FOF = "usr/share/games/fretsonfire/data/songs"
# Per package: files as they lie in the real package (path, seconds). Formats follow the suffix.
FIXTURE: dict[str, list[tuple[str, float]]] = {
    "naev-data": [
        ("usr/share/naev/dat/snd/music/combat1.ogg", 6),
        ("usr/share/naev/dat/snd/music/peace2.ogg", 6),
        ("usr/share/naev/dat/snd/music/blackmoor_tides.ogg", 6),
        ("usr/share/naev/dat/snd/music/machina.ogg", 6),  # no mood in the name: unlabelled
        ("usr/share/naev/dat/snd/sounds/explosion0.wav", 1),
    ],  # a sound effect, outside the music folder
    "hedgewars-data": [
        ("usr/share/games/hedgewars/Data/Music/Halloween.ogg", 6),
        ("usr/share/games/hedgewars/Data/Music/Nature.ogg", 6),
        (f"{HW_VOICES}/Default/Illgetyou.ogg", 1.2),
        (f"{HW_VOICES}/Default/Laugh.ogg", 1.5),
        (f"{HW_VOICES}/Default/Hello.ogg", 0.6),
        (f"{HW_VOICES}/Default/Ow1.ogg", 0.6),
        (f"{HW_VOICES}/Default/Hurry.ogg", 0.3),  # unlabelled and too short
        (f"{HW_VOICES}/Pirate/Runaway.ogg", 0.8),
        (f"{HW_VOICES}/Pirate/Nooo.ogg", 1.3),
        (f"{HW_VOICES}/British/Whatthe.ogg", 0.3),  # labelled but under 0.5 s
        (f"{HW_VOICES}/Robot/Laugh.ogg", 1.0),
        (f"{HW_VOICES}/Singer/Victory.ogg", 1.0),
        (f"{HW_VOICES}/Default_es/Illgetyou.ogg", 1.2),  # packs in other languages train
        (f"{HW_VOICES}/Russian/Laugh.ogg", 1.5),
        (f"{HW_VOICES}/Default_ru/Ow1.ogg", 0.8),  # unlabelled training audio
    ],
    "supertux-data": [
        ("usr/share/games/supertux2/music/misc/halloween_1.ogg", 6),
        ("usr/share/games/supertux2/music/forest/treeboss.ogg", 6),
        ("usr/share/games/supertux2/music/misc/leveldone.ogg", 3),
    ],  # a sting under 5 s
    "fretsonfire-songs-muldjord": [
        (f"{FOF}/muldjord/armygeddon/song.ogg", 6),
        (f"{FOF}/muldjord/armygeddon/guitar.ogg", 7),
    ],
    "singularity-music": [
        ("usr/share/games/singularity/music/win/Apex Aleph.ogg", 6),
        ("usr/share/games/singularity/music/lose/Chimes They Fade.ogg", 6),
        ("usr/share/games/singularity/music/Nebula.ogg", 6),
    ],
    "lordsawar-data": [
        ("usr/share/games/lordsawar/music/victory.ogg", 6),
        ("usr/share/games/lordsawar/music/defeat.ogg", 6),
    ],
    "gigalomania-data": [("usr/share/gigalomania/music/defeat.ogg", 6)],
    "plee-the-bear-data": [
        ("usr/share/games/plee-the-bear/music/boss.ogg", 6),
        ("usr/share/games/plee-the-bear/music/sequencer/bonus/guitar.ogg", 6),
    ],
    "pink-pony-data": [("usr/share/games/pink-pony/music/To be happy.mp3", 6)],
    "alsa-utils": [
        ("usr/share/sounds/alsa/Front_Left.wav", 1.5),
        ("usr/share/sounds/alsa/Rear_Center.wav", 1.4),
        ("usr/share/sounds/alsa/Noise.wav", 1.4),
    ],
    "pocketsphinx-testdata": [
        ("usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav", 2)
    ],
    "0ad-data": [
        ("usr/share/games/0ad/mods/public/audio/music/Taiko_1.ogg", 100),
        ("usr/share/games/0ad/mods/public/audio/music/Taiko_2.ogg", 6),
        ("usr/share/games/0ad/mods/public/audio/music/Dried_Tears.ogg", 6),
        ("usr/share/games/0ad/mods/public/audio/music/You_are_Victorious!.ogg", 6),
        ("usr/share/games/0ad/mods/public/audio/music/Celtica.ogg", 6),
        ("usr/share/games/0ad/mods/public/audio/music/0_8Bit_Bonus_Track.ogg", 6),
    ],
    "freedroidrpg-data": [
        ("usr/share/freedroidrpg/data/sound/music/TechBattle.ogg", 6),
        ("usr/share/freedroidrpg/data/sound/music/Hyperbattle.ogg", 6),
        ("usr/share/freedroidrpg/data/sound/music/HellFortressTwo.ogg", 6),
    ],
    "flare-game": [
        ("usr/share/games/flare/mods/fantasycore/music/battle_theme.ogg", 6),
        ("usr/share/games/flare/mods/fantasycore/music/dungeon_theme.ogg", 6),
    ],
    "ardentryst": [("usr/share/games/ardentryst/Music/battle.ogg", 6)],
    "hyperrogue-music": [
        ("usr/share/hyperrogue/music/hr3-graveyard.ogg", 6),
        ("usr/share/hyperrogue/music/hr3-rlyeh.ogg", 6),
    ],
    "warmux-data": [("usr/share/games/warmux/music/ingame/circux.ogg", 6)],
    "davegnukem-data": [("usr/share/games/davegnukem/music/eric_matyas/8-Bit-Mayhem.ogg", 6)],
    "enigma-data": [("usr/share/games/enigma/music/game/meditation.ogg", 6)],
    "marsshooter-data": [("usr/share/games/marsshooter/audio/music/03_fear.ogg", 6)],
    "extremetuxracer-data": [("usr/share/games/etr/music/wonrace1-jt.ogg", 6)],
    "fretsonfire-songs-sectoid": [
        (f"{FOF}/sectoid/Metal madness/song.ogg", 6),
        (f"{FOF}/sectoid/Metal madness/guitar.ogg", 6),
        (f"{FOF}/sectoid/Feelings/song.ogg", 6),
    ],
    "asc-music": [("usr/share/games/asc/music/frontiers.mp3", 6)],
    "planetblupi-music-ogg": [("usr/share/planetblupi/music/music000.ogg", 6)],
    "drascula-music": [("usr/share/scummvm/drascula/audio/track1.ogg", 6)],
    "kajongg": [
        ("usr/share/kajongg/voices/male1/pung.ogg", 0.6),
        ("usr/share/kajongg/voices/male2/chow.ogg", 0.6),
        ("usr/share/kajongg/voices/female1/b1.ogg", 0.8),
        ("usr/share/kajongg/voices/female2/s3.ogg", 0.9),
        ("usr/share/kajongg/voices/de/female1/kong.ogg", 0.7),
    ],
    "codec2-examples": [
        ("usr/share/codec2/wav/big_dog.wav", 2.5),
        ("usr/share/codec2/wav/f2400.wav", 1.7),
        ("usr/share/codec2/raw/speech_orig_16k.wav", 3.0),
    ],
}
COPYRIGHT = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-2+\n"


def _write_audio(path: Path, seconds: float, index: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rate = 22_050 if path.suffix == ".mp3" else 8_000
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.2 * np.sin(2 * np.pi * (110 + 7 * index) * t) * (1 + 0.3 * np.sin(2 * np.pi * 2 * t))
    stereo = np.stack([wave, 0.8 * wave], axis=1)
    if path.suffix == ".mp3":
        sf.write(path, stereo, rate, format="MP3")
    elif path.suffix == ".ogg":
        sf.write(path, stereo, rate, format="OGG", subtype="VORBIS")
    else:
        sf.write(path, stereo, rate)


@pytest.fixture(scope="module")
def real_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """DEST as scripts/fetch_real_audio.sh leaves it: one extracted tree per package, with .deb-control."""
    root = tmp_path_factory.mktemp("real")
    for n, (package, files) in enumerate(FIXTURE.items()):
        tree = root / package
        for i, (rel, seconds) in enumerate(files):
            _write_audio(tree / rel, seconds, n + i)
        (tree / ".deb-control").write_text(f"Package: {package}\nVersion: 1.{n}-1\n")
        (tree / "usr/share/doc" / package).mkdir(parents=True, exist_ok=True)
        (tree / "usr/share/doc" / package / "copyright").write_text(COPYRIGHT)
    return root


@pytest.fixture(scope="module")
def benchmark(real_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    import_debian_audio(real_tree, out, role="benchmark", progress=False)
    return out


@pytest.fixture(scope="module")
def training(real_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("train")
    import_debian_audio(real_tree, out, role="train", progress=False)
    return out


def _by_source(root: Path) -> dict[str, object]:
    return {r.source: r for r in read_manifest(root / "manifest.csv")}


def test_tables_cover_the_fixture_and_the_fetch_list():
    listed = [
        line.split()[0]
        for line in (REPO / "corpus/importers/debian_audio/packages.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert sorted(listed) == sorted(packages()) == sorted(FIXTURE)
    assert set(packages()) > BENCHMARK_PACKAGES
    for source in SOURCES:
        allowed = SPEECH_LABELS if source.modality == "speech" else MUSIC_LABELS
        assert all(rule.label in allowed and rule.evidence for rule in source.rules)


def test_benchmark_labels_whole_recordings_and_holds_out_its_packages(benchmark: Path):
    rows = _by_source(benchmark)
    expect = {
        "naev-data:combat1.ogg": ("music", "exciting"),
        "naev-data:peace2.ogg": ("music", "calm"),
        "naev-data:blackmoor_tides.ogg": ("music", "exciting"),
        "hedgewars-data:Halloween.ogg": ("music", "scary"),
        "hedgewars-data:Default/Illgetyou.ogg": ("speech", "angry"),
        "hedgewars-data:Default/Laugh.ogg": ("speech", "happy"),
        "hedgewars-data:Default/Hello.ogg": ("speech", "neutral"),
        "hedgewars-data:Pirate/Runaway.ogg": ("speech", "fearful"),
        "hedgewars-data:Pirate/Nooo.ogg": ("speech", "sad"),
        "supertux-data:misc/halloween_1.ogg": ("music", "scary"),
        "supertux-data:forest/treeboss.ogg": ("music", "exciting"),
        "fretsonfire-songs-muldjord:armygeddon": ("music", "angry"),
        "singularity-music:win/Apex Aleph.ogg": ("music", "happy"),
        "singularity-music:lose/Chimes They Fade.ogg": ("music", "sad"),
        "lordsawar-data:victory.ogg": ("music", "happy"),
        "lordsawar-data:defeat.ogg": ("music", "sad"),
        "gigalomania-data:defeat.ogg": ("music", "sad"),
        "plee-the-bear-data:boss.ogg": ("music", "exciting"),
        "pink-pony-data:To be happy.mp3": ("music", "happy"),
        "alsa-utils:Front_Left.wav": ("speech", "neutral"),
        "alsa-utils:Rear_Center.wav": ("speech", "neutral"),
        "pocketsphinx-testdata:sense_and_sensibility_01_austen_64kb-0870.wav": ("speech", "neutral"),
    }
    assert {k: (r.modality, r.label) for k, r in rows.items()} == expect
    assert {r.split for r in rows.values()} == {"test"}
    assert {k.split(":")[0] for k in rows} <= BENCHMARK_PACKAGES
    assert rows["hedgewars-data:Default/Illgetyou.ogg"].transcript == "I'll get you!"
    assert rows["hedgewars-data:Pirate/Runaway.ogg"].group == "hedgewars-data/Pirate"  # the speaker
    # Whole recordings at the corpus rates; the two stems of a song are one track as long as the longer.
    song = sf.info(benchmark / rows["fretsonfire-songs-muldjord:armygeddon"].path)
    assert (song.samplerate, song.channels) == (22_050, 1) and song.duration == pytest.approx(7.0, abs=0.05)
    voice = sf.info(benchmark / rows["hedgewars-data:Default/Laugh.ogg"].path)
    assert voice.samplerate == 16_000 and voice.duration == pytest.approx(1.5, abs=0.02)
    assert not (benchmark / "unlabelled").exists() and not (benchmark / "unlabelled.csv").exists()


def test_benchmark_card_names_versions_licences_rules_and_what_was_left_out(benchmark: Path):
    card = (benchmark / "CORPUS.md").read_text()
    assert "### naev-data 1.0-1" in card and "Licence: GPL-2+ (see usr/share/doc/naev-data/copyright)" in card
    assert "| combat1.ogg | exciting | test | 6.0 | dat/snd/music.lua plays it from choose_combat()" in card
    assert "voice line Runaway: a cry of alarm: Run away!" in card
    assert "Skipped, excluded: robot voice effect: processed, not a natural voice (1): Robot/Laugh.ogg." in card
    assert "Skipped, excluded: the lines are sung, not spoken (1): Singer/Victory.ogg." in card
    assert "British/Whatthe.ogg (0.3 s, shorter than 0.5 s)" in card
    assert "misc/leveldone.ogg (3.0 s, shorter than 5 s)" in card
    assert "Skipped, excluded: noise, not speech (1): Noise.wav." in card
    assert (
        "Skipped, excluded: separate instrument stems of tracks that are also in the folder (1): "
        "sequencer/bonus/guitar.ogg." in card
    )
    assert "Unlabelled (1): machina.ogg" in card and "Default/Ow1.ogg" in card
    assert "held out" in card and "/tmp" not in card and str(benchmark) not in card


def test_training_set_has_no_benchmark_package_and_splits_by_group(training: Path):
    rows = read_manifest(training / "manifest.csv")
    # Of the held-out packages only Hedgewars' voice packs in other languages train; never an English one.
    held_out = [r.source for r in rows if r.source.split(":")[0] in BENCHMARK_PACKAGES]
    assert sorted(held_out) == ["hedgewars-data:Default_es/Illgetyou.ogg", "hedgewars-data:Russian/Laugh.ogg"]
    unlabelled = (training / "unlabelled.csv").read_text()
    assert "Default_ru/Ow1.ogg" in unlabelled
    assert not any(f"{pack}/" in unlabelled for pack in (*HEDGEWARS_BENCHMARK_PACKS, "Robot", "Singer"))
    assert {r.split for r in rows} <= {"train", "valid"}
    split_of: dict[str, set[str]] = {}
    for r in rows:
        split_of.setdefault(r.group, set()).add(r.split)
    assert all(len(s) == 1 for s in split_of.values())
    kajongg = [r for r in rows if r.source.startswith("kajongg:")]
    assert {r.label for r in kajongg} == {"neutral"} and len({r.group for r in kajongg}) == 5
    assert {r.split for r in kajongg} == {"train", "valid"}  # five speakers: one goes to valid
    labels = {r.source: r.label for r in rows}
    assert labels["0ad-data:Dried_Tears.ogg"] == "sad" and labels["warmux-data:ingame/circux.ogg"] == "funny"
    assert labels["fretsonfire-songs-sectoid:Metal madness"] == "angry"
    assert "codec2-examples:wav/f2400.wav" not in labels and "0ad-data:0_8Bit_Bonus_Track.ogg" not in labels


def test_training_crops_long_tracks_and_keeps_crops_in_one_split(training: Path):
    crops = [r for r in read_manifest(training / "manifest.csv") if r.source == "0ad-data:Taiko_1.ogg"]
    assert len(crops) == len(crop_starts(100.0)) == 3
    assert len({(r.split, r.group) for r in crops}) == 1
    for r in crops:
        assert sf.info(training / r.path).duration == pytest.approx(30.0, abs=0.01)


def test_training_writes_unlabelled_real_audio_and_its_list(training: Path):
    with (training / "unlabelled.csv").open() as handle:
        listed = {row["source_path"]: row for row in csv.DictReader(handle)}
    assert set(listed) == {
        "usr/share/games/0ad/mods/public/audio/music/Celtica.ogg",
        "usr/share/games/fretsonfire/data/songs/sectoid/Feelings",
        "usr/share/games/asc/music/frontiers.mp3",
        "usr/share/planetblupi/music/music000.ogg",
        "usr/share/scummvm/drascula/audio/track1.ogg",
        f"{HW_VOICES}/Default_ru/Ow1.ogg",
    }
    for row in listed.values():
        info = sf.info(training / row["path"])
        rate = 16_000 if "/speech/" in row["path"] else 22_050
        assert info.samplerate == rate and info.duration == pytest.approx(float(row["seconds"]), abs=0.1)
    assert "Unlabelled real audio written: 6 recordings" in (training / "CORPUS.md").read_text()


def test_training_set_without_unlabelled_audio(real_tree: Path, tmp_path: Path, training: Path):
    args = ["corpus", "import", "debian-audio", str(real_tree), "--out", str(tmp_path / "t"), "--set", "train"]
    done = CliRunner().invoke(main, [*args, "--no-unlabelled"])
    assert done.exit_code == 0, done.output
    assert (tmp_path / "t" / "manifest.csv").read_text() == (training / "manifest.csv").read_text()
    assert not (tmp_path / "t" / "unlabelled").exists() and not (tmp_path / "t" / "unlabelled.csv").exists()


def test_crop_starts_spread_crops_over_the_track():
    assert crop_starts(20.0) == [0.0]
    assert crop_starts(44.0) == [0.0]
    assert crop_starts(60.0) == [0.0, 30.0]
    starts = crop_starts(600.0)
    assert len(starts) == 6 and starts[0] == 0.0 and starts[-1] == pytest.approx(570.0)


def test_missing_package_folders_and_bad_sets_are_errors(real_tree: Path, tmp_path: Path):
    (tmp_path / "partial" / "naev-data").mkdir(parents=True)
    with pytest.raises(CorpusError, match=r"lacks the benchmark package folders .*hedgewars-data"):
        import_debian_audio(tmp_path / "partial", tmp_path / "out", role="benchmark", progress=False)
    with pytest.raises(CorpusError, match="unknown package set 'test'"):
        import_debian_audio(real_tree, tmp_path / "out", role="test", progress=False)


def test_cli_imports_and_reports_errors(real_tree: Path, tmp_path: Path):
    runner = CliRunner()
    done = runner.invoke(
        main, ["corpus", "import", "debian-audio", str(real_tree), "--out", str(tmp_path / "b"), "--set", "benchmark"]
    )
    assert done.exit_code == 0, done.output
    assert (tmp_path / "b" / "manifest.csv").is_file() and "CORPUS.md" in done.output
    again = runner.invoke(
        main, ["corpus", "import", "debian-audio", str(real_tree), "--out", str(tmp_path / "b"), "--set", "benchmark"]
    )
    assert again.exit_code != 0 and "not empty" in again.output
    missing = runner.invoke(
        main,
        ["corpus", "import", "debian-audio", str(tmp_path / "nowhere"), "--out", str(tmp_path / "c"), "--set", "train"],
    )
    assert missing.exit_code != 0 and "does not exist" in missing.output
    no_set = runner.invoke(main, ["corpus", "import", "debian-audio", str(real_tree), "--out", str(tmp_path / "d")])
    assert no_set.exit_code != 0 and "--set is required for debian-audio" in no_set.output
    wrong = runner.invoke(
        main, ["corpus", "import", "ravdess", str(real_tree), "--out", str(tmp_path / "e"), "--set", "train"]
    )
    assert wrong.exit_code != 0 and "--set" in wrong.output
