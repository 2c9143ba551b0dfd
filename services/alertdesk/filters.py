"""The feed's and history's filters: read from the query string, written back into links, and shown as a form."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from urllib.parse import urlencode

from aiohttp import web

from schemas.codes import Rule, Severity
from schemas.pseudonyms import is_pseudonym
from services.alertdesk.pages import RULE_LABELS, STATUS_LABELS, e
from services.alertdesk.state import FeedFilter, Status

STATUSES: tuple[Status, ...] = ("new", "acknowledged", "assigned", "closed", "withdrawn")


def _date(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise web.HTTPBadRequest(text="dates look like 2024-06-03", content_type="text/plain") from None


def feed_filter(query: Mapping[str, str], *, history: bool) -> FeedFilter:
    """The filter a query string asks for; `history` says which view (the live feed or History) it is for.

    One child's alerts (a search) are shown whole, live and history together, one card per alert. The live feed
    shows one card per child unless `every=1` (the "Show every alert" switch) asks for one card per alert.
    """
    try:
        severity = Severity(query["severity"]) if query.get("severity") else None
        rule = Rule(query["rule"]) if query.get("rule") else None
    except ValueError:
        raise web.HTTPBadRequest(text="unknown severity or rule", content_type="text/plain") from None
    show = query.get("show", "")
    if show not in ("", "all", *STATUSES):
        raise web.HTTPBadRequest(text="unknown status", content_type="text/plain")
    pseudonym = query.get("child") or None
    if pseudonym is not None and not is_pseudonym(pseudonym):  # a plain id never travels in a URL: see /search
        raise web.HTTPBadRequest(
            text="child must be a pseudonym; search by child id with the form", content_type="text/plain"
        )
    team = query.get("team") or None
    return FeedFilter(
        severity, rule, team[:200] if team else None, include_finished=show == "all",
        status=show if show in STATUSES else None,
        date_from=_date(query.get("from")), date_to=_date(query.get("to")), child_key=pseudonym,
        history=history if pseudonym is None else None,
        by_child=not history and pseudonym is None and query.get("every") != "1",
    )  # fmt: skip


def filter_query(chosen: FeedFilter) -> str:
    pairs = {
        "severity": chosen.severity.value if chosen.severity else "",
        "rule": chosen.rule.value if chosen.rule else "",
        "team": chosen.team or "",
        "show": chosen.status or ("all" if chosen.include_finished else ""),
        "from": chosen.date_from.isoformat() if chosen.date_from else "",
        "to": chosen.date_to.isoformat() if chosen.date_to else "",
        "child": chosen.child_key or "",
        "every": "1" if chosen.history is False and not chosen.by_child else "",
    }
    return urlencode({k: v for k, v in pairs.items() if v})


def _options(values: list[tuple[str, str]], selected: str) -> str:
    return "".join(
        f'<option value="{e(v)}"{" selected" if v == selected else ""}>{e(label)}</option>' for v, label in values
    )


def _select(name: str, label: str, values: list[tuple[str, str]], selected: str) -> str:
    return (
        f'<div><label for="f-{name}">{label}</label><select id="f-{name}" name="{name}">'
        f"{_options(values, selected)}</select></div>"
    )


def filters_form(action: str, teams: list[str], chosen: FeedFilter) -> str:
    severities = [("", "Any severity")] + [(s.value, s.value.capitalize()) for s in Severity]
    rules = [("", "Any rule")] + [(r.value, label) for r, label in RULE_LABELS.items()]
    shows = [("", "Open alerts"), ("all", "Open, closed and withdrawn")] + [(s, STATUS_LABELS[s]) for s in STATUSES]
    show = chosen.status or ("all" if chosen.include_finished else "")
    dates = "".join(
        f'<div><label for="f-{name}">{label}</label><input type="date" id="f-{name}" name="{name}" '
        f'value="{value.isoformat() if value else ""}"></div>'
        for name, label, value in (("from", "From", chosen.date_from), ("to", "To", chosen.date_to))
    )
    child = f'<input type="hidden" name="child" value="{e(chosen.child_key)}">' if chosen.child_key else ""
    if chosen.history is False:  # the live feed: one card per child, or per alert with the switch on
        checked = "" if chosen.by_child else " checked"
        child += (
            f'<div class="switch"><input type="checkbox" id="f-every" name="every" value="1"{checked}>'
            '<label for="f-every">Show every alert</label></div>'
        )
    return (
        f'<form class="filters" method="get" action="{action}" aria-label="Filter alerts">'
        + _select("severity", "Severity", severities, chosen.severity.value if chosen.severity else "")
        + _select("rule", "Rule", rules, chosen.rule.value if chosen.rule else "")
        + _select("team", "Team", [("", "Any team")] + [(t, t) for t in teams], chosen.team or "")
        + _select("show", "Show", shows, show)
        + dates
        + child
        + '<button type="submit">Apply filters</button></form>'
    )


def search_form(csrf: str) -> str:
    """A POST, so the council's child id never appears in a URL, a browser history or an access log."""
    return (
        '<form class="search" method="post" action="/search" aria-label="Find a child">'
        f'<input type="hidden" name="csrf_token" value="{e(csrf)}">'
        '<label for="f-child-id">Council child id</label>'
        '<input id="f-child-id" name="la_child_id" autocomplete="off" required maxlength="100">'
        '<button type="submit">Find alerts</button></form>'
    )
