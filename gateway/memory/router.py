from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Response, status

from gateway.auth import ServiceAuth
from gateway.deps import ConsolidatorDep, MemoryServiceDep, UsersServiceDep
from gateway.memory.schemas import (
    ConflictResolution,
    ConflictStatus,
    ConsolidationResult,
    MemoryConflictRead,
    MemoryCreate,
    MemoryExport,
    MemoryPage,
    MemoryRead,
    MemorySearchRequest,
    MemorySearchResponse,
    MemoryType,
)
from gateway.memory.service import MemoryInput
from gateway.users.schemas import UserId

router = APIRouter(tags=["memory"], dependencies=[ServiceAuth])


async def known_user(user_id: UserId, users: UsersServiceDep) -> str:
    """The path's user, who must exist: every memory route is scoped to them (404 otherwise)."""
    await users.profile(user_id)
    return user_id


KnownUser = Annotated[str, Depends(known_user)]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
# Shown in a server channel: only what was said there (docs/memory.md, "Who may hear a memory").
ChannelScope = Annotated[
    str | None,
    Query(
        max_length=100,
        description="only memories said in this server channel (what may be shown there); omitted: all",
    ),
]


@router.post("/{user_id}/search", response_model=MemorySearchResponse)
async def search_memories(
    user_id: KnownUser, body: MemorySearchRequest, memory: MemoryServiceDep
) -> MemorySearchResponse:
    """The user's most useful memories for a query, each with its score components and a reason."""
    outcome = await memory.search(
        user_id,
        body.query,
        k=body.k,
        mmr_lambda=body.mmr_lambda,
        memory_types=body.memory_types,
        min_importance=body.min_importance,
        now=body.now,
        channel_id=body.channel_id,
    )
    return MemorySearchResponse(results=outcome.results, degraded=outcome.degraded)


@router.get("/{user_id}/episodic", response_model=MemoryPage)
async def list_episodic(
    user_id: KnownUser,
    memory: MemoryServiceDep,
    limit: Limit = 50,
    offset: Offset = 0,
    channel_id: ChannelScope = None,
) -> MemoryPage:
    """The user's episodic memories, newest first (with ``channel_id``: those said in that channel)."""
    return await memory.list_page(user_id, MemoryType.EPISODIC, limit, offset, channel_id)


@router.get("/{user_id}/semantic", response_model=MemoryPage)
async def list_semantic(
    user_id: KnownUser,
    memory: MemoryServiceDep,
    limit: Limit = 20,
    offset: Offset = 0,
    channel_id: ChannelScope = None,
) -> MemoryPage:
    """The user's semantic memories (consolidated facts), newest first (with ``channel_id``: that
    channel's)."""
    return await memory.list_page(user_id, MemoryType.SEMANTIC, limit, offset, channel_id)


@router.post("/{user_id}/memories", response_model=MemoryRead, status_code=status.HTTP_201_CREATED)
async def create_memory(user_id: KnownUser, body: MemoryCreate, memory: MemoryServiceDep) -> MemoryRead:
    """Keep something the user asked the companion to remember."""
    return await memory.store(
        user_id, MemoryInput(content=body.content, memory_type=body.memory_type, importance=body.importance)
    )


@router.get("/{user_id}/memories/{memory_id}", response_model=MemoryRead)
async def get_memory(user_id: KnownUser, memory_id: UUID, memory: MemoryServiceDep) -> MemoryRead:
    """One memory of this user (404 for any id that is not theirs)."""
    return await memory.get(user_id, memory_id)


@router.delete("/{user_id}/memories/{memory_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_memory(user_id: KnownUser, memory_id: UUID, memory: MemoryServiceDep) -> Response:
    """Forget one memory (it disappears from search and lists at once)."""
    await memory.delete(user_id, memory_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{user_id}/consolidate", response_model=ConsolidationResult)
async def consolidate(user_id: KnownUser, consolidator: ConsolidatorDep) -> ConsolidationResult:
    """Consolidate now instead of waiting for the nightly run."""
    return await consolidator.consolidate(user_id)


@router.get("/{user_id}/conflicts", response_model=list[MemoryConflictRead])
async def list_conflicts(
    user_id: KnownUser,
    consolidator: ConsolidatorDep,
    status_filter: Annotated[ConflictStatus | None, Query(alias="status")] = None,
) -> list[MemoryConflictRead]:
    """Conflicts between the user's memories (resolved by recency unless the user said otherwise)."""
    return await consolidator.list_conflicts(user_id, status_filter)


@router.post("/{user_id}/conflicts/{conflict_id}/resolve", response_model=MemoryConflictRead)
async def resolve_conflict(
    user_id: KnownUser,
    conflict_id: Annotated[int, Path(ge=1, le=2**62)],
    body: ConflictResolution,
    consolidator: ConsolidatorDep,
) -> MemoryConflictRead:
    """The user's word on a conflict: keep one memory, or ignore the conflict and keep both."""
    return await consolidator.resolve(user_id, conflict_id, body)


@router.get("/{user_id}/export", response_model=MemoryExport)
async def export_memories(user_id: KnownUser, memory: MemoryServiceDep) -> MemoryExport:
    """Everything the companion remembers about this user, as JSON."""
    return await memory.export(user_id)
