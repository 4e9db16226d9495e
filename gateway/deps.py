"""What routes declare: each dependency is the one service a route uses.

The lifespan (``gateway/app.py``) builds every service once, in dependency order, and keeps them in
``app.state.services``; only these functions (and tests) read it. A route names what it needs
(``chat: ChatServiceDep``), never the whole set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
import redis.asyncio as aioredis
from fastapi import Depends, Request

from gateway.admin.service import AdminService
from gateway.bot.service import BotService
from gateway.chat.service import ChatService
from gateway.clock import Clock
from gateway.config import Settings
from gateway.health.service import HealthService
from gateway.jobs import JobRunner, JobScheduler
from gateway.memory.consolidation import Consolidator
from gateway.memory.service import MemoryService
from gateway.personality.service import PersonalityService
from gateway.proactive.service import ProactiveService
from gateway.reflection.service import ReflectionService
from gateway.security.service import SecurityService
from gateway.users.data import UserDataService
from gateway.users.service import UsersService


@dataclass(frozen=True)
class Services:
    """Everything the lifespan built, for the dependencies below and for tests; no service receives it."""

    settings: Settings
    clock: Clock
    pool: asyncpg.Pool
    redis: aioredis.Redis
    memory: MemoryService
    consolidator: Consolidator
    personality: PersonalityService
    security: SecurityService
    users: UsersService
    chat: ChatService
    user_data: UserDataService
    bot: BotService
    proactive: ProactiveService
    reflection: ReflectionService
    admin: AdminService
    health: HealthService
    jobs: JobRunner
    scheduler: JobScheduler


def services(request: Request) -> Services:
    built: Services = request.app.state.services
    return built


def _chat(request: Request) -> ChatService:
    return services(request).chat


def _users(request: Request) -> UsersService:
    return services(request).users


def _user_data(request: Request) -> UserDataService:
    return services(request).user_data


def _memory(request: Request) -> MemoryService:
    return services(request).memory


def _consolidator(request: Request) -> Consolidator:
    return services(request).consolidator


def _personality(request: Request) -> PersonalityService:
    return services(request).personality


def _security(request: Request) -> SecurityService:
    return services(request).security


def _bot(request: Request) -> BotService:
    return services(request).bot


def _proactive(request: Request) -> ProactiveService:
    return services(request).proactive


def _admin(request: Request) -> AdminService:
    return services(request).admin


def _health(request: Request) -> HealthService:
    return services(request).health


def _jobs(request: Request) -> JobRunner:
    return services(request).jobs


def _scheduler(request: Request) -> JobScheduler:
    return services(request).scheduler


ChatServiceDep = Annotated[ChatService, Depends(_chat)]
UsersServiceDep = Annotated[UsersService, Depends(_users)]
UserDataDep = Annotated[UserDataService, Depends(_user_data)]
MemoryServiceDep = Annotated[MemoryService, Depends(_memory)]
ConsolidatorDep = Annotated[Consolidator, Depends(_consolidator)]
PersonalityServiceDep = Annotated[PersonalityService, Depends(_personality)]
SecurityServiceDep = Annotated[SecurityService, Depends(_security)]
BotServiceDep = Annotated[BotService, Depends(_bot)]
ProactiveServiceDep = Annotated[ProactiveService, Depends(_proactive)]
AdminServiceDep = Annotated[AdminService, Depends(_admin)]
HealthServiceDep = Annotated[HealthService, Depends(_health)]
JobRunnerDep = Annotated[JobRunner, Depends(_jobs)]
JobSchedulerDep = Annotated[JobScheduler, Depends(_scheduler)]
