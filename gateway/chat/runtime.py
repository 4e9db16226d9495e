"""The one interface every agent runtime implements (docs/architecture.md#decisions, D5): ``letta``,
``direct`` and ``template``.

The chat pipeline builds a ``Turn`` (who, what they said, the companion's current self as persona text,
the memories recalled for this message, the last turns) and asks a runtime for an ``AgentReply``. A runtime
that cannot answer raises ``RuntimeFailure``; the pipeline then tries the next one (letta → direct →
template), so the user always gets a reply and the ``degraded`` list says what was bypassed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class HistoryTurn:
    role: Role
    content: str


@dataclass(frozen=True)
class RecalledMemory:
    """A memory handed to the runtime: its text (quoted data, never instructions), when, and why recalled."""

    memory_id: str
    content: str
    created_at: str  # ISO date, for the model to place it in time
    reason: str


@dataclass(frozen=True)
class Turn:
    user_id: str
    username: str
    message: str
    persona: str  # the companion's current self (traits, mood, quirks, needs), rendered by personality
    memories: Sequence[RecalledMemory] = ()
    history: Sequence[HistoryTurn] = ()
    emotion: str = "neutral"  # the companion's mood label after appraising this message
    user_valence: float = 0.0  # how good or bad the message's news is for the user, in [-1, 1]
    restricted: bool = False  # security level 2: short replies, no memory writes
    # False for a reply in a server channel: memories and history are that channel's only, and no runtime
    # that keeps its own conversation history (Letta: the user's DMs) may answer it.
    private: bool = True
    extra_instructions: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True)
class AgentReply:
    text: str
    runtime: str  # "letta", "direct" or "template"
    model: str | None = None
    tokens: int = 0
    agent_ms: float = 0.0  # time spent waiting on Letta / the LLM (the rest of a turn is the gateway's own)
    degraded: Sequence[str] = ()  # what this runtime itself bypassed (e.g. "chat_llm_primary")


class RuntimeFailure(Exception):
    """The runtime could not produce a reply; ``component`` names what failed for the degraded list."""

    def __init__(self, component: str, message: str) -> None:
        super().__init__(message)
        self.component = component
        self.message = message


class AgentRuntime(Protocol):
    name: str

    async def reply(self, turn: Turn) -> AgentReply:
        """A reply to ``turn.message``; raises RuntimeFailure when this runtime cannot answer."""
        ...

    async def forget_user(self, user_id: str) -> None:
        """Delete everything this runtime keeps for the user (a Letta agent); no-op when nothing is kept."""
        ...

    async def health(self) -> None:
        """Raise RuntimeFailure when the runtime's backend is unreachable."""
        ...
