"""OIDC login for production: authorisation code flow with PKCE, discovery, JWKS, and ID token validation."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
import jwt

from services.alertdesk.auth import User, UsersFileError, make_user

ALLOWED_ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384"]  # never "none", never HMAC
PENDING_LOGIN_SECONDS = 600
CLOCK_SKEW_SECONDS = 60


class OidcError(Exception):
    """The login did not prove who the person is; the message is safe to log (no tokens, no claims)."""


@dataclass(frozen=True, slots=True)
class OidcConfig:
    issuer: str
    client_id: str
    redirect_url: str
    client_secret: str | None = None
    role_claim: str = "frontdoor_role"
    la_code_claim: str = "frontdoor_la_code"
    agency_claim: str = "frontdoor_agency"
    scope: str = "openid profile email"


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


@dataclass(frozen=True, slots=True)
class PendingLogin:
    nonce: str
    code_verifier: str
    started_at: dt.datetime


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: base64url(sha256(verifier)) without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


@dataclass(slots=True)
class OidcClient:
    """One relying party. `http` is set by the app at start-up, so nothing here does I/O on construction."""

    config: OidcConfig
    http: aiohttp.ClientSession | None = None
    _metadata: ProviderMetadata | None = None
    _jwks: jwt.PyJWKSet | None = None
    _pending: dict[str, PendingLogin] = field(default_factory=dict)

    async def _get_json(self, url: str) -> dict[str, Any]:
        assert self.http is not None, "OidcClient.http is set when the app starts"
        async with self.http.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
            if response.status != 200:
                raise OidcError(f"{url} answered HTTP {response.status}")
            body: dict[str, Any] = await response.json(content_type=None)
            return body

    async def metadata(self) -> ProviderMetadata:
        if self._metadata is None:
            issuer = self.config.issuer.rstrip("/")
            document = await self._get_json(f"{issuer}/.well-known/openid-configuration")
            if document.get("issuer", "").rstrip("/") != issuer:
                raise OidcError("the discovery document names a different issuer")
            try:
                self._metadata = ProviderMetadata(
                    document["authorization_endpoint"], document["token_endpoint"], document["jwks_uri"]
                )
            except KeyError as missing:
                raise OidcError(f"the discovery document lacks {missing}") from None
        return self._metadata

    async def start(self, now: dt.datetime) -> tuple[str, str]:
        """A new login: returns (state, the issuer URL to send the browser to)."""
        self._pending = {s: p for s, p in self._pending.items() if _fresh(p, now)}
        state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
        self._pending[state] = PendingLogin(nonce, verifier, now)
        query = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": self.config.redirect_url,
            "scope": self.config.scope,
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce_challenge(verifier),
            "code_challenge_method": "S256",
        }
        return state, f"{(await self.metadata()).authorization_endpoint}?{urlencode(query)}"

    async def finish(self, state: str, code: str, now: dt.datetime) -> User:
        """Exchange the code (with the PKCE verifier), validate the ID token, and map its claims to a user."""
        pending = self._pending.pop(state, None)
        if pending is None or not _fresh(pending, now):
            raise OidcError("unknown or expired login state")
        id_token = await self._exchange(code, pending.code_verifier)
        claims = await self.validate_id_token(id_token, pending.nonce)
        return self.user_from_claims(claims)

    async def _exchange(self, code: str, verifier: str) -> str:
        assert self.http is not None, "OidcClient.http is set when the app starts"
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.config.redirect_url,
            "client_id": self.config.client_id,
            "code_verifier": verifier,
        }
        if self.config.client_secret:
            form["client_secret"] = self.config.client_secret
        url = (await self.metadata()).token_endpoint
        async with self.http.post(url, data=form, timeout=aiohttp.ClientTimeout(total=10)) as response:
            if response.status != 200:
                raise OidcError(f"the token endpoint answered HTTP {response.status}")
            body = await response.json(content_type=None)
        token = body.get("id_token") if isinstance(body, dict) else None
        if not isinstance(token, str):
            raise OidcError("the token response has no id_token")
        return token

    async def signing_key(self, kid: str | None) -> Any:
        """The issuer's public key for `kid`, from its JWKS (the desk's ID tokens, the receiver's access tokens)."""
        for refresh in (False, True):  # a key rotation shows up as an unknown kid: fetch the set again once
            if self._jwks is None or refresh:
                self._jwks = jwt.PyJWKSet.from_dict(await self._get_json((await self.metadata()).jwks_uri))
            for key in self._jwks.keys:
                if kid is None or key.key_id == kid:
                    return key.key
        raise OidcError("no signing key in the issuer's JWKS matches the ID token")

    async def validate_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        """Signature (issuer's JWKS, asymmetric algorithms only), iss, aud, azp, exp, iat and nonce."""
        try:
            header = jwt.get_unverified_header(id_token)
            key = await self.signing_key(header.get("kid"))
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key,
                algorithms=ALLOWED_ALGORITHMS,
                audience=self.config.client_id,
                issuer=self.config.issuer.rstrip("/"),
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "sub", "nonce"]},
            )
        except jwt.PyJWTError as error:
            raise OidcError(f"invalid ID token: {type(error).__name__}") from None
        if not hmac.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()):
            raise OidcError("the ID token's nonce does not match this login")
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if len(audiences) > 1 and claims.get("azp") != self.config.client_id:
            raise OidcError("the ID token has several audiences and another authorised party")
        return claims

    def user_from_claims(self, claims: dict[str, Any]) -> User:
        username = claims.get("preferred_username") or claims.get("email") or claims["sub"]
        try:
            return make_user(
                str(username),
                str(claims.get(self.config.role_claim, "")),
                str(claims.get(self.config.la_code_claim, "")),
                _optional_str(claims.get(self.config.agency_claim)),
            )
        except UsersFileError as error:
            raise OidcError(f"the issuer's claims do not grant access to the desk: {error}") from None


def _fresh(pending: PendingLogin, now: dt.datetime) -> bool:
    return now - pending.started_at < dt.timedelta(seconds=PENDING_LOGIN_SECONDS)


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)
