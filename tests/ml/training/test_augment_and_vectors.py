import numpy as np
import pytest
import torch

from backend.core.domain.emotions import EMOTIONS, MUSIC_LABELS, SPEECH_LABELS, is_match
from ml.embedding import preprocess, vectors
from ml.training import augment

RATE = 16000


def tone(seconds=1.0, freq=440.0):
    t = torch.arange(int(seconds * RATE)) / RATE
    return 0.3 * torch.sin(2 * torch.pi * freq * t)


def gen():
    return torch.Generator().manual_seed(0)


def test_noise_lands_at_the_requested_snr():
    clean = tone()
    noisy = augment.add_noise(clean, snr_db=10.0, exponent=1.0, generator=gen())
    noise = noisy - clean
    snr = 20 * torch.log10(clean.pow(2).mean().sqrt() / noise.pow(2).mean().sqrt())
    assert float(snr) == pytest.approx(10.0, abs=0.01)


@pytest.mark.parametrize("semitones", [-4.0, 2.5, 4.0])
def test_pitch_shift_moves_pitch_and_keeps_tempo(semitones):
    wave = tone(3.0, 200.0)
    shifted = augment.shift_pitch(wave, semitones)
    assert abs(shifted.numel() - wave.numel()) < 0.01 * wave.numel()
    middle = shifted[RATE // 2 : -RATE // 2]
    peak_hz = float(torch.fft.rfft(middle).abs().argmax()) * RATE / middle.numel()
    assert peak_hz == pytest.approx(200.0 * 2 ** (semitones / 12), rel=0.01)


def test_reverb_keeps_length_and_smears_energy():
    click = torch.zeros(RATE)
    click[100] = 1.0
    wet = augment.reverberate(click, RATE, rt60=0.5, wet=0.5, generator=gen())
    assert wet.shape == click.shape
    assert wet[2000:].abs().sum() > 0  # a tail after the click


def test_band_limit_removes_high_frequencies():
    high = tone(freq=7000.0)
    filtered = augment.band_limit(high, RATE, low_hz=0.0, high_hz=2000.0)
    assert filtered.pow(2).mean() < 0.05 * high.pow(2).mean()


def test_speed_change_and_mu_law():
    assert augment.change_speed(tone(), 1.05).numel() == pytest.approx(RATE / 1.05, abs=2)
    coded = augment.mu_law_round_trip(tone(), 256)
    assert (coded - tone()).abs().max() < 0.02


def test_augmenter_is_seeded():
    wave = tone(2.0)
    chain = augment.Augmenter(RATE, p_speed=1, p_reverb=1, p_noise=1, p_band=1, p_mu_law=1, p_gain=1)
    first, second = chain(wave, gen()), chain(wave, gen())
    assert torch.equal(first, second)
    assert not torch.equal(first[: wave.numel()], wave)


def test_crops_cover_the_track_deterministically():
    assert preprocess.crop_starts(25, 10, 10) == [0, 10, 15]
    assert preprocess.crop_starts(10, 10, 10) == [0]
    assert preprocess.crop_starts(4, 10, 10) == [0]
    crops = preprocess.music_crops(torch.arange(4.0), 10, 10)
    assert crops.tolist() == [[0, 1, 2, 3, 0, 1, 2, 3, 0, 1]]


def test_loudness_normalisation_undoes_gain():
    quiet, loud = tone() * 0.01, tone() * 0.9
    assert torch.allclose(preprocess.normalise_loudness(quiet), preprocess.normalise_loudness(loud), atol=1e-5)


def test_classify_vectors_rank_by_matching_label_probability():
    labels = tuple(dict.fromkeys(SPEECH_LABELS + MUSIC_LABELS))
    rng = np.random.default_rng(0)
    probs = torch.tensor(rng.dirichlet(np.ones(len(labels)), size=20), dtype=torch.float32)
    music = vectors.classify_music_vectors(probs, 64)
    assert torch.allclose(music.norm(dim=1), torch.ones(20), atol=1e-5)
    for speech_label in SPEECH_LABELS:
        match = vectors.matching_music_label(speech_label)
        assert is_match(speech_label, match)
        query = vectors.classify_speech_vectors([speech_label], labels, 64)
        scores = (query @ music.T)[0]
        assert torch.equal(scores.argsort(), probs[:, labels.index(match)].argsort())
    assert vectors.matching_music_label("neutral") == "tender"


def test_regress_vectors_rank_by_valence_arousal_distance():
    rng = np.random.default_rng(1)
    tracks = torch.tensor(rng.uniform(0, 1, size=(50, 2)), dtype=torch.float32)
    music = vectors.regress_music_vectors(tracks, 64)
    assert torch.allclose(music.norm(dim=1), torch.ones(50), atol=1e-5)
    for label in ("sad", "happy", "neutral"):
        point = torch.tensor([[EMOTIONS[label].valence, EMOTIONS[label].arousal]])
        scores = (vectors.regress_speech_vectors(point, 64) @ music.T)[0]
        distance = (tracks - point).norm(dim=1)
        assert torch.equal(scores.argsort(descending=True), distance.argsort())
