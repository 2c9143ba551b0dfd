"""Server-rendered HTML: the page shell, login, and the alert card. Every value is escaped here, in one place."""

from __future__ import annotations

import datetime as dt
from html import escape
from urllib.parse import quote

from schemas.codes import ClosureReason, Rule, Severity
from services.alertdesk.actions import OUTCOME_LABELS
from services.alertdesk.auth import INDICATOR_ROLES, SAMPLING_ROLES, User
from services.alertdesk.bychild import ChildCard, OtherAlert
from services.alertdesk.state import AlertRecord

RULE_LABELS: dict[Rule, str] = {
    Rule.REREFERRAL: "Re-referral within 12 months",
    Rule.REPEATED_CONTACTS: "Repeated contacts",
    Rule.CONTACT_AFTER_CLOSURE: "Contact soon after closure",
    Rule.TWO_REFERRALS_IN_SIX_MONTHS: "Two referrals in six months",
    Rule.REPEAT_CHILD_PROTECTION_PLAN: "Repeat child protection plan",
}
# How a child card counts its other alerts: (one, many).
RULE_COUNTED: dict[Rule, tuple[str, str]] = {
    Rule.REREFERRAL: ("re-referral", "re-referrals"),
    Rule.REPEATED_CONTACTS: ("repeated contacts", "repeated contacts"),
    Rule.CONTACT_AFTER_CLOSURE: ("contact soon after closure", "contacts soon after closure"),
    Rule.TWO_REFERRALS_IN_SIX_MONTHS: ("second referral in six months", "second referrals in six months"),
    Rule.REPEAT_CHILD_PROTECTION_PLAN: ("repeat child protection plan", "repeat child protection plans"),
}
DATES_PER_RULE = 6  # a child with 80 alerts of one rule lists the newest few; the rest are one link away
# A shape as well as a colour, so severity never depends on colour alone.
SEVERITY_ICONS: dict[Severity, str] = {Severity.HIGH: "▲", Severity.MEDIUM: "◆", Severity.LOW: "●"}
CLOSURE_LABELS: dict[ClosureReason, str] = {
    ClosureReason.CLOSED_AFTER_ASSESSMENT_NFA: "RC8 NFA after assessment",
    ClosureReason.CLOSED_AFTER_ASSESSMENT_EARLY_HELP: "RC9 early help after assessment",
    ClosureReason.SERVICES_CEASED: "RC7 services ceased",
    ClosureReason.TRANSFERRED_OTHER_LA: "RC5 moved to another council",
}
STATUS_LABELS = {
    "new": "New",
    "acknowledged": "Acknowledged",
    "assigned": "Assigned",
    "closed": "Closed",
    "withdrawn": "Withdrawn",
}
ROLE_LABELS = {
    "duty_manager": "Duty manager",
    "team_manager": "Team manager",
    "head_of_service": "Head of service",
    "performance": "Performance",
    "partner": "Partner",
    "council_admin": "Council admin",
}


def e(value: object) -> str:
    return escape(str(value), quote=True)


def fmt_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return "none"
    return value.strftime("%d %b %Y %H:%M") if isinstance(value, dt.datetime) else value.strftime("%d %b %Y")


def shell(title: str, body: str, *, user: User | None = None, csrf: str = "", nav: str = "") -> str:
    """The page frame: no inline script or style, so the Content-Security-Policy can forbid both."""
    account = ""
    if user is not None:
        account = (
            f'<div class="account"><span>{e(user.username)} · {e(ROLE_LABELS[user.role])} · council {e(user.la_code)}'
            f'</span><form method="post" action="/logout"><input type="hidden" name="csrf_token" value="{e(csrf)}">'
            '<button type="submit" class="link-button">Sign out</button></form></div>'
        )
    links = [
        ("/feed", "Live feed", "feed"),
        ("/history", "History", "history"),
        ("/review/weekly", "Weekly review", "review"),
        ("/aggregates", "Totals", "agg"),
        ("/indicators", "Indicators", "indicators"),
        ("/dip-samples", "Dip samples", "dip"),
        ("/partner", "Partner portal", "partner"),
        ("/admin/users", "Users", "admin"),
    ]
    menu = "".join(
        f'<a href="{href}"{" aria-current=page" if key == nav else ""}>{label}</a>'
        for href, label, key in links
        if user is not None and _in_menu(user, key)
    )
    return (
        '<!doctype html><html lang="en-GB"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="csrf-token" content="{e(csrf)}"><title>{e(title)} · Front Door alert desk</title>'
        '<link rel="stylesheet" href="/static/desk.css"><script src="/static/desk.js" defer></script>'
        '<script src="/static/identity.js" defer></script></head>'
        '<body><a class="skip" href="#main">Skip to content</a><header class="top"><div class="brand">'
        f'Front Door <span>alert desk</span></div><nav aria-label="Main">{menu}</nav>{account}</header>'
        f'<main id="main">{body}</main></body></html>'
    )


def _in_menu(user: User, key: str) -> bool:
    if key == "indicators":
        return user.role in INDICATOR_ROLES
    if key == "dip":
        return user.role in SAMPLING_ROLES
    if key in ("partner", "admin"):
        return user.role == {"partner": "partner", "admin": "council_admin"}[key]
    return user.sees_child_level or (key == "agg" and user.role != "council_admin")


def login_page(nonce: str, *, error: str = "", local: bool = True, oidc: bool = False, first_run: str = "") -> str:
    parts = ['<section class="login"><h1>Sign in</h1>']
    if error:
        parts.append(f'<p class="error" role="alert">{e(error)}</p>')
    if first_run:
        parts.append(f'<div class="notice" role="status"><pre>{e(first_run)}</pre></div>')
    if local:
        parts.append(
            '<form method="post" action="/login" class="stack">'
            f'<input type="hidden" name="csrf_token" value="{e(nonce)}">'
            '<label for="username">Username</label>'
            '<input id="username" name="username" autocomplete="username" required>'
            '<label for="password">Password</label>'
            '<input id="password" name="password" type="password" autocomplete="current-password" required>'
            '<button type="submit" class="primary">Sign in</button></form>'
        )
    if oidc:
        parts.append('<p><a class="button primary" href="/login/oidc">Sign in with your council account</a></p>')
    parts.append("</section>")
    return shell("Sign in", "".join(parts))


def case_record_link(template: str | None, record: AlertRecord) -> str:
    key = record.alert.child_key
    shown = f'<span class="pseudonym" title="{e(key)}">{e(key[:16])}</span>'
    if not template:
        return shown
    # Through the desk, which opens the child's council id ({la_child_id}) with an audited reveal (reveal.py).
    href = f"/children/{quote(key, safe='')}/case"
    return f'<a href="{e(href)}" rel="noopener noreferrer" target="_blank">{shown}<span class="sr-only"> (case record, opens in a new tab)</span></a>'  # noqa: E501


def status_text(record: AlertRecord) -> str:
    if record.status == "withdrawn":
        return f"Withdrawn: {record.withdrawn_reason}"
    if record.status == "closed" and record.outcome is not None:
        reason = f" ({record.closed_reason})" if record.closed_reason else ""
        return f"Closed by {record.closed_by}: {OUTCOME_LABELS[record.outcome]}{reason}"
    if record.status == "assigned":
        return f"Assigned to {record.assignee_kind} {record.assignee}"
    if record.status == "acknowledged":
        return f"Acknowledged by {record.acknowledged_by} at {fmt_date(record.acknowledged_at)}"
    return "New: not yet acknowledged"


def _yes_no(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def card(
    record: AlertRecord,
    *,
    csrf: str,
    case_url_template: str | None,
    can_act: bool = True,
    group: ChildCard | None = None,
) -> str:
    """One alert: rule and severity as text and icon, the child's pseudonym, dates, enrichment, actions.

    With `group`, the card is the child's: the highest severity of its matching alerts, and a line of the others.
    """
    alert, enrichment = record.alert, record.alert.enrichment
    closure = "none"
    if enrichment.previous_closure_date is not None:
        reason = enrichment.previous_closure_reason
        closure = fmt_date(enrichment.previous_closure_date)
        if reason is not None:
            closure += f" · {CLOSURE_LABELS.get(reason, reason.value)}"
        if enrichment.previous_closing_team:
            closure += f" · {enrichment.previous_closing_team}"
    facts = [
        ("Referral or event date", fmt_date(record.anchor_date)),
        ("Previous referral", fmt_date(record.previous_referral_date)),
        ("Previous closure", closure),
        ("Same concern as before", _yes_no(enrichment.same_primary_need_as_previous)),
        ("Contacts in 90 days", str(enrichment.contacts_in_90_days)),
        ("Referrals in 12 months", str(enrichment.referrals_in_12_months)),
        ("Child protection plan before", _yes_no(enrichment.previous_cp_plan)),
        ("Team", record.team or "not recorded"),
    ]
    fact_list = "".join(f"<div><dt>{e(k)}</dt><dd>{e(v)}</dd></div>" for k, v in facts)
    notes = "".join(
        f"<li><span class=meta>{e(n.author)}, {e(fmt_date(n.at))}:</span> {e(n.text)}</li>" for n in record.notes[-3:]
    )
    sev = group.severity if group else record.severity
    title_id = f"title-{record.alert_id}"
    # On a child's card the badge is the highest of the child's alerts, which may not be this alert's own.
    highest = ' title="the highest of this child\'s alerts"' if group and sev is not record.severity else ""
    grouped = (
        f' data-child="{e(group.child_key)}" data-newest="{record.raised_seq}" data-alerts="{len(group.others) + 1}"'
        if group
        else ""
    )
    return (
        f'<article class="card sev-{sev.value} status-{record.status}" id="alert-{e(record.alert_id)}" '
        f'data-seq="{record.seq}"{grouped} aria-labelledby="{title_id}">'
        f'<header><span class="severity sev-{sev.value}"{highest}>'
        f'<span aria-hidden="true">{SEVERITY_ICONS[sev]}</span> '
        f"{e(sev.value.capitalize())}</span>"
        f'<h2 id="{title_id}">{e(RULE_LABELS[alert.rule])}</h2>'
        f'<span class="status" data-status="{record.status}">{e(STATUS_LABELS[record.status])}</span></header>'
        f'<p class="child">Child {case_record_link(case_url_template, record)} · '
        f'<a href="/children/{e(alert.child_key)}" class="timeline-link">Timeline</a></p>'
        f'<div class="identity" data-child="{e(alert.child_key)}"></div>'
        f'<p class="status-line" role="status">{e(status_text(record))}</p>'
        + (also_open(group) if group and group.others else "")
        + f'<dl class="facts">{fact_list}</dl>'
        + (f'<ul class="notes" aria-label="Latest notes">{notes}</ul>' if notes else "")
        + (_action_forms(record, csrf) if can_act and record.is_open else "")
        + "</article>"
    )


def also_open(group: ChildCard) -> str:
    """The line "Also open for this child: 2 repeated contacts (31 Mar, 12 Mar), 1 re-referral (10 Mar)", each date
    a link to that alert's own page; rules in the order of their newest alert."""
    by_rule: dict[Rule, list[OtherAlert]] = {}
    for other in group.others:
        by_rule.setdefault(other.rule, []).append(other)
    year = group.newest.anchor_date.year
    parts = []
    for rule, others in by_rule.items():
        one, many = RULE_COUNTED[rule]
        links = ", ".join(
            f'<a href="/alerts/{e(o.alert_id)}" class="also-link">'
            f"{o.anchor_date.strftime('%d %b' if o.anchor_date.year == year else '%d %b %Y')}</a>"
            for o in others[:DATES_PER_RULE]
        )
        if len(others) > DATES_PER_RULE:
            every = f"/feed?child={quote(group.child_key, safe='')}"
            links += f', <a href="{e(every)}">{len(others) - DATES_PER_RULE} more</a>'
        parts.append(f"{len(others)} {e(one if len(others) == 1 else many)} ({links})")
    lead = "Also open for this child" if all(o.is_open for o in group.others) else "Also for this child"
    return f'<p class="also-open">{lead}: {", ".join(parts)}</p>'


def _decision_forms(alert_id: str, rid: str, csrf: str) -> str:
    """Assign, note and close: three `<details>` forms. In a card only inside <noscript>; with JavaScript the page's
    one template is copied into a card when a button asks for it, so a page of 50 cards builds no idle form controls.
    """
    base = f"/alerts/{e(alert_id)}"
    token = f'<input type="hidden" name="csrf_token" value="{e(csrf)}">'
    outcomes = "".join(f'<option value="{o.value}">{e(label)}</option>' for o, label in OUTCOME_LABELS.items())
    return (
        f'<details data-form="assign"><summary>Assign</summary>'
        f'<form method="post" action="{base}/assign" class="js-action stack">{token}'
        f'<label for="kind-{rid}">Assign to</label><select id="kind-{rid}" name="assignee_kind">'
        '<option value="team">Team</option><option value="worker">Worker</option></select>'
        f'<label for="who-{rid}">Team or worker name</label>'
        f'<input id="who-{rid}" name="assignee" required maxlength="200">'
        '<button type="submit">Assign</button></form></details>'
        f'<details data-form="note"><summary>Add note</summary>'
        f'<form method="post" action="{base}/note" class="js-action stack">{token}'
        f'<label for="note-{rid}">Note</label><textarea id="note-{rid}" name="text" required maxlength="2000" rows="3">'
        '</textarea><button type="submit">Save note</button></form></details>'
        f'<details data-form="close"><summary>Close</summary>'
        f'<form method="post" action="{base}/close" class="js-action stack">{token}'
        f'<label for="outcome-{rid}">Outcome</label><select id="outcome-{rid}" name="outcome">{outcomes}</select>'
        '<button type="submit">Close alert</button></form></details>'
    )


def action_template(csrf: str) -> str:
    """The decision forms once per page, for desk.js to copy into a card (placeholders for the alert)."""
    return f'<template id="decision-forms">{_decision_forms(TEMPLATE_ALERT, TEMPLATE_RID, csrf)}</template>'


TEMPLATE_ALERT, TEMPLATE_RID = "__ALERT__", "__RID__"


def _action_forms(record: AlertRecord, csrf: str) -> str:
    rid = record.alert_id[:12]
    ack = ""
    if record.acknowledged_by is None:
        token = f'<input type="hidden" name="csrf_token" value="{e(csrf)}">'
        ack = (
            f'<form method="post" action="/alerts/{e(record.alert_id)}/acknowledge" class="js-action inline">{token}'
            '<button type="submit" class="primary">Acknowledge</button></form>'
        )
    buttons = "".join(
        f'<button type="button" class="show-form" data-form="{kind}">{label}</button>'
        for kind, label in (("assign", "Assign"), ("note", "Add note"), ("close", "Close"))
    )
    return (
        f'<div class="actions" data-alert="{e(record.alert_id)}" data-rid="{rid}">{ack}'
        f'<span class="more-actions">{buttons}</span>'
        f"<noscript>{_decision_forms(record.alert_id, rid, csrf)}</noscript>"
        '<p class="action-error" role="alert"></p></div>'
    )
