"""The demo's process handling: children start together and none outlives a stop, a deadline or a signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from services.supervisor import Supervisor

ROOT = Path(__file__).resolve().parents[2]
SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]
STUBBORN = [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"]


def is_running(pid: int) -> bool:
    """A live process, not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(condition: object, timeout_seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.05)
    return False


def spawner(pid_file: Path) -> list[str]:
    """A child that starts a grandchild, writes the grandchild's pid, and sleeps."""
    code = f"""
        import subprocess, sys, time
        grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        open({str(pid_file)!r}, "w").write(str(grandchild.pid))
        time.sleep(120)
    """
    return [sys.executable, "-c", textwrap.dedent(code)]


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to tell live processes")


def test_stop_terminates_every_child_and_what_it_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    with Supervisor(grace_seconds=5) as supervisor:
        children = [supervisor.start(f"sleeper {n}", SLEEPER) for n in range(3)]
        children.append(supervisor.start("spawner", spawner(pid_file)))
        assert wait_until(pid_file.exists)
        grandchild = int(pid_file.read_text())
        assert all(is_running(child.process.pid) for child in children)
        assert is_running(grandchild)

    assert supervisor.children == []
    assert not any(is_running(child.process.pid) for child in children)
    assert wait_until(lambda: not is_running(grandchild), 5)


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    supervisor = Supervisor(grace_seconds=0.5)
    child = supervisor.start("stubborn", STUBBORN)
    time.sleep(0.3)  # long enough for it to install its handler

    started = time.monotonic()
    supervisor.stop()

    assert time.monotonic() - started < 5
    assert child.process.returncode == -signal.SIGKILL
    assert not is_running(child.process.pid)


def test_watch_returns_at_the_deadline_with_the_children_still_running() -> None:
    with Supervisor() as supervisor:
        child = supervisor.start("sleeper", SLEEPER)
        stopped = supervisor.watch(deadline_seconds=0.3)
        assert stopped.reason == "deadline"
        assert is_running(child.process.pid)
    assert not is_running(child.process.pid)


def test_watch_names_the_child_that_exited_on_its_own(tmp_path: Path) -> None:
    with Supervisor() as supervisor:
        sleeper = supervisor.start("sleeper", SLEEPER)
        supervisor.start("failing", [sys.executable, "-c", "raise SystemExit(3)"], log_path=tmp_path / "failing.log")
        stopped = supervisor.watch(deadline_seconds=20)
        assert stopped.reason == "exited"
        assert stopped.child is not None
        assert (stopped.child.name, stopped.child.process.returncode) == ("failing", 3)
    assert not is_running(sleeper.process.pid)


def test_a_one_shot_step_gets_its_input_and_returns_its_exit_code(tmp_path: Path) -> None:
    out = tmp_path / "read.txt"
    code = f"import sys; open({str(out)!r}, 'w').write(sys.stdin.readline()); sys.exit(4)"
    with Supervisor() as supervisor:
        assert supervisor.run("reader", [sys.executable, "-c", code], input_text="secret\n") == 4
        assert supervisor.children == []
    assert out.read_text() == "secret\n"


def test_a_one_shot_step_returns_none_when_a_stop_is_requested() -> None:
    with Supervisor() as supervisor:
        supervisor.stop_signal = signal.SIGINT
        assert supervisor.run("sleeper", SLEEPER) is None
        step = supervisor.children[0]
    assert not is_running(step.process.pid)


SUPERVISING_SCRIPT = """
import sys, time
from pathlib import Path
from services.supervisor import Supervisor

pids = Path(sys.argv[1])
supervisor = Supervisor(grace_seconds=5)
with supervisor.signals_stop(), supervisor:
    for n in range(3):
        supervisor.start(f"sleeper {n}", [sys.executable, "-c", "import time; time.sleep(120)"])
    pids.write_text(" ".join(str(child.process.pid) for child in supervisor.children))
    stopped = supervisor.watch(None if sys.argv[2] == "0" else float(sys.argv[2]))
print(stopped.reason, stopped.signum)
"""


def run_supervisor(tmp_path: Path, deadline_seconds: float) -> tuple[subprocess.Popen[str], list[int]]:
    pid_file = tmp_path / "pids"
    process = subprocess.Popen(
        [sys.executable, "-c", SUPERVISING_SCRIPT, str(pid_file), str(deadline_seconds)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert wait_until(lambda: pid_file.exists() and pid_file.read_text()), "the supervisor did not start its children"
    return process, [int(pid) for pid in pid_file.read_text().split()]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_stop_signal_to_the_supervisor_leaves_no_child_running(tmp_path: Path, signum: int) -> None:
    process, pids = run_supervisor(tmp_path, deadline_seconds=0)
    assert all(is_running(pid) for pid in pids)

    process.send_signal(signum)
    out, _ = process.communicate(timeout=20)

    assert process.returncode == 0
    assert out.split() == ["signal", str(int(signum))]
    assert not any(is_running(pid) for pid in pids)


def test_the_deadline_stops_every_child(tmp_path: Path) -> None:
    process, pids = run_supervisor(tmp_path, deadline_seconds=1)

    out, _ = process.communicate(timeout=20)

    assert out.split() == ["deadline", "None"]
    assert not any(is_running(pid) for pid in pids)


def test_children_do_not_outlive_a_killed_supervisor(tmp_path: Path) -> None:
    process, pids = run_supervisor(tmp_path, deadline_seconds=0)

    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=20)

    # Their parent is gone, so init reaps them; the parent-death signal is what stops them.
    assert wait_until(lambda: not any(is_running(pid) for pid in pids), 10)
