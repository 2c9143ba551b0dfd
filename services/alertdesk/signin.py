"""Sign-in defences: backoff and temporary lockout per user and per address, and single-use login nonces.

Every attempt while a key is backing off or locked counts as a failure and is refused before any hashing, so a
guesser gets a handful of real tries per window and costs the desk almost nothing after that.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from services.alertdesk.passwords import PasswordChecker

Lockout = Literal["account_locked", "address_locked"]
Refusal = Literal["throttled"] | Lockout


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    free_failures: int  # failures within the window before any delay
    lockout_failures: int  # failures within the window that lock the key
    lockout_seconds: float
    window_seconds: float = 900.0
    first_delay_seconds: float = 1.0
    max_delay_seconds: float = 60.0


@dataclass(slots=True)
class _Attempts:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


class Throttle:
    """Failures per key (a username or an address) in a sliding window; at most `max_keys` keys are remembered."""

    def __init__(self, policy: ThrottlePolicy, clock: Callable[[], float], max_keys: int = 100_000) -> None:
        self.policy, self._clock, self._max_keys = policy, clock, max_keys
        self._keys: OrderedDict[str, _Attempts] = OrderedDict()

    def wait_seconds(self, key: str) -> tuple[float, bool]:
        """How long `key` must wait before its next attempt is checked, and whether that is a lockout."""
        now, attempts = self._clock(), self._keys.get(key)
        if attempts is None:
            return 0.0, False
        if attempts.locked_until > now:
            return attempts.locked_until - now, True
        self._forget_old(attempts, now)
        excess = len(attempts.failures) - self.policy.free_failures
        if excess < 0 or not attempts.failures:
            return 0.0, False
        delay = min(self.policy.first_delay_seconds * 2**excess, self.policy.max_delay_seconds)
        return max(0.0, attempts.failures[-1] + delay - now), False

    def failed(self, key: str) -> bool:
        """Count a failure; True when it is the one that locks the key."""
        now = self._clock()
        attempts = self._keys.pop(key, None) or _Attempts()
        self._keys[key] = attempts  # most recently failed last, so the oldest are forgotten first
        while len(self._keys) > self._max_keys:
            self._keys.popitem(last=False)
        self._forget_old(attempts, now)
        attempts.failures.append(now)
        if attempts.locked_until <= now and len(attempts.failures) >= self.policy.lockout_failures:
            attempts.locked_until = now + self.policy.lockout_seconds
            attempts.failures.clear()
            return True
        return False

    def succeeded(self, key: str) -> None:
        self._keys.pop(key, None)

    def _forget_old(self, attempts: _Attempts, now: float) -> None:
        while attempts.failures and attempts.failures[0] <= now - self.policy.window_seconds:
            attempts.failures.popleft()


@dataclass(slots=True)
class SignInGuard:
    """Per-user and per-address throttles. An unknown username is throttled like a real one, so nothing leaks."""

    users: Throttle
    addresses: Throttle

    def refusal(self, username: str, address: str) -> tuple[Refusal, float] | None:
        user_wait, user_locked = self.users.wait_seconds(username.lower())
        address_wait, address_locked = self.addresses.wait_seconds(address)
        if not user_wait and not address_wait:
            return None
        reason: Refusal = "account_locked" if user_locked else "address_locked" if address_locked else "throttled"
        return reason, max(user_wait, address_wait)

    def failed(self, username: str, address: str) -> list[Lockout]:
        """Count a failure against both; the lockouts it starts, for the audit trail."""
        locked: list[Lockout] = []
        if self.users.failed(username.lower()):
            locked.append("account_locked")
        if self.addresses.failed(address):
            locked.append("address_locked")
        return locked

    def succeeded(self, username: str) -> None:
        # The address keeps its count: one valid account must not reset a guesser's budget for the others.
        self.users.succeeded(username.lower())


class LoginNonces:
    """Login-form nonces that carry their issue time and are accepted once, within `max_age_seconds`."""

    def __init__(self, clock: Callable[[], float], max_age_seconds: float = 600.0, max_used: int = 200_000) -> None:
        self._clock, self.max_age_seconds, self._max_used = clock, max_age_seconds, max_used
        self._used: OrderedDict[str, float] = OrderedDict()

    def issue(self) -> str:
        return f"{secrets.token_urlsafe(24)}.{int(self._clock())}"

    def consume(self, nonce: str | None) -> bool:
        """True the first time a fresh nonce is presented; its signature is checked by the caller."""
        now = self._clock()
        while self._used and next(iter(self._used.values())) < now:
            self._used.popitem(last=False)
        if not nonce or nonce in self._used or len(self._used) >= self._max_used:
            return False  # when full of live nonces, refuse rather than forget one that could then be replayed
        issued = nonce.rpartition(".")[2]
        if not issued.isdigit() or not 0 <= now - int(issued) <= self.max_age_seconds:
            return False
        self._used[nonce] = int(issued) + self.max_age_seconds
        return True


@dataclass(slots=True)
class SignIn:
    """Everything the login handler needs besides the users: built from settings by the entry point."""

    guard: SignInGuard
    nonces: LoginNonces
    checker: PasswordChecker

    @classmethod
    def build(
        cls,
        *,
        user_policy: ThrottlePolicy = ThrottlePolicy(free_failures=3, lockout_failures=10, lockout_seconds=900),
        address_policy: ThrottlePolicy = ThrottlePolicy(free_failures=20, lockout_failures=100, lockout_seconds=900),
        max_concurrent_hashes: int = 2,
        max_waiting_hashes: int = 16,
        clock: Callable[[], float] = time.time,
    ) -> SignIn:
        guard = SignInGuard(Throttle(user_policy, clock), Throttle(address_policy, clock))
        return cls(guard, LoginNonces(clock), PasswordChecker(max_concurrent_hashes, max_waiting_hashes))
