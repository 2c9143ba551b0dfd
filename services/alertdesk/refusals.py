"""Every 403 and 404 a signed-in person meets is audited: tampering with a URL leaves a record, whatever the page."""

from __future__ import annotations

import logging

from aiohttp import web

from schemas.audit import AccessRefused
from services.alertdesk.auth import AGENCIES
from services.alertdesk.context import context_of
from services.alertdesk.sessions import Session

log = logging.getLogger(__name__)
OTHER = "other"


def route_pattern(request: web.Request) -> str:
    """The matched route's pattern from the route table (e.g. /partner/{la_code}/{agency}), never the URL typed."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "(no route)"


def asked(request: web.Request) -> tuple[str | None, str | None]:
    """The council and agency a URL asked for, when it names them: the code itself if well-formed, else "other"."""
    la_code, agency = request.match_info.get("la_code"), request.match_info.get("agency")
    if la_code is not None and not (len(la_code) == 3 and la_code.isdigit()):
        la_code = OTHER
    if agency is not None and agency not in AGENCIES:
        agency = OTHER
    return la_code, agency


async def audit_refusal(request: web.Request, session: Session, status: int) -> None:
    """Record the refusal; a refusal stands even when the trail cannot be written (/healthz then reports it)."""
    context, user = context_of(request), session.user
    asked_la_code, asked_agency = asked(request)
    entry = AccessRefused(
        occurred_at=context.clock(), user=user.username, role=user.role, la_code=user.la_code, agency=user.agency,
        route=route_pattern(request), method=request.method[:10], status=403 if status == 403 else 404,
        asked_la_code=asked_la_code, asked_agency=asked_agency,
    )  # fmt: skip
    try:
        await context.audit_record(entry, "refused")
    except Exception:
        log.exception("could not audit a refused request")
