import json

from gateway.config import GatewaySettings
from studio_platform.keys import SigningKey
from studio_platform.testing import TokenMinter


def kids(settings: GatewaySettings) -> list[str]:
    return [k["kid"] for k in json.loads(settings.auth_jwks)["keys"]]


def test_the_gateway_trusts_the_key_it_signs_with():
    key = SigningKey.generate()
    settings = GatewaySettings(signing_key_pem=key.to_pem())
    assert settings.signing_key.kid == key.kid
    assert kids(settings) == [key.kid]


def test_without_a_configured_key_one_is_made_once():
    settings = GatewaySettings()
    assert kids(settings) == [settings.signing_key.kid]
    assert settings.signing_key is settings.signing_key


def test_keys_configured_in_auth_jwks_stay_trusted():
    minter = TokenMinter()
    settings = GatewaySettings(auth_jwks=minter.jwks)
    assert kids(settings) == [settings.signing_key.kid, minter.key.kid]
    again = GatewaySettings(signing_key_pem=settings.signing_key.to_pem(), auth_jwks=settings.auth_jwks)
    assert kids(again) == kids(settings)
