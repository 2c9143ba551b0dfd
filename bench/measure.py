"""How a benchmark measures: wall time and peak memory of a child process, and the machine it ran on."""

from __future__ import annotations

import datetime as dt
import os
import platform
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class Run:
    """One command's wall seconds, peak resident memory and exit code; its output is in the two files."""

    command: list[str]
    code: dict[str, object]  # the code it ran: commit and modified files when it started
    seconds: float
    peak_rss_mib: float
    returncode: int
    stdout: Path
    stderr: Path

    def stdout_text(self) -> str:
        return self.stdout.read_text(encoding="utf-8")

    def stderr_tail(self, lines: int = 20) -> str:
        return "\n".join(self.stderr.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def timed(
    command: list[str],
    log_dir: Path,
    name: str,
    memory_limit_gib: float | None = None,
    on_start: Callable[[int], None] | None = None,
) -> Run:
    """Run `command` from the repository root; wait4 gives this child's own peak RSS, not the maximum of all.

    `on_start` is told the child's pid as soon as it runs (to watch it meanwhile).
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / f"{name}.stdout", log_dir / f"{name}.stderr"

    def limit() -> None:
        # A cap on address space turns a runaway run into a MemoryError instead of the OOM killer choosing
        # a victim among other people's processes on a shared machine.
        if memory_limit_gib:
            cap = int(memory_limit_gib * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    code = code_version()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, cwd=REPO, preexec_fn=limit)  # noqa: S603, PLW1509  # our own argv, no shell; the hook only sets an rlimit
        if on_start is not None:
            on_start(proc.pid)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4: stop Popen waiting again
    return Run(command, code, seconds, usage.ru_maxrss / 1024, proc.returncode, out_path, err_path)


def frontdoor() -> list[str]:
    """The `frontdoor` console script of the running interpreter's environment."""
    script = Path(sys.executable).parent / "frontdoor"
    return [str(script)] if script.exists() else [sys.executable, "-m", "services.cli"]


def machine() -> dict[str, object]:
    """Facts a reader needs to compare figures across machines."""
    cpuinfo = _read("/proc/cpuinfo")
    meminfo = _read("/proc/meminfo")
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), "")
    mem_kib = next((int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal:")), 0)
    try:
        import duckdb  # noqa: PLC0415

        duckdb_version = duckdb.__version__
    except ImportError:
        duckdb_version = None
    return {
        "date_utc": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": model or platform.processor(),
        "ram_gib": round(mem_kib / 2**20, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "duckdb": duckdb_version,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        **code_version(),
    }


def code_version() -> dict[str, object]:
    """The commit, and the tracked files that differ from it: others may commit while a long run goes on."""
    status = _git("status", "--porcelain", "--untracked-files=no", strip=False)
    return {"git_commit": _git("rev-parse", "HEAD"), "git_modified": [line[3:] for line in status.splitlines()]}


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return ""


def _git(*args: str, strip: bool = True) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)  # noqa: S603, S607  # read-only git query
    except OSError:
        return ""
    return done.stdout.strip() if strip else done.stdout


@dataclass(frozen=True, slots=True)
class TreeRun:
    """A command's wall seconds, CPU seconds and peak memory of its whole process tree (itself and its workers)."""

    run: Run
    peak_tree_rss_mib: float  # the largest sum of every live process's RSS, sampled every SAMPLE_SECONDS
    cpu_seconds: float  # user + system of the command and every worker it waited for


SAMPLE_SECONDS = 0.2


def timed_tree(command: list[str], log_dir: Path, name: str, memory_limit_gib: float | None = None) -> TreeRun:
    """`timed`, and the peak of the summed RSS of the command's process tree, sampled from /proc meanwhile."""
    peak = [0]
    done = threading.Event()
    pid: list[int] = []

    def sample() -> None:
        while not done.wait(SAMPLE_SECONDS):
            if pid:
                peak[0] = max(peak[0], sum(_rss_kib(p) for p in _tree(pid[0])))

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        run = timed(command, log_dir, name, memory_limit_gib, on_start=pid.append)
    finally:
        done.set()
        sampler.join()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime
    return TreeRun(run, peak[0] / 1024, cpu)


def _tree(root: int) -> list[int]:
    """The process and its descendants, through /proc/<pid>/task/<tid>/children."""
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        for task in Path(f"/proc/{pid}/task").glob("*"):
            pending += [int(child) for child in _read(str(task / "children")).split()]
    return found


def _rss_kib(pid: int) -> int:
    for line in _read(f"/proc/{pid}/status").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0
