"""Segments, smoothing, scenes and the choice of each scene's tracks (pure functions)."""

from __future__ import annotations

import pytest

from backend.core.domain.timeline import Segment, build_scenes, choose_scene_tracks, smoothed_labels, split_speech

LABELS = ("happy", "calm", "sad")


def _segment(start: float, end: float, emotion: str, sure: float = 0.8, valence: float = 0.5) -> Segment:
    rest = (1 - sure) / (len(LABELS) - 1)
    probabilities = {label: sure if label == emotion else rest for label in LABELS}
    vector = [1.0 if label == emotion else 0.0 for label in LABELS]
    return Segment(start, end, probabilities, valence, 0.5, vector)


def test_speech_is_cut_into_equal_pieces_no_longer_than_asked() -> None:
    pieces = split_speech([(0.0, 20.0)], 8.0)
    assert [value for piece in pieces for value in piece] == pytest.approx(
        [0, 6.667, 6.667, 13.333, 13.333, 20], abs=1e-3
    )
    assert split_speech([(0.0, 3.0)], 8.0) == [(0.0, 3.0)]


def test_close_regions_join_and_a_short_blip_joins_the_segment_before_it() -> None:
    assert split_speech([(0.0, 2.0), (2.1, 4.0)], 8.0) == [(0.0, 4.0)]
    assert split_speech([(0.0, 3.0), (3.5, 3.9)], 8.0) == [(0.0, 3.9)]
    assert split_speech([(10.0, 10.4)], 8.0) == []  # alone and too short to analyse


def test_a_lone_unsure_segment_takes_its_neighbours_emotion_but_a_sure_one_keeps_its_own() -> None:
    unsure = [_segment(0, 5, "happy"), _segment(5, 10, "calm", sure=0.5), _segment(10, 15, "happy")]
    assert smoothed_labels(unsure) == ["happy", "happy", "happy"]
    sure = [_segment(0, 5, "happy"), _segment(5, 10, "calm", sure=0.99), _segment(10, 15, "happy")]
    assert smoothed_labels(sure) == ["happy", "calm", "happy"]


def test_a_real_change_stays_where_it_is() -> None:
    segments = [_segment(i * 5, i * 5 + 4, "happy") for i in range(3)]
    segments += [_segment(15 + i * 5, 19 + i * 5, "calm") for i in range(3)]
    scenes = build_scenes(segments, min_scene_seconds=5)
    assert [(s.start, s.end, s.emotion) for s in scenes] == [(0, 14, "happy"), (15, 29, "calm")]
    assert scenes[0].vector == pytest.approx([1.0, 0.0, 0.0])
    assert scenes[0].probability == pytest.approx(0.8)


def test_a_short_scene_joins_the_neighbour_nearer_in_valence_and_arousal() -> None:
    segments = [
        *[_segment(i * 5, i * 5 + 5, "happy", valence=0.9) for i in range(4)],
        _segment(20, 24, "sad", sure=0.99, valence=0.8),
        _segment(24, 28, "sad", sure=0.99, valence=0.8),
        *[_segment(28 + i * 5, 33 + i * 5, "calm", valence=0.3) for i in range(4)],
    ]
    scenes = build_scenes(segments, min_scene_seconds=10)
    assert [(s.start, s.end, s.emotion) for s in scenes] == [(0, 28, "happy"), (28, 48, "calm")]


def test_scenes_of_one_emotion_brought_together_by_a_fold_become_one() -> None:
    segments = [
        *[_segment(i * 5, i * 5 + 5, "happy") for i in range(3)],
        _segment(15, 18, "sad", sure=0.99),
        _segment(18, 21, "sad", sure=0.99),
        *[_segment(21 + i * 5, 26 + i * 5, "happy") for i in range(3)],
    ]
    scenes = build_scenes(segments, min_scene_seconds=10)
    assert [(s.start, s.end, s.emotion) for s in scenes] == [(0, 36, "happy")]


def test_no_segments_no_scenes() -> None:
    assert build_scenes([], 10) == []


def _candidates(*specs: tuple[str, float]) -> list[dict]:
    return [{"track_id": track_id, "duration_seconds": seconds} for track_id, seconds in specs]


def test_tracks_no_earlier_scene_got_come_before_repeats() -> None:
    candidates = _candidates(("a", 10), ("b", 10), ("c", 10))
    assert [t["track_id"] for t in choose_scene_tracks(candidates, 2, {"a"}, 30, False)] == ["b", "c"]
    assert [t["track_id"] for t in choose_scene_tracks(candidates, 3, {"a", "b", "c"}, 30, False)] == ["a", "b", "c"]


def test_cover_scene_puts_tracks_as_long_as_the_scene_first() -> None:
    candidates = _candidates(("short", 10), ("long", 60), ("used-long", 90))
    chosen = choose_scene_tracks(candidates, 2, {"used-long"}, 30, True)
    assert [t["track_id"] for t in chosen] == ["long", "used-long"]
    assert [t["track_id"] for t in choose_scene_tracks(candidates, 2, set(), 30, False)] == ["short", "long"]
