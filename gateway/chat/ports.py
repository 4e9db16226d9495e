"""What the chat pipeline needs from the personality engine and the security layer, as narrow interfaces.

The pipeline is written against these; ``gateway.chat.adapters`` implements them over the real services.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class Mood:
    pleasure: float
    arousal: float
    dominance: float
    label: str

    def as_dict(self) -> dict[str, float]:
        return {"pleasure": self.pleasure, "arousal": self.arousal, "dominance": self.dominance}


@dataclass(frozen=True)
class MoodChange:
    before: Mood
    after: Mood
    valence: float = 0.0  # how good the message's news is for the user, in [-1, 1]
    summary: str = ""  # the appraisal in words (for the memory's emotion context)
    degraded: tuple[str, ...] = ()


class PersonalityPort(Protocol):
    async def ensure(self, user_id: str, now: datetime) -> Mood:
        """The current mood, initialising the companion's personality and needs for a new user first."""
        ...

    async def current(self, user_id: str, now: datetime) -> Mood: ...

    async def react(self, user_id: str, message: str, now: datetime) -> MoodChange:
        """Appraise the message (OCC), move the mood, record why."""
        ...

    async def penalise(
        self, user_id: str, delta: dict[str, float], reason: str, now: datetime
    ) -> MoodChange: ...

    async def persona(self, user_id: str, now: datetime, *, private: bool = True) -> str:
        """The companion's current self as persona text (traits, mood, quirks, urgent needs); ``private=False``
        for a server channel leaves out quirks that quote words."""
        ...

    async def satisfy_needs(self, user_id: str, message: str, now: datetime) -> None: ...

    def offline_persona(self, user_id: str) -> str:
        """A persona without the database: the default profile's traits for this user, a neutral mood."""
        ...


@dataclass(frozen=True)
class Screening:
    allowed: bool
    threat_kind: str | None = None
    confidence: float = 0.0
    reply: str | None = None  # the defensive reply or suspension notice when not allowed
    pad_delta: dict[str, float] | None = None
    incident_id: int | None = None
    level: int = 0
    restricted: bool = False  # short replies, no memory writes
    suspended_until: datetime | None = None
    degraded: tuple[str, ...] = field(default_factory=tuple)


class SecurityPort(Protocol):
    async def screen(self, user_id: str, message: str, emotion: str, now: datetime) -> Screening:
        """Every user message passes here before anything else sees it."""
        ...

    async def link_interaction(self, incident_id: int, interaction_id: int) -> None: ...

    async def screen_offline(self, user_id: str, message: str, emotion: str) -> Screening:
        """The detector alone (no escalation state, nothing recorded): for when Postgres is down."""
        ...
