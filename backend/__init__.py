"""Speech-to-music emotion recommendation: the API side (never imports torch)."""

from backend.app import create_app

__all__ = ["create_app"]
