"""Validated query inputs: catalogue filters, recommendation forms and search bodies (pydantic).

Form fields arrive as strings ("sad,calm"); the ``before`` validators accept both a list and a
comma-separated string so the multipart form and the JSON body share one model.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from backend.core.domain.emotions import ALL_LABELS, UnknownEmotionError

MAX_RESULTS = 100
DEFAULT_RESULTS = 10
MAX_TAGS = 32
MAX_TAG_LENGTH = 64


def split_csv(value: Any) -> Any:
    """Turn "a, b,,c" into ["a", "b", "c"]; leave lists and other values alone."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def check_label(label: str) -> str:
    if label not in ALL_LABELS:
        raise ValueError(str(UnknownEmotionError(label)))
    return label


def check_tag(tag: str) -> str:
    tag = tag.strip().lower()
    if not tag or len(tag) > MAX_TAG_LENGTH or "," in tag:
        raise ValueError(f"tag {tag!r} must be 1-{MAX_TAG_LENGTH} characters without commas")
    return tag


def clean_tags(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(check_tag(tag) for tag in tags))


Csv = BeforeValidator(split_csv)
Unit = Annotated[Annotated[float, Field(ge=0.0, le=1.0)] | None, BeforeValidator(_blank_to_none)]
ShortText = Annotated[Annotated[str, Field(max_length=500)] | None, BeforeValidator(_blank_to_none)]
TagList = Annotated[list[str], Csv, Field(max_length=MAX_TAGS), AfterValidator(clean_tags)]


class TrackFilters(BaseModel):
    """Which catalogue tracks a query may return; applied inside the vector search."""

    model_config = ConfigDict(extra="forbid")

    emotions: Annotated[list[str], Csv] = Field(default_factory=list, description="allowed emotion labels")
    valence_min: Unit = None
    valence_max: Unit = None
    arousal_min: Unit = None
    arousal_max: Unit = None
    tags: TagList = Field(default_factory=list, description="tracks carrying any of these tags")
    exclude: Annotated[list[uuid.UUID], Csv] = Field(default_factory=list, description="track ids to leave out")

    @field_validator("emotions")
    @classmethod
    def _known_emotions(cls, value: list[str]) -> list[str]:
        return [check_label(label) for label in value]

    @model_validator(mode="after")
    def _ordered_ranges(self) -> TrackFilters:
        for axis in ("valence", "arousal"):
            low, high = getattr(self, f"{axis}_min"), getattr(self, f"{axis}_max")
            if low is not None and high is not None and low > high:
                raise ValueError(f"{axis}_min ({low}) is above {axis}_max ({high})")
        return self

    def filters_only(self) -> TrackFilters:
        """Return just the filter fields (subclasses add query fields)."""
        return TrackFilters.model_validate(self.model_dump(include=set(TrackFilters.model_fields)))


class RecommendationForm(TrackFilters):
    """The multipart fields of ``POST /v1/recommendations`` besides the speech file."""

    limit: int = Field(DEFAULT_RESULTS, ge=1, le=MAX_RESULTS)
    transcript: Annotated[Annotated[str, Field(max_length=5000)] | None, BeforeValidator(_blank_to_none)] = None


class SearchQuery(TrackFilters):
    """``POST /v1/search``: exactly one of an emotion label, a valence/arousal point or a track."""

    limit: int = Field(DEFAULT_RESULTS, ge=1, le=MAX_RESULTS)
    emotion: str | None = None
    valence: float | None = Field(None, ge=0.0, le=1.0)
    arousal: float | None = Field(None, ge=0.0, le=1.0)
    like_track: uuid.UUID | None = None

    @field_validator("emotion")
    @classmethod
    def _known_emotion(cls, value: str | None) -> str | None:
        return None if value is None else check_label(value)

    @model_validator(mode="after")
    def _one_mode(self) -> SearchQuery:
        if (self.valence is None) != (self.arousal is None):
            raise ValueError("valence and arousal must be given together")
        modes = [self.emotion is not None, self.valence is not None, self.like_track is not None]
        if sum(modes) != 1:
            raise ValueError("give exactly one of: emotion, valence+arousal, like_track")
        return self

    @property
    def mode(self) -> Literal["emotion", "va", "like_track"]:
        if self.emotion is not None:
            return "emotion"
        return "va" if self.valence is not None else "like_track"


class TrackListQuery(BaseModel):
    """Query string of ``GET /v1/tracks``."""

    model_config = ConfigDict(extra="forbid")

    emotion: Annotated[str | None, BeforeValidator(_blank_to_none)] = None
    status: Annotated[Literal["queued", "processing", "ready", "failed"] | None, BeforeValidator(_blank_to_none)] = None
    tag: Annotated[str | None, BeforeValidator(_blank_to_none)] = None
    limit: int = Field(50, ge=1, le=500)
    cursor: Annotated[str | None, BeforeValidator(_blank_to_none)] = None

    @field_validator("emotion")
    @classmethod
    def _known_emotion(cls, value: str | None) -> str | None:
        return None if value is None else check_label(value)

    @field_validator("tag")
    @classmethod
    def _clean_tag(cls, value: str | None) -> str | None:
        return None if value is None else check_tag(value)


class TrackMetadata(BaseModel):
    """The optional multipart fields of ``POST /v1/tracks``."""

    model_config = ConfigDict(extra="forbid")

    title: ShortText = None
    artist: ShortText = None
    external_id: ShortText = None
    tags: TagList = Field(default_factory=list)
