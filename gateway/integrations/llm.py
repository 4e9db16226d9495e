"""The fast LLM (Groq, through its official SDK) behind every quick judgement: importance, injection judging,
appraisal, quirk mining, summaries, proactive starters.

Every caller has a local fallback, so this client's job is to fail fast and clearly: a bounded retry of its
own (the SDK's is off), one error family (``LLMError``), and a short-circuit that stops calling a dead Groq
for a while so it adds no latency to every message.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import groq

from gateway.config import GroqSettings
from gateway.errors import CompanionError

logger = logging.getLogger(__name__)

Message = Mapping[str, str]  # {"role": "system" | "user" | "assistant", "content": ...}

# The groq SDK appends /openai/v1/... to its base URL; a base URL copied from Groq's OpenAI-compatible docs
# already ends with it.
_SDK_PATH_SUFFIX = "/openai/v1"
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)\s*```", re.DOTALL)


class LLMError(CompanionError):
    """The fast LLM gave no usable answer; callers fall back to their local heuristic."""

    status_code = 503


class LLMUnavailableError(LLMError):
    """No answer: Groq is down, slow, rate limiting, refusing us, or short-circuited after repeated failures."""


class LLMResponseError(LLMError):
    """Groq answered, but not with what was asked for (empty, or not the requested JSON object)."""

    status_code = 502


@dataclass(frozen=True)
class LLMResult:
    text: str
    model: str
    latency_ms: float  # the whole call, retries and waits included
    tokens: int | None  # total tokens as reported by the server


@dataclass
class ModelStats:
    calls: int = 0
    successes: int = 0
    failures: int = 0
    short_circuited: int = 0  # calls refused without a request while the short-circuit was open
    total_latency_ms: float = 0.0  # of successful calls

    def as_dict(self) -> dict[str, float | int]:
        mean = self.total_latency_ms / self.successes if self.successes else 0.0
        return {
            "calls": self.calls,
            "successes": self.successes,
            "failures": self.failures,
            "short_circuited": self.short_circuited,
            "mean_latency_ms": round(mean, 1),
        }


class _Attempt(Exception):
    """One failed request, classified: whether and how soon it may be retried."""

    def __init__(self, message: str, *, kind: str, wait: float | None = None, counts: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind  # "rate_limit" | "transient" | "fatal"
        self.wait = wait  # the server's Retry-After, for rate limits
        self.counts = counts  # whether it says Groq is unusable (feeds the short-circuit)


class FastLLM:
    """A Groq chat client with bounded retries, per-model stats and a short-circuit.

    Retries share one budget (``max_retries``): a 429 waits the server's Retry-After when it is at most
    ``rate_limit_wait_cap_seconds`` (giving up at once when it asks for longer), else ``backoff_seconds``
    doubling; a 5xx, timeout or connection error gets one quick retry; anything else fails at once.
    After ``failure_threshold`` consecutive failed calls, calls fail immediately for ``cooldown_seconds``;
    the first call after the cool-down is a trial that closes the short-circuit again if it succeeds.
    """

    def __init__(
        self,
        api_key: str,
        *,
        model: str,
        base_url: str | None = None,
        timeout_seconds: float = 10.0,
        max_retries: int = 2,
        failure_threshold: int = 5,
        cooldown_seconds: float = 30.0,
        rate_limit_wait_cap_seconds: float = 5.0,
        backoff_seconds: float = 1.0,
        transient_retry_delay_seconds: float = 0.2,
    ) -> None:
        if not api_key.strip():
            raise ValueError("FastLLM needs an API key; use FastLLM.from_settings to get None without one")
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.model = model
        self.timeout_seconds = timeout_seconds
        self._max_retries = max_retries
        self._failure_threshold = failure_threshold
        self._cooldown_seconds = cooldown_seconds
        self._rate_limit_wait_cap = rate_limit_wait_cap_seconds
        self._backoff_seconds = backoff_seconds
        self._transient_delay = transient_retry_delay_seconds
        self._client = groq.AsyncGroq(
            api_key=api_key,
            base_url=_sdk_base_url(base_url) if base_url else None,
            timeout=timeout_seconds,
            max_retries=0,
        )
        self._consecutive_failures = 0
        self._open_until = 0.0  # monotonic time before which calls are refused
        self._stats: dict[str, ModelStats] = {}

    @classmethod
    def from_settings(cls, settings: GroqSettings, **overrides: Any) -> FastLLM | None:
        """The client configured by ``GROQ_*``; None when no key is set (every caller then uses its fallback).

        ``overrides`` are constructor arguments not in the settings (short-circuit and retry timings).
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
        """Per-model counters and mean latency, for /health and the admin API."""
        return {model: stats.as_dict() for model, stats in self._stats.items()}

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
        stats = self._stats.setdefault(model, ModelStats())
        stats.calls += 1
        if self.circuit_open:
            stats.short_circuited += 1
            remaining = self._open_until - time.monotonic()
            raise LLMUnavailableError(
                f"Groq is short-circuited after {self._consecutive_failures} consecutive failures; "
                f"retrying in {max(remaining, 0.0):.1f} s"
            )
        started = time.perf_counter()
        try:
            response = await self._create_with_retries(messages, model, max_tokens, temperature, json_mode)
        except _Attempt as failure:
            stats.failures += 1
            if failure.counts:
                self._record_failure()
            raise LLMUnavailableError(f"Groq ({model}): {failure.message}") from failure.__cause__
        latency_ms = (time.perf_counter() - started) * 1000
        self._consecutive_failures = 0
        self._open_until = 0.0

        choice = response.choices[0] if response.choices else None
        text = (choice.message.content or "").strip() if choice is not None else ""
        if not text:
            stats.failures += 1
            raise LLMResponseError(f"Groq ({model}) returned an empty reply")
        stats.successes += 1
        stats.total_latency_ms += latency_ms
        usage = response.usage
        return LLMResult(
            text=text,
            model=response.model or model,
            latency_ms=latency_ms,
            tokens=usage.total_tokens if usage is not None else None,
        )

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
        await self._client.close()

    def _record_failure(self) -> None:
        self._consecutive_failures += 1
        if self._consecutive_failures >= self._failure_threshold:
            self._open_until = time.monotonic() + self._cooldown_seconds
            logger.warning(
                "Groq failed %d times in a row; skipping it for %.0f s",
                self._consecutive_failures,
                self._cooldown_seconds,
            )

    async def _create_with_retries(
        self, messages: Sequence[Message], model: str, max_tokens: int, temperature: float, json_mode: bool
    ) -> Any:
        retries = 0
        transient_retried = False
        while True:
            try:
                return await self._create(messages, model, max_tokens, temperature, json_mode)
            except _Attempt as failure:
                if failure.kind == "fatal" or retries >= self._max_retries:
                    raise
                if failure.kind == "rate_limit":
                    if failure.wait is not None and failure.wait > self._rate_limit_wait_cap:
                        raise _Attempt(
                            f"{failure.message}; Retry-After {failure.wait:g} s exceeds the "
                            f"{self._rate_limit_wait_cap:g} s cap",
                            kind="fatal",
                        ) from failure.__cause__
                    delay = failure.wait if failure.wait is not None else self._backoff_seconds * 2**retries
                else:
                    if transient_retried:
                        raise
                    transient_retried = True
                    delay = self._transient_delay
                retries += 1
                logger.info("Groq (%s): %s; retry %d in %.2f s", model, failure.message, retries, delay)
                await asyncio.sleep(delay)

    async def _create(
        self, messages: Sequence[Message], model: str, max_tokens: int, temperature: float, json_mode: bool
    ) -> Any:
        extra: dict[str, Any] = {"response_format": {"type": "json_object"}} if json_mode else {}
        try:
            return await self._client.chat.completions.create(
                model=model,
                messages=[dict(m) for m in messages],  # type: ignore[misc]
                max_tokens=max_tokens,
                temperature=temperature,
                **extra,
            )
        except groq.APITimeoutError as exc:
            raise _Attempt(f"timed out after {self.timeout_seconds:g} s", kind="transient") from exc
        except groq.APIConnectionError as exc:
            raise _Attempt(f"unreachable: {exc}", kind="transient") from exc
        except groq.RateLimitError as exc:
            raise _Attempt(
                "rate limited (429)", kind="rate_limit", wait=_retry_after(exc.response.headers)
            ) from exc
        except groq.APIStatusError as exc:
            status = exc.status_code
            detail = f"answered {status}: {_error_message(exc)}"
            if status >= 500:
                raise _Attempt(detail, kind="transient") from exc
            # 401/403/404 mean a wrong key, model or URL: every call will fail the same way. A 400 or 422
            # may be about this one request, so it does not count towards the short-circuit.
            raise _Attempt(detail, kind="fatal", counts=status in (401, 403, 404)) from exc
        except groq.APIError as exc:  # e.g. a 2xx body the SDK could not read
            raise _Attempt(f"unreadable response: {exc}", kind="fatal") from exc


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
    raise LLMResponseError(f"Groq did not return a JSON object: {text[:200]!r}")


def _sdk_base_url(base_url: str) -> str:
    url = base_url.rstrip("/")
    return url.removesuffix(_SDK_PATH_SUFFIX) if url.endswith(_SDK_PATH_SUFFIX) else url


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds; HTTP dates are treated as absent)."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            seconds = float(raw) * scale
        except ValueError:
            continue
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return None


def _error_message(exc: groq.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])[:300]
    return str(exc.message)[:300]
