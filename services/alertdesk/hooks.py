"""Alertmanager's webhook (`POST /hooks/alertmanager`, bearer token) and the `/indicators` page it feeds."""

from __future__ import annotations

import hmac
import logging

from aiohttp import web
from pydantic import ValidationError

from services.alertdesk.auth import INDICATOR_ROLES
from services.alertdesk.context import context_of, session_of
from services.alertdesk.indicators import IndicatorAlert, WebhookPayload
from services.alertdesk.pages import e, fmt_date, shell

log = logging.getLogger(__name__)
HOOK_PATH = "/hooks/alertmanager"


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post(HOOK_PATH, alertmanager_webhook)
    router.add_get("/indicators", indicators_page)


def _authorised(request: web.Request) -> bool:
    """A constant-time comparison of the whole Authorization header with the configured bearer token."""
    token = context_of(request).settings.alertmanager_token
    if token is None or not token.get_secret_value():
        return False
    expected = f"Bearer {token.get_secret_value()}".encode()
    return hmac.compare_digest(request.headers.get("Authorization", "").encode(), expected)


async def alertmanager_webhook(request: web.Request) -> web.StreamResponse:
    context = context_of(request)
    deliveries = context.desk.metrics.alertmanager_deliveries
    if not _authorised(request):
        deliveries.labels(outcome="unauthorized").inc()
        raise web.HTTPUnauthorized(
            text="a valid bearer token is required", content_type="text/plain", headers={"WWW-Authenticate": "Bearer"}
        )
    try:
        payload = WebhookPayload.model_validate_json(await request.read())
    except ValidationError as error:
        deliveries.labels(outcome="invalid").inc()
        fields = sorted({".".join(str(p) for p in err["loc"]) for err in error.errors()})[:5]
        log.warning("refused an Alertmanager delivery that is not webhook version 4: %s", fields)
        raise web.HTTPBadRequest(text="not a version 4 webhook payload", content_type="text/plain") from None
    context.indicator_alerts.receive(payload, context.clock())
    deliveries.labels(outcome="accepted").inc()
    return web.json_response({"received": len(payload.alerts)})


async def indicators_page(request: web.Request) -> web.StreamResponse:
    context, session = context_of(request), session_of(request)
    user = session.user
    if user.role not in INDICATOR_ROLES:
        context.desk.metrics.access_denied.labels(reason="role").inc()
        raise web.HTTPForbidden(text="for heads of service and performance", content_type="text/plain")
    alerts = context.indicator_alerts.visible_to(user.la_code)
    rows = "".join(_row(a) for a in alerts) or '<tr><td colspan="6">No indicator or platform alerts received.</td></tr>'
    body = (
        "<h1>Indicator and platform alerts</h1>"
        f'<p class="meta">From Alertmanager: council {e(user.la_code)} and the platform, latest state of each.</p>'
        '<table class="indicators"><thead><tr><th scope="col">Status</th><th scope="col">Alert</th>'
        '<th scope="col">Severity</th><th scope="col">Council</th><th scope="col">Summary</th>'
        f'<th scope="col">Since</th></tr></thead><tbody>{rows}</tbody></table>'
    )
    page = shell("Indicators", body, user=user, csrf=session.csrf_token, nav="indicators")
    return web.Response(text=page, content_type="text/html")


def _row(alert: IndicatorAlert) -> str:
    since = alert.starts_at if alert.status == "firing" or alert.ends_at is None else alert.ends_at
    status = "Firing" if alert.status == "firing" else "Resolved"
    return (
        f'<tr class="indicator-{e(alert.status)}" data-fingerprint="{e(alert.fingerprint)}"><td>{status}</td>'
        f"<td>{e(alert.name)}</td><td>{e(alert.labels.get('severity', ''))}</td>"
        f"<td>{e(alert.la_code or 'platform')}</td><td>{e(alert.summary)}</td><td>{e(fmt_date(since))}</td></tr>"
    )
