"""Retrieval evaluation: pure metrics (numpy only) and a runner that embeds labelled audio trees."""
