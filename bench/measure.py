"""How a benchmark measures: wall time and peak memory of a child process, and the machine it ran on."""

from __future__ import annotations

import datetime as dt
import os
import platform
import resource
import subprocess
import sys
import time
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


def timed(command: list[str], log_dir: Path, name: str, memory_limit_gib: float | None = None) -> Run:
    """Run `command` from the repository root; wait4 gives this child's own peak RSS, not the maximum of all."""
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
