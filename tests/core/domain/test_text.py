"""Text fields refuse control characters (the same on every database) and messages quote only excerpts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from backend.core.domain.filters import RecommendationForm, SearchQuery, TrackListQuery, TrackMetadata
from backend.core.domain.text import excerpt, multi_line, single_line

CONTROL = ["\x00", "\x01", "\x08", "\x0b", "\x1b", "\x7f", "\x85", "\x9b", "\ud800", "\udfff"]


@pytest.mark.parametrize("character", [*CONTROL, "\n", "\r", "\t"])
def test_single_line_text_refuses_every_control_character(character: str) -> None:
    with pytest.raises(ValueError, match=f"U\\+{ord(character):04X} at position 3"):
        single_line("abc" + character + "def")


@pytest.mark.parametrize("character", CONTROL)
def test_multi_line_text_refuses_control_characters_but_tab_and_line_breaks(character: str) -> None:
    with pytest.raises(ValueError, match=f"U\\+{ord(character):04X}"):
        multi_line("line" + character)
    assert multi_line("one\ttwo\r\nthree\n") == "one\ttwo\r\nthree\n"


def test_ordinary_unicode_is_text() -> None:
    text = "Café — 東京 🎵 Ünïcode\u00a0nbsp"
    assert single_line(text) == text


def test_excerpts_are_short_and_escaped() -> None:
    assert excerpt("abc") == "'abc'"
    long = excerpt("x" * 1_000_000)
    assert len(long) < 80 and "1000000 characters" in long
    assert "\n" not in excerpt("a\nb") and "\x00" not in excerpt("a\x00b")


@pytest.mark.parametrize("field", ["title", "artist", "external_id"])
def test_track_metadata_names_the_field_with_the_control_character(field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        TrackMetadata.model_validate({field: "bad\x00value"})
    assert refused.value.errors()[0]["loc"] == (field,)
    assert "U+0000" in str(refused.value)


@pytest.mark.parametrize("tags", ["ok,b\x00d", "new\nline", "\x1b[31mred"])
def test_tags_refuse_control_characters_everywhere_they_are_taken(tags: str) -> None:
    with pytest.raises(ValidationError, match="control character"):
        TrackMetadata.model_validate({"tags": tags})
    with pytest.raises(ValidationError, match="control character"):
        RecommendationForm.model_validate({"tags": tags})
    with pytest.raises(ValidationError, match="control character"):
        SearchQuery.model_validate({"emotion": "sad", "tags": [tags]})
    with pytest.raises(ValidationError, match="control character"):
        TrackListQuery.model_validate({"tag": tags})


def test_transcripts_keep_line_breaks_and_refuse_nul() -> None:
    assert RecommendationForm.model_validate({"transcript": "one\r\ntwo"}).transcript == "one\r\ntwo"
    with pytest.raises(ValidationError, match="transcript"):
        RecommendationForm.model_validate({"transcript": "one\x00two"})


def test_lengths_are_capped() -> None:
    with pytest.raises(ValidationError, match="title"):
        TrackMetadata.model_validate({"title": "t" * 501})
    with pytest.raises(ValidationError, match="transcript"):
        RecommendationForm.model_validate({"transcript": "w" * 5001})
    with pytest.raises(ValidationError, match="cursor"):
        TrackListQuery.model_validate({"cursor": "c" * 513})


def test_an_unknown_emotion_is_quoted_as_an_excerpt() -> None:
    with pytest.raises(ValidationError) as refused:
        SearchQuery.model_validate({"emotion": "x" * 100_000})
    assert len(str(refused.value)) < 2_000
