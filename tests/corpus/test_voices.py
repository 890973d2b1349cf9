"""Every installed voice must speak at the pitch its prosody asks for: engines differ in what they honour."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from corpus.effects import Acoustics
from corpus.prosody import Prosody
from corpus.speech import default_engines
from corpus.utterances import SPEECH_RATE, Utterance, render_utterance
from tests.corpus.pitch import median_pitch

DRY = Acoustics(
    reverb=None, highpass_hz=40.0, lowpass_hz=7900.0, eq=(1000.0, 1.0, 0.0), noise_kind="white", snr_db=60.0
)
TEXT = "I never thought the evening would end like this."
SHIFT = 4.0  # semitones down and up: the two renders should differ by 8
# espeak-ng's -p scale depends on each variant's pitch range: the variants move between about
# half and 1.6 times the asked interval (speaker variety we keep); a voice that does not move is a bug.
APART = (3.0, 14.0)


def _voices():
    """One voice per speaker: espeak-ng accents share their variant's pitch settings."""
    speakers = {}
    for engine in default_engines():
        if engine.available():
            for voice in engine.voices():
                speakers.setdefault(voice.speaker, (engine, voice))
    return list(speakers.values())


@pytest.mark.parametrize("engine,voice", _voices(), ids=lambda v: getattr(v, "name", ""))
def test_voice_follows_the_asked_pitch(engine, voice, tmp_path):
    pitches = []
    for semitones in (-SHIFT, SHIFT):
        prosody = Prosody(semitones, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
        samples = render_utterance(Utterance(engine, voice, TEXT, prosody, DRY, seed=0), tmp_path)
        pitches.append(median_pitch(torch.from_numpy(samples), SPEECH_RATE))
    semitones_apart = 12 * np.log2(pitches[1] / pitches[0])
    assert APART[0] < semitones_apart < APART[1], f"{engine.name}/{voice.name}: {pitches} Hz"
