"""The live feed: the page, the server-sent event stream (resumable by Last-Event-ID), one alert, and actions."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlencode

from aiohttp import web
from pydantic import ValidationError

from services.alertdesk.actions import (
    ActionMessage,
    AlertAcknowledged,
    AlertAssigned,
    AlertClosed,
    AlertNoteAdded,
)
from services.alertdesk.bychild import OtherAlert
from services.alertdesk.context import DeskContext, context_of, read_form, session_of
from services.alertdesk.feed_bychild import (
    card_events,
    child_events,
    count_line,
    first_children,
    render,
    shown_alerts,
)
from services.alertdesk.filters import feed_filter, filter_query, filters_form, search_form
from services.alertdesk.pages import RULE_LABELS, action_template, card, e, shell
from services.alertdesk.readmodel import count_text
from services.alertdesk.sessions import Session
from services.alertdesk.state import AlertRecord, FeedFilter
from services.pseudonym_keys import UnknownCouncilKeyError

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 15.0
RETRY_MILLISECONDS = 2000


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/feed", feed_page)
    router.add_post("/search", search)
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


def listing(
    context: DeskContext, session: Session, chosen: FeedFilter, older: int | None
) -> tuple[str, int, list[AlertRecord]]:
    """One page of cards for a filter, the number matching, and the records shown (to audit)."""
    page = context.desk.state.page(session.user.la_code, chosen, older_than=older, size=context.settings.feed_page_size)
    total = context.desk.state.count(session.user.la_code, chosen)
    cards = "".join(_card(context, session, r) for r in page.records)
    return cards + _pager(request_path(chosen), chosen, older, page.older), total, page.records


def child_listing(
    context: DeskContext, session: Session, chosen: FeedFilter, older: int | None
) -> tuple[str, str, list[AlertRecord | OtherAlert]]:
    """The by-child view: one page of child cards, its count line, and every alert the cards show (to audit)."""
    page = first_children(context, session, chosen, older)
    cards = "".join(render(context, session, group) for group in page.cards)
    line = count_line(context, session, chosen, len(page.cards))
    return cards + _pager(request_path(chosen), chosen, older, page.older), line, shown_alerts(page.cards)


def request_path(chosen: FeedFilter) -> str:
    return "/history" if chosen.history else "/feed"


def older_cursor(request: web.Request) -> int | None:
    text = request.query.get("older", "")
    return int(text) if text.isdigit() else None


async def feed_page(request: web.Request) -> web.StreamResponse:
    session = child_level_session(request)
    context, user = context_of(request), session.user
    chosen, older = feed_filter(request.query, history=False), older_cursor(request)
    seq = context.desk.state.seq
    records: Sequence[AlertRecord | OtherAlert]
    if chosen.by_child:
        cards, count, records = child_listing(context, session, chosen, older)
    else:
        cards, total, records = listing(context, session, chosen, older)
        count = (
            f'<p class="count"><span id="alert-count">{len(records)}</span> shown of '
            f'<span id="alert-total">{count_text(total)}</span> matching</p>'
        )
    stream_url = f"/feed/stream?{filter_query(chosen)}&after={context.epoch}-{seq}".replace("?&", "?")
    title = "Alerts for one child" if chosen.child_key else "Live alerts"
    body = (
        f'<div class="feed-head"><h1>{title}</h1>'
        '<p id="live-status" class="live" role="status" aria-live="polite">Connecting to the live feed…</p>'
        f"{count}</div>"
        f"{search_form(session.csrf_token)}"
        f"{filters_form('/feed', context.desk.state.teams(user.la_code), chosen)}"
        f'<div id="feed" class="cards" data-stream="{e(stream_url)}" data-live="{0 if older else 1}" aria-live="off">'
        f"{cards}</div>"
        + ("" if records else '<p class="empty" id="empty">No alerts match. New alerts appear here live.</p>')
        + action_template(session.csrf_token)
    )
    # Only one page is shown, and so only one page is audited: one record per page, every alert on it listed
    # (a child card's "also open" alerts too).
    await context.audit_view(user, "search" if chosen.child_key else "feed", records)
    return web.Response(text=shell(title, body, user=user, csrf=session.csrf_token, nav="feed"),
                        content_type="text/html")  # fmt: skip


async def search(request: web.Request) -> web.StreamResponse:
    """The council's child id, posted, becomes its pseudonym; the id itself is neither stored nor put in a URL."""
    session = child_level_session(request)
    context = context_of(request)
    raw = str((await read_form(request)).get("la_child_id", "")).strip()[:100]
    if not raw:
        raise web.HTTPBadRequest(text="enter the council's child id", content_type="text/plain")
    if context.pseudonymiser is None:
        raise web.HTTPServiceUnavailable(
            text="search by child id needs the pseudonymisation key (FRONTDOOR_PSEUDONYM_KEY)",
            content_type="text/plain",
        )
    pseudonym = _searched_pseudonym(context, session.user.la_code, raw)
    raise web.HTTPSeeOther(f"/feed?{urlencode({'child': pseudonym, 'show': 'all'})}")


def _searched_pseudonym(context: DeskContext, la_code: str, raw: str) -> str:
    """The child's pseudonym under the council's current key, or under the first older key (after a rotation)
    that the desk holds alerts for; a council without a key is answered like a child without alerts."""
    assert context.pseudonymiser is not None
    try:
        candidates = context.pseudonymiser.pseudonyms_of(la_code, raw)
    except UnknownCouncilKeyError:
        raise web.HTTPServiceUnavailable(
            text="no pseudonymisation key for this council", content_type="text/plain"
        ) from None
    model = context.desk.state
    for pseudonym in candidates:
        if model.select(la_code, FeedFilter(include_finished=True, child_key=pseudonym), limit=1):
            return pseudonym
    return candidates[0]


def _pager(path: str, chosen: FeedFilter, older: int | None, next_older: int | None) -> str:
    query = filter_query(chosen)
    links = []
    if older is not None:
        links.append(f'<a href="{path}?{query}" rel="first">Newest alerts</a>'.replace('?"', '"'))
    if next_older is not None:
        links.append(f'<a href="{path}?{query}&older={next_older}" rel="next">Older alerts</a>'.replace("?&", "?"))
    return f'<nav class="pager" aria-label="Pages">{" ".join(links)}</nav>' if links else ""


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
    chosen, desk = feed_filter(request.query, history=False), context.desk
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
            after = desk.state.seq
            await response.write(_sse("reset", {}))
            if chosen.by_child:  # the page's cards, built once, oldest first
                cards = first_children(context, session, chosen, None).cards[::-1]
                await _write_cards(context, session, response, *card_events(context, session, cards))
            else:
                size = context.settings.feed_page_size
                snapshot = desk.state.page(user.la_code, chosen, older_than=None, size=size).records[::-1]
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
    if chosen.by_child:  # one event per changed child, with the child's whole card
        await _write_cards(context, session, response, *child_events(context, session, chosen, records))
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


async def _write_cards(
    context: DeskContext,
    session: Session,
    response: web.StreamResponse,
    audited: list[AlertRecord | OtherAlert],
    events: list[tuple[dict[str, Any], int]],
) -> None:
    """Audit what the child cards show, then send one event per child with the feed sequence number it carries."""
    if not events:
        return
    await context.audit_view(session.user, "feed_stream", audited)
    await response.write(b"".join(_sse("card", data, f"{context.epoch}-{seq}") for data, seq in events))


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
    """The alert's JSON, or for a browser (Accept: text/html) its own page: the card with its actions."""
    session = child_level_session(request)
    record = _own_record(request, session)
    context = context_of(request)
    await context.audit_view(session.user, "alert", [record])
    if "text/html" not in request.headers.get("Accept", ""):
        return web.json_response(detail(record))
    every = f"/feed?child={quote(record.alert.child_key, safe='')}&show=all"
    title = RULE_LABELS[record.rule]
    body = (
        f'<div class="feed-head"><h1>{e(title)}</h1><p><a href="{e(every)}">Every alert for this child</a></p></div>'
        f'<div class="cards">{_card(context, session, record)}</div>{action_template(session.csrf_token)}'
    )
    return web.Response(text=shell(title, body, user=session.user, csrf=session.csrf_token, nav="feed"),
                        content_type="text/html")  # fmt: skip


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
