"""Who may use the desk: roles, local users with argon2id-hashed passwords in a TOML or JSON file. No default user."""

from __future__ import annotations

import functools
import json
import os
import secrets
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from schemas.codes import SourceGroup
from services.alertdesk.passwords import MAX_PASSWORD_CHARACTERS, hash_password, needs_rehash, verify_password

Role = Literal["duty_manager", "team_manager", "head_of_service", "performance", "partner", "council_admin"]
ROLES: tuple[Role, ...] = get_args(Role)
CHILD_LEVEL_ROLES: frozenset[Role] = frozenset({"duty_manager", "team_manager", "head_of_service"})
# Alertmanager's indicator and platform alerts (/indicators): aggregates, for those who answer for the figures.
INDICATOR_ROLES: frozenset[Role] = frozenset({"head_of_service", "performance"})
# Audit dip samples (/dip-samples): a service-wide audit of children's records, for heads of service only.
SAMPLING_ROLES: frozenset[Role] = frozenset({"head_of_service"})
# Manages the local users of its own council (/admin/users); sees no alert, child or figure.
ADMIN_ROLES: frozenset[Role] = frozenset({"council_admin"})

__all__ = ["hash_password", "verify_password"]  # re-exported: callers and older tests import them from here

# A partner agency is one of the Annex A source groups, the same values alerts carry in `source_group`.
AGENCIES = tuple(g.value for g in SourceGroup)


@dataclass(frozen=True, slots=True)
class User:
    """A signed-in person. `la_code` scopes everything they see; partners also have an agency."""

    username: str
    role: Role
    la_code: str
    agency: str | None = None

    @property
    def sees_child_level(self) -> bool:
        return self.role in CHILD_LEVEL_ROLES


@dataclass(frozen=True, slots=True)
class LocalUser:
    user: User
    password_hash: str
    disabled: bool = False  # a council admin disabled the account: it cannot sign in, and its sessions end


class UsersFileError(ValueError):
    """The users file is missing, unreadable or has an invalid entry."""


@functools.cache
def _dummy_hash() -> str:
    """Checked when the username is unknown, so a wrong username takes as long as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class UserDirectory:
    """The local users, read from the file (`source`), or built in memory by a test."""

    users: dict[str, LocalUser]
    source: Path | None = None

    def authenticate(self, username: str, password: str) -> User | None:
        return self.check(username, password)[0]

    def check(self, username: str, password: str) -> tuple[User | None, bool]:
        """The user when the password is right, and whether their stored hash should be replaced. Blocking."""
        if len(password) > MAX_PASSWORD_CHARACTERS:
            return None, False
        entry = self.users.get(username)
        ok = verify_password(password, entry.password_hash if entry else _dummy_hash())
        if entry is None or not ok or entry.disabled:
            return None, False
        return entry.user, needs_rehash(entry.password_hash)

    @property
    def empty(self) -> bool:
        return not self.users


def load_users(path: Path) -> UserDirectory:
    """Read `[[users]]` entries from TOML (or a JSON list under "users"); a missing file means no local users."""
    if not path.exists():
        return UserDirectory({})
    try:
        raw = path.read_text(encoding="utf-8")
        data: Any = json.loads(raw) if path.suffix == ".json" else tomllib.loads(raw)
    except (OSError, ValueError) as error:
        raise UsersFileError(f"cannot read users file {path}: {error}") from error
    users: dict[str, LocalUser] = {}
    for index, entry in enumerate(data.get("users", []) if isinstance(data, dict) else []):
        local = _parse_entry(entry, index)
        users[local.user.username] = local
    return UserDirectory(users, source=path)


def _parse_entry(entry: Any, index: int) -> LocalUser:
    if not isinstance(entry, dict):
        raise UsersFileError(f"users[{index}] is not a table")
    missing = {"username", "password_hash", "role", "la_code"} - entry.keys()
    if missing:
        raise UsersFileError(f"users[{index}] lacks {sorted(missing)}")
    user = make_user(entry["username"], entry["role"], entry["la_code"], entry.get("agency"))
    return LocalUser(user, str(entry["password_hash"]), disabled=entry.get("disabled") is True)


def make_user(username: str, role: str, la_code: str, agency: str | None = None) -> User:
    """A validated user; the role decides what they may see, so it is checked strictly."""
    if role not in ROLES:
        raise UsersFileError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if not (len(la_code) == 3 and la_code.isdigit()):
        raise UsersFileError(f"la_code must be a three-digit DfE code, not {la_code!r}")
    if role == "partner" and agency not in AGENCIES:
        raise UsersFileError(f"a partner user needs an agency, one of the Annex A source groups: {', '.join(AGENCIES)}")
    if not username or len(username) > 200:
        raise UsersFileError("username must be 1 to 200 characters")
    return User(username, role, la_code, agency if role == "partner" else None)


def add_user(path: Path, user: User, password: str) -> None:
    """Add or replace one user in the file (TOML, or JSON by suffix), written with owner-only permissions."""
    existing = load_users(path).users
    existing[user.username] = LocalUser(user, hash_password(password))
    write_users(path, existing)


def replace_hash(path: Path, username: str, old_hash: str, new_hash: str) -> bool:
    """Upgrade one stored hash, if the entry still holds `old_hash` (an administrator may have changed it)."""
    existing = load_users(path).users
    entry = existing.get(username)
    if entry is None or entry.password_hash != old_hash:
        return False
    existing[username] = LocalUser(entry.user, new_hash, entry.disabled)
    write_users(path, existing)
    return True


def write_users(path: Path, existing: dict[str, LocalUser]) -> None:
    """Write every entry (the council admin pages change one and write them all back)."""
    entries: list[dict[str, str | bool]] = [
        {"username": u.user.username, "password_hash": u.password_hash, "role": u.user.role, "la_code": u.user.la_code}
        | ({"agency": u.user.agency} if u.user.agency else {})
        | ({"disabled": True} if u.disabled else {})
        for u in existing.values()
    ]
    text = json.dumps({"users": entries}, indent=2) if path.suffix == ".json" else _toml(entries)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written beside and renamed over, so a desk reloading the file never reads half of it.
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mkstemp makes it 0600
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    Path(temporary).replace(path)


def _toml(entries: list[dict[str, str | bool]]) -> str:
    # JSON string escapes are valid TOML basic strings, so json.dumps quotes each value safely.
    blocks = ["\n".join(["[[users]]", *(f"{k} = {json.dumps(v)}" for k, v in e.items())]) for e in entries]
    return (
        "# Front Door Monitor alert desk users: manage with `frontdoor alertdesk add-user`.\n\n"
        + "\n\n".join(blocks)
        + "\n"
    )


FIRST_RUN_HELP = """\
The alert desk has no users yet, and there is no default user or password.
Create the first one (the password is asked for, never taken from the command line):

    frontdoor alertdesk add-user --users-file {path} --username duty.manager --role duty_manager --la-code 886

Roles: duty_manager, team_manager and head_of_service see their own council's child-level alerts; performance sees
aggregates only; partner (with --agency) sees only their agency's portal; council_admin manages the council's users.
Or configure OIDC with FRONTDOOR_ALERTDESK_OIDC_ISSUER, _OIDC_CLIENT_ID and _OIDC_REDIRECT_URL."""
