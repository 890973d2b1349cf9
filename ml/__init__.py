"""ML library: torch models, embeddings, pretrained encoders, training and evaluation (no Flask, SQLAlchemy, Celery)."""
