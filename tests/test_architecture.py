"""The code's shape, checked: every module imports on its own, no two modules need each other, the services
never see the lifespan's container, and SQL lives in repositories (docs/architecture.md, "The map")."""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gateway", "embedding_service", "discord_bot", "companion_common")
# SQL outside a repository: the migrator (it applies migrations/ and records them) and the pool's own ping.
# The migrator and the pool's ping run SQL; the security corpus only quotes it (attacks asking for a dump).
SQL_ALLOWED = {"gateway/migrator.py", "gateway/db.py", "gateway/security/corpus.py"}
SQL = re.compile(r"\b(?:SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b", re.S)


def modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            yield name, path


MODULES = dict(modules())


def _target(name: str) -> str | None:
    """The module ``name`` refers to, or its nearest package that is one of ours."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def imports(name: str, path: Path) -> set[str]:
    """Every module of ours that ``name`` imports anywhere (top level, functions, TYPE_CHECKING blocks)."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(t for alias in node.names if (t := _target(alias.name)))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                target = (
                    _target(f"{base}.{alias.name}") if f"{base}.{alias.name}" in MODULES else _target(base)
                )
                if target:
                    found.add(target)
    found.discard(name)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph[node]:
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_imports_on_its_own(name: str) -> None:
    """Each module imports without the others having been imported first."""
    importlib.import_module(name)


def test_no_two_modules_import_each_other() -> None:
    """The import graph (every import, including those inside functions) has no cycle."""
    graph = {name: imports(name, path) for name, path in MODULES.items()}
    # A package importing its own submodules (re-exports) is not a dependency between modules.
    for name in graph:
        graph[name] = {
            t for t in graph[name] if not (MODULES[name].name == "__init__.py" and t.startswith(name + "."))
        }
        graph[name] = {
            t for t in graph[name] if not (name.startswith(t + ".") and MODULES[t].name == "__init__.py")
        }
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    """The checker itself: a → b → c → a is reported, a → b alone is not."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_service_sees_the_lifespan_container() -> None:
    """Only the wiring (gateway/app.py) builds ``Services``; routes take one service each through
    ``gateway/deps.py``, and no service or repository imports it."""
    for name, path in MODULES.items():
        uses = "gateway.deps" in imports(name, path)
        if name in ("gateway.app", "gateway.deps") or name.endswith(".router"):
            continue
        assert not uses, f"{name} imports gateway.deps"
    assert "gateway.context" not in MODULES


def test_sql_lives_in_repositories() -> None:
    """No SQL statement in a string outside a repository (``repository.py``, ``<what>_repository.py``), but
    the migrator and the pool's ping (and attack texts that quote SQL in the security corpus)."""
    offenders: list[str] = []
    for name, path in MODULES.items():
        relative = path.relative_to(ROOT).as_posix()
        if path.name.endswith("repository.py") or relative in SQL_ALLOWED or not name.startswith("gateway"):
            continue
        tree = ast.parse(path.read_text(), relative)
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                if SQL.search(node.value):
                    offenders.append(f"{relative}:{node.lineno}")
    assert offenders == [], "\n".join(offenders)


# SQL that leaves state in the session, past its transaction (docs/architecture.md#decisions, D16).
SESSION_STATE = re.compile(
    r"pg_(?:try_)?advisory_lock(?:_shared)?\s*\(|set_config\s*\([^)]*\bfalse\b|(?:^|;)\s*SET\s+(?!LOCAL\b)"
    r"|\bLISTEN\b|\bCREATE\s+(?:TEMP|TEMPORARY)\b|\bWITH\s+HOLD\b"
)
# The migrator runs on a connection of its own, never a pooled one.
SESSION_STATE_ALLOWED = {"gateway/migrator.py"}


def session_state_offenders(source: str, relative: str) -> list[str]:
    """Functions whose SQL leaves state in the session but never call ``keeps_session_state``."""
    offenders = []
    for node in ast.walk(ast.parse(source, relative)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        docstring = ast.get_docstring(node, clean=False)
        strings = [
            n.value
            for n in ast.walk(node)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value != docstring
        ]
        marks = any(
            isinstance(n, ast.Call)
            and getattr(n.func, "id", getattr(n.func, "attr", "")) == "keeps_session_state"
            for n in ast.walk(node)
        )
        if not marks and any(SESSION_STATE.search(text) for text in strings):
            offenders.append(f"{relative}:{node.lineno} {node.name}")
    return offenders


def test_sql_that_keeps_session_state_marks_its_connection() -> None:
    """A pooled connection is reset when given back only if marked (gateway.db.keeps_session_state): a session
    advisory lock or a session setting taken without the mark would outlive its user."""
    offenders: list[str] = []
    for name, path in MODULES.items():
        relative = path.relative_to(ROOT).as_posix()
        if name.startswith("gateway") and relative not in SESSION_STATE_ALLOWED:
            offenders += session_state_offenders(path.read_text(), relative)
    assert offenders == [], "\n".join(offenders)


def test_the_session_state_check_finds_an_unmarked_lock() -> None:
    unmarked = 'async def f(conn):\n    await conn.execute("SELECT pg_advisory_lock(1)")\n'
    marked = (
        "async def f(conn):\n    keeps_session_state(conn)\n"
        '    await conn.execute("SELECT set_config(\'lock_timeout\', $1, false)", "1s")\n'
    )
    scoped = 'async def f(conn):\n    await conn.execute("SELECT pg_advisory_xact_lock(1)")\n'
    updated = 'async def f(conn):\n    await conn.execute("UPDATE t SET a = 1")\n'
    assert session_state_offenders(unmarked, "x.py") == ["x.py:1 f"]
    assert session_state_offenders(marked, "x.py") == []
    assert session_state_offenders(scoped, "x.py") == []
    assert session_state_offenders(updated, "x.py") == []
