"""``s2m evaluate`` and ``s2m analyze`` end to end on synthesised audio with an untrained model."""

import json
import shutil

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner

from backend.core.domain.emotions import SPEECH_LABELS
from s2m.cli import main

from .synth import MUSIC_RATE, SPEECH_RATE, tone, write_tree


def run(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_evaluate_json_reports_every_metric(model_dir, query_tree, catalogue_tree):
    result = run("evaluate", "--model", model_dir, "--queries", query_tree, "--catalogue", catalogue_tree, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["n_queries"], report["n_catalogue"]) == (9, 10)
    for key in ("mrr", "p_at_5", "ndcg_at_5", "ndcg_at_5_hard", "speech_accuracy", "music_accuracy"):
        assert isinstance(report[key], float) and 0.0 <= report[key] <= 1.0, key
    # Every emotion pair in the vocabulary is less than 1 apart in the VA plane, so sim@5 is positive.
    assert 0.0 < report["sim_at_5"] <= 1.0
    # With 2 relevant sad tracks of 10, a sad query's MRR is at least 1/9 however badly it ranks.
    assert report["per_label"]["sad"]["mrr"] >= 1 / 9
    assert set(report["per_label"]) == {"angry", "happy", "neutral", "sad"}
    assert [row["n_queries"] for row in report["per_label"].values()] == [2, 2, 2, 3]
    assert set(report["confusion"]) == {"angry", "happy", "neutral", "sad"}
    assert sum(sum(row.values()) for row in report["confusion"].values()) == 9
    music = report["music_confusion"]
    assert sum(sum(row.values()) for row in music.values()) == 10
    assert report["music_accuracy"] == pytest.approx(sum(row.get(label, 0) for label, row in music.items()) / 10)
    assert report["model_version"]
    # The chance level (random rankings of the same catalogue) comes with every report.
    assert all(0.0 <= report["chance"][key] <= 1.0 for key in ("mrr", "p_at_5", "ndcg_at_5"))


def test_evaluate_prints_tables_by_default(model_dir, query_tree, catalogue_tree):
    result = run("evaluate", "--model", model_dir, "--queries", query_tree, "--catalogue", catalogue_tree)
    assert result.exit_code == 0, result.output
    assert "9 speech queries, 10 music tracks" in result.stdout
    for title in ("MRR", "P@5", "nDCG@5", "sim@5", "speech emotion accuracy", "music emotion accuracy"):
        assert title in result.stdout


def test_evaluate_prints_markdown_for_a_model_card(model_dir, query_tree, catalogue_tree):
    args = ["evaluate", "--model", model_dir, "--queries", query_tree, "--catalogue", catalogue_tree]
    result = run(*args, "--markdown")
    assert result.exit_code == 0, result.output
    assert "| metric | model | random ranking |" in result.stdout and "| music top-1 accuracy |" in result.stdout
    assert "| speech label | queries | MRR | P@5 | nDCG@5 |" in result.stdout
    rows = [line for line in result.stdout.splitlines() if line.startswith("| sad |")]
    assert len(rows) == 3  # the per-label row and a row in each confusion table
    both = run(*args, "--markdown", "--json")
    assert both.exit_code == 2 and "not both" in both.output


def test_evaluate_corpus_split(model_dir, tmp_path):
    write_tree(tmp_path / "corpus" / "speech" / "test", ["sad", "happy"], 1, SPEECH_RATE, 1.0)
    write_tree(tmp_path / "corpus" / "music" / "test", ["sad", "happy", "scary"], 1, MUSIC_RATE, 2.0)
    result = run("evaluate", "--model", model_dir, "--corpus", tmp_path / "corpus", "--split", "test", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["n_queries"], report["n_catalogue"]) == (2, 3)


def test_unknown_label_folder_is_refused(model_dir, query_tree, catalogue_tree):
    write_tree(query_tree, ["joyful"], 1, SPEECH_RATE, 1.0)
    result = run("evaluate", "--model", model_dir, "--queries", query_tree, "--catalogue", catalogue_tree)
    assert result.exit_code == 1
    assert "'joyful' is not a speech emotion" in result.output
    assert ", ".join(SPEECH_LABELS) in result.output


def test_unreadable_audio_names_the_file(model_dir, query_tree, catalogue_tree):
    (catalogue_tree / "sad" / "broken.wav").write_bytes(b"RIFF but not really a wave file")
    result = run("evaluate", "--model", model_dir, "--queries", query_tree, "--catalogue", catalogue_tree, "--json")
    assert result.exit_code == 1
    assert "broken.wav: the file is not audio" in result.output
    assert not result.stdout.lstrip().startswith("{")


def test_empty_tree_and_missing_arguments(model_dir, tmp_path, catalogue_tree):
    (tmp_path / "empty" / "sad").mkdir(parents=True)
    result = run("evaluate", "--model", model_dir, "--queries", tmp_path / "empty", "--catalogue", catalogue_tree)
    assert result.exit_code == 1 and "no speech audio files" in result.output
    result = run("evaluate", "--model", model_dir, "--queries", tmp_path / "empty")
    assert result.exit_code == 2 and "--catalogue" in result.output


@pytest.mark.parametrize("kind, rate, seconds", [("speech", SPEECH_RATE, 1.5), ("music", MUSIC_RATE, 3.0)])
def test_analyze_reports_probabilities_valence_arousal(model_dir, tmp_path, kind, rate, seconds):
    path = tmp_path / "clip.ogg"
    sf.write(path, tone(seconds, rate, 330, 1), rate)
    result = run("analyze", path, "--kind", kind, "--model", model_dir, "--json")
    assert result.exit_code == 0, result.output
    analysis = json.loads(result.stdout)
    assert sum(analysis["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert analysis["label"] == max(analysis["probabilities"], key=analysis["probabilities"].get)
    assert 0.0 <= analysis["valence"] <= 1.0 and 0.0 <= analysis["arousal"] <= 1.0
    assert np.linalg.norm(analysis["vector"]) == pytest.approx(1.0, abs=1e-4)
    text = run("analyze", path, "--kind", kind, "--model", model_dir)
    assert text.exit_code == 0 and "valence" in text.stdout and analysis["label"] in text.stdout


@pytest.mark.parametrize("payload, message", [(np.zeros(SPEECH_RATE * 2), "silent"), (None, "not audio")])
def test_analyze_refuses_silent_or_unreadable_audio(model_dir, tmp_path, payload, message):
    path = tmp_path / "clip.wav"
    if payload is None:
        path.write_text("plain text, not a recording")
    else:
        sf.write(path, payload, SPEECH_RATE)
    result = run("analyze", path, "--model", model_dir)
    assert result.exit_code == 1
    assert str(path) in result.output and message in result.output


def test_corpus_transcripts_reach_a_text_model(tmp_path):
    from ml.embedding.bundle import build_network, save_model_dir
    from ml.model.config import ModelConfig

    text_model = tmp_path / "text_model"
    save_model_dir(text_model, build_network(ModelConfig(name="untrained-text", modality="text")).eval(), {}, "test")
    corpus = tmp_path / "corpus"
    write_tree(corpus / "speech" / "test", ["sad", "happy"], 1, SPEECH_RATE, 1.0)
    write_tree(corpus / "music" / "test", ["sad", "happy"], 1, MUSIC_RATE, 2.0)
    args = ["evaluate", "--model", text_model, "--corpus", corpus, "--json"]
    # A text model ranks by transcript: without one, the query file is named in the error.
    result = run(*args)
    assert result.exit_code == 1 and "happy_0.wav" in result.output and "transcript" in result.output
    (corpus / "manifest.csv").write_text(
        "path,modality,split,label,valence,arousal,group,source,transcript\n"
        "speech/test/sad/sad_0.wav,speech,test,sad,0.225,0.333,s1,tts,I miss her so much.\n"
        "speech/test/happy/happy_0.wav,speech,test,happy,1,0.735,s2,tts,We won the final!\n"
    )
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_queries"] == 2


def test_model_dir_whose_weights_do_not_fit_is_a_clear_error(model_dir, tmp_path):
    broken = tmp_path / "broken_model"
    shutil.copytree(model_dir, broken)
    config = json.loads((broken / "config.json").read_text())
    config["projection_hidden"] = config["projection_hidden"] // 2  # weights no longer fit the architecture
    (broken / "config.json").write_text(json.dumps(config))
    clip = tmp_path / "clip.wav"
    sf.write(clip, tone(1.5, SPEECH_RATE, 330, 1), SPEECH_RATE)
    result = run("analyze", clip, "--model", broken)
    assert result.exit_code == 1
    assert f"cannot load the model from {str(broken)!r}" in result.output
