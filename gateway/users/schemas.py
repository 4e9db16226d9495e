from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path
from pydantic import BaseModel

USER_ID_PATTERN = r"^[A-Za-z0-9_-]{1,100}$"

UserId = Annotated[str, Path(pattern=USER_ID_PATTERN, description="The Discord user id (a snowflake).")]


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
    created_at: datetime
    last_active_at: datetime
