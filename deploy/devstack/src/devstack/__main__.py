"""`python -m devstack run` (make run) and `python -m devstack test` (make test)."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from devstack.demo import load_demo
from devstack.infra import Infra
from devstack.stack import ROOT, Stack


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run(state_dir: Path) -> int:
    # SIGTERM (a supervisor, `kill`) stops as cleanly as Ctrl-C, and so does SIGINT when started
    # in the background (where the shell has it ignored).
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with Infra(state_dir) as infra:
        for name in infra.started:
            print(f"started embedded {name} (state in {state_dir})")
        stack = Stack(nats_url=infra.nats_url, database_url=infra.database_url, state_dir=state_dir)
        try:
            stack.start()
            logins = load_demo(stack.gateway_url)
            print(f"\nThe studio platform is up: {stack.gateway_url}  (API docs: {stack.gateway_url}/docs)")
            print(f"Logs: {state_dir / 'logs'}\nDemo logins (password for all: {logins['password']}):")
            for role, email in logins["accounts"]:
                print(f"  {role:<11} {email}")
            print("Ctrl-C stops everything.")
            while all(p.poll() is None for p in stack.processes.values()):
                time.sleep(0.5)
            print("a service stopped unexpectedly; see the logs", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("\nstopping…")
            return 0
        finally:
            stack.stop()


def test(pytest_args: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="studio-test-") as tmp, Infra(Path(tmp), ephemeral=True) as infra:
        env = {**os.environ, "NATS_URL": infra.nats_url, "DATABASE_URL": infra.database_url,
               "STUDIO_TEST_STATE": tmp}
        return subprocess.call([sys.executable, "-m", "pytest", *pytest_args], cwd=ROOT, env=env)


def main() -> int:
    parser = argparse.ArgumentParser(prog="devstack")
    commands = parser.add_subparsers(dest="command", required=True)
    run_cmd = commands.add_parser("run", help="start everything with demo data")
    run_cmd.add_argument("--state", type=Path, default=ROOT / ".state")
    commands.add_parser("test", help="run the whole test suite (extra arguments go to pytest)")
    args, rest = parser.parse_known_args()
    if args.command == "run":
        return run(args.state.resolve())
    return test(rest)


if __name__ == "__main__":
    sys.exit(main())
