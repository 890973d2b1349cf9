"""Validated query inputs: catalogue filters, recommendation forms and search bodies (pydantic).

Form fields arrive as strings ("sad,calm"); the ``before`` validators accept both a list and a
comma-separated string so the multipart form and the JSON body share one model. Each field's
JSON schema states the constraint its validator enforces (the OpenAPI document is generated
from these models).
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from backend.core.domain.emotions import ALL_LABELS, MUSIC_LABELS, UnknownEmotionError
from backend.core.domain.text import (
    CONTROL_CHARACTERS,
    MULTI_LINE_PATTERN,
    SINGLE_LINE_PATTERN,
    MultiLine,
    SingleLine,
    excerpt,
    single_line,
)
from backend.core.domain.timeline import TimelineOptions
from backend.core.domain.work import WORK_STATUSES

MAX_RESULTS = 100
DEFAULT_RESULTS = 10
MAX_TAGS = 32
MAX_TAG_LENGTH = 64
# Lengths of the text columns (backend.core.storage.models), of a transcript and of a paging cursor.
MAX_TEXT_LENGTH = 500
MAX_TRANSCRIPT_LENGTH = 5000
MAX_CURSOR_LENGTH = 512
# Track ids one query may leave out.
MAX_EXCLUDED = 1000
# Track ids one query may be steered toward or away from.
MAX_STEERING_TRACKS = 100
# A tag: 1-64 characters, no comma, no control character, not only spaces (stored stripped and lower-cased).
TAG_PATTERN = rf"^[^,{CONTROL_CHARACTERS}]*[^,\s{CONTROL_CHARACTERS}][^,{CONTROL_CHARACTERS}]*$"


def split_csv(value: Any) -> Any:
    """Turn "a, b,,c" into ["a", "b", "c"]; leave lists and other values alone.

    Only spaces are trimmed: other whitespace is a control character to refuse, not to drop.
    """
    if isinstance(value, str):
        return [part.strip(" ") for part in value.split(",") if part.strip(" ")]
    return value


# Whitespace as JSON Schema's (ECMAScript's) \s means it, so the document and this check agree on "blank".
WHITESPACE = r"\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_BLANK = re.compile(rf"^[{WHITESPACE}]*$")


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and _BLANK.match(value) else value


def check_label(label: str) -> str:
    if label not in ALL_LABELS:
        raise ValueError(str(UnknownEmotionError(label)))
    return label


def check_music_label(label: str) -> str:
    """A label music can carry: searching by emotion ranks tracks by that mood's music prototype."""
    check_label(label)
    if label not in MUSIC_LABELS:
        known = ", ".join(MUSIC_LABELS)
        raise ValueError(f"there is no music prototype for emotion {excerpt(label)}; search by one of: {known}")
    return label


def check_tag(tag: str) -> str:
    """Lower-case a tag; refuse control characters, commas and lengths outside 1..MAX_TAG_LENGTH."""
    try:
        single_line(tag)
    except ValueError as exc:
        raise ValueError(f"tag {excerpt(tag)} {exc}") from None
    tag = tag.strip().lower()
    if not tag or len(tag) > MAX_TAG_LENGTH or "," in tag:
        raise ValueError(f"tag {excerpt(tag)} must be 1-{MAX_TAG_LENGTH} characters without commas")
    return tag


def clean_tags(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(check_tag(tag) for tag in tags))


# A blank value (empty or only spaces) means the same as leaving the field out.
BLANK_SCHEMA = {"type": "string", "pattern": rf"^[{WHITESPACE}]*$"}


def _nullable(schema: dict[str, Any], blank: bool = True) -> WithJsonSchema:
    """The JSON schema of an optional field: ``schema``, null, or (when ``blank``) a blank string."""
    return WithJsonSchema({"anyOf": [schema, *([BLANK_SCHEMA] if blank else []), {"type": "null"}]})


UNIT_SCHEMA = {"type": "number", "minimum": 0.0, "maximum": 1.0}
LABEL_SCHEMA = {"type": "string", "enum": list(ALL_LABELS)}
TAG_SCHEMA = {"type": "string", "minLength": 1, "maxLength": MAX_TAG_LENGTH, "pattern": TAG_PATTERN}

Csv = BeforeValidator(split_csv)
Unit = Annotated[
    Annotated[float, Field(ge=0.0, le=1.0)] | None, BeforeValidator(_blank_to_none), _nullable(UNIT_SCHEMA)
]
ShortText = Annotated[
    SingleLine(MAX_TEXT_LENGTH) | None,
    BeforeValidator(_blank_to_none),
    _nullable({"type": "string", "maxLength": MAX_TEXT_LENGTH, "pattern": SINGLE_LINE_PATTERN}),
]
Label = Annotated[str, AfterValidator(check_label), WithJsonSchema(LABEL_SCHEMA)]
Tag = Annotated[str, WithJsonSchema(TAG_SCHEMA)]
TagList = Annotated[list[Tag], Csv, Field(max_length=MAX_TAGS), AfterValidator(clean_tags)]


class TrackFilters(BaseModel):
    """Which catalogue tracks a query may return; applied inside the vector search."""

    model_config = ConfigDict(extra="forbid")

    emotions: Annotated[list[Label], Csv] = Field(
        default_factory=list, max_length=len(ALL_LABELS), description="allowed emotion labels"
    )
    valence_min: Unit = None
    valence_max: Unit = None
    arousal_min: Unit = None
    arousal_max: Unit = None
    tags: TagList = Field(default_factory=list, description="tracks carrying any of these tags")
    exclude: Annotated[list[uuid.UUID], Csv] = Field(
        default_factory=list, max_length=MAX_EXCLUDED, description="track ids to leave out"
    )

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


class SteeringFields(BaseModel):
    """How results are steered beyond the query itself (see backend.core.storage.vectors.Steering)."""

    model_config = ConfigDict(extra="forbid")

    positive: Annotated[list[uuid.UUID], Csv] = Field(
        default_factory=list,
        max_length=MAX_STEERING_TRACKS,
        description="ready track ids to move toward: more like these",
    )
    negative: Annotated[list[uuid.UUID], Csv] = Field(
        default_factory=list,
        max_length=MAX_STEERING_TRACKS,
        description="ready track ids to move away from: less like these",
    )
    per_artist: Annotated[
        Annotated[int, Field(ge=1, le=MAX_RESULTS)] | None,
        BeforeValidator(_blank_to_none),
        _nullable({"type": "integer", "minimum": 1, "maximum": MAX_RESULTS}),
    ] = Field(None, description="at most this many tracks of one artist (tracks without an artist count alone)")
    diversity: Unit = Field(
        None, description="re-rank for variety (maximal marginal relevance): 0 by relevance only, 1 most varied"
    )

    def steering_names(self) -> list[str]:
        """The steering options given (for each result's explanation)."""
        return sorted(self.model_dump(include=set(SteeringFields.model_fields), exclude_defaults=True))


class QueryFilters(TrackFilters, SteeringFields):
    """What narrows and steers a query: the catalogue filters and the steering options."""

    def query_filters(self) -> QueryFilters:
        fields = set(TrackFilters.model_fields) | set(SteeringFields.model_fields)
        return QueryFilters.model_validate(self.model_dump(include=fields))


Transcript = Annotated[
    MultiLine(MAX_TRANSCRIPT_LENGTH) | None,
    BeforeValidator(_blank_to_none),
    _nullable({"type": "string", "maxLength": MAX_TRANSCRIPT_LENGTH, "pattern": MULTI_LINE_PATTERN}),
]


class RecommendationForm(QueryFilters):
    """The multipart fields of ``POST /v1/recommendations`` besides the speech file."""

    limit: int = Field(DEFAULT_RESULTS, ge=1, le=MAX_RESULTS)
    transcript: Transcript = Field(
        None, description="what was said, for models that also read the words (tab and line breaks allowed)"
    )


class TimelineForm(TrackFilters, TimelineOptions):
    """The multipart fields of ``POST /v1/timelines`` besides the recording: filters, options, transcript."""

    transcript: Transcript = Field(
        None, description="what was said, for models that also read the words; every segment is read with it"
    )

    def options_only(self) -> TimelineOptions:
        return TimelineOptions.model_validate(self.model_dump(include=set(TimelineOptions.model_fields)))


def _given(name: str) -> dict[str, Any]:
    return {"required": [name], "properties": {name: {"not": {"type": "null"}}}}


def _absent(*names: str) -> dict[str, Any]:
    return {"properties": {name: {"type": "null"} for name in names}}


# "Exactly one of" in JSON schema: each mode's fields given (not null), the other modes' left out or null.
SEARCH_MODES_SCHEMA = {
    "oneOf": [
        {"allOf": [_given("emotion"), _absent("valence", "arousal", "like_track")]},
        {"allOf": [_given("valence"), _given("arousal"), _absent("emotion", "like_track")]},
        {"allOf": [_given("like_track"), _absent("emotion", "valence", "arousal")]},
    ]
}


class SearchQuery(QueryFilters):
    """``POST /v1/search``: exactly one of an emotion label, a valence/arousal point or a track."""

    model_config = ConfigDict(json_schema_extra=SEARCH_MODES_SCHEMA)

    limit: int = Field(DEFAULT_RESULTS, ge=1, le=MAX_RESULTS)
    emotion: Annotated[
        str | None,
        AfterValidator(lambda label: None if label is None else check_music_label(label)),
        _nullable({"type": "string", "enum": list(MUSIC_LABELS)}, blank=False),
    ] = Field(None, description="rank tracks by this music mood's prototype")
    valence: float | None = Field(None, ge=0.0, le=1.0, description="with arousal: rank tracks by closeness")
    arousal: float | None = Field(None, ge=0.0, le=1.0)
    like_track: uuid.UUID | None = Field(None, description="rank tracks by similarity to this ready track")

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

    emotion: Annotated[str | None, BeforeValidator(_blank_to_none), _nullable(LABEL_SCHEMA)] = None
    status: Annotated[
        Literal["queued", "processing", "ready", "failed"] | None,
        BeforeValidator(_blank_to_none),
        _nullable({"type": "string", "enum": list(WORK_STATUSES)}),
    ] = None
    tag: Annotated[str | None, BeforeValidator(_blank_to_none), _nullable(TAG_SCHEMA)] = None
    limit: int = Field(50, ge=1, le=500)
    cursor: Annotated[
        SingleLine(MAX_CURSOR_LENGTH) | None,
        BeforeValidator(_blank_to_none),
        _nullable({"type": "string", "maxLength": MAX_CURSOR_LENGTH, "pattern": SINGLE_LINE_PATTERN}),
    ] = Field(None, description="the next_cursor of the previous page")

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
