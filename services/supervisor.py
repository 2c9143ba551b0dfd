"""Child processes started together and stopped together: on a signal, at a deadline, or when one of them exits.

Every child leads its own process group, so the terminal's Ctrl-C reaches only the supervisor, which then stops
the children (and anything they started) in one place: SIGTERM to each group, SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@dataclass(frozen=True, slots=True)
class Child:
    """One started command, under the name the supervisor's messages use."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path | None


@dataclass(frozen=True, slots=True)
class Stopped:
    """Why `watch` returned: a stop signal, the deadline, or a child that exited on its own."""

    reason: str  # "signal", "deadline" or "exited"
    signum: int | None = None
    child: Child | None = None


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux a child gets SIGTERM if the supervisor itself is killed (kill -9), so none is left behind."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)

    def set_parent_death_signal() -> None:
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))

    return set_parent_death_signal


class Supervisor:
    """Starts commands, watches them, and stops every one still running when asked or when leaving `with`."""

    def __init__(self, grace_seconds: float = 15.0, poll_seconds: float = 0.1) -> None:
        self.grace_seconds = grace_seconds
        self.poll_seconds = poll_seconds
        self.children: list[Child] = []
        self.stop_signal: int | None = None
        self._preexec = _die_with_parent()

    def __enter__(self) -> Supervisor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @contextlib.contextmanager
    def signals_stop(self) -> Iterator[None]:
        """While inside, SIGINT, SIGTERM and SIGHUP only record a stop request, which `run` and `watch` act on."""

        def request_stop(signum: int, frame: FrameType | None) -> None:
            self.stop_signal = signum

        previous = {signum: signal.signal(signum, request_stop) for signum in STOP_SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        log_path: Path | None = None,
        stdin: int = subprocess.DEVNULL,
    ) -> Child:
        """Start `argv` in its own process group; its output goes to `log_path`, or to this terminal if None."""
        log: IO[bytes] | None = log_path.open("wb") if log_path else None
        try:
            process = subprocess.Popen(  # noqa: S603  # argv is built by the caller, never from a shell string
                list(argv),
                env=None if env is None else dict(env),
                stdin=stdin,
                stdout=log,
                stderr=subprocess.STDOUT if log else None,
                process_group=0,
                preexec_fn=self._preexec,  # noqa: PLW1509  # one prctl call, no locks or threads involved
            )
        finally:
            if log:
                log.close()  # the child holds its own descriptor
        child = Child(name, process, log_path)
        self.children.append(child)
        return child

    def run(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        input_text: str | None = None,
        log_path: Path | None = None,
    ) -> int | None:
        """Run a one-shot step to its end; None if a stop was requested first (the step is then left to `stop`)."""
        stdin = subprocess.PIPE if input_text is not None else subprocess.DEVNULL
        child = self.start(name, argv, env=env, stdin=stdin, log_path=log_path)
        if input_text is not None:
            assert child.process.stdin is not None  # opened as a pipe just above
            with contextlib.suppress(BrokenPipeError):
                child.process.stdin.write(input_text.encode())
            child.process.stdin.close()
        while (returncode := child.process.poll()) is None:
            if self.stop_signal is not None:
                return None
            time.sleep(self.poll_seconds)
        self.children.remove(child)
        return returncode

    def watch(self, deadline_seconds: float | None = None) -> Stopped:
        """Wait for a stop signal, the deadline (None: no deadline) or the first child to exit."""
        deadline = None if deadline_seconds is None else time.monotonic() + deadline_seconds
        while True:
            if self.stop_signal is not None:
                return Stopped("signal", signum=self.stop_signal)
            for child in self.children:
                if child.process.poll() is not None:
                    return Stopped("exited", child=child)
            if deadline is not None and time.monotonic() >= deadline:
                return Stopped("deadline")
            time.sleep(self.poll_seconds)

    def stop(self) -> None:
        """SIGTERM to every child's process group, SIGKILL to those still there after the grace period; reap all."""
        for child in reversed(self.children):
            self._signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + self.grace_seconds
        for child in self.children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        for child in self.children:
            # Also when the leader has exited: something it started may still hold the group.
            self._signal_group(child, signal.SIGKILL)
            child.process.wait()
        self.children.clear()

    @staticmethod
    def _signal_group(child: Child, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.process.pid, signum)
