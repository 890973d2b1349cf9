"""Emotion embedding networks: ``nn.Module``s built from dataclass configs; no I/O here."""
