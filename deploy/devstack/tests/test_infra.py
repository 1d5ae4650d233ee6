"""These start real servers: devstack is only useful if they work on this machine."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import nats
import pytest

from devstack.infra import (
    EmbeddedNats,
    EmbeddedPostgres,
    Infra,
    _bundled_bin_dir,
    _needs_copy,
    _orphan_postmaster,
    _readable_copy,
    _runtime_user,
    drop_databases,
    ensure_databases,
    free_port,
    free_ports,
)


@pytest.fixture(autouse=True)
def _time_limit() -> Iterator[None]:
    # A hung server start must fail its test, not stall the whole CI run.
    def expire(signum: int, frame: object) -> None:
        raise TimeoutError("test took longer than 120 s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def public_tmp() -> Iterator[Path]:
    """A temp dir other users can reach (pytest's tmp_path sits under a 0700 dir)."""
    path = Path(tempfile.mkdtemp(dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def _alive(pid: int) -> bool:
    # A zombie counts as gone: the postmaster is not our child, we cannot reap it.
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=1).close()
        return True
    except OSError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(
            socket.SOL_SOCKET, socket.SO_REUSEADDR, 1
        )  # as servers bind; ignores TIME_WAIT
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


async def _fetchval(url: str, query: str, *args: object) -> object:
    conn = await asyncpg.connect(url, timeout=10)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


def test_free_port_is_bindable_on_loopback() -> None:
    port = free_port()
    assert 0 < port < 65536
    assert _port_free(port)


def test_ports_chosen_together_are_all_different_and_free() -> None:
    for _ in range(2000):  # chosen one at a time, 8 ports had two the same in about 1 round of 300 here
        ports = free_ports(8)
        assert len(set(ports)) == 8
        assert all(_port_free(port) for port in ports)


def test_embedded_nats_jetstream_roundtrip(tmp_path: Path) -> None:
    server = EmbeddedNats(tmp_path)
    url = server.start()
    pid = server.pid
    port = urlsplit(url).port
    assert pid is not None and port is not None
    try:
        assert url.startswith("nats://127.0.0.1:") and port != 4222

        async def roundtrip() -> bytes:
            nc = await nats.connect(url)
            try:
                js = nc.jetstream()
                await js.add_stream(name="DEVSTACK", subjects=["devstack.>"])
                await js.publish("devstack.hello", b"hi")
                sub = await js.pull_subscribe("devstack.>", durable="reader")
                [msg] = await sub.fetch(1, timeout=5)
                await msg.ack()
                return msg.data
            finally:
                await nc.close()

        assert asyncio.run(roundtrip()) == b"hi"
        assert (tmp_path / "nats" / "jetstream").is_dir()
    finally:
        server.stop()
    assert not _alive(pid)
    assert not _listening(url)
    assert _port_free(port)


def test_embedded_postgres_databases(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path, ephemeral=True)
    url = server.start()
    pid = server.pid
    assert pid is not None
    try:
        assert (
            url.startswith("postgresql://postgres@127.0.0.1:")
            and urlsplit(url).port != 5432
        )
        assert asyncio.run(_fetchval(url, "select 1")) == 1
        names = ["studio_booking", 'odd-"name']
        urls = ensure_databases(url, names)
        assert ensure_databases(url, names) == urls  # idempotent
        for name, db_url in urls.items():
            assert asyncio.run(_fetchval(db_url, "select current_database()")) == name

        async def drop_while_connected() -> None:
            # drop_databases must disconnect clients; it runs its own loop: a thread.
            conn = await asyncpg.connect(urls["studio_booking"])
            await asyncio.to_thread(drop_databases, url, names)
            with pytest.raises(
                (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)
            ):
                await conn.fetchval("select 1")
            conn.terminate()

        asyncio.run(drop_while_connected())
        left = asyncio.run(
            _fetchval(
                url,
                "select count(*) from pg_database where datname = any($1)",
                names,
            )
        )
        assert left == 0
        drop_databases(url, names)  # absent databases are fine
    finally:
        server.stop()
    assert not _alive(pid)
    assert not _listening(url)
    assert "database system is shut down" in (tmp_path / "postgres.log").read_text()
    if os.geteuid() == 0:  # the throw-away cluster and socket dir are gone
        assert server.data_dir is not None and not server.data_dir.exists()


def test_bundled_postgres_from_private_dir(tmp_path: Path) -> None:
    # The fresh-machine case: no system PostgreSQL, the venv in a 0700 home (/root).
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    bin_dir = _readable_copy(_bundled_bin_dir(), home / "site-packages")
    user = _runtime_user(os.geteuid())
    if user:
        assert _needs_copy(bin_dir, user.pw_uid)
    server = EmbeddedPostgres(tmp_path / "state", ephemeral=True, bin_dir=bin_dir)
    url = server.start()
    try:
        # As root the server runs from the readable copy in its temp dir, else bin_dir.
        assert server.data_dir is not None
        executable = Path(f"/proc/{server.pid}/exe").resolve()
        assert executable.is_relative_to(
            server.data_dir.parent if user else bin_dir.resolve()
        )
        bundled_major = int(
            subprocess.run(
                [bin_dir / "postgres", "--version"],
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.split()[-1]
            .split(".")[0]
        )
        assert (
            asyncio.run(
                _fetchval(
                    url, "select current_setting('server_version_num')::int / 10000"
                )
            )
            == bundled_major
        )
    finally:
        server.stop()
    assert not _listening(url)


def test_bundled_bin_dir_matches_embedded_postgres() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore"
        )  # its import warns when XDG_RUNTIME_DIR is unset
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    assert _bundled_bin_dir() == Path(POSTGRES_BIN_PATH)


def test_runtime_user() -> None:
    assert _runtime_user(1000) is None  # non-root runs PostgreSQL itself
    user = _runtime_user(0)
    assert user is not None and user.pw_uid != 0
    assert user.pw_name == ("postgres" if _has_account("postgres") else "nobody")


def _has_account(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def test_needs_copy_reads_mode_bits_per_class(public_tmp: Path) -> None:
    bin_dir = public_tmp / "pginstall" / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("initdb", "pg_ctl", "postgres"):
        (bin_dir / tool).touch(mode=0o755)
        (bin_dir / tool).chmod(0o755)
    other = pwd.getpwnam("nobody").pw_uid  # owns none of these files
    me = os.geteuid()
    assert not _needs_copy(bin_dir, other)

    (public_tmp / "pginstall").chmod(0o700)  # a private ancestor, like /root
    assert _needs_copy(bin_dir, other)
    assert not _needs_copy(bin_dir, me)
    (public_tmp / "pginstall").chmod(0o755)

    (bin_dir / "postgres").chmod(
        0o075
    )  # owner class wins: no access for the owner despite group/other bits
    assert _needs_copy(bin_dir, me)
    assert not _needs_copy(bin_dir, other)
    (bin_dir / "postgres").chmod(0o750)
    assert _needs_copy(bin_dir, other)

    (bin_dir / "postgres").chmod(0o755)
    link = public_tmp / "private"
    link.mkdir(mode=0o700)
    (link / "bin").symlink_to(
        bin_dir
    )  # reachable target, but the link sits in a private dir
    assert _needs_copy(link / "bin", other)


def test_orphan_postmaster_detection(tmp_path: Path) -> None:
    data_dir = tmp_path / "postgres"
    data_dir.mkdir()
    pid_file = data_dir / "postmaster.pid"
    assert not _orphan_postmaster(data_dir)  # no pid file

    pid_file.write_text(
        f"{os.getpid()}\n{data_dir}\n"
    )  # PID reused by an unrelated process
    assert not _orphan_postmaster(data_dir)
    assert not pid_file.exists()

    dead = subprocess.Popen(["true"])
    dead.wait()
    pid_file.write_text(f"{dead.pid}\n")
    assert not _orphan_postmaster(data_dir)
    assert not pid_file.exists()

    # A live process started on this data dir, as pg_ctl starts postgres (-D DATA).
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", "-D", str(data_dir)]
    )
    try:
        # Its command line shows the data dir once the interpreter has started (not at once on a busy machine).
        cmdline = Path(f"/proc/{sleeper.pid}/cmdline")
        for _ in range(100):
            if str(data_dir).encode() in cmdline.read_bytes().split(b"\0"):
                break
            time.sleep(0.05)
        pid_file.write_text(f"{sleeper.pid}\n")
        assert _orphan_postmaster(data_dir)
        assert pid_file.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_infra_uses_servers_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NATS_URL", "nats://nats.example:4222")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:pw@db.example:5432/studio")
    with Infra(tmp_path / "state") as infra:
        assert infra.nats_url == "nats://nats.example:4222"
        assert infra.database_url == "postgresql://u:pw@db.example:5432/studio"
        assert infra.started == []
    assert not (tmp_path / "state").exists()


def test_infra_starts_both_and_stops_them_on_sigterm(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from devstack.infra import Infra
        with Infra(Path(sys.argv[1]), ephemeral=True) as infra:
            print(infra.nats_url, infra.database_url, *infra.started, flush=True)
            time.sleep(60)
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("NATS_URL", "DATABASE_URL")}
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        nats_url, database_url, *started = proc.stdout.readline().split()
        assert started == ["nats", "postgres"]
        assert _listening(nats_url) and _listening(database_url)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 128 + signal.SIGTERM
    finally:
        proc.kill()
        proc.wait()
    assert not _listening(nats_url)
    assert not _listening(database_url)
