"""The chat LLM: Chutes (or any OpenAI-compatible server at ``LLM_BASE_URL``) over httpx.

``POST {base}/v1/chat/completions``, non-streaming. Failure rules (docs/architecture.md#decisions, D7): a 5xx, 429 or
timeout on the primary model is retried once on the fallback model; a 429 on the model in use waits
(``Retry-After`` when short, else doubling backoff) and retries while the retry budget lasts, on the last
model to try; anything else
fails at once. Per-model stats (calls, successes, latency) drive the switch rule: once the primary has
at least ``SWITCH_MIN_CALLS`` calls and a success rate below ``SWITCH_SUCCESS_RATE``, the fallback becomes the
first choice until the primary recovers (it still gets a trial call every ``SWITCH_TRIAL_EVERY`` calls).

Reasoning models (Qwen3, GLM) may wrap their thoughts in ``<think>…</think>``; those never reach the user.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from gateway.config import ChatLLMSettings
from gateway.errors import CompanionError

if TYPE_CHECKING:
    from gateway.metrics import Metrics

logger = logging.getLogger(__name__)

Message = Mapping[str, str]

SWITCH_MIN_CALLS = 10
SWITCH_SUCCESS_RATE = 0.8
SWITCH_TRIAL_EVERY = 10
RATE_LIMIT_WAIT_CAP_SECONDS = 5.0
_THINK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)


class ChatLLMError(CompanionError):
    """No usable reply from the chat LLM (every model tried); the caller falls back to templates."""

    status_code = 503


class ChatLLMResponseError(ChatLLMError):
    """The server answered 200 but not with a usable reply (empty, malformed)."""

    status_code = 502


@dataclass(frozen=True)
class ChatResult:
    text: str
    model: str
    tokens: int
    latency_ms: float  # the whole call: retries, waits and the fallback included
    fallback_used: bool


@dataclass
class _ModelStats:
    calls: int = 0
    successes: int = 0
    failures: int = 0
    total_latency_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def success_rate(self) -> float:
        return self.successes / self.calls if self.calls else 1.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "calls": self.calls,
            "successes": self.successes,
            "failures": self.failures,
            "success_rate": round(self.success_rate, 3),
            "mean_latency_ms": round(self.total_latency_ms / self.successes, 1) if self.successes else 0.0,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


class _Failed(Exception):
    def __init__(self, message: str, *, kind: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind  # "rate_limit" | "transient" (5xx, timeout, connection) | "fatal"
        self.wait = wait


def completions_url(base_url: str) -> str:
    """``{base}/v1/chat/completions``; a base that already ends in ``/v1`` (Ollama's docs) is kept as is."""
    base = base_url.rstrip("/")
    return f"{base}/chat/completions" if base.endswith("/v1") else f"{base}/v1/chat/completions"


def strip_thinking(text: str) -> str:
    return _THINK.sub("", text).strip()


class ChatLLM:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        primary_model: str,
        fallback_model: str | None = None,
        timeout_seconds: float = 60.0,
        max_retries: int = 2,
        temperature: float = 0.7,
        max_tokens: int = 600,
        backoff_seconds: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.metrics = metrics
        self.base_url = base_url.rstrip("/")
        self.url = completions_url(base_url)
        self.primary_model = primary_model
        self.fallback_model = fallback_model if fallback_model and fallback_model != primary_model else None
        self.temperature = temperature
        self.max_tokens = max_tokens
        self._max_retries = max_retries
        self._backoff = backoff_seconds
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(timeout_seconds, connect=min(10.0, timeout_seconds)),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=5),
            transport=transport,
        )
        self._stats: dict[str, _ModelStats] = {}
        self._primary_skipped = 0

    @classmethod
    def from_settings(cls, settings: ChatLLMSettings, **overrides: Any) -> ChatLLM | None:
        """The configured chat LLM, or None in offline mode (neither ``CHUTES_API_KEY`` nor ``LLM_BASE_URL``)."""
        base_url = settings.base_url
        if base_url is None:
            return None
        options: dict[str, Any] = {
            "primary_model": settings.primary_llm_model,
            "fallback_model": settings.fallback_llm_model,
            "timeout_seconds": settings.llm_timeout_seconds,
            "max_retries": settings.llm_max_retries,
            "temperature": settings.llm_temperature,
            "max_tokens": settings.llm_max_tokens,
        }
        options.update(overrides)
        return cls(base_url, settings.api_key, **options)

    async def aclose(self) -> None:
        await self._client.aclose()

    def stats(self) -> dict[str, dict[str, float | int]]:
        return {model: stats.as_dict() for model, stats in self._stats.items()}

    def recommended_model(self) -> str:
        """The plan's switch rule: the fallback once the primary has ≥ 10 calls under 80 % success."""
        primary = self._stats.get(self.primary_model)
        if (
            self.fallback_model is not None
            and primary is not None
            and primary.calls >= SWITCH_MIN_CALLS
            and primary.success_rate < SWITCH_SUCCESS_RATE
        ):
            return self.fallback_model
        return self.primary_model

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> ChatResult:
        """The reply text; raises ChatLLMError when no model produced one."""
        started = time.perf_counter()
        order = self._model_order()
        last: _Failed | None = None
        for position, model in enumerate(order):
            try:
                last_choice = position == len(order) - 1
                text, tokens = await self._with_retries(model, messages, max_tokens, temperature, last_choice)
            except _Failed as exc:
                last = exc
                # Only a 5xx/429/timeout moves on to the other model; a 4xx would fail there too.
                if exc.kind == "fatal" or position == len(order) - 1:
                    break
                logger.warning(
                    "chat model %s failed (%s), trying %s", model, exc.message, order[position + 1]
                )
                continue
            latency = (time.perf_counter() - started) * 1000
            return ChatResult(text, model, tokens, latency, fallback_used=model != self.primary_model)
        assert last is not None
        error_type = ChatLLMResponseError if last.kind == "response" else ChatLLMError
        raise error_type(f"chat LLM gave no reply: {last.message}")

    def _model_order(self) -> list[str]:
        if self.fallback_model is None:
            return [self.primary_model]
        if self.recommended_model() == self.fallback_model:
            self._primary_skipped += 1
            if self._primary_skipped % SWITCH_TRIAL_EVERY != 0:
                return [self.fallback_model, self.primary_model]
        return [self.primary_model, self.fallback_model]

    async def _with_retries(
        self,
        model: str,
        messages: Sequence[Message],
        max_tokens: int | None,
        temperature: float | None,
        wait_out_rate_limits: bool,
    ) -> tuple[str, int]:
        """A 429 is waited out (bounded) only on the last model to try; earlier ones hand over at once."""
        attempt = 0
        while True:
            try:
                return await self._once(model, messages, max_tokens, temperature)
            except _Failed as exc:
                if exc.kind != "rate_limit" or not wait_out_rate_limits or attempt >= self._max_retries:
                    raise
                wait = exc.wait if exc.wait is not None else self._backoff * 2**attempt
                if wait > RATE_LIMIT_WAIT_CAP_SECONDS:
                    raise
                attempt += 1
                await asyncio.sleep(wait)

    async def _once(
        self, model: str, messages: Sequence[Message], max_tokens: int | None, temperature: float | None
    ) -> tuple[str, int]:
        stats = self._stats.setdefault(model, _ModelStats())
        stats.calls += 1
        body = {
            "model": model,
            "messages": [dict(message) for message in messages],
            "stream": False,
            "temperature": self.temperature if temperature is None else temperature,
            "max_tokens": max_tokens or self.max_tokens,
            "top_p": 0.9,
        }
        started = time.perf_counter()
        try:
            text, tokens = await self._request(model, body, stats)
        except _Failed as exc:
            self._observe(model, exc.kind, started)
            raise
        self._observe(model, "ok", started)
        return text, tokens

    def _observe(self, model: str, outcome: str, started: float) -> None:
        if self.metrics is not None:
            self.metrics.llm_requests.labels(model=model, outcome=outcome).inc()
            self.metrics.llm_seconds.labels(model=model).observe(time.perf_counter() - started)

    async def _request(self, model: str, body: dict[str, Any], stats: _ModelStats) -> tuple[str, int]:
        started = time.perf_counter()
        try:
            response = await self._client.post(self.url, json=body)
        except httpx.TimeoutException as exc:
            stats.failures += 1
            raise _Failed(f"{model}: timeout ({type(exc).__name__})", kind="transient") from exc
        except httpx.HTTPError as exc:
            stats.failures += 1
            raise _Failed(f"{model}: {type(exc).__name__}: {exc}", kind="transient") from exc
        if response.status_code != 200:
            stats.failures += 1
            raise _classify(model, response)
        try:
            payload = response.json()
            choice = payload["choices"][0]
            content = choice["message"].get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            stats.failures += 1
            raise _Failed(f"{model}: malformed completion ({type(exc).__name__})", kind="response") from exc
        text = strip_thinking(str(content))
        if not text:
            stats.failures += 1
            raise _Failed(f"{model}: empty reply", kind="response")
        usage = payload.get("usage") or {}
        stats.successes += 1
        stats.total_latency_ms += (time.perf_counter() - started) * 1000
        stats.prompt_tokens += int(usage.get("prompt_tokens") or 0)
        stats.completion_tokens += int(usage.get("completion_tokens") or 0)
        return text, int(usage.get("total_tokens") or 0)

    async def health(self) -> None:
        """Raise ChatLLMError when the server does not answer ``GET {base}/v1/models``."""
        url = self.url.removesuffix("/chat/completions") + "/models"
        try:
            response = await self._client.get(url, timeout=5.0)
        except httpx.HTTPError as exc:
            raise ChatLLMError(f"chat LLM unreachable: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise ChatLLMError(f"chat LLM answered {response.status_code}")


def _classify(model: str, response: httpx.Response) -> _Failed:
    status = response.status_code
    detail = response.text[:200]
    if status == 429:
        retry_after = response.headers.get("retry-after")
        wait = None
        if retry_after is not None:
            try:
                wait = max(0.0, float(retry_after))
            except ValueError:
                wait = None
        return _Failed(f"{model}: 429 rate limited", kind="rate_limit", wait=wait)
    if status >= 500:
        return _Failed(f"{model}: {status} {detail}", kind="transient")
    return _Failed(f"{model}: {status} {detail}", kind="fatal")
