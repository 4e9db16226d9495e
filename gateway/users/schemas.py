from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Path
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from companion_common.visible_text import MAX_NAME_CHARS
from gateway.security.quoting import check_name
from gateway.security.service import name_reads_as_instruction

USER_ID_PATTERN = r"^[A-Za-z0-9_-]{1,100}$"

UserId = Annotated[str, Path(pattern=USER_ID_PATTERN, description="The Discord user id (a snowflake).")]


class UserStatus(StrEnum):
    ACTIVE = "active"
    DORMANT = "dormant"  # no message for DORMANT_AFTER_DAYS; proactive messages may still try to reach them
    INACTIVE = "inactive"  # soft-deleted: kept, never contacted, active again when they write
    BANNED = "banned"  # refused by the chat pipeline


class UserProfileRead(BaseModel):
    user_id: str
    username: str
    display_name: str | None
    status: str
    personality_profile: str
    timezone: str
    proactive_enabled: bool
    quiet_hours_start: int
    quiet_hours_end: int
    total_interactions: int
    created_at: AwareDatetime
    last_active_at: AwareDatetime
    last_proactive_at: AwareDatetime | None = None
    # Set by the proactive manager when ``timezone`` is not a known zone (UTC is used instead).
    timezone_warning: str | None = None


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r} (e.g. 'Europe/Paris', 'UTC')") from exc
    return value


class UserSettingsUpdate(BaseModel):
    """What a user may change about themselves; omitted fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    display_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_NAME_CHARS,
        description="what the companion calls the user: one line of visible text, not an instruction",
    )
    timezone: str | None = Field(default=None, max_length=64, examples=["Europe/Paris"])
    proactive_enabled: bool | None = None
    quiet_hours_start: int | None = Field(default=None, ge=0, le=23, description="hour, user's time zone")
    quiet_hours_end: int | None = Field(
        default=None, ge=0, le=23, description="hour, user's time zone; equal to the start: no quiet hours"
    )

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)

    @field_validator("display_name")
    @classmethod
    def _display_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = check_name("display_name", value)
        # The user chose this name for the companion to use: one that reads as an instruction is refused
        # (they can pick another), where a platform username is only replaced when it is used.
        if name_reads_as_instruction(value):
            raise ValueError("display_name reads as an instruction to the companion; choose a plain name")
        return value


class UserExport(BaseModel):
    """Everything the companion keeps about one user."""

    user_id: str
    exported_at: AwareDatetime
    profile: dict[str, Any]
    personality_states: list[dict[str, Any]]
    interactions: list[dict[str, Any]]
    quirks: list[dict[str, Any]]
    needs: list[dict[str, Any]]
    security_incidents: list[dict[str, Any]]
    security_state: list[dict[str, Any]]
    security_lifts: list[dict[str, Any]]
    proactive_messages: list[dict[str, Any]]
    memories: list[dict[str, Any]]
    memory_conflicts: list[dict[str, Any]]


class UserDeletion(BaseModel):
    user_id: str
    deleted: bool
    removed: list[str] = Field(
        description="where data was removed: postgres, vector_index, redis, embedding_cache, letta"
    )
    pending: list[str] = Field(
        default_factory=list, description="external stores that failed now; retried by the health job"
    )
