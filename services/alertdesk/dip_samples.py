"""Audit dip samples at the desk: a head of service loads `frontdoor dip-sample` output and sees its children.

Only heads of service: the sample is a service-wide quality audit of child-level records, and performance,
partners and the triage roles see none of it. Loading writes a DipSampleLoaded audit record before the sample is
kept; showing one writes a ChildLevelDataViewed record (route "dip_sample", with the sample's id) before the page
leaves, like every child-level view.
"""

from __future__ import annotations

import uuid

from aiohttp import web
from pydantic import ValidationError

from schemas.audit import DipSampleLoaded
from services.alertdesk.auth import SAMPLING_ROLES
from services.alertdesk.context import context_of, read_form, session_of
from services.alertdesk.dip_store import (
    MAX_ROWS,
    DipSampleFile,
    SampledReferral,
    StoredSample,
    referral_days,
    sample_of,
    samples_of,
    save_sample,
)
from services.alertdesk.pages import e, fmt_date, shell
from services.alertdesk.sessions import Session


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/dip-samples", samples_page)
    router.add_post("/dip-samples", load_sample)
    router.add_get("/dip-samples/{sample_id}", sample_page)


def sampling_session(request: web.Request) -> Session:
    """Refused by role before anything is read, so a refusal says nothing about which samples exist."""
    session = session_of(request)
    if session.user.role not in SAMPLING_ROLES:
        context_of(request).desk.metrics.access_denied.labels(reason="role").inc()
        raise web.HTTPForbidden(text="dip samples are for heads of service", content_type="text/plain")
    return session


def _upload_form(csrf: str, error: str = "") -> str:
    message = f'<p class="error" role="alert">{e(error)}</p>' if error else ""
    return (
        f'<h2>Load a sample</h2>{message}<form method="post" action="/dip-samples" enctype="multipart/form-data">'
        f'<input type="hidden" name="csrf_token" value="{e(csrf)}">'
        '<label for="sample">The JSON file <code>frontdoor dip-sample</code> wrote</label> '
        '<input type="file" id="sample" name="sample" accept=".json,application/json" required> '
        '<button type="submit">Load</button></form>'
    )


def _summary_row(stored: StoredSample) -> str:
    s = stored.sample
    return (
        f'<tr><td><a href="/dip-samples/{e(stored.sample_id)}">{e(s.quarter)}</a></td><td>{e(s.by)}</td>'
        f"<td>{s.seed}</td><td>{len(s.sample)} of {sum(s.population.values())}</td>"
        f"<td>{e(stored.loaded_by)}</td><td>{e(fmt_date(stored.loaded_at))}</td></tr>"
    )


def _listing(request: web.Request, session: Session, error: str = "") -> str:
    stored = samples_of(context_of(request).desk.state.db, session.user.la_code)
    rows = "".join(_summary_row(s) for s in stored) or '<tr><td colspan="6">No sample loaded yet.</td></tr>'
    table = (
        '<table class="samples"><thead><tr><th>Quarter</th><th>Strata</th><th>Seed</th><th>Drawn</th>'
        f"<th>Loaded by</th><th>Loaded</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    body = f"<h1>Dip samples</h1>{table}{_upload_form(session.csrf_token, error)}"
    return shell("Dip samples", body, user=session.user, csrf=session.csrf_token, nav="dip")


async def samples_page(request: web.Request) -> web.StreamResponse:
    """The council's loaded samples (quarter, seed, who: no child) and the form to load one."""
    session = sampling_session(request)
    return web.Response(text=_listing(request, session), content_type="text/html")


async def _uploaded(request: web.Request) -> DipSampleFile:
    field = (await read_form(request)).get("sample")
    raw = field.file.read() if isinstance(field, web.FileField) else field
    if not raw:
        raise ValueError("choose the JSON file the command wrote")
    try:
        return DipSampleFile.model_validate_json(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"not a dip sample: {where + ': ' if where else ''}{first['msg']}") from None


async def load_sample(request: web.Request) -> web.StreamResponse:
    """Validate, audit, keep, then show the sample; a refused file is neither audited nor kept."""
    session = sampling_session(request)
    context, user = context_of(request), session.user
    try:
        sample = await _uploaded(request)
        if sample.la_code != user.la_code:
            raise ValueError(f"this sample is of council {sample.la_code}; you work for council {user.la_code}")
    except ValueError as error:
        return web.Response(status=400, text=_listing(request, session, str(error)), content_type="text/html")
    stored = StoredSample(uuid.uuid4().hex, user.la_code, user.username, context.clock(), sample)
    await context.audit_record(loaded_record(stored, user.role), "dip_sample_load")  # kept only once audited
    save_sample(context.desk.state.db, stored)
    raise web.HTTPSeeOther(f"/dip-samples/{stored.sample_id}")


def loaded_record(stored: StoredSample, role: str) -> DipSampleLoaded:
    s = stored.sample
    return DipSampleLoaded(
        occurred_at=stored.loaded_at, user=stored.loaded_by, role=role, la_code=stored.la_code,
        sample_id=stored.sample_id, quarter=s.quarter, by=s.by, seed=s.seed, size=s.size, drawn=len(s.sample),
        allocation=s.allocation, population=s.population,
    )  # fmt: skip


def _child_row(row: SampledReferral, on_desk: bool) -> str:
    closure = fmt_date(row.previous_closure_date) if row.previous_closure_date else "not closed"
    return (
        f'<tr><td>{e(row.stratum)}</td><td><a href="/children/{e(row.pseudonym)}">{e(row.pseudonym[:16])}</a></td>'
        f"<td>{e(fmt_date(row.referral_date))}</td><td>{e(fmt_date(row.previous_referral_date))}</td>"
        f"<td>{e(closure)} · {e(row.previous_closure_reason)}</td><td>{e(row.previous_team)}</td>"
        f"<td>{'yes' if row.same_concern else 'no'}</td><td>{'yes' if on_desk else 'no'}</td></tr>"
    )


async def sample_page(request: web.Request) -> web.StreamResponse:
    """The sampled children, each linking to the audited timeline; audited with the sample's id."""
    session = sampling_session(request)
    context, user = context_of(request), session.user
    stored = sample_of(context.desk.state.db, user.la_code, request.match_info["sample_id"])
    if stored is None:
        context.desk.metrics.access_denied.labels(reason="not_found").inc()
        raise web.HTTPNotFound(text="no such sample", content_type="text/plain")
    s = stored.sample
    seen = referral_days(context.desk.state.db, user.la_code, sorted({r.pseudonym for r in s.sample}))
    rows = "".join(_child_row(r, (r.pseudonym, r.referral_date) in seen) for r in s.sample)
    strata = ", ".join(f"{e(k)}: {v} of {s.population[k]}" for k, v in s.allocation.items())
    body = (
        f"<h1>Dip sample, council {e(s.la_code)}, {e(s.quarter)}</h1>"
        f'<p class="count">{len(s.sample)} of {sum(s.population.values())} re-referrals by {e(s.by)}, seed {s.seed} '
        f"({strata}); {sum(r.same_concern for r in s.sample)} came back with the same concern. "
        f"Loaded by {e(stored.loaded_by)} on {e(fmt_date(stored.loaded_at))}.</p>"
        '<table class="sample" id="sample"><thead><tr><th>Stratum</th><th>Child</th><th>Re-referral</th>'
        "<th>Previous referral</th><th>Previous closure</th><th>Closing team</th><th>Same concern</th>"
        f"<th>Referral on the desk</th></tr></thead><tbody>{rows}</tbody></table>"
        f'<p><a href="/dip-samples">All samples</a> (at most {MAX_ROWS} children a sample).</p>'
    )
    await context.audit_view(user, "dip_sample", [], sample_id=stored.sample_id)
    return web.Response(text=shell("Dip sample", body, user=user, csrf=session.csrf_token, nav="dip"),
                        content_type="text/html")  # fmt: skip
