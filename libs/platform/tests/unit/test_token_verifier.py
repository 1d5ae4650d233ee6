"""The token verifier remembers good tokens, but never past their expiry and never a bad one."""

import asyncio
import time

import pytest

from studio_platform.auth import TokenVerifier
from studio_platform.errors import Unauthorized
from studio_platform.testing import AUDIENCE, ISSUER, TokenMinter


@pytest.fixture
def minter():
    return TokenMinter()


@pytest.fixture
def verifier(minter):
    return TokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=minter.jwks)


async def test_a_remembered_token_still_expires(minter, verifier):
    token = minter.token(now=time.time() - 59, ttl_seconds=60)  # good for at most one more second
    first = await verifier.verify(token)
    assert await verifier.verify(token) == first
    await asyncio.sleep(1.2)
    with pytest.raises(Unauthorized) as refused:
        await verifier.verify(token)
    assert refused.value.code == "token-expired"


async def test_a_tampered_copy_of_a_remembered_token_is_refused(minter, verifier):
    token = minter.token()
    await verifier.verify(token)
    with pytest.raises(Unauthorized):
        await verifier.verify(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"))


async def test_the_memory_is_bounded(minter, verifier, monkeypatch):
    monkeypatch.setattr(TokenVerifier, "CACHE_SIZE", 3)
    tokens = [minter.token() for _ in range(5)]
    for token in tokens:
        await verifier.verify(token)
    assert len(verifier._verified) == 3
    assert tokens[-1] in verifier._verified and tokens[0] not in verifier._verified
