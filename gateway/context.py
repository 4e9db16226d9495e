"""The typed bag of clients the lifespan builds, and the dependency that hands it to routes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

import asyncpg
import redis.asyncio as aioredis
from fastapi import Depends, Request

from gateway.clock import Clock, SystemClock
from gateway.config import Settings
from gateway.integrations.embedding import EmbeddingClient
from gateway.integrations.llm import ChatLLM, FastLLM
from gateway.memory.consolidation import Consolidator
from gateway.memory.index import VectorIndex
from gateway.memory.service import MemoryService
from gateway.personality.service import PersonalityService
from gateway.security.service import SecurityService

if TYPE_CHECKING:
    from gateway.chat.service import ChatService
    from gateway.integrations.discord_push import BotPushClient
    from gateway.jobs import JobRunner, JobScheduler
    from gateway.proactive.service import ProactiveService
    from gateway.reflection.service import ReflectionService


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    pool: asyncpg.Pool
    redis: aioredis.Redis
    embedding: EmbeddingClient
    fast_llm: FastLLM | None
    vector_index: VectorIndex
    memory: MemoryService
    consolidator: Consolidator
    personality: PersonalityService
    security: SecurityService
    chat_llm: ChatLLM | None
    chat: ChatService
    # Proactive delivery to the Discord bot (gateway/integrations/discord_push.py); None in tools and tests
    # that build a context by hand.
    bot_push: BotPushClient | None = None
    # The one clock of every time-dependent rule, and the proactive manager, nightly reflection and jobs
    # (gateway/jobs.py); None in contexts built by hand.
    clock: Clock = field(default_factory=SystemClock)
    proactive: ProactiveService | None = None
    reflection: ReflectionService | None = None
    jobs: JobRunner | None = None
    scheduler: JobScheduler | None = None


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


Context = Annotated[AppContext, Depends(get_context)]
