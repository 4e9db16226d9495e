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


# --- the deployment guide is what the compose check runs ------------------------------------------------

COMPOSE_CHECK = REPO / "scripts" / "compose_check.sh"
# Run by ../shared/compose-check/compose_check.sh, the harness scripts/compose_check.sh starts with: it writes
# .env exactly so (cp, the secrets loop) and builds and starts the stack (`up -d --build`, one image at a time).
RUN_BY_THE_HARNESS = (
    "git clone <this repository> companion && cd companion",
    "cp .env.example .env && chmod 600 .env",
    "for name in POSTGRES_PASSWORD",
    'sed -i "s/^$name=$/$name=$(openssl rand -hex 32)/" .env',
    "done",
    "docker compose up -d --build",
)


def _compose_check_code() -> str:
    """The compose check's command lines: not its comments, nor the names of its checks."""
    lines = (line.strip() for line in COMPOSE_CHECK.read_text().splitlines())
    return "\n".join(line for line in lines if not line.startswith(("#", "check ", "log ")))


def _shell_commands(markdown: str) -> list[list[str]]:
    """Each ```sh block of a page, as its command lines without comments (one list per block)."""
    blocks = re.findall(r"```sh\n(.*?)```", markdown, re.S)
    return [
        [line for raw in block.splitlines() if (line := re.sub(r"(^|\s+)#\s.*$", "", raw).strip())]
        for block in blocks
    ]


def test_every_deployment_command_runs_in_the_compose_check_in_the_guides_order() -> None:
    """docs/deployment.md's commands are the ones CI runs against the booted stack (scripts/compose_check.sh),
    in the order a self-hoster types them: the Deploy block up to `up -d --build` is the harness's own steps,
    the rest of it runs as extracted from this page, every later command is in the script as written."""
    script = _compose_check_code()
    deploy, *blocks = _shell_commands((REPO / "docs" / "deployment.md").read_text())
    up = deploy.index("docker compose up -d --build")
    assert all(command.startswith(RUN_BY_THE_HARNESS) for command in deploy[:up])
    assert 'split("docker compose up -d --build' in script and len(deploy[up + 1 :]) >= 3
    # Creating Letta's role by hand is only for a postgres_data volume older than the init script: the
    # check starts from an empty volume, where the init script (tests/test_compose.py) does it.
    blocks = [block for block in blocks if not any("CREATE ROLE letta" in line for line in block)]
    commands = [line for block in blocks for line in block]
    assert len(commands) >= 3
    position = 0
    for command in commands:
        found = script.find(command, position)
        assert found >= 0, f"scripts/compose_check.sh does not run (after the previous one): {command}"
        position = found + len(command)


def test_the_compose_part_of_operations_runs_in_the_compose_check() -> None:
    """docs/operations.md's "once per shell" commands for a compose deployment are run as written."""
    script = _compose_check_code()
    section = (REPO / "docs" / "operations.md").read_text().split("### Reaching a compose deployment", 1)[1]
    (first, *_) = _shell_commands(section)
    # `make install` made the venv CI already uses (the check runs after `make test`).
    commands = [command for command in first if command != "make install"]
    assert any(command.startswith("export DATABASE_URL=") for command in commands)
    position = 0
    for command in commands:
        found = script.find(command, position)
        assert found >= 0, f"scripts/compose_check.sh does not run: {command}"
        position = found + len(command)
