"""The partner portal: one agency's front-door funnel in its own council, by month, as charts, a table and CSV.

Only a `partner` user, only their own council and agency: any other council, agency or role gets 403 and the
refusal is audited (refusals.py). Every count is published under the small-number rule (portal_figures.py).
"""

from __future__ import annotations

import csv
import io

from aiohttp import web

from services.alertdesk.context import context_of, session_of
from services.alertdesk.pages import e, shell
from services.alertdesk.portal_chart import funnel_chart, rate_chart
from services.alertdesk.portal_figures import ALERT_RULES, COLUMNS, RATES, PortalFigures, portal_figures, shown_months
from services.alertdesk.sessions import Session
from services.alertdesk.totals import council_totals
from services.reports.suppression import Shown

RATE_HEADINGS = {"conversion": "Contact to referral", "nfa": "Referrals closed NFA"}
COMPARATORS = (("own", "this agency"), ("all_partners", "all partners"), ("previous_year", "previous year"))
NOT_SHOWN = "\u2013"  # an en dash: the rate is not shown


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/partner", own_portal)
    router.add_get("/partner/{la_code}/{agency}", portal_page)
    router.add_get("/partner/{la_code}/{agency}/csv", portal_csv)


def partner_session(request: web.Request) -> Session:
    """The signed-in partner, if the URL names their own council and agency; 403 for anyone or anything else."""
    session = session_of(request)
    user = session.user
    if user.role != "partner":
        context_of(request).desk.metrics.access_denied.labels(reason="role").inc()
        raise web.HTTPForbidden(text="the partner portal is for partner agencies", content_type="text/plain")
    if (
        request.match_info.get("la_code", user.la_code) != user.la_code
        or request.match_info.get("agency", user.agency) != user.agency
    ):
        context_of(request).desk.metrics.access_denied.labels(reason="scope").inc()
        raise web.HTTPForbidden(text="you may see your own agency in your own council only", content_type="text/plain")
    return session


def figures_for(request: web.Request, session: Session) -> PortalFigures:
    user, state = session.user, context_of(request).desk.state
    assert user.agency is not None  # a partner always has one (auth.make_user)
    totals = council_totals(state.db, user.la_code)
    alerts = state.agency_alerts(user.la_code, user.agency, tuple(ALERT_RULES.values()))
    return portal_figures(user.la_code, user.agency, totals, alerts, shown_months(totals))


async def own_portal(request: web.Request) -> web.StreamResponse:
    user = partner_session(request).user
    raise web.HTTPSeeOther(f"/partner/{user.la_code}/{user.agency}")


def _count(value: Shown) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _percent(value: float | None) -> str:
    return NOT_SHOWN if value is None else f"{value:.1%}"


def agency_label(agency: str) -> str:
    return agency.replace("_", " ").capitalize()


def _table(figures: PortalFigures) -> str:
    counts = "".join(f'<th scope="col">{e(h)}</th>' for _, h in COLUMNS)
    rates = "".join(f'<th scope="col">{e(RATE_HEADINGS[r])}: {e(n)}</th>' for r in RATES for _, n in COMPARATORS)
    rows = "".join(
        f'<tr><th scope="row">{e(month)}</th>'
        + "".join(f"<td>{e(_count(v))}</td>" for v in cells)
        + "".join(f"<td>{e(_percent(getattr(rate[r], a)))}</td>" for r in RATES for a, _ in COMPARATORS)
        + "</tr>"
        for month, cells, rate in zip(figures.months, figures.cells, figures.rates, strict=True)
    )
    total = (
        '<tr class="total"><th scope="row">Total</th>'
        + "".join(f"<td>{e(_count(v))}</td>" for v in figures.totals)
        + "".join(f"<td>{e(_percent(figures.total_rates[r]))}</td><td></td><td></td>" for r in RATES)
        + "</tr>"
    )
    return (
        f'<div class="table-scroll"><table class="portal" id="portal-table"><caption>{e(agency_label(figures.agency))} '
        f"by month, council {e(figures.la_code)}</caption><thead><tr>"
        f'<th scope="col">Month</th>{counts}{rates}</tr></thead><tbody>{rows}</tbody><tfoot>{total}</tfoot>'
        "</table></div>"
    )


def _headline(figures: PortalFigures) -> str:
    index = {key: i for i, (key, _) in enumerate(COLUMNS)}
    tiles = [
        ("Contacts made", _count(figures.totals[index["contacts"]])),
        ("Progressed to referral", _percent(figures.total_rates["conversion"])),
        ("Referrals closed NFA", _percent(figures.total_rates["nfa"])),
        ("Repeated-contact alerts", _count(figures.totals[index["repeated_contacts"]])),
    ]
    return '<dl class="headline">' + "".join(f"<div><dt>{e(k)}</dt><dd>{e(v)}</dd></div>" for k, v in tiles) + "</dl>"


async def portal_page(request: web.Request) -> web.StreamResponse:
    session = partner_session(request)
    user, figures = session.user, figures_for(request, session)
    label = agency_label(figures.agency)
    if figures.months:
        period = f"{figures.months[0]} to {figures.months[-1]}"
        content = (
            _headline(figures)
            + funnel_chart(figures)
            + rate_chart(figures, "conversion", "Contacts progressed to referral (%)")
            + rate_chart(figures, "nfa", "Referrals closed with no further action (%)")
            + _table(figures)
        )
    else:
        period, content = "no months yet", '<p class="empty">No contacts or referrals have been recorded yet.</p>'
    body = (
        f"<h1>{e(label)}: contacts to children's social care, council {e(user.la_code)}</h1>"
        f'<p class="lede">{e(period)}. Contacts your agency made to the front door and how far they progressed, '
        "counted in the month the contact was received; referrals and those closed with no further action (NFA) "
        "in the month of referral. Rates are compared with all partner agencies in the council and with your own "
        "figure a year earlier. The latest months are still moving: their contacts may yet be referred, assessed or "
        'found in need.</p><p class="note">Counts of 1 to 4 show as <strong>c</strong>, and further cells '
        f"are hidden where a c could be worked out from a total; a rate shows {NOT_SHOWN} when its count is hidden or "
        "it rests on fewer than 10. No child-level data is shown.</p>"
        f'<p><a class="button" id="portal-csv" href="/partner/{e(user.la_code)}/{e(user.agency)}/csv" download>'
        f"Download CSV</a></p>{content}"
    )
    page = shell(f"{label} portal", body, user=user, csrf=session.csrf_token, nav="partner")
    return web.Response(text=page, content_type="text/html")


def portal_csv_text(figures: PortalFigures) -> str:
    """The table as published, one row per month and a total row: "c" where suppressed, rates as fractions."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    rate_keys = [f"{r}_rate_{a}" for r in RATES for a, _ in COMPARATORS]
    writer.writerow(["month", *(key for key, _ in COLUMNS), *rate_keys])
    for month, cells, rate in zip(figures.months, figures.cells, figures.rates, strict=True):
        values = [getattr(rate[r], a) for r in RATES for a, _ in COMPARATORS]
        writer.writerow([month, *cells, *("" if v is None else v for v in values)])
    totals = [figures.total_rates[r] if a == "own" else None for r in RATES for a, _ in COMPARATORS]
    writer.writerow(["total", *figures.totals, *("" if v is None else v for v in totals)])
    return buffer.getvalue()


async def portal_csv(request: web.Request) -> web.StreamResponse:
    session = partner_session(request)
    figures = figures_for(request, session)
    filename = f"partner-{figures.la_code}-{figures.agency}.csv"
    return web.Response(
        text=portal_csv_text(figures),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
