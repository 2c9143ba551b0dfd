"""Who may use the desk: roles, local users with scrypt-hashed passwords in a TOML or JSON file. No default user."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from schemas.codes import SourceGroup

Role = Literal["duty_manager", "team_manager", "performance", "partner"]
ROLES: tuple[Role, ...] = get_args(Role)
CHILD_LEVEL_ROLES: frozenset[Role] = frozenset({"duty_manager", "team_manager"})

# scrypt at n=2**14, r=8, p=1 costs ~16 MiB and tens of milliseconds: slow for a guesser, fine for a login.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P, _KEY_BYTES = 2**14, 8, 1, 32

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


class UsersFileError(ValueError):
    """The users file is missing, unreadable or has an invalid entry."""


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """`scrypt$n$r$p$salt$key`, with a fresh random salt per user."""
    salt = salt if salt is not None else os.urandom(16)
    key = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=_KEY_BYTES)
    return "$".join(("scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P), _b64(salt), _b64(key)))


def verify_password(password: str, encoded: str) -> bool:
    """Constant-time comparison of the derived key; a malformed hash never matches."""
    try:
        scheme, n, r, p, salt, key = encoded.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(key)
        derived = hashlib.scrypt(
            password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except ValueError:
        return False
    return hmac.compare_digest(derived, expected)


@functools.cache
def _dummy_hash() -> str:
    """Checked when the username is unknown, so a wrong username takes as long as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class UserDirectory:
    """The local users, read once from the file."""

    users: dict[str, LocalUser]

    def authenticate(self, username: str, password: str) -> User | None:
        entry = self.users.get(username)
        ok = verify_password(password, entry.password_hash if entry else _dummy_hash())
        return entry.user if entry is not None and ok else None

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
    return UserDirectory(users)


def _parse_entry(entry: Any, index: int) -> LocalUser:
    if not isinstance(entry, dict):
        raise UsersFileError(f"users[{index}] is not a table")
    missing = {"username", "password_hash", "role", "la_code"} - entry.keys()
    if missing:
        raise UsersFileError(f"users[{index}] lacks {sorted(missing)}")
    user = make_user(entry["username"], entry["role"], entry["la_code"], entry.get("agency"))
    return LocalUser(user, str(entry["password_hash"]))


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
    entries = [
        {"username": u.user.username, "password_hash": u.password_hash, "role": u.user.role, "la_code": u.user.la_code}
        | ({"agency": u.user.agency} if u.user.agency else {})
        for u in existing.values()
    ]
    text = json.dumps({"users": entries}, indent=2) if path.suffix == ".json" else _toml(entries)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _toml(entries: list[dict[str, str]]) -> str:
    # JSON string escapes are valid TOML basic strings, so json.dumps quotes each value safely.
    blocks = ["\n".join(["[[users]]", *(f"{k} = {json.dumps(v)}" for k, v in e.items())]) for e in entries]
    return (
        "# Front Door Monitor alert desk users: manage with `frontdoor alertdesk add-user`.\n\n"
        + "\n\n".join(blocks)
        + "\n"
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


FIRST_RUN_HELP = """\
The alert desk has no users yet, and there is no default user or password.
Create the first one (the password is asked for, never taken from the command line):

    frontdoor alertdesk add-user --users-file {path} --username duty.manager --role duty_manager --la-code 886

Roles: duty_manager and team_manager see their own council's child-level alerts; performance sees
aggregates only; partner (with --agency) sees only their agency's aggregates.
Or configure OIDC with FRONTDOOR_ALERTDESK_OIDC_ISSUER, _OIDC_CLIENT_ID and _OIDC_REDIRECT_URL."""
