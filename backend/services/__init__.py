"""Use cases as plain functions over a :class:`~backend.services.context.ServiceContext` (no math)."""
