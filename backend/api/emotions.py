"""``/v1/emotions``: the emotion vocabulary with valence/arousal points."""

from __future__ import annotations

from flask import Blueprint, Response
from sqlalchemy import select

from backend.api import respond, service_context
from backend.api.schemas import EmotionList, EmotionOut
from backend.core.storage.models import EmotionLabel

blueprint = Blueprint("emotions", __name__, url_prefix="/v1")


@blueprint.get("/emotions")
def list_emotions() -> Response:
    """List every emotion label, where it sits in the valence/arousal plane, and what carries it."""
    with service_context().db.session() as session:
        labels = session.scalars(select(EmotionLabel).order_by(EmotionLabel.name))
        emotions = [
            EmotionOut(name=e.name, valence=e.valence, arousal=e.arousal, speech=e.speech, music=e.music)
            for e in labels
        ]
    return respond(EmotionList(emotions=emotions))
