"""The chat pipeline's ports (``gateway.chat.ports``) over the real personality engine and security layer."""

from __future__ import annotations

import logging
from datetime import datetime

from gateway.chat.ports import Mood, MoodChange, Screening
from gateway.personality.pad import PAD, EmotionLabel
from gateway.personality.profiles import PersonalityProfile, traits_for
from gateway.personality.prompt import render_persona
from gateway.personality.service import PersonalityService, PersonalityState
from gateway.security.responses import defensive_reply
from gateway.security.schemas import EscalationLevel
from gateway.security.service import SecurityService

logger = logging.getLogger(__name__)


def _mood(pad: PAD, label: str) -> Mood:
    return Mood(round(pad.pleasure, 4), round(pad.arousal, 4), round(pad.dominance, 4), label)


def _state_mood(state: PersonalityState) -> Mood:
    return _mood(state.pad, state.label.value)


class PersonalityAdapter:
    def __init__(self, service: PersonalityService) -> None:
        self.service = service

    async def ensure(self, user_id: str, now: datetime) -> Mood:
        return _state_mood(await self.service.ensure(user_id, now))

    async def current(self, user_id: str, now: datetime) -> Mood:
        return _state_mood(await self.service.current(user_id, now))

    async def react(self, user_id: str, message: str, now: datetime) -> MoodChange:
        reaction = await self.service.react(user_id, message, now)
        change = reaction.change
        return MoodChange(
            before=_mood(change.before, change.label_before.value),
            after=_state_mood(change.state),
            valence=max(-1.0, min(1.0, reaction.appraisal.valence)),
            summary=reaction.appraisal.describe(),
            degraded=reaction.degraded,
        )

    async def penalise(self, user_id: str, delta: dict[str, float], reason: str, now: datetime) -> MoodChange:
        change = await self.service.update_pad(
            user_id, PAD(delta["pleasure"], delta["arousal"], delta["dominance"]), reason, now
        )
        return MoodChange(
            before=_mood(change.before, change.label_before.value), after=_state_mood(change.state)
        )

    async def persona(self, user_id: str, now: datetime, *, private: bool = True) -> str:
        return await self.service.persona(user_id, now, private=private)

    async def satisfy_needs(self, user_id: str, message: str, now: datetime) -> None:
        await self.service.satisfy_needs(user_id, message, now)

    def offline_persona(self, user_id: str) -> str:
        profile = PersonalityProfile.CURIOUS_COMPANION
        return render_persona(
            profile, traits_for(profile, user_id), PAD(), EmotionLabel.NEUTRAL, PAD(), [], []
        )


class SecurityAdapter:
    def __init__(self, service: SecurityService) -> None:
        self.service = service

    async def screen(self, user_id: str, message: str, emotion: str, now: datetime) -> Screening:
        outcome = await self.service.screen_message(user_id, message, mood=emotion, record=True)
        verdict = outcome.verdict
        state = outcome.state
        degraded = tuple(
            "embedding_service" if skipped.startswith("semantic") else "groq"
            for skipped in verdict.skipped
            if skipped.startswith(("semantic", "llm"))
        )
        is_threat = verdict.is_threat and verdict.kind is not None
        return Screening(
            allowed=outcome.allowed,
            threat_kind=verdict.kind.value if is_threat and verdict.kind is not None else None,
            confidence=verdict.confidence,
            reply=outcome.reply,
            pad_delta=outcome.pad_delta.model_dump() if outcome.pad_delta is not None else None,
            incident_id=outcome.incident_id,
            level=int(state.level),
            restricted=state.level >= EscalationLevel.RESTRICTED,
            suspended_until=state.suspended_until,
            degraded=degraded,
        )

    async def screen_offline(self, user_id: str, message: str, emotion: str) -> Screening:
        verdict = await self.service.detector.detect(message, user_id=user_id)
        if not verdict.is_threat or verdict.kind is None or verdict.severity is None:
            return Screening(allowed=True, confidence=verdict.confidence)
        reply = await defensive_reply(None, verdict.kind, emotion, message[:200], EscalationLevel.WARNING)
        return Screening(
            allowed=False,
            threat_kind=verdict.kind.value,
            confidence=verdict.confidence,
            reply=reply,
            level=int(EscalationLevel.WARNING),
        )

    async def link_interaction(self, incident_id: int, interaction_id: int) -> None:
        await self.service.link_interaction(incident_id, interaction_id)
