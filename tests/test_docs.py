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


# --- the repository explains itself: code cites these docs, and every citation resolves ------------------

CODE_DIRS = ("gateway", "embedding_service", "discord_bot", "scripts", "benchmarks")
# Everything else that carries comments or prose. Not migrations/: an applied migration is checksummed and
# never edited (gateway/migrator.py), so 008's first line keeps the section number it was written with.
OTHER_SOURCES = ("tests", "docs")
OTHER_FILES = ("README.md", "docker-compose.yml", ".env.example", "Makefile", "Caddyfile", "pyproject.toml")
TEXT_SUFFIXES = {".py", ".md", ".sh", ".sql", ".txt", ".toml", ".yml", ".yaml", ".cfg", ".ini", ""}
# The design document and the plan digest the project started from live outside the repository; what the
# code relies on from them is in docs/architecture.md ("Decisions") and the domain pages.
OUTSIDE_CITATION = re.compile(r"DESIGN\s*§|DESIGN\.md|\bspec\s*§|\[(?:MG0|REF)\]")
# docs/memory.md, docs/memory.md#recall, docs/architecture.md#decisions, D3 (or "D1, D9").
DOCS_CITATION = re.compile(r"\bdocs/([\w.-]+\.md)(?:#([\w-]+))?((?:,\s*D\d+)*)")
# [`memory.md`](memory.md#recall), [text](#local-anchor), [`architecture.md`](architecture.md#decisions), D13
MARKDOWN_LINK = re.compile(r"\]\(((?:[\w./-]+\.md)?)(?:#([\w-]+))?\)((?:,\s*D\d+)*)")
DECISION = re.compile(r"^\*\*D(\d+)\.", re.M)


def _text_files(*roots: str) -> list[Path]:
    files: list[Path] = []
    for root in roots:
        path = REPO / root
        if path.is_file():
            files.append(path)
            continue
        files += [
            p
            for p in sorted(path.rglob("*"))
            if p.is_file() and p.suffix in TEXT_SUFFIXES and "__pycache__" not in p.parts
        ]
    return files


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives a page's headings: lower-cased, punctuation dropped, spaces as hyphens, a
    repeated heading suffixed -1, -2... Lines inside fenced code blocks are not headings."""
    anchors: set[str] = set()
    fenced = False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        match = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if fenced or not match:
            continue
        anchor = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
        candidate, n = anchor, 0
        while candidate in anchors:
            n += 1
            candidate = f"{anchor}-{n}"
        anchors.add(candidate)
    return anchors


def decisions() -> set[str]:
    section = (
        (REPO / "docs" / "architecture.md").read_text().split("\n## Decisions\n", 1)[1].split("\n## ", 1)[0]
    )
    return {f"D{number}" for number in DECISION.findall(section)}


def _check_target(page: Path, anchor: str, entries: str, where: str) -> list[str]:
    if not page.is_file():
        return [f"{where}: {page.relative_to(REPO)} does not exist"]
    problems = []
    if anchor and anchor not in github_anchors(page.read_text()):
        problems.append(f"{where}: {page.relative_to(REPO)} has no section #{anchor}")
    for entry in re.findall(r"D\d+", entries):
        if page.name != "architecture.md" or anchor != "decisions":
            problems.append(f"{where}: {entry} cited without docs/architecture.md#decisions")
        elif entry not in decisions():
            problems.append(f"{where}: docs/architecture.md#decisions has no {entry}")
    return problems


def test_github_anchors() -> None:
    page = (
        "# Memory\n## Storage: Postgres first, the index second\n"
        "```sh\n# not a heading\n```\n"
        "## API (`/a/{b}`)\n## Jobs\n## Jobs\n"
    )
    assert github_anchors(page) == {
        "memory",
        "storage-postgres-first-the-index-second",
        "api-ab",
        "jobs",
        "jobs-1",
    }


def test_the_decisions_are_numbered_in_order() -> None:
    numbers = sorted(int(entry[1:]) for entry in decisions())
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 10


def test_no_code_cites_a_document_outside_the_repository() -> None:
    """gateway/, embedding_service/, discord_bot/, scripts/ and benchmarks/ (and the tests, docs and top-level
    files) cite docs/, never the design document or plan digest the project started from."""
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in _text_files(*CODE_DIRS, *OTHER_SOURCES, *OTHER_FILES)
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
        if OUTSIDE_CITATION.search(line)
    ]
    assert len(_text_files(*CODE_DIRS)) > 100
    assert not found, "cite docs/ instead (docs/architecture.md#decisions):\n" + "\n".join(found)


def test_every_docs_citation_in_the_code_resolves() -> None:
    """Every ``docs/<page>.md``, ``docs/<page>.md#<section>`` and ``docs/architecture.md#decisions, D<n>``
    written in the code, tests or top-level files names a page, a section and a decision that exist."""
    problems: list[str] = []
    cited = 0
    for path in _text_files(*CODE_DIRS, "tests", *OTHER_FILES):
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for page, anchor, entries in DOCS_CITATION.findall(line):
                cited += 1
                where = f"{path.relative_to(REPO)}:{number}"
                problems += _check_target(REPO / "docs" / page, anchor, entries, where)
    assert cited >= 40
    assert not problems, "\n".join(problems)


def test_every_link_between_the_docs_resolves() -> None:
    """Every markdown link of README.md and docs/ to a page of docs/ (or a section, or a decision) exists."""
    problems: list[str] = []
    for doc in DOCS:
        for number, line in enumerate(doc.read_text().splitlines(), 1):
            for target, anchor, entries in MARKDOWN_LINK.findall(line):
                page = (doc.parent / target).resolve() if target else doc
                if page.suffix != ".md" or REPO not in page.parents:
                    continue
                problems += _check_target(page, anchor, entries, f"{doc.relative_to(REPO)}:{number}")
    assert not problems, "\n".join(problems)
