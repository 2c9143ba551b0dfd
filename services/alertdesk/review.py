"""The weekly review list (two referrals in six months, Oldham practice) with its CSV, and the aggregate totals."""

from __future__ import annotations

import csv
import io
from typing import Any

from aiohttp import web

from services.alertdesk.actions import OUTCOME_LABELS
from services.alertdesk.context import context_of, session_of
from services.alertdesk.feed import child_level_session
from services.alertdesk.pages import e, fmt_date, shell
from services.alertdesk.state import Aggregates, AlertRecord
from services.alertdesk.weeks import IsoWeek

CSV_COLUMNS = (
    "alert_id",
    "child_pseudonym",
    "referral_date",
    "previous_referral_date",
    "days_since_previous_referral",
    "referrals_in_12_months",
    "team",
    "previous_closure_date",
    "previous_closure_reason",
    "previous_closing_team",
    "same_primary_need_as_previous",
    "status",
    "assigned_to",
    "outcome",
)


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/review/weekly", weekly_page)
    router.add_get("/review/weekly.csv", weekly_csv)
    router.add_get("/aggregates", aggregates_page)
    router.add_get("/aggregates.json", aggregates_json)


def _week(request: web.Request) -> IsoWeek:
    text = request.query.get("week")
    if not text:
        return IsoWeek.of(context_of(request).clock().date())
    try:
        return IsoWeek.parse(text)
    except ValueError:
        raise web.HTTPBadRequest(text="week must look like 2024-W23", content_type="text/plain") from None


def review_row(record: AlertRecord) -> dict[str, Any]:
    alert, enrichment = record.alert, record.alert.enrichment
    return {
        "alert_id": record.alert_id,
        "child_pseudonym": alert.child_key,
        "referral_date": record.anchor_date.isoformat(),
        "previous_referral_date": _iso(record.previous_referral_date),
        "days_since_previous_referral": enrichment.days_since_previous_referral,
        "referrals_in_12_months": enrichment.referrals_in_12_months,
        "team": record.team or "",
        "previous_closure_date": _iso(enrichment.previous_closure_date),
        "previous_closure_reason": _iso(enrichment.previous_closure_reason),
        "previous_closing_team": enrichment.previous_closing_team or "",
        "same_primary_need_as_previous": _yes_no(enrichment.same_primary_need_as_previous),
        "status": record.status,
        "assigned_to": f"{record.assignee_kind} {record.assignee}" if record.assignee else "",
        "outcome": OUTCOME_LABELS[record.outcome] if record.outcome else "",
    }


def _iso(value: Any) -> str:
    """Dates as ISO 8601, codes as their value, nothing as an empty cell."""
    if value is None:
        return ""
    return value.isoformat() if hasattr(value, "isoformat") else str(value.value)


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def _cell(value: Any) -> str:
    """Spreadsheet formula injection: a cell that starts like a formula is kept as text."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def weekly_csv_text(records: list[AlertRecord]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: _cell(v) for k, v in review_row(record).items()})
    return buffer.getvalue()


async def weekly_page(request: web.Request) -> web.StreamResponse:
    session = child_level_session(request)
    context, user, week = context_of(request), session.user, _week(request)
    records = context.desk.state.weekly_review(user.la_code, week)
    headers = ("Child", "Referral", "Previous referral", "Days apart", "Team", "Previous closure", "Status")
    rows = "".join(
        "<tr>"
        f'<td><span class="pseudonym">{e(r.alert.child_key[:16])}</span></td><td>{e(fmt_date(r.anchor_date))}</td>'
        f"<td>{e(fmt_date(r.previous_referral_date))}</td>"
        f"<td>{e(r.alert.enrichment.days_since_previous_referral or '')}</td><td>{e(r.team or '')}</td>"
        f"<td>{e(fmt_date(r.alert.enrichment.previous_closure_date))}</td><td>{e(r.status)}</td></tr>"
        for r in records
    )
    table = (
        f'<table class="review"><caption>{len(records)} children</caption><thead><tr>'
        + "".join(f'<th scope="col">{h}</th>' for h in headers)
        + f"</tr></thead><tbody>{rows}</tbody></table>"
        if records
        else '<p class="empty">No child had a second referral within six months in this week.</p>'
    )
    body = (
        f"<h1>Weekly review: two referrals in six months</h1><p>Week {e(week)}: "
        f"{e(fmt_date(week.monday))} to {e(fmt_date(week.sunday))}.</p>"
        '<form method="get" action="/review/weekly" class="filters"><div><label for="week">Week</label>'
        f'<input id="week" name="week" type="week" value="{e(week)}"></div><button type="submit">Show week</button>'
        f'<a class="button" href="/review/weekly.csv?week={e(week)}" download>Download CSV for the meeting</a></form>'
        f"{table}"
    )
    await context.audit_view(user, "weekly", records)
    page = shell(f"Weekly review {week}", body, user=user, csrf=session.csrf_token, nav="review")
    return web.Response(text=page, content_type="text/html")


async def weekly_csv(request: web.Request) -> web.StreamResponse:
    session = child_level_session(request)
    context, user, week = context_of(request), session.user, _week(request)
    records = context.desk.state.weekly_review(user.la_code, week)
    text = weekly_csv_text(records)
    await context.audit_view(user, "weekly_csv", records)
    filename = f"two-referrals-in-six-months-{user.la_code}-{week}.csv"
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _aggregates_for(request: web.Request) -> tuple[str, Aggregates]:
    """A partner sees only what their own agency's referrals raised; every other role sees their council."""
    user = session_of(request).user
    state = context_of(request).desk.state
    if user.role == "council_admin":  # manages users; sees no figures
        raise web.HTTPForbidden(text="your role manages users only", content_type="text/plain")
    if user.role == "partner":
        return f"council {user.la_code}, {user.agency}", state.aggregates(user.la_code, agency=user.agency)
    return f"council {user.la_code}", state.aggregates(user.la_code)


async def aggregates_json(request: web.Request) -> web.StreamResponse:
    scope, totals = _aggregates_for(request)
    return web.json_response({"scope": scope} | vars_of(totals))


def vars_of(totals: Aggregates) -> dict[str, Any]:
    return {
        "total": totals.total,
        "by_rule": totals.by_rule,
        "by_severity": totals.by_severity,
        "by_status": totals.by_status,
        "by_outcome": totals.by_outcome,
    }


async def aggregates_page(request: web.Request) -> web.StreamResponse:
    session = session_of(request)
    scope, totals = _aggregates_for(request)
    sections = []
    for title, counts in (
        ("By rule", totals.by_rule),
        ("By severity", totals.by_severity),
        ("By status", totals.by_status),
        ("By outcome", totals.by_outcome),
    ):
        rows = "".join(f"<tr><th scope=row>{e(k)}</th><td>{v}</td></tr>" for k, v in sorted(counts.items()))
        sections.append(f'<table class="totals"><caption>{title}</caption><tbody>{rows}</tbody></table>')
    body = f"<h1>Alert totals</h1><p>{e(scope)}: {totals.total} alerts (counts only).</p>" + "".join(sections)
    page = shell("Totals", body, user=session.user, csrf=session.csrf_token, nav="agg")
    return web.Response(text=page, content_type="text/html")
