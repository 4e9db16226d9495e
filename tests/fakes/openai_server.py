"""A local fake of an OpenAI-compatible LLM server, for exercising our real LLM clients in tests.

It speaks the wire protocol of Chutes and of self-hosted servers (Ollama, llama.cpp, vLLM) under
``/v1/...`` and of Groq under ``/openai/v1/...`` (where Groq serves the OpenAI protocol under its root).
It is a real HTTP server (Starlette on uvicorn, in a background thread)
bound to 127.0.0.1 on a free port, and tests script its behaviour from the test thread::

    with start_fake_openai(api_key="k", allowed_models={"primary", "fallback"}) as fake:
        fake.reply_for_model("fallback", "hello from the fallback")
        fake.fail_next(1, status=503, model="primary")
        ...  # point the client under test at fake.base_url
        assert [r.model for r in fake.chat_requests] == ["primary", "fallback"]

Or use the ``openai_fake`` fixture: one server for the session, reset before each test.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import itertools
import json
import math
import re
import struct
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.servers import ThreadedServer

JSON = dict[str, Any]
Endpoint = Literal["chat", "embeddings"]

DEFAULT_MODEL = "fake-model"
DEFAULT_EMBEDDING_DIMS = 384
ECHO_PREFIX = "fake reply to: "


@dataclass(frozen=True)
class ToolCall:
    """A scripted function call; ``arguments`` may be a dict (sent JSON-encoded) or a raw string."""

    name: str
    arguments: JSON | str = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class ScriptedReply:
    """A full scripted answer; ``finish_reason`` defaults to "tool_calls" when there are any, else "stop"."""

    content: str | None = None
    tool_calls: Sequence[ToolCall] = ()
    finish_reason: str | None = None


ReplyFunction = Callable[[JSON], str | ScriptedReply]
Reply = str | ScriptedReply | ReplyFunction


@dataclass
class RecordedRequest:
    """One request as the fake received it; ``status`` is what the fake answered (None while in flight)."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    model: str | None
    status: int | None = None


@dataclass(frozen=True)
class _Fault:
    status: int
    model: str | None
    endpoint: Endpoint
    retry_after: float | None
    message: str | None


@dataclass(frozen=True)
class _Delay:
    seconds: float
    model: str | None
    endpoint: Endpoint


class FakeServerError(RuntimeError):
    """A scripted reply function raised inside the fake; the test's script is wrong, not the client."""


def message_text(message: JSON) -> str:
    """The text of a chat message whose content is a string, None, or a list of content parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"
        )
    return ""


def echo_reply(request_json: JSON) -> str:
    """The default reply: the last user message, prefixed; JSON-wrapped when JSON mode is requested."""
    users = [m for m in request_json.get("messages", []) if isinstance(m, dict) and m.get("role") == "user"]
    text = ECHO_PREFIX + (message_text(users[-1]) if users else "")
    response_format = request_json.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") == "json_object":
        return json.dumps({"reply": text})
    return text


AGENT_MESSAGE_TOOL = "send_message"


def offered_tools(request_json: JSON) -> list[str]:
    """The names of the functions a chat request offers the model."""
    tools = request_json.get("tools")
    if not isinstance(tools, list):
        return []
    names = []
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            names.append(function["name"])
    return names


def agent_user_text(text: str) -> str:
    """What a user said, unpacked from Letta's JSON envelope (``{"type": "user_message", "message": ...}``)
    when it is one; any other text as it is."""
    try:
        packed = json.loads(text)
    except ValueError:
        return text
    if (
        isinstance(packed, dict)
        and packed.get("type") == "user_message"
        and isinstance(packed.get("message"), str)
    ):
        return str(packed["message"])
    return text


def agent_reply(request_json: JSON) -> str | ScriptedReply:
    """The default reply: ``echo_reply``, except that an agent framework offering a ``send_message`` tool
    (Letta, which forces a tool call) gets the echo of the user's unpacked message as that call."""
    if AGENT_MESSAGE_TOOL not in offered_tools(request_json):
        return echo_reply(request_json)
    users = [m for m in request_json.get("messages", []) if isinstance(m, dict) and m.get("role") == "user"]
    text = ECHO_PREFIX + (agent_user_text(message_text(users[-1])) if users else "")
    return send_message_reply(text)


def send_message_reply(text: str, inner_thoughts: str = "Replying (scripted by the fake).") -> ScriptedReply:
    """A reply that makes a Letta agent say ``text`` (its ``send_message`` tool called with it)."""
    return ScriptedReply(
        tool_calls=[ToolCall(AGENT_MESSAGE_TOOL, {"inner_thoughts": inner_thoughts, "message": text})]
    )


def fake_embedding(text: str, dims: int = DEFAULT_EMBEDDING_DIMS) -> list[float]:
    """A deterministic unit vector derived from sha256 of ``text``: the same text always maps to it."""
    values: list[float] = []
    for counter in itertools.count():
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        values.extend((byte - 127.5) / 127.5 for byte in digest)
        if len(values) >= dims:
            break
    vector = values[:dims]
    norm = math.sqrt(sum(x * x for x in vector)) or 1.0
    return [x / norm for x in vector]


def count_tokens(text: str) -> int:
    """The fake's token count: whitespace-separated words, so usage numbers are predictable."""
    return len(text.split())


def _error(
    status: int, message: str, type_: str, code: str | None, headers: dict[str, str] | None = None
) -> Response:
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


_FAULT_BODIES: dict[int, tuple[str, str, str]] = {
    429: ("Rate limit reached for requests (scripted by the fake).", "requests", "rate_limit_exceeded"),
    500: (
        "The server had an error while processing your request (scripted by the fake).",
        "server_error",
        "internal_error",
    ),
    502: ("Bad gateway (scripted by the fake).", "server_error", "bad_gateway"),
    503: (
        "The server is overloaded or not ready yet (scripted by the fake).",
        "server_error",
        "service_unavailable",
    ),
}


def _fault_response(fault: _Fault) -> Response:
    message, type_, code = _FAULT_BODIES.get(
        fault.status,
        (
            f"Scripted failure {fault.status}.",
            "server_error" if fault.status >= 500 else "invalid_request_error",
            f"http_{fault.status}",
        ),
    )
    headers = None
    if fault.retry_after is not None:
        seconds = fault.retry_after
        headers = {"retry-after": str(int(seconds)) if seconds == int(seconds) else str(seconds)}
    return _error(fault.status, fault.message or message, type_, code, headers)


def _pieces(content: str) -> list[str]:
    # Word-sized deltas whose concatenation is exactly the content, as real servers stream.
    return [piece for piece in re.split(r"(?<=\s)(?=\S)", content) if piece]


def _sse(payload: JSON) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


class FakeOpenAIServer:
    """An OpenAI-compatible chat/embeddings server on 127.0.0.1, scriptable from the test thread."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        allowed_models: Iterable[str] | None = None,
        embedding_dims: int = DEFAULT_EMBEDDING_DIMS,
        default_reply: Reply = agent_reply,
        startup_timeout: float = 10.0,
    ) -> None:
        self._initial = (
            api_key,
            None if allowed_models is None else frozenset(allowed_models),
            embedding_dims,
            default_reply,
        )
        # Scripting happens on the test thread while handlers run on the server thread.
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._restore_initial_state()
        self._app = Starlette(routes=self._routes(), lifespan=self._lifespan)
        self._http = ThreadedServer(self._app, name="fake-openai", startup_timeout=startup_timeout)
        # Owned by the server's event loop; touched from elsewhere only via call_soon_threadsafe.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._interrupt: asyncio.Event | None = None

    def _restore_initial_state(self) -> None:
        with self._lock:
            self._api_key, self._allowed_models, self._embedding_dims, self._default_reply = self._initial
            self._model_replies: dict[str, Reply] = {}
            self._next_replies: deque[tuple[str | None, Reply]] = deque()
            self._faults: deque[_Fault] = deque()
            self._delays: deque[_Delay] = deque()
            self._latency: dict[str | None, float] = {}
            self._requests: list[RecordedRequest] = []
            self._handler_errors: list[BaseException] = []

    # Lifecycle

    @property
    def port(self) -> int:
        if self._http.port is None:
            raise RuntimeError("the fake OpenAI server is not running")
        return self._http.port

    @property
    def base_url(self) -> str:
        """The server root: Chutes-style clients append /v1/..., Groq clients /openai/v1/..."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        self._http.start()
        return self

    def stop(self) -> None:
        self._interrupt_sleepers()
        self._http.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        if exc_type is None:
            self.raise_handler_errors()

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        self._loop = asyncio.get_running_loop()
        self._interrupt = asyncio.Event()
        try:
            yield
        finally:
            self._loop = None

    def _interrupt_sleepers(self) -> None:
        """Wake every scripted delay now, so stop() and reset() never wait for one."""
        loop = self._loop

        def swap() -> None:
            old, self._interrupt = self._interrupt, asyncio.Event()
            if old is not None:
                old.set()

        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(swap)

    # Scripting (called from tests)

    @property
    def api_key(self) -> str | None:
        """When set, every request must carry ``Authorization: Bearer <api_key>`` or gets a 401."""
        with self._lock:
            return self._api_key

    @api_key.setter
    def api_key(self, value: str | None) -> None:
        with self._lock:
            self._api_key = value

    @property
    def allowed_models(self) -> frozenset[str] | None:
        """When set, chat requests for any other model get a 404 ``model_not_found``."""
        with self._lock:
            return self._allowed_models

    @allowed_models.setter
    def allowed_models(self, value: Iterable[str] | None) -> None:
        with self._lock:
            self._allowed_models = None if value is None else frozenset(value)

    @property
    def embedding_dims(self) -> int:
        """The vector size served when a request does not ask for ``dimensions``."""
        with self._lock:
            return self._embedding_dims

    @embedding_dims.setter
    def embedding_dims(self, value: int) -> None:
        with self._lock:
            self._embedding_dims = value

    def set_default_reply(self, reply: Reply) -> None:
        """The reply for models with nothing scripted (initially ``agent_reply``: ``echo_reply`` unless the
        request offers a ``send_message`` tool)."""
        with self._lock:
            self._default_reply = reply

    def reply_for_model(self, model: str, reply: Reply) -> None:
        """Every chat request for ``model`` gets ``reply`` (text, ScriptedReply, or fn(request_json))."""
        with self._lock:
            self._model_replies[model] = reply

    def reply_next(self, *replies: Reply, model: str | None = None) -> None:
        """One-shot replies, used in order ahead of per-model replies by the next matching requests."""
        with self._lock:
            self._next_replies.extend((model, reply) for reply in replies)

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        *,
        model: str | None = None,
        endpoint: Endpoint = "chat",
        retry_after: float | None = None,
        message: str | None = None,
    ) -> None:
        """Queue ``n`` error responses for the next matching requests (any model when ``model`` is None)."""
        fault = _Fault(status, model, endpoint, retry_after, message)
        with self._lock:
            self._faults.extend([fault] * n)

    def delay_next(
        self, seconds: float, n: int = 1, *, model: str | None = None, endpoint: Endpoint = "chat"
    ) -> None:
        """Hold the next ``n`` matching requests for ``seconds`` before answering (trips client timeouts)."""
        delay = _Delay(seconds, model, endpoint)
        with self._lock:
            self._delays.extend([delay] * n)

    def set_latency(self, seconds: float, model: str | None = None) -> None:
        """Hold every request for ``model`` (or for any model without its own latency) for ``seconds``."""
        with self._lock:
            self._latency[model] = seconds

    def reset(self) -> None:
        """Forget all scripting and recorded requests; the server keeps running on the same port."""
        self._interrupt_sleepers()
        self._restore_initial_state()

    def embedding_for(self, text: str, dims: int | None = None) -> list[float]:
        return fake_embedding(text, self.embedding_dims if dims is None else dims)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a snapshot)."""
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/v1/chat/completions")]

    def raise_handler_errors(self) -> None:
        """Raise if a scripted reply function failed inside the server (it answered 500 meanwhile)."""
        with self._lock:
            errors, self._handler_errors = self._handler_errors, []
        if errors:
            raise FakeServerError(f"{len(errors)} scripted reply function(s) raised: {errors!r}") from errors[
                0
            ]

    # Server side

    def _routes(self) -> list[Route]:
        routes = []
        for prefix in ("/v1", "/openai/v1"):
            routes += [
                Route(f"{prefix}/chat/completions", self._chat_completions, methods=["POST"]),
                Route(f"{prefix}/embeddings", self._embeddings, methods=["POST"]),
                Route(f"{prefix}/models", self._models, methods=["GET"]),
            ]
        # Record and answer wrong paths the way OpenAI does, so a misbuilt URL is visible in fake.requests.
        routes.append(
            Route("/{path:path}", self._unknown, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"])
        )
        return routes

    async def _admit(self, request: Request) -> tuple[RecordedRequest, Response | None]:
        """Record the request, then check auth and the body; returns an error response when refused."""
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
            malformed = False
        except ValueError:
            body, malformed = None, True
        model = body.get("model") if isinstance(body, dict) else None
        record = RecordedRequest(
            method=request.method,
            path=request.url.path,
            headers=dict(request.headers),
            json=body,
            model=model if isinstance(model, str) else None,
        )
        with self._lock:
            self._requests.append(record)
            api_key = self._api_key
        if api_key is not None and request.headers.get("authorization") != f"Bearer {api_key}":
            return record, _error(
                401,
                "Incorrect API key provided.",
                "invalid_request_error",
                "invalid_api_key",
            )
        if malformed or (request.method == "POST" and not isinstance(body, dict)):
            return record, _error(
                400, "The request body is not a JSON object.", "invalid_request_error", None
            )
        return record, None

    def _answer(self, record: RecordedRequest, response: Response) -> Response:
        with self._lock:
            record.status = response.status_code
        return response

    def _take_delay_and_fault(self, model: str, endpoint: Endpoint) -> tuple[float, _Fault | None]:
        with self._lock:
            seconds = self._latency.get(model, self._latency.get(None, 0.0))
            for delay in self._delays:
                if delay.endpoint == endpoint and delay.model in (None, model):
                    self._delays.remove(delay)
                    seconds += delay.seconds
                    break
            fault = next(
                (f for f in self._faults if f.endpoint == endpoint and f.model in (None, model)), None
            )
            if fault is not None:
                self._faults.remove(fault)
        return seconds, fault

    async def _sleep(self, seconds: float) -> None:
        if seconds <= 0 or self._interrupt is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._interrupt.wait(), seconds)

    def _pick_reply(self, model: str) -> Reply:
        with self._lock:
            for entry in self._next_replies:
                if entry[0] in (None, model):
                    self._next_replies.remove(entry)
                    return entry[1]
            return self._model_replies.get(model, self._default_reply)

    async def _chat_completions(self, request: Request) -> Response:
        record, refused = await self._admit(request)
        if refused is not None:
            return self._answer(record, refused)
        body: JSON = record.json
        model = record.model
        if model is None or not isinstance(body.get("messages"), list) or not body["messages"]:
            return self._answer(
                record,
                _error(
                    400, "`model` and a non-empty `messages` are required.", "invalid_request_error", None
                ),
            )
        allowed = self.allowed_models
        if allowed is not None and model not in allowed:
            return self._answer(
                record,
                _error(
                    404,
                    f"The model `{model}` does not exist or you do not have access to it.",
                    "invalid_request_error",
                    "model_not_found",
                ),
            )
        seconds, fault = self._take_delay_and_fault(model, "chat")
        await self._sleep(seconds)
        if fault is not None:
            return self._answer(record, _fault_response(fault))

        reply = self._pick_reply(model)
        try:
            scripted = reply(body) if callable(reply) else reply
            if isinstance(scripted, str):
                scripted = ScriptedReply(content=scripted)
            if not isinstance(scripted, ScriptedReply):
                raise TypeError(f"a reply must be str or ScriptedReply, got {type(scripted).__name__}")
        except Exception as exc:
            with self._lock:
                self._handler_errors.append(exc)
            return self._answer(
                record, _error(500, f"fake reply function raised: {exc!r}", "fake_error", None)
            )

        prompt_tokens = sum(count_tokens(message_text(m)) for m in body["messages"] if isinstance(m, dict))
        completion_tokens = count_tokens(scripted.content or "")
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        tool_calls = [
            {
                "id": call.id or f"call_fake{index}",
                "type": "function",
                "function": {
                    "name": call.name,
                    "arguments": call.arguments
                    if isinstance(call.arguments, str)
                    else json.dumps(call.arguments),
                },
            }
            for index, call in enumerate(scripted.tool_calls)
        ]
        finish_reason = scripted.finish_reason or ("tool_calls" if tool_calls else "stop")
        head = {
            "id": f"chatcmpl-fake{next(self._ids):06d}",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
        }
        if body.get("stream"):
            options = body.get("stream_options")
            include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
            stream = self._stream(
                head, scripted.content, tool_calls, finish_reason, usage if include_usage else None
            )
            return self._answer(record, StreamingResponse(stream, media_type="text/event-stream"))

        message: JSON = {"role": "assistant", "content": scripted.content}
        if tool_calls:
            message["tool_calls"] = tool_calls
        completion = {
            **head,
            "object": "chat.completion",
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}],
            "usage": usage,
        }
        return self._answer(record, JSONResponse(completion))

    async def _stream(
        self,
        head: JSON,
        content: str | None,
        tool_calls: list[JSON],
        finish_reason: str,
        usage: JSON | None,
    ) -> AsyncIterator[bytes]:
        def chunk(delta: JSON, finish: str | None = None) -> JSON:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return {**head, "object": "chat.completion.chunk", "choices": [choice]}

        yield _sse(chunk({"role": "assistant", "content": ""}))
        for piece in _pieces(content or ""):
            yield _sse(chunk({"content": piece}))
        if tool_calls:
            yield _sse(chunk({"tool_calls": [{"index": i, **call} for i, call in enumerate(tool_calls)]}))
        yield _sse(chunk({}, finish_reason))
        if usage is not None:
            yield _sse({**head, "object": "chat.completion.chunk", "choices": [], "usage": usage})
        yield b"data: [DONE]\n\n"

    async def _embeddings(self, request: Request) -> Response:
        record, refused = await self._admit(request)
        if refused is not None:
            return self._answer(record, refused)
        body: JSON = record.json
        texts = body.get("input")
        if isinstance(texts, str):
            texts = [texts]
        dims = body.get("dimensions") or self.embedding_dims
        if (
            record.model is None
            or not isinstance(texts, list)
            or not texts
            or not all(isinstance(t, str) for t in texts)
            or not isinstance(dims, int)
            or dims <= 0
        ):
            return self._answer(
                record,
                _error(
                    400,
                    "`model` and an `input` string or list of strings are required.",
                    "invalid_request_error",
                    None,
                ),
            )
        seconds, fault = self._take_delay_and_fault(record.model, "embeddings")
        await self._sleep(seconds)
        if fault is not None:
            return self._answer(record, _fault_response(fault))

        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(texts):
            vector = fake_embedding(text, dims)
            encoded: list[float] | str = (
                base64.b64encode(struct.pack(f"<{dims}f", *vector)).decode() if as_base64 else vector
            )
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        tokens = sum(count_tokens(t) for t in texts)
        result = {
            "object": "list",
            "data": data,
            "model": record.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return self._answer(record, JSONResponse(result))

    async def _models(self, request: Request) -> Response:
        record, refused = await self._admit(request)
        if refused is not None:
            return self._answer(record, refused)
        with self._lock:
            names = self._allowed_models or set(self._model_replies) or {DEFAULT_MODEL}
        models = [{"id": name, "object": "model", "created": 0, "owned_by": "fake"} for name in sorted(names)]
        return self._answer(record, JSONResponse({"object": "list", "data": models}))

    async def _unknown(self, request: Request) -> Response:
        record, refused = await self._admit(request)
        if refused is not None and refused.status_code == 401:
            return self._answer(record, refused)
        return self._answer(
            record,
            _error(
                404,
                f"Unknown request URL: {request.method} {request.url.path}.",
                "invalid_request_error",
                "unknown_url",
            ),
        )


def start_fake_openai(**kwargs: Any) -> FakeOpenAIServer:
    """A fake server to use as ``with start_fake_openai(...) as fake:``; it runs inside the block.

    Keyword arguments are those of ``FakeOpenAIServer``: api_key, allowed_models, embedding_dims,
    default_reply.
    """
    return FakeOpenAIServer(**kwargs)


@pytest.fixture(scope="session")
def openai_fake_server() -> Iterator[FakeOpenAIServer]:
    """One fake OpenAI server for the whole session; use ``openai_fake``, which resets it per test."""
    with start_fake_openai() as server:
        yield server


@pytest.fixture
def openai_fake(openai_fake_server: FakeOpenAIServer) -> Iterator[FakeOpenAIServer]:
    """The session's fake OpenAI server, with no scripting or recorded requests at the start of the test."""
    openai_fake_server.reset()
    try:
        yield openai_fake_server
        openai_fake_server.raise_handler_errors()
    finally:
        openai_fake_server.reset()
