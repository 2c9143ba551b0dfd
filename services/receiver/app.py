"""The receiver's aiohttp app: the token endpoint, the records endpoint the DfE sender posts to, health, metrics.

`POST /oauth2/token` (client credentials) and `POST /children_social_care_data/{la_code}/children`, the path the
pilot's sender builds from its API_ENDPOINT and LA_CODE. Nothing here does I/O at import.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import orjson
from aiohttp import BasicAuth, web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from services.alertdesk.passwords import PasswordCheckBusy, PasswordChecker
from services.alertdesk.signin import Throttle, ThrottlePolicy
from services.metrics.metrics import ReceiverMetrics
from services.receiver.answers import batch_answer
from services.receiver.clients import ClientRegistry
from services.receiver.service import PublishFailed, Receiver
from services.receiver.tokens import Caller, TokenError, TokenIssuer

log = logging.getLogger(__name__)
RECORDS_PATH = "/children_social_care_data/{la_code}/children"
TOKEN_PATH = "/oauth2/token"  # noqa: S105  # a path, not a secret
LA_CODE = re.compile(r"\d{3}")
MAX_TOKEN_REQUEST_BYTES = 8 * 1024  # a client credentials form is a few hundred bytes
TOKEN_THROTTLE = ThrottlePolicy(free_failures=5, lockout_failures=20, lockout_seconds=900)
ExternalVerifier = Callable[[str], Awaitable[Caller]]


@dataclass(slots=True)
class ReceiverContext:
    """Everything a request handler needs, built by the entry point (or a test) and passed in."""

    receiver: Receiver
    clients: ClientRegistry
    issuer: TokenIssuer
    metrics: ReceiverMetrics
    registry: CollectorRegistry
    max_body_bytes: int
    max_records_per_batch: int
    checker: PasswordChecker = field(default_factory=PasswordChecker)
    # Failed token requests per client id (unknown ids too): backoff after 5 in 15 minutes, locked for 15 after 20.
    throttle: Throttle = field(default_factory=lambda: Throttle(TOKEN_THROTTLE, time.monotonic))
    external: ExternalVerifier | None = None  # an identity provider's tokens (services/receiver/jwks.py)
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)


CONTEXT = web.AppKey("receiver_context", ReceiverContext)


def create_app(context: ReceiverContext) -> web.Application:
    # aiohttp refuses a body past client_max_size with 413 as it reads it; the handler also refuses by the
    # declared Content-Length before reading anything.
    app = web.Application(client_max_size=context.max_body_bytes)
    app[CONTEXT] = context
    app.on_response_prepare.append(_security_headers)
    app.router.add_post(TOKEN_PATH, token)
    app.router.add_post(RECORDS_PATH, records)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


async def _security_headers(_request: web.Request, response: web.StreamResponse) -> None:
    response.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return web.json_response({"error": error, "error_description": description}, status=status)


async def token(request: web.Request) -> web.StreamResponse:
    """OAuth2 client credentials (RFC 6749 4.4): id and secret in the form body or HTTP Basic."""
    context = request.app[CONTEXT]
    form = await _token_form(request, context)
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "only client_credentials is supported")
    client_id, secret = form.get("client_id", "")[:64], form.get("client_secret", "")
    if "Authorization" in request.headers:
        try:
            basic = BasicAuth.decode(request.headers["Authorization"])
            client_id, secret = basic.login[:64], basic.password
        except ValueError:
            pass
    wait, _locked = context.throttle.wait_seconds(client_id)
    if wait:  # refused before any hashing: guessing a secret costs the receiver almost nothing more
        context.throttle.failed(client_id)
        context.metrics.token_request(issued=False)
        response = _oauth_error(429, "slow_down", "too many failed token requests for this client")
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    try:
        client = await context.checker.run(lambda: context.clients.check(client_id, secret))
    except PasswordCheckBusy:
        context.metrics.request_refused("busy")
        return _oauth_error(503, "temporarily_unavailable", "too many token requests at once")
    context.metrics.token_request(client is not None)
    if client is None:
        context.throttle.failed(client_id)
        log.warning("token refused for client %r", client_id)
        return _oauth_error(401, "invalid_client", "unknown client or wrong secret")
    context.throttle.succeeded(client_id)
    body: dict[str, object] = {"access_token": context.issuer.issue(client, context.clock()), "token_type": "Bearer"}
    body["expires_in"] = context.issuer.ttl_seconds
    if form.get("scope"):
        body["scope"] = form["scope"][:200]
    return web.json_response(body)


async def _token_form(request: web.Request, context: ReceiverContext) -> dict[str, str]:
    """The form, read only up to its small limit (with or without a Content-Length)."""
    body = await request.content.read(MAX_TOKEN_REQUEST_BYTES + 1)
    if len(body) > MAX_TOKEN_REQUEST_BYTES:
        context.metrics.request_refused("size")
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_TOKEN_REQUEST_BYTES, actual_size=len(body))
    fields = parse_qs(body.decode("utf-8", errors="replace"), max_num_fields=20)
    return {name: values[0] for name, values in fields.items()}


async def caller_of(request: web.Request) -> Caller:
    """The verified caller, or 401: the receiver's own token, else (when configured) the identity provider's."""
    context = request.app[CONTEXT]
    scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
    try:
        if scheme.lower() != "bearer" or not bearer.strip():
            raise TokenError("no bearer token")
        try:
            return context.issuer.verify(bearer.strip())
        except TokenError:
            if context.external is None:
                raise
            return await context.external(bearer.strip())
    except TokenError as error:
        context.metrics.request_refused("auth")
        log.warning("refused a batch: %s", error)
        raise web.HTTPUnauthorized(
            text=str(error), content_type="text/plain", headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        ) from None


async def records(request: web.Request) -> web.StreamResponse:
    """A batch of child records: authenticated, for the token's council only, bounded, answered per record."""
    context = request.app[CONTEXT]
    caller = await caller_of(request)
    la_code = request.match_info["la_code"]
    if not LA_CODE.fullmatch(la_code) or la_code != caller.la_code:
        context.metrics.request_refused("council")
        log.warning("refused a batch for another council from client %r", caller.client_id[:64])
        raise web.HTTPForbidden(text=f"this token is for council {caller.la_code} only", content_type="text/plain")
    declared = request.content_length
    if declared is not None and declared > context.max_body_bytes:
        context.metrics.request_refused("size")
        raise web.HTTPRequestEntityTooLarge(max_size=context.max_body_bytes, actual_size=declared)
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        context.metrics.request_refused("size")
        raise
    items = _batch(body, context)
    try:
        answers = await context.receiver.receive(caller, items)
    except PublishFailed as error:
        headers = {"Retry-After": "30"}
        raise web.HTTPServiceUnavailable(text=str(error), content_type="text/plain", headers=headers) from None
    status, answer = batch_answer(answers)
    return web.Response(body=orjson.dumps(answer), status=status, content_type="application/json")


def _batch(body: bytes, context: ReceiverContext) -> list[object]:
    """The posted JSON array (a single record object is taken as a batch of one)."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        context.metrics.request_refused("body")
        raise web.HTTPBadRequest(text="the body is not JSON", content_type="text/plain") from None
    items = parsed if isinstance(parsed, list) else [parsed]
    if len(items) > context.max_records_per_batch:
        context.metrics.request_refused("size")
        raise web.HTTPRequestEntityTooLarge(max_size=context.max_records_per_batch, actual_size=len(items))
    return items


async def healthz(_request: web.Request) -> web.StreamResponse:
    return web.json_response({"status": "ok"})


async def metrics(request: web.Request) -> web.StreamResponse:
    body = generate_latest(request.app[CONTEXT].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
