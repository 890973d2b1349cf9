"""What the service has stored: rows and files, to check that a refused request wrote nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from backend.core.services.context import ServiceContext
from backend.core.storage.models import RecommendationRequest, Track


def stored_state(context: ServiceContext) -> tuple[int, int, list[str]]:
    """Track rows, request rows, and every file under the media folder (staging included)."""
    with context.db.session() as session:
        tracks = session.scalar(select(func.count()).select_from(Track)) or 0
        requests = session.scalar(select(func.count()).select_from(RecommendationRequest)) or 0
    root = context.settings.resolved_media_dir
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []
    return tracks, requests, files
