"""Access tokens: short-lived HS256 JWTs the token endpoint issues, naming the client and its council."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from services.receiver.clients import LA_CODE, Client

ALGORITHM = "HS256"  # the receiver signs and verifies its own tokens; nothing else is ever accepted
AUDIENCE = "frontdoor-receiver"
LA_CODE_CLAIM = "frontdoor_la_code"
CLOCK_SKEW_SECONDS = 30


class TokenError(Exception):
    """The bearer token does not prove a sender; the message is safe to log (no token, no claims)."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Who posted a batch, as the verified token says: the client and the one council it may send for."""

    client_id: str
    la_code: str


@dataclass(frozen=True, slots=True)
class TokenIssuer:
    """Issues and verifies the receiver's own tokens. `secret` of at least 32 bytes; random when not configured."""

    secret: bytes
    issuer: str
    ttl_seconds: int

    @classmethod
    def random(cls, issuer: str, ttl_seconds: int) -> TokenIssuer:
        return cls(secrets.token_bytes(32), issuer, ttl_seconds)

    def issue(self, client: Client, now: dt.datetime) -> str:
        claims = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": client.client_id,
            LA_CODE_CLAIM: client.la_code,
            "iat": now,
            "nbf": now,
            "exp": now + dt.timedelta(seconds=self.ttl_seconds),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self.secret, algorithm=ALGORITHM)

    def verify(self, token: str) -> Caller:
        """Signature, algorithm, issuer, audience and expiry; the council claim must be a DfE code."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.secret,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=self.issuer,
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["iss", "aud", "sub", "exp", "iat", LA_CODE_CLAIM]},
            )
        except jwt.PyJWTError as error:
            raise TokenError(f"invalid token: {type(error).__name__}") from None
        return caller_from_claims(claims, LA_CODE_CLAIM)


def caller_from_claims(claims: dict[str, Any], la_code_claim: str) -> Caller:
    """The caller a verified token names; a token without a council (or with a malformed one) proves nothing."""
    la_code = str(claims.get(la_code_claim, ""))
    if not LA_CODE.fullmatch(la_code):
        raise TokenError("the token names no council")
    return Caller(str(claims.get("sub", "")), la_code)
