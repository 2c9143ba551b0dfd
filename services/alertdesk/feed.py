"""The live feed: the page, the server-sent event stream (resumable by Last-Event-ID), one alert, and actions."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from pydantic import ValidationError

from schemas.codes import Rule, Severity
from services.alertdesk.actions import (
    ActionMessage,
    AlertAcknowledged,
    AlertAssigned,
    AlertClosed,
    AlertNoteAdded,
)
from services.alertdesk.context import DeskContext, context_of, read_form, session_of
from services.alertdesk.pages import RULE_LABELS, card, e, shell
from services.alertdesk.sessions import Session
from services.alertdesk.state import AlertRecord, FeedFilter

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 15.0
RETRY_MILLISECONDS = 2000


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/feed", feed_page)
    router.add_get("/feed/stream", feed_stream)
    router.add_get("/alerts/{alert_id}", alert_detail)
    router.add_post("/alerts/{alert_id}/{action:acknowledge|assign|note|close}", act)


def child_level_session(request: web.Request) -> Session:
    """Child-level routes are refused by role before any id is looked at, so the refusal says nothing about ids."""
    session = session_of(request)
    if not session.user.sees_child_level:
        context_of(request).desk.metrics.access_denied.labels(reason="role").inc()
        raise web.HTTPForbidden(text="your role sees aggregates only", content_type="text/plain")
    return session


def feed_filter(request: web.Request) -> FeedFilter:
    query = request.query
    try:
        severity = Severity(query["severity"]) if query.get("severity") else None
        rule = Rule(query["rule"]) if query.get("rule") else None
    except ValueError:
        raise web.HTTPBadRequest(text="unknown severity or rule", content_type="text/plain") from None
    team = query.get("team") or None
    return FeedFilter(severity, rule, team[:200] if team else None, include_finished=query.get("show") == "all")


def _filter_query(chosen: FeedFilter) -> str:
    pairs = {
        "severity": chosen.severity.value if chosen.severity else "",
        "rule": chosen.rule.value if chosen.rule else "",
        "team": chosen.team or "",
        "show": "all" if chosen.include_finished else "",
    }
    return urlencode({k: v for k, v in pairs.items() if v})


def _options(values: list[tuple[str, str]], selected: str) -> str:
    return "".join(
        f'<option value="{e(v)}"{" selected" if v == selected else ""}>{e(label)}</option>' for v, label in values
    )


def _filters_form(context: DeskContext, la_code: str, chosen: FeedFilter) -> str:
    severities = [("", "Any severity")] + [(s.value, s.value.capitalize()) for s in Severity]
    rules = [("", "Any rule")] + [(r.value, label) for r, label in RULE_LABELS.items()]
    teams = [("", "Any team")] + [(t, t) for t in context.desk.state.teams(la_code)]
    shows = [("", "Open alerts"), ("all", "Open, closed and withdrawn")]
    return (
        '<form class="filters" method="get" action="/feed" aria-label="Filter alerts">'
        f'<div><label for="f-severity">Severity</label><select id="f-severity" name="severity">'
        f"{_options(severities, chosen.severity.value if chosen.severity else '')}</select></div>"
        f'<div><label for="f-rule">Rule</label><select id="f-rule" name="rule">'
        f"{_options(rules, chosen.rule.value if chosen.rule else '')}</select></div>"
        f'<div><label for="f-team">Team</label><select id="f-team" name="team">{_options(teams, chosen.team or "")}'
        "</select></div>"
        f'<div><label for="f-show">Show</label><select id="f-show" name="show">'
        f"{_options(shows, 'all' if chosen.include_finished else '')}</select></div>"
        '<button type="submit">Apply filters</button></form>'
    )


async def feed_page(request: web.Request) -> web.StreamResponse:
    session = child_level_session(request)
    context, user = context_of(request), session.user
    chosen = feed_filter(request)
    state = context.desk.state
    seq, matching = state.seq, state.select(user.la_code, chosen)
    page, size = _page_number(request), context.settings.feed_page_size
    records = matching[(page - 1) * size : page * size]  # only one page is shown, and so only one page is audited
    cards = "".join(_card(context, session, r) for r in records)
    stream_url = f"/feed/stream?{_filter_query(chosen)}&after={context.epoch}-{seq}".replace("?&", "?")
    body = (
        '<div class="feed-head"><h1>Live alerts</h1>'
        '<p id="live-status" class="live" role="status" aria-live="polite">Connecting to the live feed…</p>'
        f'<p class="count"><span id="alert-count">{len(records)}</span> alerts shown</p></div>'
        f"{_filters_form(context, user.la_code, chosen)}"
        f'<div id="feed" class="cards" data-stream="{e(stream_url)}" aria-live="off">{cards}</div>'
        + ("" if records else '<p class="empty" id="empty">No alerts match. New alerts appear here live.</p>')
        + _pager(chosen, page, len(matching), size)
    )
    await context.audit_view(user, "feed", records)
    return web.Response(text=shell("Live alerts", body, user=user, csrf=session.csrf_token, nav="feed"),
                        content_type="text/html")  # fmt: skip


def _page_number(request: web.Request) -> int:
    text = request.query.get("page", "1")
    return min(int(text), 100_000) if text.isdigit() and int(text) >= 1 else 1


def _pager(chosen: FeedFilter, page: int, total: int, size: int) -> str:
    if total <= size:
        return ""
    query = _filter_query(chosen)
    links = [f'<a href="/feed?{query}&page={p}">{label}</a>'.replace("?&", "?")
             for p, label in ((page - 1, "Newer alerts"), (page + 1, "Older alerts"))
             if 1 <= p <= -(-total // size)]  # fmt: skip
    return f'<nav class="pager" aria-label="Pages">Page {page} of {-(-total // size)} {" ".join(links)}</nav>'


def _card(context: DeskContext, session: Session, record: AlertRecord) -> str:
    return card(record, csrf=session.csrf_token, case_url_template=context.settings.case_record_url_template)


def parse_event_id(text: str | None, epoch: str) -> int | None:
    """The sequence number after which to resume, or None when the client needs a full snapshot."""
    if not text or "-" not in text:
        return None
    their_epoch, _, seq = text.partition("-")
    return int(seq) if their_epoch == epoch and seq.isdigit() else None


def _sse(event: str, data: dict[str, Any], event_id: str | None = None) -> bytes:
    lines = [f"id: {event_id}"] if event_id else []
    lines += [f"event: {event}", f"data: {json.dumps(data, separators=(',', ':'))}"]
    return ("\n".join(lines) + "\n\n").encode()


async def feed_stream(request: web.Request) -> web.StreamResponse:
    """Server-sent events: each changed card with id `<epoch>-<seq>`; a browser reconnecting resumes after it."""
    session = child_level_session(request)
    context, user = context_of(request), session.user
    chosen, desk = feed_filter(request), context.desk
    after = parse_event_id(request.headers.get("Last-Event-ID") or request.query.get("after"), context.epoch)
    if context.live_streams[session.session_id] >= context.settings.max_streams_per_session:
        raise web.HTTPTooManyRequests(text="too many live feeds open in this session", content_type="text/plain")
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "X-Accel-Buffering": "no"})
    await response.prepare(request)
    desk.metrics.feed_clients.inc()
    context.live_streams[session.session_id] += 1
    try:
        await response.write(f"retry: {RETRY_MILLISECONDS}\n\n".encode())
        if after is None:  # first connection without a page, or the desk restarted since: send everything
            # The first page only, as the page itself shows: a stream never sends (or audits) the whole feed at once.
            first_page = desk.state.select(user.la_code, chosen)[: context.settings.feed_page_size]
            after, snapshot = desk.state.seq, first_page[::-1]
            await response.write(_sse("reset", {}))
            await _send(context=context, session=session, response=response, chosen=chosen, records=snapshot)
        while not desk.hub.closing and context.sessions.alive(session, context.clock()):
            changed_event = desk.hub.current()
            records = desk.state.changed_since(user.la_code, after)
            if records:
                after = records[-1].seq
                await _send(context=context, session=session, response=response, chosen=chosen, records=records)
            elif not await desk.hub.wait(changed_event, HEARTBEAT_SECONDS):
                await response.write(b": keep-alive\n\n")
        if not desk.hub.closing:
            await response.write(_sse("expired", {}))
    except ConnectionResetError:
        pass  # the browser went away; it resumes with Last-Event-ID when it comes back
    finally:
        desk.metrics.feed_clients.dec()
        context.live_streams[session.session_id] -= 1
        if context.live_streams[session.session_id] <= 0:
            del context.live_streams[session.session_id]
    return response


async def _send(
    *,
    context: DeskContext,
    session: Session,
    response: web.StreamResponse,
    chosen: FeedFilter,
    records: list[AlertRecord],
) -> None:
    if not records:
        return
    await context.audit_view(session.user, "feed_stream", records)
    chunks = []
    for record in records:
        visible = chosen.matches(record)
        data: dict[str, Any] = {"alert_id": record.alert_id, "visible": visible}
        if visible:
            data["html"] = _card(context, session, record)
        chunks.append(_sse("card", data, f"{context.epoch}-{record.seq}"))
    await response.write(b"".join(chunks))


def detail(record: AlertRecord) -> dict[str, Any]:
    """What the JSON API shows of one alert: an explicit list of fields, nothing internal."""
    return {
        "alert": record.alert.model_dump(mode="json"),
        "status": record.status,
        "acknowledged_by": record.acknowledged_by,
        "acknowledged_at": record.acknowledged_at.isoformat() if record.acknowledged_at else None,
        "assignee_kind": record.assignee_kind,
        "assignee": record.assignee,
        "notes": [{"author": n.author, "at": n.at.isoformat(), "text": n.text} for n in record.notes],
        "outcome": record.outcome.value if record.outcome else None,
        "closed_by": record.closed_by,
        "withdrawn_reason": record.withdrawn_reason,
    }


def _own_record(request: web.Request, session: Session) -> AlertRecord:
    """404, never 403, for an id of another council, so ids cannot be probed."""
    context = context_of(request)
    record = context.desk.state.get(session.user.la_code, request.match_info["alert_id"])
    if record is None:
        context.desk.metrics.access_denied.labels(reason="not_found").inc()
        raise web.HTTPNotFound(text="no such alert", content_type="text/plain")
    return record


async def alert_detail(request: web.Request) -> web.StreamResponse:
    session = child_level_session(request)
    record = _own_record(request, session)
    await context_of(request).audit_view(session.user, "alert", [record])
    return web.json_response(detail(record))


def _action(kind: str, base: dict[str, Any], form: Any) -> ActionMessage:
    if kind == "acknowledge":
        return AlertAcknowledged(**base)
    if kind == "assign":
        return AlertAssigned(**base, assignee_kind=form.get("assignee_kind", ""), assignee=form.get("assignee", ""))
    if kind == "note":
        return AlertNoteAdded(**base, text=form.get("text", ""))
    return AlertClosed(**base, outcome=form.get("outcome", ""))


async def act(request: web.Request) -> web.StreamResponse:
    """Record a decision as an event on the actions topic, then show the updated card."""
    session = child_level_session(request)
    context, user = context_of(request), session.user
    record = _own_record(request, session)
    if not record.is_open:
        raise web.HTTPConflict(text="this alert is already closed or withdrawn", content_type="text/plain")
    base = {"alert_id": record.alert_id, "la_code": record.la_code, "actor": user.username, "at": context.clock()}
    try:
        action = _action(request.match_info["action"], base, await read_form(request))
    except ValidationError as error:
        fields = ", ".join(sorted({str(err["loc"][-1]) for err in error.errors()}))
        raise web.HTTPBadRequest(text=f"check these fields: {fields}", content_type="text/plain") from None
    await context.publish_action(action)  # durable first: a decision the topic does not hold never happened
    updated = context.desk.fold_action(action) or record
    await context.audit_view(user, "action", [updated])
    if "application/json" in request.headers.get("Accept", ""):
        return web.json_response({"alert_id": updated.alert_id, "html": _card(context, session, updated)})
    raise web.HTTPSeeOther(f"/feed#alert-{updated.alert_id}")
