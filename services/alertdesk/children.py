"""A child's timeline page, /children/{pseudonym}: the projected events, the alerts and the actions, by date."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from schemas.codes import (
    CLOSURE_REASON_LABELS,
    CONTACT_OUTCOME_LABELS,
    PRIMARY_NEED_LABELS,
    REFERRAL_SOURCE_LABELS,
)
from schemas.pseudonyms import is_pseudonym
from services.alertdesk.actions import OUTCOME_LABELS
from services.alertdesk.context import context_of
from services.alertdesk.feed import child_level_session
from services.alertdesk.pages import RULE_LABELS, STATUS_LABELS, e, fmt_date, shell
from services.alertdesk.state import AlertRecord, FeedFilter
from services.alertdesk.timeline import KIND_LABELS, TimelineEntry

Line = tuple[dt.date, int, str]  # date, order within the day (events, alerts, actions), html
# The timeline stores codes; a duty manager reads them with the census schema's words beside them.
CODE_LABELS: dict[str, dict[str, str]] = {
    "Source": {code.value: label for code, label in REFERRAL_SOURCE_LABELS.items()},
    "Primary need": {code.value: label for code, label in PRIMARY_NEED_LABELS.items()},
    "Reason": {code.value: label for code, label in CLOSURE_REASON_LABELS.items()},
    "Outcome": {code.value: label for code, label in CONTACT_OUTCOME_LABELS.items()},
}
WORDS_ONLY = frozenset({"Outcome"})  # our own codes ("nfa"), not the census's: the words alone


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/children/{pseudonym}", timeline_page)


def _event_line(entry: TimelineEntry) -> Line:
    facts = "".join(f"<span><b>{e(k)}</b> {e(_shown(k, v))}</span> " for k, v in entry.facts)
    what = f'<span class="what">{e(KIND_LABELS[entry.kind])}</span>'
    html = f'<li class="event" data-kind="{e(entry.kind)}">{what} {facts}</li>'
    return entry.date, 0, html


def _shown(fact: str, value: str) -> str:
    """A code with its meaning ("6: Police"); other values as they are."""
    meaning = CODE_LABELS.get(fact, {}).get(value)
    if meaning is None:
        return value
    return meaning if fact in WORDS_ONLY else f"{value}: {meaning}"


def _alert_lines(record: AlertRecord) -> list[Line]:
    rule = RULE_LABELS[record.rule]
    alert_html = (
        f'<li class="alert sev-{record.severity.value}" id="alert-{e(record.alert_id)}"><span class="what">Alert: '
        f"{e(rule)}</span> {e(record.severity.value)} · {e(STATUS_LABELS[record.status])}"
        + (" · history" if record.history else "")
        + "</li>"
    )
    lines: list[Line] = [(record.anchor_date, 1, alert_html)]
    if record.acknowledged_at is not None:
        text = f"Acknowledged by {record.acknowledged_by} ({rule})"
        lines.append((record.acknowledged_at.date(), 2, f'<li class="action">{e(text)}</li>'))
    lines += [
        (n.at.date(), 2, f'<li class="action">Note by {e(n.author)} ({e(rule)}): {e(n.text)}</li>')
        for n in record.notes
    ]
    if record.closed_at is not None and record.outcome is not None:
        text = f"Closed by {record.closed_by} ({rule}): {OUTCOME_LABELS[record.outcome]}"
        text += f" · {record.closed_reason}" if record.closed_reason else ""
        lines.append((record.closed_at.date(), 2, f'<li class="action">{e(text)}</li>'))
    return lines


async def timeline_page(request: web.Request) -> web.StreamResponse:
    """Audited like every child-level view; another council's child looks exactly like an unknown one."""
    session = child_level_session(request)
    context, user = context_of(request), session.user
    pseudonym = request.match_info["pseudonym"]
    if not is_pseudonym(pseudonym):
        raise web.HTTPNotFound(text="no such child", content_type="text/plain")
    model = context.desk.state
    events = model.timeline(user.la_code, pseudonym)
    records = model.select(user.la_code, FeedFilter(include_finished=True, child_key=pseudonym), limit=1000)
    if not events and not records:
        context.desk.metrics.access_denied.labels(reason="not_found").inc()
        raise web.HTTPNotFound(text="no such child", content_type="text/plain")
    lines = [_event_line(x) for x in events] + [line for r in records for line in _alert_lines(r)]
    lines.sort(key=lambda line: (line[0], line[1]))
    items = "".join(
        f'<li class="day"><h2>{e(fmt_date(day))}</h2><ul>{"".join(h for d, _, h in lines if d == day)}</ul></li>'
        for day in sorted({d for d, _, _ in lines})
    )
    body = (
        f'<h1>Child {e(pseudonym[:16])}</h1><div id="identity" data-child="{e(pseudonym)}"></div>'
        f'<p class="count">{len(events)} events, {len(records)} alerts. '
        f'<a href="/feed?child={e(pseudonym)}&amp;show=all">This child\'s alerts as cards</a></p>'
        f'<ol class="timeline" id="timeline">{items}</ol>'
    )
    await context.audit_view(user, "timeline", records, child_key=pseudonym)
    return web.Response(text=shell("Timeline", body, user=user, csrf=session.csrf_token, nav="feed"),
                        content_type="text/html")  # fmt: skip
