"""``/v1/emotions``: the emotion vocabulary with valence/arousal points."""

from __future__ import annotations

from flask import Blueprint
from spectree import Response as Responses
from sqlalchemy import select

from backend.api import service_context
from backend.api.auth import requires
from backend.api.openapi import spec
from backend.api.schemas import EmotionList, EmotionOut
from backend.core.storage.models import EmotionLabel

blueprint = Blueprint("emotions", __name__, url_prefix="/v1")


@blueprint.get("/emotions")
@requires("read")
@spec.validate(resp=Responses(HTTP_200=EmotionList))
def list_emotions() -> EmotionList:
    """List every emotion label, where it sits in the valence/arousal plane, and what carries it."""
    with service_context().db.session() as session:
        labels = session.scalars(select(EmotionLabel).order_by(EmotionLabel.name))
        emotions = [
            EmotionOut(name=e.name, valence=e.valence, arousal=e.arousal, speech=e.speech, music=e.music)
            for e in labels
        ]
    return EmotionList(emotions=emotions)
