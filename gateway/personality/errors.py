from __future__ import annotations

from gateway.errors import ConflictError, NotFoundError


class PersonalityNotInitializedError(NotFoundError):
    """The user's companion has no personality yet (POST .../initialize first)."""


class PersonalityAlreadyInitializedError(ConflictError):
    """Traits are chosen once and never change; initialising again is refused."""
