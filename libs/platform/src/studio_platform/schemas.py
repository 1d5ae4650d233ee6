"""The base of every request body: unknown fields and NUL characters are refused (422)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, field_validator


class StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        # PostgreSQL text cannot hold NUL: refuse it here rather than fail in the database.
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value
