"""A council's identity provider may issue the sender's tokens: verified with its JWKS, its council claim obeyed."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.hazmat.primitives.asymmetric import rsa

from services.receiver.app import create_app
from services.receiver.jwks import ProviderTokens
from tests.unit.receiver.receiver_builders import KENT, WIRRAL, Harness, make_record

pytestmark = pytest.mark.timeout(30)
PROVIDER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
AUDIENCE = "frontdoor-receiver"


@pytest.fixture
async def provider() -> AsyncIterator[str]:
    """Discovery and JWKS of a fake identity provider on 127.0.0.1; yields its issuer URL."""
    app = web.Application()
    server = TestServer(app)

    async def discovery(_request: web.Request) -> web.Response:
        url = str(server.make_url("")).rstrip("/")
        endpoints = {"authorization_endpoint": f"{url}/a", "token_endpoint": f"{url}/t", "jwks_uri": f"{url}/jwks"}
        return web.json_response({"issuer": url} | endpoints)

    async def jwks(_request: web.Request) -> web.Response:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(PROVIDER_KEY.public_key()))
        return web.json_response({"keys": [jwk | {"kid": "k1", "use": "sig", "alg": "RS256"}]})

    app.router.add_get("/.well-known/openid-configuration", discovery)
    app.router.add_get("/jwks", jwks)
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()


def provider_token(issuer: str, key: Any = PROVIDER_KEY, **overrides: Any) -> str:
    now = int(time.time())
    claims = {"iss": issuer, "aud": AUDIENCE, "sub": "kent-sender", "iat": now, "exp": now + 300}
    claims |= {"frontdoor_la_code": KENT} | overrides
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


async def post_with(issuer: str, token: str, la_code: str = KENT) -> int:
    harness = Harness()
    tokens = ProviderTokens.for_issuer(issuer, AUDIENCE, "frontdoor_la_code")
    context = harness.context()
    context.external = tokens
    async with aiohttp.ClientSession() as http, TestClient(TestServer(create_app(context))) as client:
        tokens.oidc.http = http
        path = f"/children_social_care_data/{la_code}/children"
        response = await client.post(path, json=[make_record()], headers={"Authorization": f"Bearer {token}"})
        return response.status


async def test_a_token_from_the_councils_identity_provider_is_accepted_for_its_council(provider: str) -> None:
    assert await post_with(provider, provider_token(provider)) == 200


async def test_a_provider_token_for_one_council_cannot_post_for_another(provider: str) -> None:
    assert await post_with(provider, provider_token(provider), la_code=WIRRAL) == 403


@pytest.mark.parametrize(
    "overrides",
    [{"key": OTHER_KEY}, {"aud": "someone-else"}, {"exp": 1}, {"frontdoor_la_code": None}],
    ids=["signed with another key", "another audience", "expired", "no council"],
)
async def test_a_provider_token_that_fails_a_check_is_refused_401(provider: str, overrides: dict[str, Any]) -> None:
    key = overrides.pop("key", PROVIDER_KEY)
    claims = {k: v for k, v in overrides.items() if v is not None}
    token = provider_token(provider, key, **claims)
    if "frontdoor_la_code" in overrides:
        token = provider_token(provider, key, frontdoor_la_code="")

    assert await post_with(provider, token) == 401
