"""CPU seconds per process from /proc, so each phase can say where the machine's time went.

A process's utime + stime cover all its threads (argon2 and to_thread work included).
PostgreSQL is the postmaster plus its backends: live backends are summed, and backends
that exited are in the postmaster's cutime/cstime, so the total is continuous.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

TICK = os.sysconf("SC_CLK_TCK")


def _fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()  # after "pid (comm) ": state, ppid, ...


def cpu_seconds(pid: int, *, reaped_children: bool = False) -> float:
    f = _fields(pid)
    if f is None:
        return 0.0
    ticks = int(f[11]) + int(f[12]) + (int(f[13]) + int(f[14]) if reaped_children else 0)
    return ticks / TICK


def machine_busy() -> float:
    """CPU seconds all cores spent on anything but idling and waiting for I/O, since boot."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / TICK


def find_server(executable: str, url: str) -> int | None:
    """The pid of the local `executable` listening on the URL's port (passed as `-p PORT`), if any."""
    port = urlsplit(url).port
    if port is None:
        return None
    wanted = f"-p\0{port}\0".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == executable and wanted in (entry / "cmdline").read_bytes():
                return int(entry.name)
        except OSError:
            continue
    return None


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (f := _fields(int(entry.name))) is not None and int(f[1]) == pid:
            found.append(int(entry.name))
    return found


def postgres_seconds(postmaster: int) -> float:
    return cpu_seconds(postmaster, reaped_children=True) + sum(cpu_seconds(c) for c in _children(postmaster))


class Meter:
    """Named CPU counters; `take()` snapshots them, `since(snapshot)` gives each one's seconds since."""

    def __init__(self) -> None:
        self.counters: dict[str, Callable[[], float]] = {}

    def process(self, name: str, pid: int | None) -> None:
        if pid is not None:
            self.counters[name] = lambda: cpu_seconds(pid)

    def postgres(self, database_url: str) -> None:
        if (pid := find_server("postgres", database_url)) is not None:
            self.counters["postgres"] = lambda: postgres_seconds(pid)

    def take(self) -> dict[str, float]:
        return {"machine": machine_busy(), **{name: read() for name, read in self.counters.items()}}

    def since(self, before: dict[str, float]) -> dict[str, float]:
        now = self.take()
        spent = {name: now[name] - before.get(name, now[name]) for name in now}
        # Whatever else ran on the machine meanwhile (other people's tests, the kernel, ...).
        spent["other"] = spent.pop("machine") - sum(spent.values())
        return spent
