from __future__ import annotations

from fastapi import APIRouter

from gateway.auth import ServiceAuth
from gateway.chat.schemas import ChatMessageIn, ChatResponse, SessionEnd, SessionStatus
from gateway.deps import ChatServiceDep
from gateway.users.schemas import UserId

router = APIRouter(tags=["chat"], dependencies=[ServiceAuth])


@router.post("/{user_id}/messages", response_model=ChatResponse)
async def send_message(user_id: UserId, body: ChatMessageIn, chat: ChatServiceDep) -> ChatResponse:
    """One message from the user, one reply from their companion (created on first contact).

    The reply always comes: when Letta or the chat LLM fail, ``degraded`` says what was bypassed and
    ``offline`` is true when the reply came from templates. Messages of one user are answered in order.
    """
    return await chat.handle(user_id, body)


@router.get("/{user_id}/session", response_model=SessionStatus)
async def session_status(user_id: UserId, chat: ChatServiceDep) -> SessionStatus:
    """The companion's mood and whether a conversation is going on (a message in the last 30 minutes)."""
    return await chat.session(user_id)


@router.post("/{user_id}/session/end", response_model=SessionEnd)
async def end_session(user_id: UserId, chat: ChatServiceDep) -> SessionEnd:
    """Ends the conversation: its memories are written, then related ones consolidated."""
    return await chat.end_session(user_id)
