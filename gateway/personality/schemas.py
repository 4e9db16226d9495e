from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from gateway.personality.needs import NeedType
from gateway.personality.pad import EmotionLabel
from gateway.personality.profiles import DEFAULT_PROFILE, PersonalityProfile
from gateway.personality.quirks import QuirkType
from gateway.security.quoting import check_name

MAX_REASON_CHARS = 500
MAX_HISTORY_DAYS = 365

Trait = Annotated[float, Field(ge=0.0, le=1.0, description="a Big Five trait, in [0, 1]")]
Delta = Annotated[
    float, Field(ge=-2.0, le=2.0, description="a PAD delta, in [-2, 2] (the result is clamped)")
]


class BigFiveRead(BaseModel):
    openness: float
    conscientiousness: float
    extraversion: float
    agreeableness: float
    neuroticism: float


class BigFiveInput(BaseModel):
    """Explicit traits instead of the profile's (no jitter); every trait in [0, 1]."""

    openness: Trait
    conscientiousness: Trait
    extraversion: Trait
    agreeableness: Trait
    neuroticism: Trait


class PADRead(BaseModel):
    pleasure: float
    arousal: float
    dominance: float


class PersonalitySnapshot(BaseModel):
    """The companion's current self. ``pad_state`` is the mood at ``as_of`` (decayed toward the baseline
    since the row was written); ``stored_pad`` is the mood as written at ``timestamp``."""

    id: int
    user_id: str
    profile: PersonalityProfile
    timestamp: AwareDatetime
    as_of: AwareDatetime
    big_five: BigFiveRead
    pad_state: PADRead
    stored_pad: PADRead
    pad_baseline: PADRead
    emotion_label: EmotionLabel
    is_current: bool
    reason: str | None


class PersonalityStateRead(BaseModel):
    """One row of mood history: the mood as written, with the reason it changed."""

    id: int
    timestamp: AwareDatetime
    pad_state: PADRead
    pad_baseline: PADRead
    emotion_label: EmotionLabel
    is_current: bool
    reason: str | None


class PersonalityHistoryPage(BaseModel):
    items: list[PersonalityStateRead]
    total: int
    limit: int
    offset: int
    days: int


class PersonalityInitialize(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"profile": "supportive_friend", "timezone": "Europe/Berlin"}]}
    )

    profile: PersonalityProfile = DEFAULT_PROFILE
    timezone: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="an IANA time zone; omitted: the stored one stays (UTC for someone new)",
    )
    username: str | None = Field(default=None, min_length=1, max_length=100)
    traits: BigFiveInput | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Berlin") from None
        return value

    @field_validator("username")
    @classmethod
    def _username(cls, value: str | None) -> str | None:
        return None if value is None else check_name("username", value)


class PersonalityInitialized(BaseModel):
    success: bool
    personality: PersonalitySnapshot
    timezone: str = Field(description="the user's time zone as now stored")
    message: str


class PadAdjustment(BaseModel):
    """An operator's manual mood change; the result is clamped to [-1, 1] on each axis."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"pleasure": 0.3, "dominance": -0.1, "reason": "calibration after a bug"}]
        }
    )

    pleasure: Delta = 0.0
    arousal: Delta = 0.0
    dominance: Delta = 0.0
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS)

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("reason must not be blank")
        return value.strip()


class PadUpdateRead(BaseModel):
    success: bool
    pad_before: PADRead
    new_pad_state: PADRead
    emotion_label: EmotionLabel
    updated_at: AwareDatetime


class QuirkRead(BaseModel):
    id: int
    quirk_type: QuirkType
    description: str
    strength: float
    times_expressed: int
    last_expressed_at: AwareDatetime | None
    is_active: bool
    source: str
    created_at: AwareDatetime
    updated_at: AwareDatetime


class NeedRead(BaseModel):
    need_type: NeedType
    current_level: float = Field(description="the level now (risen since the last update at its rate)")
    baseline: float
    growth_per_hour: float
    trigger_threshold: float
    urgent: bool
    last_updated_at: AwareDatetime
    last_satisfied_at: AwareDatetime | None
    satisfaction_count: int


class QuirkEvolutionRead(BaseModel):
    source: str
    fallback_reason: str | None
    replies_read: int
    mined: int
    created: int
    reinforced: int
    faded: int
    deactivated: int


class DriftRead(BaseModel):
    applied: bool
    already_drifted: bool = Field(
        default=False, description="not applied because the baseline already drifted in the last 20 hours"
    )
    interactions: int = Field(description="turns with a recorded mood in the 7 days before")
    rate: float
    baseline_before: PADRead
    baseline_after: PADRead


class EvolveRead(BaseModel):
    success: bool
    message: str
    quirks: QuirkEvolutionRead
    drift: DriftRead
    processed_at: AwareDatetime


class PersonaRead(BaseModel):
    user_id: str
    text: str
