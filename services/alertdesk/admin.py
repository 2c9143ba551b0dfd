"""The council admin's pages: add, disable, enable and change the role of the local users of their own council.

A `council_admin` sees the users of their council only (another council's user looks exactly like no user: 404)
and no alert, child or figure. Every change is audited (UserManaged) before it is written to the users file, and
takes effect at once: the sessions of a disabled or changed user end (revocation.apply_users).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from aiohttp import web

from schemas.audit import UserManaged
from services.alertdesk.auth import ADMIN_ROLES, AGENCIES, ROLES, LocalUser, UsersFileError, load_users, make_user
from services.alertdesk.auth import write_users as save_users
from services.alertdesk.context import DeskContext, context_of, read_form, session_of
from services.alertdesk.pages import ROLE_LABELS, e, shell
from services.alertdesk.passwords import hash_password, password_problem
from services.alertdesk.revocation import apply_users
from services.alertdesk.sessions import Session

ACTIONS = ("disable", "enable", "role")
Change = Literal["added", "disabled", "enabled", "role_changed"]


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/admin/users", users_page)
    router.add_post("/admin/users", add_user_submit)
    router.add_post("/admin/users/{username}/{action}", change_user_submit)


def admin_session(request: web.Request) -> Session:
    session = session_of(request)
    if session.user.role not in ADMIN_ROLES:
        context_of(request).desk.metrics.access_denied.labels(reason="role").inc()
        raise web.HTTPForbidden(text="user management is for council admins", content_type="text/plain")
    return session


def _users_file(context: DeskContext) -> Path:
    if context.users.source is None:
        raise web.HTTPConflict(text="this desk's users are not kept in a users file", content_type="text/plain")
    return context.users.source


def council_users(context: DeskContext, la_code: str) -> list[LocalUser]:
    return sorted((u for u in context.users.users.values() if u.user.la_code == la_code), key=lambda u: u.user.username)


def _options(chosen: str | None, values: tuple[str, ...], labels: dict[str, str] | None = None) -> str:
    return "".join(
        f'<option value="{e(v)}"{" selected" if v == chosen else ""}>{e((labels or {}).get(v, v))}</option>'
        for v in values
    )


def _row(entry: LocalUser, csrf: str, own: bool) -> str:
    user, token = entry.user, f'<input type="hidden" name="csrf_token" value="{e(csrf)}">'
    base = f"/admin/users/{e(user.username)}"
    toggle = "enable" if entry.disabled else "disable"
    actions = (
        "your own account"
        if own
        else f'<form method="post" action="{base}/role" class="inline">{token}'
        f'<select name="role" aria-label="Role for {e(user.username)}">'
        f"{_options(user.role, ROLES, ROLE_LABELS)}</select>"
        f'<select name="agency" aria-label="Agency for {e(user.username)}"><option value="">(no agency)</option>'
        f'{_options(user.agency, AGENCIES)}</select><button type="submit">Change role</button></form>'
        f'<form method="post" action="{base}/{toggle}" class="inline">{token}'
        f'<button type="submit">{toggle.capitalize()}</button></form>'
    )
    status = "disabled" if entry.disabled else "active"
    return (
        f"<tr><th scope=row>{e(user.username)}</th><td>{e(ROLE_LABELS[user.role])}</td><td>{e(user.agency or '')}</td>"
        f"<td>{status}</td><td>{actions}</td></tr>"
    )


async def users_page(request: web.Request, message: str = "", status: int = 200) -> web.StreamResponse:
    session = admin_session(request)
    context, me = context_of(request), session.user
    rows = "".join(
        _row(u, session.csrf_token, u.user.username == me.username) for u in council_users(context, me.la_code)
    )
    token = f'<input type="hidden" name="csrf_token" value="{e(session.csrf_token)}">'
    body = (
        f"<h1>Users of council {e(me.la_code)}</h1>"
        + (f'<p class="flash" role="status">{e(message)}</p>' if message else "")
        + '<table class="users" id="users"><thead><tr><th scope="col">Username</th><th scope="col">Role</th>'
        f'<th scope="col">Agency</th><th scope="col">Status</th><th scope="col">Change</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
        f'<h2>Add a user</h2><form method="post" action="/admin/users" class="filters" id="add-user">{token}'
        '<div><label for="new-username">Username</label><input id="new-username" name="username" required></div>'
        f'<div><label for="new-role">Role</label><select id="new-role" name="role">{_options(None, ROLES, ROLE_LABELS)}'
        '</select></div><div><label for="new-agency">Agency (partners)</label><select id="new-agency" name="agency">'
        f'<option value="">(none)</option>{_options(None, AGENCIES)}</select></div>'
        '<div><label for="new-password">First password</label><input id="new-password" name="password" '
        'type="password" autocomplete="new-password" required></div><button type="submit">Add user</button></form>'
    )
    page = shell("Users", body, user=me, csrf=session.csrf_token, nav="admin")
    return web.Response(text=page, content_type="text/html", status=status)


async def _audit_and_save(
    context: DeskContext, session: Session, action: Change, entry: LocalUser, users: dict[str, LocalUser]
) -> None:
    """Audited first: a change that cannot be audited is not made."""
    admin = session.user
    record = UserManaged(
        occurred_at=context.clock(), user=admin.username, role=admin.role, la_code=admin.la_code,
        action=action, target=entry.user.username, target_role=entry.user.role, target_agency=entry.user.agency,
    )  # fmt: skip
    await context.audit_record(record, "admin")
    path = _users_file(context)
    save_users(path, users)
    apply_users(context, load_users(path))


async def add_user_submit(request: web.Request) -> web.StreamResponse:
    session = admin_session(request)
    context, admin = context_of(request), session.user
    form = await read_form(request)
    username, role, agency, password = (str(form.get(k, "")) for k in ("username", "role", "agency", "password"))
    users = dict(load_users(_users_file(context)).users)
    if username in users:  # whatever council it is in: a name is one person's
        return await users_page(request, f"{username} already exists.", status=409)
    try:
        user = make_user(username.strip(), role, admin.la_code, agency or None)  # always the admin's own council
    except UsersFileError as error:
        return await users_page(request, str(error), status=400)
    if (problem := password_problem(password, user.username)) is not None:
        return await users_page(request, f"Password refused: {problem}.", status=400)
    entry = LocalUser(user, await context.signin.checker.run(lambda: hash_password(password)))
    users[user.username] = entry
    await _audit_and_save(context, session, "added", entry, users)
    return await users_page(request, f"Added {user.username}.")


async def change_user_submit(request: web.Request) -> web.StreamResponse:
    session = admin_session(request)
    context, admin = context_of(request), session.user
    username, action = request.match_info["username"], request.match_info["action"]
    users = dict(load_users(_users_file(context)).users)
    entry = users.get(username)
    if action not in ACTIONS or entry is None or entry.user.la_code != admin.la_code:
        raise web.HTTPNotFound(text="no such user in your council", content_type="text/plain")
    if username == admin.username:
        return await users_page(request, "You cannot change your own account here.", status=400)
    form = await read_form(request)
    done: Change
    if action == "role":
        agency = str(form.get("agency", "")) or None
        try:
            user = make_user(username, str(form.get("role", "")), admin.la_code, agency)
        except UsersFileError as error:
            return await users_page(request, str(error), status=400)
        changed, done = LocalUser(user, entry.password_hash, entry.disabled), "role_changed"
    else:
        changed = LocalUser(entry.user, entry.password_hash, disabled=action == "disable")
        done = "disabled" if action == "disable" else "enabled"
    users[username] = changed
    await _audit_and_save(context, session, done, changed, users)
    return await users_page(request, f"{username}: {done.replace('_', ' ')}.")
