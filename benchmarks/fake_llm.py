"""A minimal OpenAI-compatible chat server for benchmarks: a fixed-shape reply after a set latency.

Benchmarks measure our gateway, so the LLM they talk to must cost a known amount of time: zero for
overhead measurements, ~800 ms for realistic load. It answers ``POST /v1/chat/completions`` (and the
``/openai/v1/...`` path the groq SDK uses) and ``GET /v1/models``; it counts requests.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from benchmarks.harness import _ThreadedServer

REPLIES = (
    "That sounds lovely! How did it make you feel?",
    "I hear you. Tell me more about it?",
    "Oh, that's interesting. What happened next?",
    "Thanks for telling me. I'm glad you did.",
)


class FakeLLM:
    def __init__(self, latency_seconds: float = 0.0) -> None:
        self.latency_seconds = latency_seconds
        self.requests = 0
        app = Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/openai/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
            ]
        )
        self._server = _ThreadedServer(app)

    @property
    def base_url(self) -> str:
        return self._server.base_url

    def __enter__(self) -> FakeLLM:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    async def _chat(self, request: Request) -> JSONResponse:
        body: dict[str, Any] = json.loads(await request.body())
        self.requests += 1
        if self.latency_seconds:
            await asyncio.sleep(self.latency_seconds)
        text = REPLIES[self.requests % len(REPLIES)]
        if body.get("response_format", {}).get("type") == "json_object":
            text = "{}"
        message: dict[str, Any] = {"role": "assistant", "content": text}
        finish = "stop"
        if "send_message" in _offered_tools(body):
            # Letta forces a tool call: its agent speaks through send_message.
            arguments = json.dumps({"inner_thoughts": "Answering.", "message": text})
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_bench{self.requests}",
                        "type": "function",
                        "function": {"name": "send_message", "arguments": arguments},
                    }
                ],
            }
            finish = "tool_calls"
        return JSONResponse(
            {
                "id": f"chatcmpl-bench{self.requests}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "bench"),
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {"prompt_tokens": 100, "completion_tokens": 12, "total_tokens": 112},
            }
        )

    async def _models(self, request: Request) -> JSONResponse:
        return JSONResponse({"object": "list", "data": [{"id": "bench", "object": "model"}]})


def _offered_tools(body: dict[str, Any]) -> list[str]:
    tools = body.get("tools")
    if not isinstance(tools, list):
        return []
    return [
        str(tool["function"].get("name"))
        for tool in tools
        if isinstance(tool, dict) and isinstance(tool.get("function"), dict)
    ]
