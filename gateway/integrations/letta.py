"""A thin typed client for the Letta 0.6.8 REST API (docs/architecture.md#decisions, D6), over httpx.

Only what the ``letta`` runtime needs, with the request and response shapes measured against a real 0.6.8
server: ``/v1/agents/`` (create, list by name, get, delete), ``/v1/agents/{id}/messages`` with
``{"messages": [{"role": "user", "text": ...}]}``, ``/v1/agents/{id}/memory/block/{label}`` (PATCH
``{"value": ...}``), ``/v1/agents/{id}/archival`` and ``/v1/health/``.

Every failure — timeout, connection refused, an error status, a body that is not what 0.6.8 sends — raises
``LettaError`` (a missing agent: its subclass ``LettaAgentNotFound``). Letta answers a message to a
deleted agent with a 500 whose detail says "not found", so a 500 does not prove the agent exists: callers
that care ask ``get_agent``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from gateway.errors import CompanionError

SEND_MESSAGE_TOOL = "send_message"
SEND_MESSAGE_KWARG = "message"
# Letta's default character limit for a core memory block; a longer value needs a larger limit.
DEFAULT_BLOCK_LIMIT = 5000


class LettaError(CompanionError):
    """Letta could not do what was asked; ``upstream_status`` is Letta's HTTP status when it answered."""

    status_code = 503

    def __init__(self, message: str, *, upstream_status: int | None = None) -> None:
        super().__init__(message)
        self.upstream_status = upstream_status


class LettaAgentNotFound(LettaError):
    """The agent id is unknown to Letta (deleted, or Letta lost its database)."""

    status_code = 404


@dataclass(frozen=True)
class LLMConfig:
    """An agent's chat LLM: an OpenAI-compatible server (``endpoint`` ends in ``/v1``)."""

    model: str
    endpoint: str
    context_window: int
    endpoint_type: str = "openai"
    put_inner_thoughts_in_kwargs: bool = True

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "model_endpoint_type": self.endpoint_type,
            "model_endpoint": self.endpoint,
            "context_window": self.context_window,
            "put_inner_thoughts_in_kwargs": self.put_inner_thoughts_in_kwargs,
        }


@dataclass(frozen=True)
class EmbeddingConfig:
    """An agent's embedder: an OpenAI-compatible ``/v1/embeddings`` (``endpoint`` ends in ``/v1``)."""

    model: str
    endpoint: str
    dims: int
    chunk_size: int = 300
    endpoint_type: str = "openai"

    def to_json(self) -> dict[str, Any]:
        return {
            "embedding_endpoint_type": self.endpoint_type,
            "embedding_endpoint": self.endpoint,
            "embedding_model": self.model,
            "embedding_dim": self.dims,
            "embedding_chunk_size": self.chunk_size,
        }


@dataclass(frozen=True)
class LettaAgent:
    id: str
    name: str
    blocks: Mapping[str, str] = field(default_factory=dict)  # core memory: label -> value
    llm_config: Mapping[str, Any] = field(default_factory=dict)
    embedding_config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LettaUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    step_count: int = 0


@dataclass(frozen=True)
class LettaReply:
    """What one message produced: the ``send_message`` texts (in order), reasoning, other tool calls."""

    messages: Sequence[str]
    reasoning: Sequence[str] = ()
    tool_calls: Sequence[str] = ()  # names of tools other than send_message that the agent called
    usage: LettaUsage = LettaUsage()

    @property
    def text(self) -> str:
        return "\n\n".join(m for m in self.messages if m.strip())


class LettaClient:
    """Talks to one Letta server. A caller-supplied ``http_client`` is shared, not owned."""

    def __init__(
        self,
        base_url: str,
        timeout: float,
        http_client: httpx.AsyncClient | None = None,
        *,
        connect_timeout: float = 5.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._timeouts = httpx.Timeout(timeout, connect=min(connect_timeout, timeout))
        self._owns_client = http_client is None
        self._http = http_client or httpx.AsyncClient(
            timeout=self._timeouts, limits=httpx.Limits(max_connections=50, max_keepalive_connections=10)
        )

    async def aclose(self) -> None:
        if self._owns_client:
            await self._http.aclose()

    # Server

    async def health(self) -> str:
        """Letta's version when it is up; raises LettaError otherwise."""
        body = await self._request("GET", "/v1/health/", read_timeout=min(self.timeout, 5.0))
        if not isinstance(body, dict) or body.get("status") != "ok":
            raise LettaError(f"Letta health answered {_short(body)}")
        return str(body.get("version", "unknown"))

    # Agents

    async def create_agent(
        self,
        name: str,
        *,
        blocks: Mapping[str, str],
        llm_config: LLMConfig,
        embedding_config: EmbeddingConfig,
        tags: Sequence[str] = (),
        metadata: Mapping[str, Any] | None = None,
    ) -> LettaAgent:
        body: dict[str, Any] = {
            "name": name,
            "memory_blocks": [
                {"label": label, "value": value, "limit": block_limit(value)}
                for label, value in blocks.items()
            ],
            "llm_config": llm_config.to_json(),
            "embedding_config": embedding_config.to_json(),
            "include_base_tools": True,
        }
        if tags:
            body["tags"] = list(tags)
        if metadata:
            body["metadata_"] = dict(metadata)
        return _agent(await self._request("POST", "/v1/agents/", json=body))

    async def find_agents(self, name: str) -> list[LettaAgent]:
        body = await self._request("GET", "/v1/agents/", params={"name": name})
        if not isinstance(body, list):
            raise LettaError(f"Letta listed agents as {_short(body)}")
        return [_agent(item) for item in body if isinstance(item, dict) and item.get("name") == name]

    async def get_agent(self, agent_id: str) -> LettaAgent:
        return _agent(await self._request("GET", f"/v1/agents/{agent_id}", agent_id=agent_id))

    async def update_agent(
        self,
        agent_id: str,
        *,
        llm_config: LLMConfig | None = None,
        embedding_config: EmbeddingConfig | None = None,
    ) -> LettaAgent:
        body: dict[str, Any] = {}
        if llm_config is not None:
            body["llm_config"] = llm_config.to_json()
        if embedding_config is not None:
            body["embedding_config"] = embedding_config.to_json()
        return _agent(await self._request("PATCH", f"/v1/agents/{agent_id}", json=body, agent_id=agent_id))

    async def delete_agent(self, agent_id: str) -> None:
        await self._request("DELETE", f"/v1/agents/{agent_id}", agent_id=agent_id)

    # Core memory

    async def get_block(self, agent_id: str, label: str) -> str:
        body = await self._request("GET", f"/v1/agents/{agent_id}/memory/block/{label}", agent_id=agent_id)
        if not isinstance(body, dict) or not isinstance(body.get("value"), str):
            raise LettaError(f"Letta sent block {label!r} as {_short(body)}")
        return str(body["value"])

    async def update_block(self, agent_id: str, label: str, value: str) -> None:
        await self._request(
            "PATCH",
            f"/v1/agents/{agent_id}/memory/block/{label}",
            json={"value": value, "limit": block_limit(value)},
            agent_id=agent_id,
        )

    # Messages

    async def send_message(
        self, agent_id: str, text: str, *, read_timeout: float | None = None
    ) -> LettaReply:
        """Send one user message; the reply is what the agent passed to ``send_message``."""
        body = await self._request(
            "POST",
            f"/v1/agents/{agent_id}/messages",
            json={
                "messages": [{"role": "user", "text": text}],
                "use_assistant_message": True,
                "assistant_message_tool_name": SEND_MESSAGE_TOOL,
                "assistant_message_tool_kwarg": SEND_MESSAGE_KWARG,
            },
            agent_id=agent_id,
            read_timeout=read_timeout,
        )
        return parse_reply(body)

    # Archival memory

    async def insert_archival(self, agent_id: str, text: str) -> list[str]:
        """Store ``text`` in the agent's archival memory (Letta embeds it); returns the passage ids."""
        body = await self._request(
            "POST", f"/v1/agents/{agent_id}/archival", json={"text": text}, agent_id=agent_id
        )
        if not isinstance(body, list):
            raise LettaError(f"Letta answered an archival insert with {_short(body)}")
        return [str(item["id"]) for item in body if isinstance(item, dict) and "id" in item]

    async def list_archival(self, agent_id: str, limit: int = 100) -> list[str]:
        body = await self._request(
            "GET", f"/v1/agents/{agent_id}/archival", params={"limit": limit}, agent_id=agent_id
        )
        if not isinstance(body, list):
            raise LettaError(f"Letta listed archival memory as {_short(body)}")
        return [
            str(item["text"]) for item in body if isinstance(item, dict) and isinstance(item.get("text"), str)
        ]

    # Transport

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        agent_id: str | None = None,
        read_timeout: float | None = None,
    ) -> Any:
        timeouts = (
            self._timeouts
            if read_timeout is None
            else httpx.Timeout(read_timeout, connect=self._timeouts.connect)
        )
        try:
            response = await self._http.request(
                method, self.base_url + path, json=json, params=params, timeout=timeouts
            )
        except httpx.TimeoutException as exc:
            limit = timeouts.read
            raise LettaError(f"Letta timed out on {method} {path} after {limit} s") from exc
        except httpx.HTTPError as exc:
            raise LettaError(f"Letta unreachable on {method} {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 404 and agent_id is not None:
            raise LettaAgentNotFound(f"Letta has no agent {agent_id}", upstream_status=404)
        if response.is_error:
            raise LettaError(
                f"Letta answered {response.status_code} on {method} {path}: {_detail(response)}",
                upstream_status=response.status_code,
            )
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise LettaError(f"Letta sent non-JSON on {method} {path}: {response.text[:200]!r}") from exc


def block_limit(value: str) -> int:
    """A block's character limit: Letta's default, or room for ``value`` plus what the agent may append."""
    return max(DEFAULT_BLOCK_LIMIT, len(value) + 2000)


def parse_reply(body: Any) -> LettaReply:
    """A ``LettaResponse`` into the texts sent with ``send_message``.

    0.6.8 reports the call as an ``assistant_message`` when it recognises the tool, and otherwise as a
    ``tool_call_message`` whose JSON arguments hold ``message``: both are read.
    """
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        raise LettaError(f"Letta answered a message with {_short(body)}")
    texts: list[str] = []
    reasoning: list[str] = []
    others: list[str] = []
    for item in body["messages"]:
        if not isinstance(item, dict):
            continue
        kind = item.get("message_type")
        if kind == "assistant_message":
            value = item.get("assistant_message", item.get("content"))
            if isinstance(value, str):
                texts.append(value)
        elif kind == "tool_call_message":
            call = item.get("tool_call")
            if not isinstance(call, dict):
                continue
            if call.get("name") == SEND_MESSAGE_TOOL:
                message = _send_message_argument(call.get("arguments"))
                if message is not None:
                    texts.append(message)
            elif isinstance(call.get("name"), str):
                others.append(str(call["name"]))
        elif kind == "reasoning_message" and isinstance(item.get("reasoning"), str):
            reasoning.append(str(item["reasoning"]))
    raw_usage = body.get("usage")
    usage = LettaUsage()
    if isinstance(raw_usage, dict):
        usage = LettaUsage(
            prompt_tokens=_int(raw_usage.get("prompt_tokens")),
            completion_tokens=_int(raw_usage.get("completion_tokens")),
            total_tokens=_int(raw_usage.get("total_tokens")),
            step_count=_int(raw_usage.get("step_count")),
        )
    return LettaReply(messages=texts, reasoning=reasoning, tool_calls=others, usage=usage)


def _send_message_argument(arguments: Any) -> str | None:
    if isinstance(arguments, dict):
        parsed: Any = arguments
    elif isinstance(arguments, str):
        try:
            parsed = json.loads(arguments)
        except ValueError:
            return None
    else:
        return None
    value = parsed.get(SEND_MESSAGE_KWARG) if isinstance(parsed, dict) else None
    return value if isinstance(value, str) else None


def _agent(body: Any) -> LettaAgent:
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("id"), str)
        or not isinstance(body.get("name"), str)
    ):
        raise LettaError(f"Letta sent an agent as {_short(body)}")
    blocks: dict[str, str] = {}
    memory = body.get("memory")
    if isinstance(memory, dict) and isinstance(memory.get("blocks"), list):
        for block in memory["blocks"]:
            if (
                isinstance(block, dict)
                and isinstance(block.get("label"), str)
                and isinstance(block.get("value"), str)
            ):
                blocks[block["label"]] = block["value"]
    llm = body.get("llm_config")
    embedding = body.get("embedding_config")
    return LettaAgent(
        id=body["id"],
        name=body["name"],
        blocks=blocks,
        llm_config=llm if isinstance(llm, dict) else {},
        embedding_config=embedding if isinstance(embedding, dict) else {},
    )


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _short(body: Any) -> str:
    text = body if isinstance(body, str) else repr(body)
    return text[:200]


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])[:300]
    return str(body)[:300]
