"""The aiohttp app factory: security headers, sessions and CSRF, login and logout (local and OIDC), health, metrics.

Nothing here does I/O at import; `create_app` only wires routes to handlers over a DeskContext.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from schemas.audit import SignInRefused
from services.alertdesk import admin, children, dip_samples, feed, history, hooks, portal, reveal, review
from services.alertdesk.auth import FIRST_RUN_HELP, User, replace_hash
from services.alertdesk.context import CONTEXT, SESSION, DeskContext, context_of, read_form, session_of
from services.alertdesk.oidc import OidcError
from services.alertdesk.pages import e, login_page, shell
from services.alertdesk.passwords import PasswordCheckBusy, hash_password
from services.alertdesk.refusals import audit_refusal
from services.alertdesk.sessions import LOGIN_COOKIE, OIDC_COOKIE, SESSION_COOKIE, sign, tokens_match, unsign
from services.alertdesk.signin import Lockout, Refusal

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "static"
# The webhook has no session: hooks.py checks Alertmanager's bearer token instead (and needs no CSRF token).
PUBLIC_PATHS = frozenset(
    {"/login", "/login/oidc", "/login/oidc/callback", "/healthz", "/metrics", "/favicon.ico", hooks.HOOK_PATH}
)
WrongPassword = Literal["wrong_password"]
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def create_app(context: DeskContext) -> web.Application:
    app = web.Application(middlewares=[_authenticate], client_max_size=64 * 1024)
    app[CONTEXT] = context
    app.on_response_prepare.append(_security_headers)
    if context.oidc is not None:
        app.cleanup_ctx.append(_oidc_http)
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout)
    app.router.add_get("/login/oidc", oidc_start)
    app.router.add_get("/login/oidc/callback", oidc_callback)
    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/favicon.ico", no_icon)
    app.router.add_static("/static", STATIC_DIR, append_version=False)
    feed.add_routes(app.router)
    review.add_routes(app.router)
    history.add_routes(app.router)
    children.add_routes(app.router)
    dip_samples.add_routes(app.router)
    reveal.add_routes(app.router)
    hooks.add_routes(app.router)
    portal.add_routes(app.router)
    admin.add_routes(app.router)
    return app


async def _oidc_http(app: web.Application):  # type: ignore[no-untyped-def]  # aiohttp cleanup_ctx generator
    oidc = app[CONTEXT].oidc
    assert oidc is not None
    async with aiohttp.ClientSession() as http:
        oidc.http = http
        yield


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    # same-origin: a case-record link must not carry the desk's URL, but the desk's own form posts keep their
    # Origin header (under no-referrer browsers send "Origin: null", which the CSRF check rightly refuses).
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"  # child-level pages must not stay in caches
    if context_of(request).settings.cookie_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"


def _same_origin(request: web.Request) -> bool:
    """A browser's Origin header, when it sends one, must name this host (a second line of CSRF defence)."""
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host


@web.middleware
async def _authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every route but login, health, metrics and static files needs a live session; every POST a CSRF token."""
    if request.path in PUBLIC_PATHS or request.path.startswith("/static/"):
        return await handler(request)
    context = context_of(request)
    # The live feed's own traffic is not a person's activity, so it does not extend the idle timeout.
    touch = request.path != "/feed/stream"
    session = context.sessions.resolve(request.cookies.get(SESSION_COOKIE), context.clock(), touch=touch)
    if session is None:
        context.desk.metrics.access_denied.labels(reason="session").inc()
        if request.method == "GET" and "text/html" in request.headers.get("Accept", ""):
            raise web.HTTPSeeOther("/login")
        raise web.HTTPUnauthorized(text="sign in first", content_type="text/plain")
    if request.method not in SAFE_METHODS:
        given = request.headers.get("X-CSRF-Token")
        if given is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            value = (await read_form(request)).get("csrf_token")
            given = value if isinstance(value, str) else None
        if not _same_origin(request) or not tokens_match(session.csrf_token, given):
            context.desk.metrics.access_denied.labels(reason="csrf").inc()
            raise web.HTTPForbidden(text="missing or wrong CSRF token", content_type="text/plain")
    request[SESSION] = session
    try:
        return await handler(request)
    except (web.HTTPForbidden, web.HTTPNotFound) as refusal:  # another council's, agency's or role's page
        await audit_refusal(request, session, refusal.status)
        raise


def redirect(location: str, status: int = 303) -> web.Response:
    """A redirect that can carry cookies (returning an HTTPException instance is deprecated in aiohttp)."""
    return web.Response(status=status, headers={"Location": location})


def _set_cookie(response: web.StreamResponse, context: DeskContext, name: str, value: str, **kwargs: object) -> None:
    options: dict[str, object] = {
        "httponly": True,
        "secure": context.settings.cookie_secure,
        "samesite": "Strict",
        "path": "/",
    } | kwargs
    response.set_cookie(name, value, **options)  # type: ignore[arg-type]  # aiohttp's keyword types


def client_address(request: web.Request) -> str:
    """The client's address: from the reverse proxy's header when one is configured, else the peer's."""
    header = context_of(request).settings.client_address_header
    given = request.headers.get(header, "") if header else ""
    return (given.split(",")[-1].strip() or request.remote or "unknown")[:100]


def _login_response(
    context: DeskContext, *, error: str = "", status: int = 200, retry_after: float | None = None
) -> web.Response:
    nonce = context.signin.nonces.issue()
    no_users = context.users.empty and context.oidc is None
    first_run = FIRST_RUN_HELP.format(path=context.settings.users_file) if no_users else ""
    page = login_page(
        nonce, error=error, local=not context.users.empty, oidc=context.oidc is not None, first_run=first_run
    )
    response = web.Response(text=page, content_type="text/html", status=status)
    _set_cookie(response, context, LOGIN_COOKIE, sign(context.sessions.secret, nonce), max_age=600)
    if retry_after is not None:
        response.headers["Retry-After"] = str(math.ceil(retry_after))
    return response


async def login_form(request: web.Request) -> web.StreamResponse:
    return _login_response(context_of(request))


async def login_submit(request: web.Request) -> web.StreamResponse:
    context = context_of(request)
    form = await read_form(request)
    nonce = unsign(context.sessions.secret, request.cookies.get(LOGIN_COOKIE))
    given = form.get("csrf_token")
    fresh = nonce is not None and tokens_match(nonce, given if isinstance(given, str) else None)
    # Single use: a nonce is spent by the first post that presents it, whatever the outcome.
    if not (fresh and _same_origin(request) and context.signin.nonces.consume(nonce)):
        context.desk.metrics.access_denied.labels(reason="csrf").inc()
        return _login_response(context, error="The sign-in form expired. Please try again.", status=403)
    username, password = str(form.get("username", ""))[:200], str(form.get("password", ""))
    address = client_address(request)
    refusal = context.signin.guard.refusal(username, address)
    if refusal is not None:  # refused before any hashing: guessing costs the desk nothing more
        reason, wait = refusal
        lockouts = context.signin.guard.failed(username, address)
        await _refused(context, username, address, reason, lockouts)
        minutes = max(1, math.ceil(wait / 60))
        message = f"Too many sign-in attempts. Try again in {minutes} minute{'s' if minutes > 1 else ''}."
        return _login_response(context, error=message, status=429, retry_after=wait)
    try:
        user, stale_hash = await context.signin.checker.run(lambda: context.users.check(username, password))
    except PasswordCheckBusy:
        context.desk.metrics.logins.labels(method="local", outcome="busy").inc()
        return _login_response(context, error="The desk is busy. Please try again in a moment.", status=503)
    if user is None:
        await _refused(context, username, address, "wrong_password", context.signin.guard.failed(username, address))
        return _login_response(context, error="Wrong username or password.", status=401)
    context.signin.guard.succeeded(username)
    context.desk.metrics.logins.labels(method="local", outcome="success").inc()
    if stale_hash and context.settings.rehash_on_sign_in:
        await _rehash(context, username, password)
    return _signed_in(context, user, redirect("/"))


async def _refused(
    context: DeskContext, username: str, address: str, reason: Refusal | WrongPassword, lockouts: Sequence[Lockout]
) -> None:
    """Count, log and audit a refused sign-in: the typed name (as repr, so it cannot forge log lines), no password."""
    outcome = "failure" if reason == "wrong_password" else "throttled"
    context.desk.metrics.logins.labels(method="local", outcome=outcome).inc()
    log.warning("sign-in refused (%s) for user %r from %s", reason, username[:64], address)
    reasons: list[Lockout | WrongPassword] = ["wrong_password"] if reason == "wrong_password" else []
    reasons += lockouts
    for each in reasons:
        if each in ("account_locked", "address_locked"):
            log.warning("sign-in lockout (%s) for user %r from %s", each, username[:64], address)
        entry = SignInRefused(
            occurred_at=context.clock(),
            user=username or "(empty)",
            address=address,
            reason=each,
        )
        try:
            await context.audit.record(entry)
        except Exception:  # the refusal stands even if the trail cannot be written; /healthz reports it
            context.audit_health.failed()
            log.exception("could not audit a refused sign-in")
        else:
            context.audit_health.succeeded()


async def _rehash(context: DeskContext, username: str, password: str) -> None:
    """Upgrade a scrypt or outdated hash in the users file, off the event loop; a read-only file only warns."""
    source = context.users.source
    entry = context.users.users.get(username)
    if source is None or entry is None:
        return
    try:
        new_hash = await context.signin.checker.run(lambda: hash_password(password))
        replace_hash(source, username, entry.password_hash, new_hash)
    except (OSError, PasswordCheckBusy) as error:
        log.warning("could not upgrade the stored password hash for %r: %s", username[:64], error)


def _signed_in(
    context: DeskContext, user: User, response: web.StreamResponse, method: str = "local"
) -> web.StreamResponse:
    _session, cookie = context.sessions.create(user, context.clock(), method=method)
    _set_cookie(response, context, SESSION_COOKIE, cookie, max_age=context.settings.session_max_age_seconds)
    response.del_cookie(LOGIN_COOKIE, path="/")
    response.del_cookie(OIDC_COOKIE, path="/")
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    context = context_of(request)
    context.sessions.end(request.cookies.get(SESSION_COOKIE))
    response = redirect("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


async def oidc_start(request: web.Request) -> web.StreamResponse:
    context = context_of(request)
    if context.oidc is None:
        raise web.HTTPNotFound()
    try:
        state, url = await context.oidc.start(context.clock())
    except (OidcError, aiohttp.ClientError) as error:
        log.warning("OIDC login could not start: %s", error)
        return _login_response(context, error="The council sign-in service is not answering.", status=502)
    response = redirect(url, status=302)
    # Lax, not Strict: the issuer sends the browser back cross-site, and this cookie must come with it.
    _set_cookie(response, context, OIDC_COOKIE, sign(context.sessions.secret, state), max_age=600, samesite="Lax")
    return response


async def oidc_callback(request: web.Request) -> web.StreamResponse:
    context = context_of(request)
    if context.oidc is None:
        raise web.HTTPNotFound()
    state, code = request.query.get("state", ""), request.query.get("code", "")
    bound = unsign(context.sessions.secret, request.cookies.get(OIDC_COOKIE))
    try:
        if not code or bound is None or not tokens_match(bound, state):
            raise OidcError("the login state does not belong to this browser")
        user = await context.oidc.finish(state, code, context.clock())
    except (OidcError, aiohttp.ClientError) as error:
        log.warning("OIDC login refused: %s", error)
        context.desk.metrics.logins.labels(method="oidc", outcome="failure").inc()
        return _login_response(context, error="Sign-in with your council account failed.", status=401)
    context.desk.metrics.logins.labels(method="oidc", outcome="success").inc()
    # A same-site page hop: a Strict session cookie set during a cross-site redirect would not be sent yet.
    page = shell("Signed in", '<p>Signed in. <a href="/">Continue to the alert desk</a>.</p>')
    page = page.replace("<head>", '<head><meta http-equiv="refresh" content="0;url=/">', 1)
    return _signed_in(context, user, web.Response(text=page, content_type="text/html"), method="oidc")


async def index(request: web.Request) -> web.StreamResponse:
    user = session_of(request).user
    start = {"partner": "/partner", "council_admin": "/admin/users"}.get(user.role, "/aggregates")
    raise web.HTTPSeeOther("/feed" if user.sees_child_level else start)


async def healthz(request: web.Request) -> web.StreamResponse:
    """503 while audit writes fail, or Kafka cannot take durable writes: a desk that cannot keep its audit trail or
    record decisions must not look healthy.

    "status" is "ok" only while the last audit write succeeded and Kafka's last check was writable; "audit" says how
    many writes failed, "kafka" what the check found (services/kafka/health.py) and for how long.
    """
    context = context_of(request)
    desk, health = context.desk, context.audit_health
    kafka = context.kafka.latest if context.kafka is not None else None
    ok = health.ok and (kafka is None or kafka.writable)
    body: dict[str, object] = {"status": "ok" if ok else "failing"}
    if not health.ok:
        body["audit"] = {"status": "failing", "consecutive_failures": health.consecutive_failures}
    if kafka is not None and context.kafka is not None:
        report: dict[str, object] = {"status": kafka.status, "brokers": kafka.brokers, "detail": kafka.summary()}
        if not kafka.writable:
            report["failing_for_seconds"] = round(context.kafka.since(kafka), 1)
        body["kafka"] = report
    body |= {"caught_up": desk.caught_up, "alerts": desk.state.total()}
    return web.json_response(body, status=200 if ok else 503)


async def no_icon(_request: web.Request) -> web.StreamResponse:
    return web.Response(status=204)


async def metrics(request: web.Request) -> web.StreamResponse:
    body = generate_latest(context_of(request).registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def forbidden_page(request: web.Request, message: str) -> web.Response:
    session = session_of(request)
    body = f'<h1>Not available</h1><p class="error">{e(message)}</p>'
    page = shell("Not available", body, user=session.user, csrf=session.csrf_token)
    return web.Response(text=page, content_type="text/html", status=403)
