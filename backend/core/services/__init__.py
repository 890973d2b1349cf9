"""Use cases as plain functions over a :class:`~backend.core.services.context.ServiceContext` (no math)."""
