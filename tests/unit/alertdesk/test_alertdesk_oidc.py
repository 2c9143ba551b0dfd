"""OIDC sign-in against a tiny fake issuer on 127.0.0.1: code flow with PKCE, discovery, JWKS, ID token checks."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from services.alertdesk.oidc import OidcClient, OidcConfig, OidcError
from tests.unit.alertdesk.desk_builders import Harness, browser

pytestmark = pytest.mark.timeout(30)
CLIENT_ID = "frontdoor-alertdesk"
SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass(slots=True)
class FakeIssuer:
    """Discovery, JWKS, an authorize endpoint that signs the person straight in, and a PKCE-checking token endpoint."""

    url: str = ""
    claims: dict[str, Any] = field(
        default_factory=lambda: {
            "sub": "u-123",
            "preferred_username": "dm.kent@kent.example",
            "frontdoor_role": "duty_manager",
            "frontdoor_la_code": "886",
        }
    )
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    advertised_issuer: str | None = None

    def id_token(self, nonce: str, key: Any = SIGNING_KEY, **overrides: Any) -> str:
        now = int(time.time())
        claims = {"iss": self.url, "aud": CLIENT_ID, "iat": now, "exp": now + 300, "nonce": nonce}
        claims |= self.claims | overrides
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})

    async def discovery(self, _: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": self.advertised_issuer or self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "jwks_uri": f"{self.url}/jwks",
            }
        )

    async def jwks(self, _: web.Request) -> web.Response:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(SIGNING_KEY.public_key()))
        return web.json_response({"keys": [jwk | {"kid": "k1", "use": "sig", "alg": "RS256"}]})

    async def authorize(self, request: web.Request) -> web.Response:
        query = request.query
        code = secrets.token_urlsafe(16)
        self.codes[code] = dict(query)
        target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
        return web.Response(status=302, headers={"Location": target})

    async def token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.token_requests.append(form)
        grant = self.codes.pop(form.get("code", ""), None)
        if grant is None or form.get("redirect_uri") != grant["redirect_uri"]:
            return web.json_response({"error": "invalid_grant"}, status=400)
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        if base64.urlsafe_b64encode(digest).decode().rstrip("=") != grant["code_challenge"]:
            return web.json_response({"error": "invalid_grant", "error_description": "PKCE"}, status=400)
        return web.json_response({"id_token": self.id_token(grant["nonce"]), "token_type": "Bearer"})


@contextlib.asynccontextmanager
async def running_issuer() -> AsyncIterator[FakeIssuer]:
    issuer = FakeIssuer()
    app = web.Application()
    app.router.add_get("/.well-known/openid-configuration", issuer.discovery)
    app.router.add_get("/jwks", issuer.jwks)
    app.router.add_get("/authorize", issuer.authorize)
    app.router.add_post("/token", issuer.token)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    issuer.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield issuer
    finally:
        await runner.cleanup()


def oidc_harness(issuer: FakeIssuer) -> Harness:
    harness = Harness()
    harness.context.oidc = OidcClient(OidcConfig(issuer.url, CLIENT_ID, "set-when-the-desk-listens"))
    return harness


async def sign_in_with_issuer(client: Any, oidc: OidcClient) -> aiohttp.ClientResponse:
    oidc.config = dataclasses.replace(oidc.config, redirect_url=str(client.make_url("/login/oidc/callback")))
    start = await client.get("/login/oidc", allow_redirects=False)
    assert start.status == 302
    async with aiohttp.ClientSession() as person:  # the browser visiting the issuer
        at_issuer = await person.get(start.headers["Location"], allow_redirects=False)
    back = urlsplit(at_issuer.headers["Location"])
    response: aiohttp.ClientResponse = await client.get(f"{back.path}?{back.query}")
    return response


async def test_a_person_signs_in_through_the_issuer_with_pkce_and_lands_on_their_councils_feed() -> None:
    async with running_issuer() as issuer:
        harness = oidc_harness(issuer)
        assert harness.context.oidc is not None
        async with browser(harness) as client:
            landing = await sign_in_with_issuer(client, harness.context.oidc)
            assert landing.status == 200 and 'http-equiv="refresh"' in await landing.text()
            feed = await client.get("/feed")
            assert feed.status == 200 and "dm.kent@kent.example" in await feed.text()
    (request,) = issuer.token_requests  # the fake issuer checked the verifier against the S256 challenge
    assert request["grant_type"] == "authorization_code" and len(request["code_verifier"]) >= 43


async def test_the_authorisation_request_asks_for_s256_pkce_a_nonce_and_a_state() -> None:
    async with running_issuer() as issuer:
        client = OidcClient(OidcConfig(issuer.url, CLIENT_ID, "http://127.0.0.1/cb"))
        async with aiohttp.ClientSession() as http:
            client.http = http
            state, url = await client.start(time_now())
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["code_challenge_method"] == "S256" and query["state"] == state
    assert query["response_type"] == "code" and query["nonce"] and "openid" in query["scope"]
    assert "code_verifier" not in query


async def test_a_callback_whose_state_was_not_started_by_this_browser_is_refused() -> None:
    async with running_issuer() as issuer:
        harness = oidc_harness(issuer)
        async with browser(harness) as client:
            response = await client.get("/login/oidc/callback?code=abc&state=forged")
            assert response.status == 401
            assert (await client.get("/feed", allow_redirects=False)).status == 401


@pytest.mark.parametrize("claims", [{"frontdoor_role": "admin"}, {"frontdoor_la_code": "kent"}, {"frontdoor_role": ""}])
async def test_a_person_whose_claims_grant_no_desk_role_is_refused(claims: dict[str, str]) -> None:
    async with running_issuer() as issuer:
        issuer.claims |= claims
        harness = oidc_harness(issuer)
        assert harness.context.oidc is not None
        async with browser(harness) as client:
            response = await sign_in_with_issuer(client, harness.context.oidc)
            assert response.status == 401
            assert (await client.get("/feed", allow_redirects=False)).status == 401


def time_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _forged_none(issuer: FakeIssuer) -> str:
    header = base64.urlsafe_b64encode(b'{"alg":"none","kid":"k1"}').decode().rstrip("=")
    body = json.dumps({"iss": issuer.url, "aud": CLIENT_ID, "sub": "x", "nonce": "n", "exp": 2**31, "iat": 0})
    return f"{header}.{base64.urlsafe_b64encode(body.encode()).decode().rstrip('=')}."


BAD_TOKENS = {
    "signed by another key": lambda i: i.id_token("n", key=OTHER_KEY),
    "wrong audience": lambda i: i.id_token("n", aud="someone-else"),
    "wrong issuer": lambda i: i.id_token("n", iss="http://127.0.0.1:1"),
    "expired": lambda i: i.id_token("n", exp=int(time.time()) - 600, iat=int(time.time()) - 900),
    "wrong nonce": lambda i: i.id_token("not-this-login"),
    "alg none": _forged_none,
    "several audiences, another azp": lambda i: i.id_token("n", aud=[CLIENT_ID, "x"], azp="x"),
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
async def test_an_id_token_that_fails_any_check_is_refused(case: str) -> None:
    async with running_issuer() as issuer:
        client = OidcClient(OidcConfig(issuer.url, CLIENT_ID, "http://127.0.0.1/cb"))
        async with aiohttp.ClientSession() as http:
            client.http = http
            assert await client.validate_id_token(issuer.id_token("n"), "n")  # the good one passes
            with pytest.raises(OidcError):
                await client.validate_id_token(BAD_TOKENS[case](issuer), "n")


async def test_a_discovery_document_naming_another_issuer_is_refused() -> None:
    async with running_issuer() as issuer:
        issuer.advertised_issuer = "https://impostor.example"
        client = OidcClient(OidcConfig(issuer.url, CLIENT_ID, "http://127.0.0.1/cb"))
        async with aiohttp.ClientSession() as http:
            client.http = http
            with pytest.raises(OidcError, match="different issuer"):
                await client.metadata()
