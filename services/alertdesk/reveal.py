"""Revealing a child's own council id (`LAchildID`) to authorised staff of that child's council, every time audited.

`POST /children/{pseudonym}/reveal` answers {"la_child_id": ...}; `GET /children/{pseudonym}/case` redirects to
the council's case record. Anyone else, another council's child and an unknown pseudonym all get the same 403.
"""

from __future__ import annotations

import logging
from typing import Literal
from urllib.parse import quote

from aiohttp import web

from schemas.audit import ChildIdentityRevealed
from schemas.pseudonyms import is_pseudonym
from services.alertdesk.auth import Role, User
from services.alertdesk.context import DeskContext, context_of, session_of
from services.identity.sealing import IdentityKeyError, IdentityUnsealError

log = logging.getLogger(__name__)
# Staff who open case records; performance and partner roles work with aggregates and never see an id.
REVEAL_ROLES: frozenset[Role] = frozenset({"duty_manager", "team_manager", "head_of_service"})
REFUSED = "not available"
Route = Literal["reveal", "case"]
PURPOSES: dict[Route, str] = {
    "reveal": "the child's council id shown on a card or the timeline",
    "case": "the child's council id used to open the case record",
}


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/children/{pseudonym}/reveal", reveal)
    router.add_get("/children/{pseudonym}/case", case_record)


async def reveal(request: web.Request) -> web.StreamResponse:
    la_child_id = await open_identity(context_of(request), session_of(request).user, request, "reveal")
    return web.json_response({"la_child_id": la_child_id})


async def case_record(request: web.Request) -> web.StreamResponse:
    context = context_of(request)
    template = context.settings.case_record_url_template
    if not template:
        raise web.HTTPNotFound(text="no case-record link is configured", content_type="text/plain")
    child_key = request.match_info["pseudonym"]
    la_child_id = await open_identity(context, session_of(request).user, request, "case")
    href = (
        template.replace("{la_child_id}", quote(la_child_id, safe=""))
        .replace("{child_key}", quote(child_key, safe=""))
        .replace("{la_code}", quote(session_of(request).user.la_code, safe=""))
    )
    return web.Response(status=303, headers={"Location": href})


async def open_identity(context: DeskContext, user: User, request: web.Request, route: Route) -> str:
    """The child's council id for `user`, audited before it leaves; otherwise 403 (or 503 with no audit trail)."""
    counter = context.desk.metrics.identity_reveals
    child_key = request.match_info["pseudonym"]
    allowed = user.role in REVEAL_ROLES and is_pseudonym(child_key)
    record = context.identity.find(child_key, user.la_code) if allowed else None
    if record is None:
        counter.labels(route=route, outcome="refused").inc()
        context.desk.metrics.access_denied.labels(reason="role" if not allowed else "not_found").inc()
        raise web.HTTPForbidden(text=REFUSED, content_type="text/plain")
    if not context.reveal_budget.take(user.username, context.clock()):
        counter.labels(route=route, outcome="throttled").inc()
        log.warning("reveal budget used up for %r (%d an hour)", user.username[:64], context.reveal_budget.per_hour)
        raise web.HTTPTooManyRequests(text="too many reveals: try again later", content_type="text/plain")
    try:
        la_child_id = context.identity.open_for(record)
    except (IdentityUnsealError, IdentityKeyError) as error:
        counter.labels(route=route, outcome="unsealable").inc()
        log.warning("a sealed child id of council %s did not open: %s", record.la_code, type(error).__name__)
        raise web.HTTPForbidden(text=REFUSED, content_type="text/plain") from None
    entry = ChildIdentityRevealed(
        occurred_at=context.clock(), user=user.username, role=user.role, la_code=user.la_code, route=route,
        purpose=PURPOSES[route], child_key=child_key,
    )  # fmt: skip
    try:
        await context.audit.record(entry)
    except Exception:  # no audit record, no id: a reveal that cannot be traced is not made
        context.audit_health.failed()
        log.exception("could not audit a reveal; the id was not sent")
        raise web.HTTPServiceUnavailable(text="the audit trail cannot be written", content_type="text/plain") from None
    context.audit_health.succeeded()
    context.desk.metrics.audit_records.labels(route=route).inc()
    counter.labels(route=route, outcome="revealed").inc()
    return la_child_id
