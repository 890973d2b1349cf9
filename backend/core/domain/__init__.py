"""Domain concepts shared by the API, the workers and the training code (pure Python)."""
