"""``python -m scripts monitor``: the health of every service, once or every N seconds; exit 1 when one is down.

What is checked (each with its latency):

- the gateway's liveness (``/health``) and readiness (``/health/ready``): every dependency the gateway
  reports (Postgres, Redis, the embedding service, the vector index, and whatever it adds later) becomes a
  line ``gateway → <name>``;
- the embedding service's ``/health`` (provider, model, dimensions, cache);
- the Discord bot through the gateway (``GET /api/admin/bot`` with the admin key): registered and its push
  server reachable. No registration is a failure only when ``DISCORD_TOKEN`` is set (a bot is expected);
  a gateway without that route is reported and skipped;
- Qdrant (``/readyz``) and Letta (``/v1/health/``) when ``QDRANT_URL`` / ``LETTA_SERVER_URL`` are set.

Targets follow scripts/targets.py: the local stack, or the URLs in the environment.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from scripts.targets import TargetError, Targets

TIMEOUT = httpx.Timeout(5.0, connect=3.0)


@dataclass
class Probe:
    name: str
    ok: bool
    latency_ms: float | None = None
    detail: str | None = None
    required: bool = True  # a failed optional probe is shown but does not fail the run


@dataclass
class Report:
    checked_at: str
    probes: list[Probe]

    @property
    def ok(self) -> bool:
        return all(p.ok or not p.required for p in self.probes)

    @property
    def down(self) -> list[str]:
        return [p.name for p in self.probes if p.required and not p.ok]

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.ok else "down",
            "checked_at": self.checked_at,
            "down": self.down,
            "checks": [asdict(p) for p in self.probes],
        }


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _error(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, httpx.ConnectError):
        return "unreachable (connection refused or no route)"
    return f"{type(exc).__name__}: {exc}"[:300]


async def _get(
    http: httpx.AsyncClient, url: str, headers: Mapping[str, str] | None = None
) -> tuple[httpx.Response | None, float, str | None]:
    started = time.perf_counter()
    try:
        response = await http.get(url, headers=dict(headers or {}))
    except httpx.HTTPError as exc:
        return None, _ms(started), _error(exc)
    return response, _ms(started), None


async def check_gateway(http: httpx.AsyncClient, base_url: str) -> list[Probe]:
    response, latency, error = await _get(http, base_url.rstrip("/") + "/health/ready")
    if response is None:
        return [Probe("gateway", False, latency, error)]
    if response.status_code != 200:
        return [Probe("gateway", False, latency, f"/health/ready answered HTTP {response.status_code}")]
    try:
        body = response.json()
        dependencies = body["dependencies"]
    except (ValueError, KeyError, TypeError):
        return [Probe("gateway", False, latency, "/health/ready sent no dependency list")]
    degraded = body.get("degraded") or []
    probes = [Probe("gateway", True, latency, f"status {body.get('status')}" if degraded else None)]
    for name, dep in dependencies.items():
        probes.append(
            Probe(f"gateway → {name}", bool(dep.get("ok")), dep.get("latency_ms"), dep.get("detail"))
        )
    return probes


async def check_embedding(http: httpx.AsyncClient, base_url: str) -> Probe:
    response, latency, error = await _get(http, base_url.rstrip("/") + "/health")
    if response is None:
        return Probe("embedding_service", False, latency, error)
    if response.status_code != 200:
        return Probe("embedding_service", False, latency, f"/health answered HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        return Probe("embedding_service", False, latency, "/health sent no JSON")
    parts = [str(body.get(k)) for k in ("provider", "model", "dimensions") if body.get(k) is not None]
    return Probe("embedding_service", True, latency, " ".join(parts) or None)


async def check_bot(
    http: httpx.AsyncClient, gateway_url: str, admin_key: str | None, expected: bool
) -> Probe:
    if not admin_key:
        return Probe(
            "discord_bot", not expected, None, "no ADMIN_API_KEY: cannot ask the gateway", required=expected
        )
    response, latency, error = await _get(
        http, gateway_url.rstrip("/") + "/api/admin/bot", {"Authorization": f"Bearer {admin_key}"}
    )
    if response is None:
        return Probe("discord_bot", False, latency, f"gateway: {error}", required=expected)
    if response.status_code == 404:
        return Probe(
            "discord_bot", True, latency, "the gateway has no /api/admin/bot: not checked", required=False
        )
    if response.status_code != 200:
        return Probe("discord_bot", False, latency, f"/api/admin/bot answered HTTP {response.status_code}")
    body = response.json()
    if not body.get("registered"):
        detail = "not registered (no heartbeat within its TTL)"
        if not expected:
            detail += "; DISCORD_TOKEN is not set, so none is expected"
        return Probe("discord_bot", not expected, latency, detail, required=expected)
    reachable = body.get("reachable")
    detail = f"push server {body.get('push_url')}"
    if reachable is False:
        detail += f" unreachable: {body.get('detail') or 'no answer'}"
    return Probe("discord_bot", reachable is not False, latency, detail)


async def check_plain(
    http: httpx.AsyncClient, name: str, url: str, headers: Mapping[str, str] | None = None
) -> Probe:
    response, latency, error = await _get(http, url, headers)
    if response is None:
        return Probe(name, False, latency, error)
    if response.status_code != 200:
        return Probe(name, False, latency, f"HTTP {response.status_code}")
    return Probe(name, True, latency)


async def check_all(targets: Targets, bot_expected: bool, http: httpx.AsyncClient | None = None) -> Report:
    """One round of every check, run concurrently."""
    own = http is None
    client = http or httpx.AsyncClient(timeout=TIMEOUT)
    try:
        jobs: list[Awaitable[Probe | list[Probe]]] = []
        if targets.gateway_url:
            jobs.append(check_gateway(client, targets.gateway_url))
            jobs.append(check_bot(client, targets.gateway_url, targets.admin_api_key, bot_expected))
        else:
            jobs.append(_constant(Probe("gateway", False, None, "GATEWAY_URL is not set")))
        if targets.embedding_url:
            jobs.append(check_embedding(client, targets.embedding_url))
        if targets.qdrant_url:
            headers = {"api-key": targets.qdrant_api_key} if targets.qdrant_api_key else {}
            jobs.append(check_plain(client, "qdrant", targets.qdrant_url.rstrip("/") + "/readyz", headers))
        if targets.letta_url:
            jobs.append(check_plain(client, "letta", targets.letta_url.rstrip("/") + "/v1/health/"))
        results = await asyncio.gather(*jobs)
    finally:
        if own:
            await client.aclose()
    probes: list[Probe] = []
    for result in results:
        probes.extend(result if isinstance(result, list) else [result])
    return Report(datetime.now(UTC).isoformat(timespec="seconds"), probes)


async def _constant(probe: Probe) -> Probe:
    return probe


def format_report(report: Report) -> str:
    width = max(len(p.name) for p in report.probes)
    lines = [f"{report.checked_at}  {'all services up' if report.ok else 'DOWN: ' + ', '.join(report.down)}"]
    for p in report.probes:
        mark = "ok  " if p.ok else ("DOWN" if p.required else "warn")
        latency = f"{p.latency_ms:8.1f} ms" if p.latency_ms is not None else " " * 11
        lines.append(f"  {mark} {p.name:{width}} {latency}  {p.detail or ''}".rstrip())
    return "\n".join(lines)


def run_monitor(
    env: Mapping[str, str],
    *,
    watch: float = 0,
    as_json: bool = False,
    rounds: int | None = None,
    emit: Callable[[str], None] = print,
) -> int:
    """Check once (``watch`` 0) or every ``watch`` seconds until Ctrl-C (or ``rounds``); the exit code is the
    last round's: 0 all up, 1 something required is down, 2 a configuration error."""
    try:
        targets = Targets.resolve(env)
    except TargetError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return 2
    bot_expected = bool((env.get("DISCORD_TOKEN") or "").strip())
    done = 0
    code = 0
    try:
        while True:
            report = asyncio.run(check_all(targets, bot_expected))
            emit(json.dumps(report.as_dict()) if as_json else format_report(report))
            code = 0 if report.ok else 1
            done += 1
            if watch <= 0 or (rounds is not None and done >= rounds):
                return code
            time.sleep(watch)
    except KeyboardInterrupt:
        return code
