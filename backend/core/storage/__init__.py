"""Persistence: the database, the content-addressed media store and the one Qdrant adapter."""
