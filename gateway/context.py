"""The typed bag of clients the lifespan builds, and the dependency that hands it to routes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import asyncpg
import redis.asyncio as aioredis
from fastapi import Depends, Request

from gateway.config import Settings
from gateway.integrations.embedding import EmbeddingClient


@dataclass(frozen=True)
class AppContext:
    settings: Settings
    pool: asyncpg.Pool
    redis: aioredis.Redis
    embedding: EmbeddingClient


def get_context(request: Request) -> AppContext:
    context: AppContext = request.app.state.context
    return context


Context = Annotated[AppContext, Depends(get_context)]
