"""Importers of IEMOCAP, RAVDESS and AudioSet music mood, on small fixture trees in the real layouts."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from backend.core.audio import decode_audio
from corpus.build import CorpusError
from corpus.importers import import_audioset_mood, import_iemocap, import_ravdess
from ml.manifest import read_manifest
from s2m.cli import main


def _tone(path, seconds=1.0, rate=44_100, freq=220.0, channels=1):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    wave = 0.3 * np.sin(2 * np.pi * freq * t) * (1 + 0.2 * np.sin(2 * np.pi * 3 * t))
    sf.write(path, np.repeat(wave[:, None], channels, axis=1), rate)


def make_iemocap(root):
    utterances = {
        1: [("F000", "neu"), ("M001", "exc"), ("F002", "fru")],
        2: [("F000", "hap")],
        3: [("M000", "sad")],
        4: [("F000", "ang"), ("M001", "neu")],
        5: [("M000", "sad"), ("F001", "exc")],
    }
    for session, items in utterances.items():
        base = root / f"Session{session}"
        dialog = f"Ses0{session}F_impro01"
        evaluation = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
        transcript = []
        for i, (utt, code) in enumerate(items):
            uid = f"{dialog}_{utt}"
            evaluation += [
                f"[{i * 3 + 1.5:.4f} - {i * 3 + 3.0:.4f}]\t{uid}\t{code}\t[2.5000, 2.5000, 2.5000]",
                f"C-E1:\t{code.capitalize()};\t()",
                "",
            ]
            transcript.append(f"{uid} [{i * 3 + 1.5:08.4f}-{i * 3 + 3.0:08.4f}]: Line {i} of session {session}.")
            _tone(base / "sentences" / "wav" / dialog / f"{uid}.wav", rate=16_000, freq=200 + 20 * i)
        (base / "dialog" / "EmoEvaluation").mkdir(parents=True)
        (base / "dialog" / "EmoEvaluation" / f"{dialog}.txt").write_text("\n".join(evaluation))
        (base / "dialog" / "transcriptions").mkdir(parents=True)
        (base / "dialog" / "transcriptions" / f"{dialog}.txt").write_text("\n".join(transcript))


def test_iemocap_merges_happy_and_excited_and_splits_by_session(tmp_path):
    make_iemocap(tmp_path / "IEMOCAP_full_release")
    rows = read_manifest(import_iemocap(tmp_path / "IEMOCAP_full_release", tmp_path / "out", progress=False))
    by_id = {r.path.rsplit("/", 1)[1][:-4]: r for r in rows}
    assert "Ses01F_impro01_F002" not in by_id  # frustrated is not one of the four classes
    assert by_id["Ses01F_impro01_M001"].label == "happy"  # excited merged into happy
    assert by_id["Ses02F_impro01_F000"].label == "happy"
    assert {r.split for r in rows if r.group == "iemocap/Session5"} == {"test"}
    assert {r.split for r in rows if r.group == "iemocap/Session4"} == {"valid"}
    assert by_id["Ses04F_impro01_M001"].transcript == "Line 1 of session 4."
    assert {r.label for r in rows} == {"angry", "happy", "neutral", "sad"}
    audio = decode_audio(tmp_path / "out" / by_id["Ses03F_impro01_M000"].path)
    assert audio.sample_rate == 16_000 and audio.duration_seconds == pytest.approx(1.0, abs=0.01)
    assert "IEMOCAP" in (tmp_path / "out" / "CORPUS.md").read_text()


def test_ravdess_reads_names_resamples_and_groups_by_actor(tmp_path):
    src = tmp_path / "ravdess"
    for actor in (1, 2, 17, 22):
        for emotion in range(1, 9):
            _tone(
                src / f"Actor_{actor:02d}" / f"03-01-{emotion:02d}-01-0{1 + emotion % 2}-01-{actor:02d}.wav",
                seconds=0.5,
                rate=48_000,
                channels=2,
                freq=150 + 10 * emotion,
            )
    _tone(src / "Actor_01" / "03-02-03-01-01-01-01.wav", seconds=0.5, rate=48_000)  # song: left out
    rows = read_manifest(import_ravdess(src, tmp_path / "out", progress=False))
    assert len(rows) == 32
    assert {r.split for r in rows} == {"train", "valid", "test"}
    assert {r.group: r.split for r in rows}["ravdess/Actor_22"] == "test"
    angry = next(r for r in rows if r.path.endswith("03-01-05-01-02-01-17.wav"))
    assert (angry.label, angry.split, angry.transcript) == ("angry", "valid", "Dogs are sitting by the door.")
    audio = decode_audio(tmp_path / "out" / angry.path)
    assert (audio.sample_rate, audio.channels) == (16_000, 1)
    assert audio.duration_seconds == pytest.approx(0.5, abs=0.01)


def test_audioset_mood_keeps_single_mood_segments_with_files(tmp_path):
    src = tmp_path / "audioset"
    ids = [f"vid{i:02d}_-abcd" for i in range(12)]  # 11-character YouTube ids
    lines = ["# Segments csv created Sun Mar  5 10:54:31 2017", "# YTID, start_seconds, end_seconds, positive_labels"]
    moods = ["/t/dd00031", "/t/dd00032", "/t/dd00033", "/t/dd00034", "/t/dd00035", "/t/dd00036", "/t/dd00037"]
    for i, ytid in enumerate(ids):
        lines.append(f'{ytid}, {30 + i}.000, {40 + i}.000, "/m/04rlf,{moods[i % 7]}"')
        name = f"Y{ytid}.wav" if i % 2 else f"{ytid}_{30 + i}000_{40 + i}000.flac"
        _tone(src / "clips" / name, seconds=10.0, rate=44_100, channels=2)
    lines.append('twoMoodsXYZ, 0.000, 10.000, "/t/dd00031,/t/dd00033"')  # ambiguous: left out
    lines.append('notDownload, 0.000, 10.000, "/t/dd00033"')  # no file: counted as missing
    (src / "segments.csv").write_text("\n".join(lines) + "\n")
    rows = read_manifest(import_audioset_mood(src, tmp_path / "out", progress=False))
    assert len(rows) == 12
    assert {r.modality for r in rows} == {"music"}
    assert {r.label for r in rows} == {"happy", "funny", "sad", "tender", "exciting", "angry", "scary"}
    first = next(r for r in rows if r.group == f"audioset/{ids[0]}")
    assert first.label == "happy"
    audio = decode_audio(tmp_path / "out" / first.path)
    assert (audio.sample_rate, audio.channels) == (22_050, 1)
    assert "1 listed segments had no downloaded file" in (tmp_path / "out" / "CORPUS.md").read_text()


def test_importers_name_what_is_wrong(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match=r"no Session1..Session5"):
        import_iemocap(tmp_path / "empty", tmp_path / "o1")
    with pytest.raises(CorpusError, match="no Actor_XX"):
        import_ravdess(tmp_path / "empty", tmp_path / "o2")
    with pytest.raises(CorpusError, match="exactly one segments CSV"):
        import_audioset_mood(tmp_path / "empty", tmp_path / "o3")
    with pytest.raises(CorpusError, match="is not a directory"):
        import_ravdess(tmp_path / "nowhere", tmp_path / "o4")
    (tmp_path / "few").mkdir()
    (tmp_path / "few" / "segments.csv").write_text('abcdefghijk, 0.000, 10.000, "/t/dd00033"\n')
    _tone(tmp_path / "few" / "abcdefghijk.wav")
    with pytest.raises(CorpusError, match="at least 3 videos"):
        import_audioset_mood(tmp_path / "few", tmp_path / "o5")
    broken = tmp_path / "broken" / "Actor_03"
    broken.mkdir(parents=True)
    (broken / "03-01-04-01-01-01-03.wav").write_bytes(b"not a wav file")
    with pytest.raises(CorpusError, match="none of the 1 clips could be read"):
        import_ravdess(tmp_path / "broken", tmp_path / "o6")


def test_cli_reports_bad_arguments_with_non_zero_exit(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["corpus", "import", "timit", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "'timit' is not one of" in result.output
    result = runner.invoke(
        main, ["corpus", "import", "ravdess", str(tmp_path / "missing"), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "does not exist" in result.output
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("keep")
    result = runner.invoke(main, ["corpus", "build", "--out", str(tmp_path / "full")])
    assert result.exit_code == 1 and "not empty" in result.output and "--force" in result.output
    result = runner.invoke(main, ["corpus", "build", "--out", str(tmp_path / "o"), "--size", "huge"])
    assert result.exit_code == 2 and "'huge' is not one of" in result.output
    result = runner.invoke(main, ["corpus", "import", "ravdess", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "no Actor_XX" in result.output


def test_cli_import_writes_the_layout(tmp_path):
    make_iemocap(tmp_path / "iemocap")
    result = CliRunner().invoke(
        main, ["corpus", "import", "iemocap", str(tmp_path / "iemocap"), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 0, result.output
    assert len(read_manifest(tmp_path / "o" / "manifest.csv")) == 8
