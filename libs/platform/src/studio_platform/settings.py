"""Settings from the environment; secrets never come from anywhere else."""

from __future__ import annotations

from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    """What every service needs. A service subclasses it with its own fields.

    Each process gets its own environment, so `DATABASE_URL` names this service's
    own database.
    """

    model_config = SettingsConfigDict(extra="ignore")

    service_name: str
    database_url: str = "postgresql://postgres@127.0.0.1:5432/postgres"
    nats_url: str = "nats://127.0.0.1:4222"
    # Where the gateway publishes its token-signing keys (JWKS).
    auth_jwks_url: str = "http://127.0.0.1:8000/.well-known/jwks.json"
    # Inline JWKS (JSON), used instead of the URL when set: tests and air-gapped installs.
    auth_jwks: str | None = None
    auth_issuer: str = "studio-gateway"
    auth_audience: str = "studio-api"
    log_level: str = "INFO"
    log_json: bool = True
    # Connections kept open, and extra ones opened (and closed again) only in a burst.
    db_pool_size: int = 20
    db_max_overflow: int = 10
    # Connections of the bus side apart from requests': one per subscribed stream (each handles one
    # batch at a time) and the outbox relay's.
    db_bus_pool_size: int = 6
    outbox_poll_seconds: float = 1.0
    # Prefix for durable consumer names, so two deployments (or test runs) can share one NATS.
    durable_prefix: str = ""
    # Where a brand-new durable consumer starts: all the history its streams keep (it builds
    # its copies from it), or only events from now on (e.g. a test run on a shared NATS).
    consumer_start: Literal["all", "new"] = "all"
    consumer_max_deliver: int = 5
    # Most messages one pull brings from a stream, handled together in one transaction: a backlog costs
    # one commit per batch instead of one per message; smaller batches hold their row locks for less time.
    consumer_batch_size: int = 32
    # A message fetched by a process that died comes back after this; handlers take milliseconds.
    consumer_ack_wait_seconds: float = 10.0
