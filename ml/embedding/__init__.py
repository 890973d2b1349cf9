"""Inference side of the emotion model: audio preparation and model directories (bundles)."""
