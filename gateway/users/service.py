from __future__ import annotations

import asyncpg

from gateway.errors import NotFoundError
from gateway.users.repository import UserProfileRepository
from gateway.users.schemas import UserProfileRead


class UserNotFoundError(NotFoundError):
    pass


async def get_profile(conn: asyncpg.Connection | asyncpg.Pool, user_id: str) -> UserProfileRead:
    """The user's profile; UserNotFoundError when the companion has never met them."""
    row = await UserProfileRepository(conn).get(user_id)
    if row is None:
        raise UserNotFoundError(f"no companion exists for user {user_id}")
    return UserProfileRead.model_validate(row)
