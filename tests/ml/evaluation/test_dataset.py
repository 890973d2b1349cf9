"""Finding labelled clips in folder-per-label trees and corpus manifests (no model involved)."""

import pytest

from backend.core.domain.emotions import MUSIC_LABELS, SPEECH_LABELS
from ml.evaluation.dataset import DatasetError, manifest_transcripts, scan_label_tree


def test_scan_reads_labels_transcripts_and_skips_hidden_files(query_tree):
    (query_tree / "sad" / ".DS_Store").write_bytes(b"junk")
    clips = scan_label_tree(query_tree, SPEECH_LABELS, "speech")
    assert [c.path.name for c in clips if c.label == "sad"] == ["sad_0.wav", "sad_1.wav", "sad_stereo.flac"]
    assert len(clips) == 9
    transcripts = {c.path.name: c.transcript for c in clips}
    assert transcripts["happy_0.wav"] == "What a wonderful surprise, thank you!"
    assert transcripts["happy_1.wav"] is None


@pytest.mark.parametrize(
    "folder, labels, kind", [("joyful", SPEECH_LABELS, "speech"), ("neutral", MUSIC_LABELS, "music")]
)
def test_unknown_label_folder_names_the_known_labels(tmp_path, folder, labels, kind):
    (tmp_path / folder).mkdir()
    (tmp_path / folder / "a.wav").write_bytes(b"x")
    with pytest.raises(DatasetError) as error:
        scan_label_tree(tmp_path, labels, kind)
    assert repr(folder) in str(error.value)
    assert f"known {kind} emotions: {', '.join(labels)}" in str(error.value)


def test_empty_tree_and_stray_files_are_errors(tmp_path):
    (tmp_path / "sad").mkdir()
    with pytest.raises(DatasetError, match="no speech audio files"):
        scan_label_tree(tmp_path, SPEECH_LABELS, "speech")
    (tmp_path / "notes.wav").write_bytes(b"x")
    with pytest.raises(DatasetError, match=r"notes.wav.*not inside a label folder"):
        scan_label_tree(tmp_path, SPEECH_LABELS, "speech")
    with pytest.raises(DatasetError, match="does not exist"):
        scan_label_tree(tmp_path / "missing", SPEECH_LABELS, "speech")


def test_manifest_transcripts_override_files_beside(query_tree):
    corpus = query_tree.parent
    (corpus / "manifest.csv").write_text(
        "path,modality,split,label,valence,arousal,group,source,transcript\n"
        "queries/happy/happy_0.wav,speech,test,happy,1,0.735,spk1,tts,From the manifest.\n"
        "queries/sad/sad_0.wav,speech,test,sad,0.225,0.333,spk2,tts,\n"
    )
    transcripts = manifest_transcripts(corpus)
    assert transcripts == {(query_tree / "happy" / "happy_0.wav").resolve(): "From the manifest."}
    clips = {c.path.name: c for c in scan_label_tree(query_tree, SPEECH_LABELS, "speech", transcripts)}
    assert clips["happy_0.wav"].transcript == "From the manifest."
    assert manifest_transcripts(corpus / "queries") == {}
