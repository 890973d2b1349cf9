"""Speech-to-music emotion recommendation: the API side (never imports torch).

The app factory lives in ``backend.api.app.create_app``; it is not imported here so that light
commands (``s2m --help``, the HTTP client) do not pay for Flask, SQLAlchemy and qdrant-client.
"""
