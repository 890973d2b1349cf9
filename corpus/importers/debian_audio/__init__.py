"""Real music and voices shipped inside Debian packages, labelled by documented rules."""

from corpus.importers.debian_audio.importer import import_debian_audio

__all__ = ["import_debian_audio"]
