"""Every service and the gateway as local processes, on free ports, against given NATS and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devstack.infra import ensure_databases, free_ports
from studio_platform.keys import SigningKey
from studio_platform.migrations import upgrade

ROOT = Path(__file__).resolve().parents[4]


@dataclass(frozen=True)
class Part:
    name: str
    directory: Path
    factory: str

    @property
    def migrations(self) -> Path:
        module = self.factory.split(".", 1)[0]
        if module == "gateway":
            return self.directory / "src/gateway/identity/adapters/migrations"
        return self.directory / f"src/{module}/adapters/migrations"


SERVICES = [Part(name, ROOT / "services" / name, f"{name}.app:create_app")
            for name in ("scheduling", "booking", "billing", "engagement", "notifications", "reporting")]
GATEWAY = Part("gateway", ROOT / "gateway", "gateway.app:create_app")
PARTS = [GATEWAY, *SERVICES]


@dataclass
class Stack:
    """Databases, migrations and processes of the whole platform."""

    nats_url: str
    database_url: str
    state_dir: Path
    database_prefix: str = "studio_"
    durable_prefix: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    databases: dict[str, str] = field(default_factory=dict)
    _env: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def gateway_url(self) -> str:
        return self.url("gateway")

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def migrate(self) -> dict[str, str]:
        """Create (if need be) and migrate every part's database; their URLs by part."""
        names = {part.name: f"{self.database_prefix}{part.name}" for part in PARTS}
        created = ensure_databases(self.database_url, list(names.values()))
        self.databases = {part: created[db] for part, db in names.items()}
        for part in PARTS:
            upgrade(part.migrations, self.databases[part.name])
        return self.databases

    def _signing_key(self) -> str:
        path = self.state_dir / "signing-key.pem"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(SigningKey.generate().to_pem())
            path.chmod(0o600)
        return path.read_text()

    def start(self, *, timeout: float = 90.0) -> None:
        urls = self.migrate()
        self.ports = dict(zip((part.name for part in PARTS), free_ports(len(PARTS)), strict=True))
        common = {
            **os.environ,
            "NATS_URL": self.nats_url,
            "AUTH_JWKS_URL": f"{self.gateway_url}/.well-known/jwks.json",
            "DURABLE_PREFIX": self.durable_prefix,
            **{f"{s.name.upper()}_URL": self.url(s.name) for s in SERVICES},
            **self.extra_env,
        }
        for part in PARTS:
            self._env[part.name] = {**common, "DATABASE_URL": urls[part.name]}
        self._env[GATEWAY.name].update(SIGNING_KEY_PEM=self._signing_key(), PUBLIC_URL=self.gateway_url)
        for part in PARTS:
            self._spawn(part)
        self.wait_ready(timeout)

    def _spawn(self, part: Part) -> None:
        logs = self.state_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = (logs / f"{part.name}.log").open("ab")
        self.processes[part.name] = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", part.factory, "--host", "127.0.0.1",
             "--port", str(self.ports[part.name]), "--no-access-log", "--timeout-graceful-shutdown", "5",
             "--timeout-keep-alive", "30", *([] if part is GATEWAY else ["--no-proxy-headers"])],
            cwd=part.directory, env=self._env[part.name], stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)  # Ctrl-C reaches only us; we stop the parts in order
        log.close()

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        pending = set(self.processes)
        with httpx.Client(timeout=2) as client:
            while pending:
                for name in sorted(pending):
                    process = self.processes[name]
                    if process.poll() is not None:
                        raise RuntimeError(f"{name} exited with {process.returncode}; see "
                                           f"{self.state_dir / 'logs' / (name + '.log')}")
                    try:
                        if client.get(f"{self.url(name)}/readyz").status_code == 200:
                            pending.discard(name)
                    except httpx.HTTPError:
                        pass
                if pending and time.monotonic() > deadline:
                    raise TimeoutError(f"not ready after {timeout}s: {', '.join(sorted(pending))}")
                time.sleep(0.2)
            # The gateway routes by the services' API documents: wait until it knows them all.
            while client.get(f"{self.gateway_url}/openapi.json").json().get("paths", {}).keys().isdisjoint(
                    {"/v1/classes"}):
                if time.monotonic() > deadline:
                    raise TimeoutError("the gateway did not learn the services' routes")
                time.sleep(0.2)

    def stop(self, timeout: float = 15.0) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    def kill(self, name: str) -> None:
        """SIGKILL one part, as a crash would (for chaos tests)."""
        process = self.processes[name]
        process.kill()
        process.wait()

    def restart(self, name: str, timeout: float = 60.0) -> None:
        """Start a stopped or killed part again, on its old port."""
        self._spawn(next(p for p in PARTS if p.name == name))
        self.wait_ready(timeout)
