"""`make run` on a machine with nothing configured: embedded NATS and PostgreSQL, demo data, clean stop.

Stopped with SIGTERM, as a supervisor would; Ctrl-C (SIGINT) takes the same path."""

import os
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest

pytestmark = pytest.mark.e2e


def test_run_brings_everything_up_and_stops_cleanly(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NATS_URL")}
    env["LOG_LEVEL"] = "WARNING"
    process = subprocess.Popen([sys.executable, "-m", "devstack", "run", "--state", str(tmp_path)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    try:
        deadline = time.monotonic() + 240
        url = None
        while url is None:
            assert time.monotonic() < deadline, "".join(output)
            line = process.stdout.readline()
            assert line or process.poll() is None, "".join(output)
            output.append(line)
            if match := re.search(r"The studio platform is up: (http://127\.0\.0\.1:\d+)", line):
                url = match.group(1)
        assert "started embedded nats" in "".join(output) and "started embedded postgres" in "".join(output)
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
        login = httpx.post(f"{url}/v1/auth/login", json={"email": "alice@demo.studio",
                                                         "password": "demo-studio-2026"})
        assert login.status_code == 200, login.text
        alice = {"Authorization": f"Bearer {login.json()['access_token']}"}
        week = httpx.get(f"{url}/v1/classes", headers=alice, params={"limit": 200})
        zones = {c["studio"]["time_zone"] for c in week.json()["items"]}
        assert zones == {"Europe/London", "America/New_York"}
        assert len(week.json()["items"]) >= 30
        # The demo clients hold a class pack, so a booking goes through the whole saga at once.
        booked = httpx.post(f"{url}/v1/classes/{week.json()['items'][0]['id']}/bookings", headers=alice, timeout=10)
        assert booked.status_code == 201 and booked.json()["status"] == "confirmed", booked.text
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, "".join(output) + process.stdout.read()
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{url}/healthz", timeout=2)
