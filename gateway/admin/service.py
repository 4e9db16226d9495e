"""The admin view: what an operator would otherwise ask psql for, one user's standing, and the reset.

Admin owns no table: its repository is a read-only reporting view over the other domains' tables (counts and
pages an operator reads), and everything that changes data goes through the owning domain's service.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from gateway import migrator
from gateway.admin.repository import AdminStatsRepository, AdminUserRepository, SchemaMigrationRepository
from gateway.admin.schemas import (
    AdminStats,
    AdminUserDetail,
    AdminUserPage,
    IncidentStats,
    InteractionPage,
    InteractionStats,
    MemoryStats,
    MigrationStatus,
    UserResetRequest,
)
from gateway.bot.service import BotService
from gateway.chat.service import ChatService
from gateway.clock import Clock
from gateway.errors import BadRequestError, CompanionError
from gateway.security.schemas import SecurityState
from gateway.security.service import SecurityService
from gateway.users.data import UserDataService
from gateway.users.schemas import UserDeletion, UserStatus
from gateway.users.service import UsersService


class AdminService:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        users: UsersService,
        data: UserDataService,
        chat: ChatService,
        security: SecurityService,
        bot: BotService,
        clock: Clock,
    ) -> None:
        self.pool = pool
        self.users = users
        self.data = data
        self.chat = chat
        self.security = security
        self.bot = bot
        self.clock = clock

    async def migration_status(self) -> MigrationStatus:
        """Which migration files the database has, and which ones it still lacks."""
        applied = [row for row in await SchemaMigrationRepository(self.pool).list_applied()]
        versions = {migration.version for migration in applied}
        pending = [m.path.name for m in migrator.discover() if m.version not in versions]
        return MigrationStatus(applied=applied, pending=pending)

    async def stats(self) -> AdminStats:
        """Counts an operator would otherwise ask psql for: users, interactions, memories, incidents."""
        now = self.clock.now()
        day_ago = now - timedelta(days=1)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        repo = AdminStatsRepository(self.pool)
        by_status = await repo.users_by_status()
        total, last_day, proactive = await repo.interactions(day_ago)
        _, today, _ = await repo.interactions(midnight)
        memories = await repo.memories_by_type()
        recent_incidents, unreviewed = await repo.incidents(day_ago)
        try:
            bot_registered = (await self.bot.current()).registered
        except Exception:  # Redis down: the stats still come from Postgres
            bot_registered = False
        return AdminStats(
            generated_at=now,
            users_total=sum(by_status.values()),
            users_by_status={status.value: by_status.get(status.value, 0) for status in UserStatus},
            users_active_last_24h=await repo.active_users(day_ago),
            interactions=InteractionStats(
                total=total, last_24h=last_day, today=today, proactive_last_24h=proactive
            ),
            memories=MemoryStats(
                episodic=memories.get("episodic", 0),
                semantic=memories.get("semantic", 0),
                without_vector=await repo.memories_without_vector(),
            ),
            security_incidents=IncidentStats(last_24h=recent_incidents, unreviewed=unreviewed),
            pending_deletions=await repo.pending_deletions(),
            bot_registered=bot_registered,
        )

    async def list_users(self, status: UserStatus | None, limit: int, offset: int) -> AdminUserPage:
        rows, total = await AdminUserRepository(self.pool).list(
            None if status is None else status.value, limit, offset
        )
        return AdminUserPage(
            items=rows,
            total=total,
            limit=limit,
            offset=offset,
        )

    async def user_detail(self, user_id: str) -> AdminUserDetail:
        """One user's profile, mood, security standing and how much the companion keeps about them."""
        now = self.clock.now()
        profile = await self.users.get_profile(user_id)
        counts = await AdminUserRepository(self.pool).counts(
            user_id, now.replace(hour=0, minute=0, second=0, microsecond=0)
        )
        emotion: str | None = None
        try:
            emotion = (await self.chat.session(user_id)).emotion_label
        except CompanionError:
            emotion = None  # no personality yet
        security: SecurityState | None
        try:
            security = await self.security.state(user_id)
        except CompanionError:
            security = None
        return AdminUserDetail(profile=profile, counts=counts, emotion_label=emotion, security=security)

    async def reset_user(self, user_id: str, request: UserResetRequest) -> UserDeletion:
        """Delete everything about the user everywhere (the same path as the user's own deletion)."""
        if not request.confirm:
            raise BadRequestError('resetting a user deletes everything about them: send {"confirm": true}')
        return await self.data.delete_everything(user_id)

    async def interactions(self, user_id: str, days: int, limit: int, offset: int) -> InteractionPage:
        since = self.clock.now() - timedelta(days=days)
        rows, total = await AdminUserRepository(self.pool).interactions(user_id, since, limit, offset)
        if not rows:
            await self.users.profile(user_id)  # UserNotFoundError for a stranger
        items = rows
        return InteractionPage(items=items, total=total, limit=limit, offset=offset, days=days)
