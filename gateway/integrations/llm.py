"""Every LLM the gateway calls, through one OpenAI-protocol client built on the official ``openai`` SDK.

``OpenAICompatibleClient`` asks one model on one server for one chat completion. Two roles sit on top of it:

- ``FastLLM``: Groq (``GROQ_*``), behind every quick judgement (importance, injection judging, appraisal,
  quirk mining, summaries, proactive thoughts). Every caller has a local fallback, so its job is to fail fast:
  a short-circuit stops calling a dead Groq for a while, so it adds no latency to every message.
- ``ChatLLM``: Chutes, or any OpenAI-compatible server at ``LLM_BASE_URL`` (Ollama, llama.cpp, vLLM), which
  writes the replies: the primary model, then the fallback model on a 5xx, 429 or timeout
  (docs/architecture.md#decisions, D7), and a switch rule that makes the fallback the first choice while the
  primary is unreliable.

Retries are the SDK's own (its exponential backoff, or the server's ``Retry-After``), up to ``max_retries``,
within limits of ours, because every caller's fallback beats a late answer:

- ``timeout_seconds`` bounds one model's whole answer, retries and waits included, so a hanging server is
  never asked twice;
- a server asking to wait longer than ``retry_after_cap_seconds`` is given up on at once;
- a 4xx other than 429 is never retried (it would fail again);
- a 5xx is retried once, on the first attempt, by the fast LLM only: the chat LLM moves on to its fallback
  model instead, and every model but the last one it tries hands over at the first failure of any kind.

Every failure is an ``LLMError``. Reasoning models (Qwen3, GLM) may wrap their thoughts in
``<think>…</think>``; those never reach a caller.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

import openai
from openai.types.chat import ChatCompletion

from gateway.config import ChatLLMSettings, GroqSettings
from gateway.errors import CompanionError
from gateway.metrics import Metrics

if TYPE_CHECKING:
    import httpx2

logger = logging.getLogger(__name__)

Message = Mapping[str, str]  # {"role": "system" | "user" | "assistant", "content": ...}
# What one failed call says, as the metrics' outcome label: worth another model (rate_limit, transient), not
# (fatal: a 4xx would fail there too), or the server answered but not usefully (response).
FailureKind = Literal["rate_limit", "transient", "fatal", "response"]

RETRY_AFTER_CAP_SECONDS = 5.0
HEALTH_TIMEOUT_SECONDS = 5.0
GROQ_API_PATH = "/openai/v1"  # Groq serves the OpenAI protocol under its root + /openai/v1
CHAT_API_PATH = "/v1"
SWITCH_MIN_CALLS = 10
SWITCH_SUCCESS_RATE = 0.8
SWITCH_TRIAL_EVERY = 10
CHAT_TOP_P = 0.9
# The SDK refuses to start without a key. A keyless server (a local Ollama, llama.cpp or vLLM) ignores the
# bearer token it then sends, as it ignores the one Letta sends it.
KEYLESS_PLACEHOLDER = "no-key"

_THINK = re.compile(r"<think>.*?(</think>|$)", re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)\s*```", re.DOTALL)


class LLMError(CompanionError):
    """An LLM gave no usable answer; every caller falls back (heuristics, templates)."""

    status_code = 503

    def __init__(self, message: str, *, kind: FailureKind = "fatal", http_status: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.http_status = http_status  # the server's status, when it answered one

    @property
    def server_unusable(self) -> bool:
        """Whether this says every call would fail now (feeds the fast LLM's short-circuit): a 401, 403 or 404
        means a wrong key, model or URL, while a 400 or 422 may be about this one request."""
        if self.kind == "response":
            return False
        return self.kind != "fatal" or self.http_status is None or self.http_status in (401, 403, 404)


class LLMUnavailableError(LLMError):
    """No answer: the server is down, slow, rate limiting, refusing us, or short-circuited."""


class LLMResponseError(LLMError):
    """The server answered, but not with what was asked for (empty, malformed, or not the JSON object)."""

    status_code = 502

    def __init__(self, message: str) -> None:
        super().__init__(message, kind="response")


@dataclass(frozen=True)
class LLMResult:
    text: str
    model: str  # the model asked
    tokens: int  # total tokens as reported by the server (0 when it reports none)
    latency_ms: float  # the whole call: retries, waits and the fallback model included
    fallback_used: bool = False  # the chat LLM's fallback model answered


@dataclass
class ModelStats:
    calls: int = 0
    successes: int = 0
    failures: int = 0
    short_circuited: int = 0  # calls the fast LLM refused without a request while short-circuited
    total_latency_ms: float = 0.0  # of successful calls
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
            "short_circuited": self.short_circuited,
            "success_rate": round(self.success_rate, 3),
            "mean_latency_ms": round(self.total_latency_ms / self.successes, 1) if self.successes else 0.0,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }


def api_base_url(base_url: str, api_path: str) -> str:
    """The SDK's base URL: ``base_url`` plus ``api_path`` (``/v1``, Groq's ``/openai/v1``), unless the URL, as
    pasted from a provider's docs, already ends with it."""
    base = base_url.rstrip("/")
    return base if base.endswith(api_path) else base + api_path


def strip_thinking(text: str) -> str:
    return _THINK.sub("", text).strip()


def parse_json_object(text: str) -> dict[str, Any]:
    """The JSON object in a model's reply: bare, inside a ```json fence, or amid a little prose."""
    candidates = [text.strip()]
    fenced = _FENCE.search(text)
    if fenced:
        candidates.append(fenced.group(1))
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    raise LLMResponseError(f"the LLM did not return a JSON object: {text[:200]!r}")


class _SDKClient(openai.AsyncOpenAI):
    """The SDK, with our limits on which failed responses its retry loop may send again.

    ``_should_retry`` is the SDK's private hook for that decision (it has no public one); the tests against the
    fake server pin each limit, so an SDK upgrade that moves the hook fails them rather than retrying more.
    """

    retry_after_cap_seconds = RETRY_AFTER_CAP_SECONDS
    retry_server_errors = False

    def _should_retry(self, response: httpx2.Response) -> bool:
        wait = self._parse_retry_after_header(response.headers)
        if wait is not None and wait > self.retry_after_cap_seconds:
            return False
        if 400 <= response.status_code < 500 and response.status_code != 429:
            return False  # the SDK would retry a 408 or 409
        if response.status_code >= 500:
            first_attempt = response.request.headers.get("x-stainless-retry-count", "0") == "0"
            if not (self.retry_server_errors and first_attempt):
                return False
        return super()._should_retry(response)


class OpenAICompatibleClient:
    """One OpenAI-protocol server: one chat completion from one model per call, with per-model stats and (when
    given) the ``companion_llm_*`` metrics. Raises LLMUnavailableError or LLMResponseError, never late."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        name: str,
        timeout_seconds: float,
        max_retries: int,
        retry_after_cap_seconds: float = RETRY_AFTER_CAP_SECONDS,
        retry_server_errors: bool = False,
        metrics: Metrics | None = None,
    ) -> None:
        self.name = name  # for messages: "Groq", "chat LLM"
        self.timeout_seconds = timeout_seconds
        self.metrics = metrics
        self.per_model: dict[str, ModelStats] = {}
        self._sdk = _SDKClient(
            api_key=api_key or KEYLESS_PLACEHOLDER,
            base_url=base_url,
            timeout=openai.Timeout(timeout_seconds, connect=min(10.0, timeout_seconds)),
            max_retries=max_retries,
        )
        self._sdk.retry_after_cap_seconds = retry_after_cap_seconds
        self._sdk.retry_server_errors = retry_server_errors
        # The same connections, without retries: for a model that hands over to the next one at once.
        self._sdk_once = self._sdk.with_options(max_retries=0)

    def stats(self) -> dict[str, dict[str, float | int]]:
        """Per-model counters and mean latency of successes."""
        return {model: stats.as_dict() for model, stats in self.per_model.items()}

    def stats_for(self, model: str) -> ModelStats:
        return self.per_model.setdefault(model, ModelStats())

    async def complete(
        self,
        model: str,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        json_mode: bool = False,
        top_p: float | None = None,
        retry: bool = True,
    ) -> LLMResult:
        """The reply of ``model``; ``retry=False`` gives up on the first failure of any kind."""
        stats = self.stats_for(model)
        stats.calls += 1
        started = time.perf_counter()
        try:
            completion = await self._create(
                self._sdk if retry else self._sdk_once,
                model,
                messages,
                max_tokens,
                temperature,
                json_mode,
                top_p,
            )
            result = self._result(model, completion, started)
        except LLMError as failure:
            stats.failures += 1
            self._observe(model, failure.kind, started)
            raise
        stats.successes += 1
        stats.total_latency_ms += result.latency_ms
        self._observe(model, "ok", started)
        return result

    async def health(self) -> None:
        """Raise LLMUnavailableError unless the server answers ``GET {base}/models`` (a 4xx proves it is up)."""
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
                await self._sdk_once.models.with_raw_response.list()
        except openai.APIStatusError as exc:
            if exc.status_code >= 500:
                raise LLMUnavailableError(f"{self.name} answered {exc.status_code}") from exc
        except (openai.APIError, TimeoutError) as exc:
            raise LLMUnavailableError(f"{self.name} unreachable: {type(exc).__name__}") from exc

    async def aclose(self) -> None:
        await self._sdk.close()  # the no-retry view shares its connections

    async def _create(
        self,
        sdk: openai.AsyncOpenAI,
        model: str,
        messages: Sequence[Message],
        max_tokens: int,
        temperature: float,
        json_mode: bool,
        top_p: float | None,
    ) -> ChatCompletion:
        # The request body as the protocol spells it, posted through the SDK's own request path (its retries,
        # Retry-After, errors): ``chat.completions.create`` would first walk every message through its
        # TypedDict transforms, about 2 ms of CPU per call for a body that needs none.
        body: dict[str, Any] = {
            "model": model,
            "messages": [dict(m) for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
            "stream": False,
        }
        if top_p is not None:
            body["top_p"] = top_p
        if json_mode:
            body["response_format"] = {"type": "json_object"}
        try:
            async with asyncio.timeout(self.timeout_seconds):
                return await sdk.post("/chat/completions", body=body, cast_to=ChatCompletion)
        except (TimeoutError, openai.APITimeoutError) as exc:
            raise LLMUnavailableError(
                f"{self.name} ({model}): timed out after {self.timeout_seconds:g} s", kind="transient"
            ) from exc
        except openai.APIConnectionError as exc:
            raise LLMUnavailableError(f"{self.name} ({model}): unreachable: {exc}", kind="transient") from exc
        except openai.APIStatusError as exc:
            raise self._refusal(model, exc) from exc
        except openai.APIError as exc:  # a 2xx body the SDK could not read
            raise LLMResponseError(f"{self.name} ({model}): unreadable response: {exc}") from exc

    def _refusal(self, model: str, exc: openai.APIStatusError) -> LLMUnavailableError:
        status = exc.status_code
        detail = f"{self.name} ({model}) answered {status}: {_server_message(exc)}"
        wait = self._sdk._parse_retry_after_header(exc.response.headers)
        if wait is not None and wait > self._sdk.retry_after_cap_seconds:
            detail += f"; Retry-After {wait:g} s exceeds the {self._sdk.retry_after_cap_seconds:g} s cap"
        kind: FailureKind = "rate_limit" if status == 429 else "transient" if status >= 500 else "fatal"
        return LLMUnavailableError(detail, kind=kind, http_status=status)

    def _result(self, model: str, completion: ChatCompletion, started: float) -> LLMResult:
        try:
            content = completion.choices[0].message.content if completion.choices else None
            usage = completion.usage
        except (AttributeError, IndexError, TypeError) as exc:
            raise LLMResponseError(
                f"{self.name} ({model}): malformed completion ({type(exc).__name__})"
            ) from exc
        text = strip_thinking(content or "")
        if not text:
            raise LLMResponseError(f"{self.name} ({model}) returned an empty reply")
        stats = self.stats_for(model)
        if usage is not None:
            stats.prompt_tokens += usage.prompt_tokens or 0
            stats.completion_tokens += usage.completion_tokens or 0
        return LLMResult(
            text=text,
            model=model,
            tokens=(usage.total_tokens or 0) if usage is not None else 0,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    def _observe(self, model: str, outcome: str, started: float) -> None:
        if self.metrics is not None:
            self.metrics.llm_requests.labels(model=model, outcome=outcome).inc()
            self.metrics.llm_seconds.labels(model=model).observe(time.perf_counter() - started)


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body  # the SDK unwraps {"error": {...}}
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])[:300]
    return str(exc.message)[:300]


class FastLLM:
    """Groq (or any OpenAI-compatible server at ``GROQ_BASE_URL``) with a short-circuit.

    After ``failure_threshold`` consecutive failed calls, calls fail immediately for ``cooldown_seconds``; the
    first call after the cool-down is a trial that closes the short-circuit again if it succeeds.
    """

    def __init__(
        self,
        api_key: str,
        *,
        model: str,
        base_url: str = "https://api.groq.com",
        timeout_seconds: float = 10.0,
        max_retries: int = 2,
        failure_threshold: int = 5,
        cooldown_seconds: float = 30.0,
        retry_after_cap_seconds: float = RETRY_AFTER_CAP_SECONDS,
    ) -> None:
        if not api_key.strip():
            raise ValueError("FastLLM needs an API key; use FastLLM.from_settings to get None without one")
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.model = model
        self.client = OpenAICompatibleClient(
            api_base_url(base_url, GROQ_API_PATH),
            api_key,
            name="Groq",
            timeout_seconds=timeout_seconds,
            max_retries=max_retries,
            retry_after_cap_seconds=retry_after_cap_seconds,
            retry_server_errors=True,
        )
        self._failure_threshold = failure_threshold
        self._cooldown_seconds = cooldown_seconds
        self._consecutive_failures = 0
        self._open_until = 0.0  # monotonic time before which calls are refused

    @classmethod
    def from_settings(cls, settings: GroqSettings, **overrides: Any) -> FastLLM | None:
        """The client configured by ``GROQ_*``; None when no key is set (every caller then uses its fallback).

        ``overrides`` are constructor arguments not in the settings (short-circuit timings, the wait cap).
        """
        if not settings.enabled:
            return None
        return cls(
            settings.api_key.get_secret_value().strip(),
            model=settings.model,
            base_url=settings.base_url,
            timeout_seconds=settings.timeout_seconds,
            max_retries=settings.max_retries,
            **overrides,
        )

    @property
    def circuit_open(self) -> bool:
        """True while calls are being refused after repeated failures."""
        return time.monotonic() < self._open_until

    @property
    def available(self) -> bool:
        """Whether a call now would reach Groq at all (false while short-circuited)."""
        return not self.circuit_open

    def stats(self) -> dict[str, dict[str, float | int]]:
        """Per-model counters and mean latency."""
        return self.client.stats()

    async def complete(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        json_mode: bool = False,
        model: str | None = None,
    ) -> LLMResult:
        """One chat completion; raises LLMUnavailableError or LLMResponseError instead of answering late."""
        model = model or self.model
        if self.circuit_open:
            stats = self.client.stats_for(model)
            stats.calls += 1
            stats.short_circuited += 1
            remaining = self._open_until - time.monotonic()
            raise LLMUnavailableError(
                f"Groq is short-circuited after {self._consecutive_failures} consecutive failures; "
                f"retrying in {max(remaining, 0.0):.1f} s"
            )
        try:
            result = await self.client.complete(
                model, messages, max_tokens=max_tokens, temperature=temperature, json_mode=json_mode
            )
        except LLMError as failure:
            if failure.server_unusable:
                self._record_failure()
            elif failure.kind == "response":  # it answered, so it is up
                self._consecutive_failures, self._open_until = 0, 0.0
            raise
        self._consecutive_failures, self._open_until = 0, 0.0
        return result

    async def complete_json(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        model: str | None = None,
    ) -> dict[str, Any]:
        """A completion in JSON mode, parsed into an object; LLMResponseError if it is not one."""
        result = await self.complete(
            messages, max_tokens=max_tokens, temperature=temperature, json_mode=True, model=model
        )
        return parse_json_object(result.text)

    async def aclose(self) -> None:
        await self.client.aclose()

    def _record_failure(self) -> None:
        self._consecutive_failures += 1
        if self._consecutive_failures >= self._failure_threshold:
            self._open_until = time.monotonic() + self._cooldown_seconds
            logger.warning(
                "Groq failed %d times in a row; skipping it for %.0f s",
                self._consecutive_failures,
                self._cooldown_seconds,
            )


class ChatLLM:
    """The chat LLM: the primary model, then the fallback model, with the switch rule
    (docs/architecture.md#decisions, D7).

    Only a 5xx, 429, timeout or bad answer moves on to the next model (a 4xx would fail there too), and a
    model hands over at once; the last model to try waits out short rate limits. Once the primary has at
    least ``SWITCH_MIN_CALLS`` calls and a success rate below ``SWITCH_SUCCESS_RATE``, the fallback becomes the
    first choice until the primary recovers (it still goes first every ``SWITCH_TRIAL_EVERY`` calls).
    """

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
        retry_after_cap_seconds: float = RETRY_AFTER_CAP_SECONDS,
        metrics: Metrics | None = None,
    ) -> None:
        self.client = OpenAICompatibleClient(
            api_base_url(base_url, CHAT_API_PATH),
            api_key,
            name="chat LLM",
            timeout_seconds=timeout_seconds,
            max_retries=max_retries,
            retry_after_cap_seconds=retry_after_cap_seconds,
            metrics=metrics,
        )
        self.primary_model = primary_model
        self.fallback_model = fallback_model if fallback_model and fallback_model != primary_model else None
        self.temperature = temperature
        self.max_tokens = max_tokens
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
        await self.client.aclose()

    async def health(self) -> None:
        """Raise LLMUnavailableError when the server does not answer ``GET {base}/v1/models``."""
        await self.client.health()

    def stats(self) -> dict[str, dict[str, float | int]]:
        return self.client.stats()

    def recommended_model(self) -> str:
        """The plan's switch rule: the fallback once the primary has ≥ 10 calls under 80 % success."""
        primary = self.client.per_model.get(self.primary_model)
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
    ) -> LLMResult:
        """The reply; raises LLMUnavailableError or LLMResponseError when no model produced one."""
        started = time.perf_counter()
        order = self._model_order()
        failure: LLMError | None = None
        for position, model in enumerate(order):
            last_choice = position == len(order) - 1
            try:
                result = await self.client.complete(
                    model,
                    messages,
                    max_tokens=max_tokens or self.max_tokens,
                    temperature=self.temperature if temperature is None else temperature,
                    top_p=CHAT_TOP_P,
                    retry=last_choice,
                )
            except LLMError as exc:
                failure = exc
                if exc.kind == "fatal" or last_choice:
                    break
                logger.warning(
                    "chat model %s failed (%s), trying %s", model, exc.message, order[position + 1]
                )
                continue
            latency_ms = (time.perf_counter() - started) * 1000
            return replace(result, latency_ms=latency_ms, fallback_used=model != self.primary_model)
        assert failure is not None
        message = f"{failure.message} (no reply from {' or '.join(order[: position + 1])})"
        if isinstance(failure, LLMResponseError):
            raise LLMResponseError(message) from failure
        raise LLMUnavailableError(message, kind=failure.kind, http_status=failure.http_status) from failure

    def _model_order(self) -> list[str]:
        if self.fallback_model is None:
            return [self.primary_model]
        if self.recommended_model() == self.fallback_model:
            self._primary_skipped += 1
            if self._primary_skipped % SWITCH_TRIAL_EVERY != 0:
                return [self.fallback_model, self.primary_model]
        return [self.primary_model, self.fallback_model]
