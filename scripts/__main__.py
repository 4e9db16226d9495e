"""Operator commands: ``python -m scripts <command>``; every command and what it does is listed below.

- ``run``: bring the embedded local stack up, open the terminal chat, stop everything on exit (Ctrl-C).
- ``up`` / ``down`` / ``status``: manage the stack's processes (state in COMPANION_HOME, default ./.companion).
- ``migrate``: apply pending migrations to DATABASE_URL.
- ``reindex [--backlog]``: rebuild the memory index (Qdrant at QDRANT_URL, else pgvector) from Postgres, or
  index only the memories written while the index was down.
- ``chat``: the terminal chat against a gateway that is already running.
- ``letta [--port N] [--install-only]``: install Letta 0.6.8 into COMPANION_HOME/letta-venv (once) and run it.
- ``backup [--out DIR] [--include-secrets]`` / ``restore ARCHIVE [--yes]``: one archive of Postgres, Redis
  state, Qdrant snapshots and config; restore checks every count against it (docs/operations.md).
- ``monitor [--watch SECONDS] [--json]``: the health of every service; exit 1 when something is down.
- ``retention [--apply]``: what the retention policy deletes or lowers (dry run unless --apply).
- ``reembed [--model NAME] [--batch N] [--dry-run]``: re-embed memories of another model (or none) with the
  embedding service's current model, then index them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from typing import TYPE_CHECKING

from dotenv import dotenv_values

if TYPE_CHECKING:
    from scripts.localstack import LocalStack


def _environment() -> dict[str, str]:
    """``.env`` (if any) under the process environment: an exported variable always wins."""
    values = {k: v for k, v in dotenv_values(".env").items() if v is not None}
    values.update(os.environ)
    return values


def _stack() -> LocalStack:
    from scripts.localstack import LocalStack, StackConfig

    return LocalStack(StackConfig.from_env(_environment()))


def cmd_up(args: argparse.Namespace) -> int:
    stack = _stack()
    started = time.perf_counter()
    stack.up()
    print(
        f"stack up in {time.perf_counter() - started:.1f}s: gateway {stack.gateway.base_url}, state {stack.config.home}"
    )
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    _stack().down()
    print("stack stopped")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    for name, pid in _stack().status().items():
        print(f"{name:18} {'running (pid ' + str(pid) + ')' if pid else 'stopped'}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from gateway.migrator import MigrationError, migrate

    dsn = _environment().get("DATABASE_URL", "")
    if not dsn:
        print("config error: DATABASE_URL: is required but not set", file=sys.stderr)
        return 2
    try:
        applied = asyncio.run(migrate(dsn))
    except MigrationError as exc:
        print(f"migration failed: {exc}", file=sys.stderr)
        return 1
    print("applied: " + ", ".join(applied) if applied else "database is up to date")
    return 0


def cmd_reindex(args: argparse.Namespace) -> int:
    import asyncpg

    from gateway.memory.index import VectorIndexError
    from gateway.memory.reindex import reindex_command

    env = _environment()
    dsn = env.get("DATABASE_URL", "")
    if not dsn:
        print("config error: DATABASE_URL: is required but not set", file=sys.stderr)
        return 2
    try:
        total = asyncio.run(
            reindex_command(
                dsn,
                env.get("QDRANT_URL") or None,
                qdrant_api_key=env.get("QDRANT_API_KEY"),
                backlog_only=args.backlog,
            )
        )
    except (VectorIndexError, OSError, ValueError, asyncpg.PostgresError) as exc:
        print(f"reindex failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"indexed {total} memories")
    return 0


def cmd_letta(args: argparse.Namespace) -> int:
    from scripts.letta_server import LettaInstall, companion_home, running_letta

    env = _environment()
    install = LettaInstall.default(env)
    if not install.installed():
        print(f"installing Letta into {install.venv} (once; log in {install.log_file}) ...", flush=True)
    try:
        print(f"Letta ready to run ({install.ensure():.1f}s)", flush=True)
    except KeyboardInterrupt:
        print("\ninstall interrupted; the next run starts it over", file=sys.stderr)
        return 130
    if args.install_only:
        return 0
    data_dir = companion_home(env) / "letta-data"
    with running_letta(env, port=args.port, data_dir=data_dir) as server:
        print(f"Letta {server.base_url} (data in {data_dir}); Ctrl-C stops it", flush=True)
        try:
            while server.running():
                time.sleep(0.5)
        except KeyboardInterrupt:
            print()
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from scripts.backup import run_backup

    return run_backup(_environment(), Path(args.out), args.include_secrets)


def cmd_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from scripts.backup import run_restore

    return run_restore(_environment(), Path(args.archive), args.yes)


def cmd_monitor(args: argparse.Namespace) -> int:
    from scripts.monitor import run_monitor

    return run_monitor(_environment(), watch=args.watch, as_json=args.json)


def cmd_retention(args: argparse.Namespace) -> int:
    from scripts.retention import run_retention

    return run_retention(_environment(), apply=args.apply, as_json=args.json)


def cmd_reembed(args: argparse.Namespace) -> int:
    from scripts.reembed import run_reembed

    return run_reembed(_environment(), model=args.model, batch=args.batch, dry_run=args.dry_run)


def cmd_chat(args: argparse.Namespace) -> int:
    from scripts.chat import run_chat

    env = _environment()
    stack = _stack()
    base_url = env.get("GATEWAY_URL") or stack.gateway.base_url
    token = env.get("GATEWAY_SERVICE_TOKEN") or stack.secrets["GATEWAY_SERVICE_TOKEN"]
    run_chat(base_url, token, args.user)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from scripts.chat import run_chat

    stack = _stack()
    started = time.perf_counter()
    try:
        print(f"starting the local stack in {stack.config.home} ...", flush=True)
        stack.up()
        print(f"ready in {time.perf_counter() - started:.1f}s", flush=True)
        run_chat(stack.gateway.base_url, stack.secrets["GATEWAY_SERVICE_TOKEN"], args.user)
    except KeyboardInterrupt:
        print()
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the shutdown short
        print("stopping the local stack ...", flush=True)
        stack.down()
        print("stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    from scripts.localstack import StackError

    parser = argparse.ArgumentParser(prog="python -m scripts", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, handler in (
        ("up", cmd_up),
        ("down", cmd_down),
        ("status", cmd_status),
        ("migrate", cmd_migrate),
    ):
        sub.add_parser(name).set_defaults(handler=handler)
    reindex_parser = sub.add_parser("reindex")
    reindex_parser.add_argument("--backlog", action="store_true", help="only memories not indexed yet")
    reindex_parser.set_defaults(handler=cmd_reindex)
    letta_parser = sub.add_parser("letta", help="install (once) and run a local Letta 0.6.8 server")
    letta_parser.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    letta_parser.add_argument("--install-only", action="store_true", help="install into the cache and exit")
    letta_parser.set_defaults(handler=cmd_letta)
    backup_parser = sub.add_parser("backup", help="archive Postgres, Redis state, Qdrant and config")
    backup_parser.add_argument(
        "--out", default="backups", help="directory for the archive (default ./backups)"
    )
    backup_parser.add_argument(
        "--include-secrets", action="store_true", help="also store passwords, tokens and keys (keep it safe)"
    )
    backup_parser.set_defaults(handler=cmd_backup)
    restore_parser = sub.add_parser("restore", help="restore an archive made by `backup`, then verify counts")
    restore_parser.add_argument("archive", help="a companion-backup-*.tar.gz (or its unpacked directory)")
    restore_parser.add_argument("--yes", action="store_true", help="replace a target that already has data")
    restore_parser.set_defaults(handler=cmd_restore)
    monitor_parser = sub.add_parser("monitor", help="the health of every service; exit 1 when one is down")
    monitor_parser.add_argument("--watch", type=float, default=0, metavar="SECONDS", help="repeat every N s")
    monitor_parser.add_argument("--json", action="store_true", help="one JSON object per check round")
    monitor_parser.set_defaults(handler=cmd_monitor)
    retention_parser = sub.add_parser("retention", help="apply the retention policy (dry run by default)")
    retention_parser.add_argument("--apply", action="store_true", help="do it (default: only list)")
    retention_parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    retention_parser.set_defaults(handler=cmd_retention)
    reembed_parser = sub.add_parser("reembed", help="re-embed memories of another model, then index them")
    reembed_parser.add_argument("--model", help="only memories tagged with this (old) model")
    reembed_parser.add_argument("--batch", type=int, default=100, help="memories per embedding request")
    reembed_parser.add_argument("--dry-run", action="store_true", help="only count what would be re-embedded")
    reembed_parser.set_defaults(handler=cmd_reembed)
    for name, handler in (("run", cmd_run), ("chat", cmd_chat)):
        chat_parser = sub.add_parser(name)
        chat_parser.add_argument("--user", help="user id to chat as (default local-<login>)")
        chat_parser.set_defaults(handler=handler)
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except StackError as exc:
        print(f"stack error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
