"""Demo data, loaded through the public API (so it exercises what a studio would do).

One organization, two studios in different time zones, instructors, clients with a
class pack each (sold at the desk), and the coming week of classes. Loading twice
changes nothing.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

PASSWORD = "demo-studio-2026"
OWNER = ("owner@demo.studio", "Olivia Hart")
STUDIOS = [("Camden", "Europe/London"), ("Brooklyn", "America/New_York")]
INSTRUCTORS = [("sarah@demo.studio", "Sarah Johnson", "Camden"), ("marcus@demo.studio", "Marcus Lee", "Brooklyn")]
CLIENTS = [("alice@demo.studio", "Alice Moreno"), ("bob@demo.studio", "Bob Okafor"),
           ("carol@demo.studio", "Carol Chen")]
CLASS_TYPES = [("HIIT", "#1e88e5", 15, 45), ("Mat Pilates", "#43a047", 20, 60), ("Reformer", "#ff6b35", 12, 50)]
DAILY = [("07:00", "HIIT"), ("12:30", "Mat Pilates"), ("18:00", "Reformer")]
PACK = {"kind": "class_pack", "name": "10-class pack", "credits": 10, "validity_days": 90,
        "price": {"amount_minor": 12000, "currency": "GBP"}}


class Api:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.token: str | None = None

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return self.http.request(method, path, headers=headers, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.call(method, path, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def sign_up(self, email: str, name: str) -> None:
        self.token = self.ok("POST", "/v1/auth/signup", json={"email": email, "password": PASSWORD,
                                                              "name": name})["access_token"]

    def until_known(self, method: str, path: str, json: dict[str, Any], timeout: float = 30) -> Any:
        """Scheduling learns new studios and staff from events; give them a moment to arrive."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.call(method, path, json=json)
            if response.status_code != 422 or time.monotonic() > deadline:
                if response.status_code >= 400:
                    raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
                return response.json()
            time.sleep(0.2)


def _join(base_url: str, owner: Api, email: str, name: str, role: str, studio_ids: list[str]) -> Api:
    invitation = owner.ok("POST", "/v1/invitations", json={"email": email, "role": role, "studio_ids": studio_ids})
    person = Api(base_url)
    person.sign_up(email, name)
    person.ok("POST", "/v1/invitations/accept", json={"token": invitation["accept_token"]})
    return person


def load_demo(base_url: str, *, today: date | None = None) -> dict[str, Any]:
    logins = {"password": PASSWORD, "accounts": [("owner", OWNER[0])]
              + [("instructor", email) for email, _, _ in INSTRUCTORS] + [("client", email) for email, _ in CLIENTS]}
    owner = Api(base_url)
    if owner.call("POST", "/v1/auth/login", json={"email": OWNER[0], "password": PASSWORD}).status_code == 200:
        return logins  # loaded by an earlier run
    owner.sign_up(*OWNER)
    owner.token = owner.ok("POST", "/v1/organizations", json={"name": "Harbour Pilates & Fitness"})["tokens"][
        "access_token"]
    studios = {name: owner.ok("POST", "/v1/studios", json={"name": name, "time_zone": zone})
               for name, zone in STUDIOS}
    instructors = {studio: _join(base_url, owner, email, name, "instructor", [studios[studio]["id"]])
                   for email, name, studio in INSTRUCTORS}
    pack = owner.ok("POST", "/v1/products", json=PACK)
    for email, name in CLIENTS:
        client_id = _join(base_url, owner, email, name, "client", []).ok("GET", "/v1/me")["user"]["id"]
        owner.ok("POST", f"/v1/clients/{client_id}/packages", json={"product_id": pack["id"]})
    types = {name: owner.ok("POST", "/v1/class-types", json={
        "name": name, "colour": colour, "default_capacity": capacity, "default_duration_minutes": minutes})
        for name, colour, capacity, minutes in CLASS_TYPES}
    instructor_ids = {studio: api.ok("GET", "/v1/me")["user"]["id"] for studio, api in instructors.items()}

    first_day = (today or date.today()) + timedelta(days=1)
    for offset in range(7):
        day = first_day + timedelta(days=offset)
        for studio_name, zone in STUDIOS:
            for clock, type_name in DAILY:
                hour, minute = map(int, clock.split(":"))
                starts = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone))
                owner.until_known("POST", "/v1/classes", json={
                    "class_type_id": types[type_name]["id"], "studio_id": studios[studio_name]["id"],
                    "instructor_id": instructor_ids[studio_name], "starts_at": starts.isoformat()})
    return logins
