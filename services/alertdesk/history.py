"""History: alerts about records already old when the desk first saw them, apart from the live feed; bulk close.

Closing in bulk publishes one AlertClosed per alert on the actions topic, so the read model stays rebuildable.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qsl

from aiohttp import web
from pydantic import ValidationError

from services.alertdesk.actions import OUTCOME_LABELS, AlertClosed, AlertOutcome
from services.alertdesk.context import context_of, read_form
from services.alertdesk.feed import child_level_session, listing, older_cursor
from services.alertdesk.filters import feed_filter, filter_query, filters_form
from services.alertdesk.pages import action_template, e, shell
from services.alertdesk.projection import Batch
from services.alertdesk.readmodel import count_text

log = logging.getLogger(__name__)
MAX_BULK_CLOSE = 5000  # one request closes at most this many: a large backlog is closed in a few presses


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/history", history_page)
    router.add_post("/history/close", bulk_close)


def _bulk_form(csrf: str, query: str, total: int) -> str:
    outcomes = "".join(
        f'<option value="{o.value}"{" selected" if o is AlertOutcome.HISTORICAL else ""}>{e(label)}</option>'
        for o, label in OUTCOME_LABELS.items()
    )
    return (
        '<form class="bulk stack" method="post" action="/history/close" aria-label="Close history in bulk">'
        f'<input type="hidden" name="csrf_token" value="{e(csrf)}">'
        f'<input type="hidden" name="filters" value="{e(query)}">'
        f"<p>Close every open alert matching these filters ({count_text(total)}; at most {MAX_BULK_CLOSE} at a time)."
        "</p>"
        f'<label for="bulk-outcome">Outcome</label><select id="bulk-outcome" name="outcome">{outcomes}</select>'
        '<label for="bulk-reason">Reason</label>'
        '<input id="bulk-reason" name="reason" required maxlength="2000" '
        'placeholder="e.g. raised while loading last year\'s records; reviewed at the MASH meeting">'
        '<button type="submit" class="primary" id="bulk-close">Close these alerts</button></form>'
    )


async def history_page(request: web.Request) -> web.StreamResponse:
    session = child_level_session(request)
    context, user = context_of(request), session.user
    chosen = feed_filter(request.query, history=True)
    cards, total, records = listing(context, session, chosen, older_cursor(request))
    days = context.settings.history_after_days
    closed = request.query.get("closed", "")
    body = (
        '<div class="feed-head"><h1>History</h1>'
        f'<p class="count"><span id="alert-count">{len(records)}</span> shown of '
        f'<span id="alert-total">{count_text(total)}</span> matching</p></div>'
        f'<p class="notice">Alerts about a referral, contact or plan more than {days} days old when the desk first saw '
        "them (for example while past records were loaded). They are not in the live feed and sent no notification.</p>"
        + (
            f'<p class="notice" role="status" id="closed-count">Closed {e(closed)} alerts.</p>'
            if closed.isdigit()
            else ""
        )
        + filters_form("/history", context.desk.state.teams(user.la_code), chosen)
        + (_bulk_form(session.csrf_token, filter_query(chosen), total) if total and chosen.status is None else "")
        + f'<div id="feed" class="cards" data-live="0">{cards}</div>'
        + ("" if records else '<p class="empty" id="empty">No history alerts match.</p>')
        + action_template(session.csrf_token)
    )
    await context.audit_view(user, "history", records)
    return web.Response(text=shell("History", body, user=user, csrf=session.csrf_token, nav="history"),
                        content_type="text/html")  # fmt: skip


async def bulk_close(request: web.Request) -> web.StreamResponse:
    """Close the open history alerts matching the posted filters, each with its own action on the topic."""
    session = child_level_session(request)
    context, user = context_of(request), session.user
    form = await read_form(request)
    chosen = feed_filter(dict(parse_qsl(str(form.get("filters", "")))), history=True)
    records = context.desk.state.page(user.la_code, chosen, older_than=None, size=MAX_BULK_CLOSE).records
    now = context.clock()
    try:
        actions = [
            AlertClosed(
                alert_id=r.alert_id,
                la_code=r.la_code,
                actor=user.username,
                at=now,
                outcome=form.get("outcome", ""),
                reason=form.get("reason", ""),
            )
            for r in records
            if r.is_open
        ]
    except ValidationError as error:
        fields = ", ".join(sorted({str(err["loc"][-1]) for err in error.errors()}))
        raise web.HTTPBadRequest(text=f"check these fields: {fields}", content_type="text/plain") from None
    for start in range(0, len(actions), 500):  # durable first, one action per alert, sent a chunk at a time
        await asyncio.gather(*(context.publish_action(a) for a in actions[start : start + 500]))
    batch = Batch()
    for action in actions:
        batch.add(action)
    context.desk.fold_batch(batch)
    await context.audit_view(user, "bulk_close", [r for r in records if r.is_open])
    log.info("bulk close of %d history alerts in council %s", len(actions), user.la_code)
    raise web.HTTPSeeOther(f"/history?closed={len(actions)}")
