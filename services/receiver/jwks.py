"""Access tokens from the council's identity provider, verified with its published keys (JWKS, by discovery).

The desk's OIDC client finds and caches the keys (and fetches them again once on an unknown key id); this module
only checks an access token's claims: issuer, audience, expiry, and the claim that names the council.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
import jwt

from services.alertdesk.oidc import ALLOWED_ALGORITHMS, CLOCK_SKEW_SECONDS, OidcClient, OidcConfig, OidcError
from services.receiver.tokens import Caller, TokenError, caller_from_claims


@dataclass(slots=True)
class ProviderTokens:
    """Verifies one identity provider's access tokens; `oidc.http` is set when the app starts."""

    oidc: OidcClient
    audience: str
    la_code_claim: str

    @classmethod
    def for_issuer(cls, issuer: str, audience: str, la_code_claim: str) -> ProviderTokens:
        # The receiver never runs a browser login, so the client's redirect URL is never used.
        return cls(OidcClient(OidcConfig(issuer=issuer, client_id=audience, redirect_url="")), audience, la_code_claim)

    async def __call__(self, token: str) -> Caller:
        try:
            key = await self.oidc.signing_key(jwt.get_unverified_header(token).get("kid"))
            claims = jwt.decode(
                token,
                key,
                algorithms=ALLOWED_ALGORITHMS,
                audience=self.audience,
                issuer=self.oidc.config.issuer.rstrip("/"),
                leeway=CLOCK_SKEW_SECONDS,
                options={"require": ["iss", "aud", "exp", "iat", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise TokenError(f"invalid token: {type(error).__name__}") from None
        except (OidcError, aiohttp.ClientError) as error:
            raise TokenError(f"the identity provider's keys are not available: {type(error).__name__}") from None
        return caller_from_claims(claims, self.la_code_claim)
