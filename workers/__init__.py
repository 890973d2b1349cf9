"""Celery workers, embedding models and their training (the only side that imports torch)."""
