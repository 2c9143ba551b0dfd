"""Password hashes (argon2id, still reading the older scrypt ones), the password policy, and bounded checking.

Hashing is deliberately slow, so it runs in a small thread pool: a guesser can neither stall the event loop
nor queue unbounded work behind it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_CHARACTERS = 12
MIN_DISTINCT_CHARACTERS = 6
MAX_PASSWORD_CHARACTERS = 1024  # longer is refused before hashing: no guesser gets to send megabytes to argon2
COMMON_PASSWORDS = frozenset(
    {"password1234", "passwordpassword", "123456789012", "qwertyuiopas", "letmeinletmein", "administrator",
     "changemechangeme", "welcome12345", "frontdoor123", "safeguarding1"}
)  # fmt: skip
_HASHER = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory defaults
T = TypeVar("T")


def hash_password(password: str) -> str:
    """An argon2id hash in the PHC format (`$argon2id$v=19$...`), with a fresh random salt."""
    return _HASHER.hash(password)


def verify_password(password: str, encoded: str) -> bool:
    """True only for the right password; a malformed hash never matches. Older `scrypt$...` hashes still verify."""
    if encoded.startswith("scrypt$"):
        return _verify_scrypt(password, encoded)
    try:
        return _HASHER.verify(encoded, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(encoded: str) -> bool:
    """A scrypt hash, or an argon2 hash with weaker parameters than today's, is replaced at the next sign-in."""
    if encoded.startswith("scrypt$"):
        return True
    try:
        return _HASHER.check_needs_rehash(encoded)
    except InvalidHashError:
        return False


def _verify_scrypt(password: str, encoded: str) -> bool:
    try:
        _scheme, n, r, p, salt, key = encoded.split("$")
        expected = _unb64(key)
        derived = hashlib.scrypt(
            password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except ValueError:
        return False
    return hmac.compare_digest(derived, expected)


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def password_problem(password: str, username: str = "") -> str | None:
    """Why a new password is refused, or None. Length matters most; a few obvious choices are refused too."""
    stripped = password.strip()
    if len(stripped) < MIN_PASSWORD_CHARACTERS:
        return f"use a password of at least {MIN_PASSWORD_CHARACTERS} characters (not counting spaces at the ends)"
    if len(password) > MAX_PASSWORD_CHARACTERS:
        return f"use a password of at most {MAX_PASSWORD_CHARACTERS} characters"
    if len(set(stripped.lower())) < MIN_DISTINCT_CHARACTERS:
        return f"use at least {MIN_DISTINCT_CHARACTERS} different characters"
    if len(username) >= 3 and username.lower() in stripped.lower():
        return "do not put the username in the password"
    if stripped.lower() in COMMON_PASSWORDS:
        return "that password is on the list of common passwords"
    return None


class PasswordCheckBusy(RuntimeError):
    """More sign-ins are waiting for a hash than the desk allows: the caller answers 503 at once."""


class PasswordChecker:
    """Runs hash work in its own threads, at most `max_concurrent` at a time and `max_waiting` queued."""

    def __init__(self, max_concurrent: int = 2, max_waiting: int = 16) -> None:
        self._executor = ThreadPoolExecutor(max_concurrent, thread_name_prefix="password-hash")
        self._max_pending = max_concurrent + max_waiting
        self._pending = 0

    async def run(self, work: Callable[[], T]) -> T:
        if self._pending >= self._max_pending:
            raise PasswordCheckBusy("too many sign-ins at once")
        self._pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work)
        finally:
            self._pending -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
