import math

import pytest

from backend.core.domain import emotions


def test_similarity_is_one_minus_va_distance():
    assert emotions.similarity("happy", "happy") == 1.0
    expected = 1 - math.hypot(1.000 - 0.225, 0.735 - 0.333)
    assert emotions.similarity("happy", "sad") == pytest.approx(expected)
    assert emotions.similarity("angry", "scary") > emotions.similarity("angry", "happy")


def test_every_speech_label_maps_to_music_labels():
    for speech, music in emotions.SPEECH_TO_MUSIC.items():
        assert speech in emotions.SPEECH_LABELS
        assert music and music <= set(emotions.MUSIC_LABELS)
    assert set(emotions.SPEECH_TO_MUSIC) == set(emotions.SPEECH_LABELS)


def test_neutral_speech_gets_calm_music_not_noise():
    assert emotions.is_match("neutral", "calm")
    assert emotions.is_match("neutral", "tender")
    assert not emotions.is_match("neutral", "exciting")


@pytest.mark.parametrize("label", ["", "noise", "Happy"])
def test_unknown_label_names_known_ones(label):
    with pytest.raises(emotions.UnknownEmotionError, match=r"known emotions: .*happy"):
        emotions.get_emotion(label)
