"""The docs and the API agree: every route the docs name exists, every request body has an example, and
every operation has a summary or description."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from gateway.app import create_app
from gateway.config import AuthSettings, DatabaseSettings, Settings

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# "GET /api/users/{user_id}", "POST /api/chat/{user_id}/messages", with or without backticks.
ROUTE = re.compile(r"\b(GET|POST|PATCH|PUT|DELETE)\s+`?(/(?:api|health)[^\s`),;]*)")


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    settings = Settings.load(
        env_file=None,
        database=DatabaseSettings(url="postgresql://docs:docs@127.0.0.1:1/docs", _env_file=None),  # type: ignore[call-arg]
        auth=AuthSettings(gateway_service_token="t" * 32, admin_api_key="a" * 32, _env_file=None),  # type: ignore[call-arg]
    )
    spec: dict[str, Any] = create_app(settings).openapi()
    return spec


def shape(path: str) -> str:
    """``/api/memory/{user_id}/memories/{memory_id}`` -> ``/api/memory/{}/memories/{}`` (names don't matter),
    and a query string or trailing punctuation dropped."""
    path = path.split("?")[0].rstrip(".:")
    return re.sub(r"\{[^}]*\}", "{}", path.rstrip("/")) or "/"


def documented_routes() -> list[tuple[str, str, str]]:
    found = []
    for doc in DOCS:
        for method, path in ROUTE.findall(doc.read_text()):
            found.append((doc.name, method, path))
    return found


def test_the_docs_name_routes_at_all() -> None:
    assert len(documented_routes()) >= 30


def test_every_route_in_the_docs_exists(openapi: dict[str, Any]) -> None:
    existing = {(method.upper(), shape(path)) for path, ops in openapi["paths"].items() for method in ops}
    existing |= {("GET", "/health"), ("GET", "/health/ready"), ("GET", "/metrics"), ("GET", "/api/docs")}
    missing = [f"{doc}: {m} {p}" for doc, m, p in documented_routes() if (m, shape(p)) not in existing]
    assert not missing, "documented but not served:\n" + "\n".join(missing)


def test_every_request_body_has_an_example_and_every_route_a_description(openapi: dict[str, Any]) -> None:
    components = openapi["components"]["schemas"]
    problems = []
    for path, ops in openapi["paths"].items():
        for method, op in ops.items():
            if not (op.get("summary") or op.get("description")):
                problems.append(f"{method.upper()} {path}: no description")
            body = op.get("requestBody")
            if body is None:
                continue
            schema = body["content"]["application/json"]["schema"]
            # An optional body is anyOf [the model, null].
            schema = next((option for option in schema.get("anyOf", []) if "$ref" in option), schema)
            if "$ref" in schema:
                schema = components[schema["$ref"].rsplit("/", 1)[-1]]
            fields = schema.get("properties", {}).values()
            if not ("examples" in schema or "example" in schema or any("examples" in f for f in fields)):
                problems.append(f"{method.upper()} {path}: request body without an example")
    assert not problems, "\n".join(problems)
