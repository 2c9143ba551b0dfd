"""`frontdoor demo`: the whole stack on this machine over a running broker, with a synthetic MASH feed for one council.

It runs the other subcommands as child processes, as an operator would: `topics create`, a demo user for the
alert desk, `worker`, `alertdesk serve`, a year of `simulate` history published with `ingest`, its monthly series
backfilled into Prometheus (`report --format openmetrics`, `promtool`), Prometheus and Alertmanager with the deploy
rules and routes, a live `simulate` feed and `alerts tail`.
Every child is stopped on Ctrl-C, SIGTERM, when `--seconds` are up, or when one of them fails.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import secrets
import shutil
import sys
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.demo_monitoring import (
    Binaries,
    Ports,
    alertmanager_argv,
    backfilled_months,
    find_binaries,
    prometheus_argv,
    write_configs,
)
from services.settings import Settings
from services.supervisor import Stopped, Supervisor

DEFAULT_COUNCIL = "942"  # Cumberland: the median council by 2024-25 referrals
DEMO_USER = "demo.duty"
LOG_TAIL_LINES = 15
SUMMARY_LINES = 12


@dataclass(frozen=True, slots=True)
class DemoOptions:
    council: str
    seed: int
    rate: float
    seconds: float
    keep_running: bool
    workdir: Path
    desk_port: int
    metrics_port: int
    prometheus_port: int
    alertmanager_port: int

    @property
    def desk_url(self) -> str:
        return f"http://127.0.0.1:{self.desk_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def prometheus_url(self) -> str:
        return f"http://127.0.0.1:{self.prometheus_port}"

    @property
    def ports(self) -> Ports:
        return Ports(self.metrics_port, self.desk_port, self.prometheus_port, self.alertmanager_port)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the worker, the alert desk and a synthetic MASH feed over the configured broker",
        description="What `make demo` runs once Kafka is up. Runs only with FRONTDOOR_PROFILE=dev: the feed is "
        "made-up children, written to the configured broker's topics. Ctrl-C stops everything.",
    )
    parser.add_argument("--council", default=DEFAULT_COUNCIL, help="three-digit DfE code of the simulated council")
    parser.add_argument("--seed", type=int, default=1, help="simulator seed (same seed, same children)")
    parser.add_argument("--rate", type=float, default=20.0, help="live feed, events per second")
    parser.add_argument("--seconds", type=float, default=0.0, help="stop after this many seconds of live feed")
    parser.add_argument(
        "--keep-running", action="store_true", help="with --seconds: print the summary, then run on until Ctrl-C"
    )
    parser.add_argument("--workdir", type=Path, default=Path(".demo"), help="users file and logs (default .demo)")
    parser.add_argument("--desk-port", type=int, default=8080, help="alert desk port on 127.0.0.1")
    parser.add_argument("--metrics-port", type=int, default=9464, help="worker /metrics port on 127.0.0.1")
    parser.add_argument("--prometheus-port", type=int, default=9090, help="Prometheus port on 127.0.0.1")
    parser.add_argument(
        "--alertmanager-port", type=int, default=9193,
        help="Alertmanager port on 127.0.0.1 (not its usual 9093: the local Kafka launcher's controller listens there)",
    )  # fmt: skip
    parser.set_defaults(handler=run_demo_command)


def frontdoor(*args: str) -> list[str]:
    """A `frontdoor` subcommand with this interpreter, so a venv or a plain checkout runs its own code."""
    return [sys.executable, "-m", "services.cli", *args]


def run_demo_command(args: argparse.Namespace) -> int:
    settings = Settings()
    if settings.profile != "dev":
        # The demo writes made-up children into the real topics of whatever broker is configured.
        print("frontdoor demo writes synthetic children; it runs only with FRONTDOOR_PROFILE=dev.", file=sys.stderr)
        return 2
    from services.kafka.reachability import broker_answers  # noqa: PLC0415  # aiokafka only once it is needed

    if not asyncio.run(broker_answers(settings)):
        print(
            f"frontdoor demo: no Kafka broker answers at {settings.bootstrap_servers}. "
            "Start one with `make kafka-up` (or run `make demo`, which starts it), "
            "or point FRONTDOOR_BOOTSTRAP_SERVERS at one.",
            file=sys.stderr,
        )
        return 1
    options = DemoOptions(
        args.council, args.seed, args.rate, args.seconds, args.keep_running, args.workdir, args.desk_port,
        args.metrics_port, args.prometheus_port, args.alertmanager_port,
    )  # fmt: skip
    supervisor = Supervisor()
    with supervisor.signals_stop(), supervisor:
        return run_stack(supervisor, options)


def run_stack(supervisor: Supervisor, options: DemoOptions) -> int:
    """Start everything, then wait for Ctrl-C, the deadline or a failure; the caller's `with` stops the children."""
    work = options.workdir
    work.mkdir(parents=True, exist_ok=True)
    # Every child pseudonymises with one key of the demo's own, kept in the work folder so a second run gives the
    # same children the same pseudonyms; `ingest` refuses the public dev key for files, rightly.
    os.environ.setdefault("FRONTDOOR_PSEUDONYM_KEY", demo_pseudonym_key(work / "pseudonym-key"))
    password = secrets.token_urlsafe(12)  # a fresh demo user each run: the desk has no default user
    users_file = work / "alertdesk-users.toml"
    users_file.unlink(missing_ok=True)
    add_user = frontdoor(
        "alertdesk", "add-user", "--users-file", str(users_file), "--username", DEMO_USER,
        "--role", "duty_manager", "--la-code", options.council, "--password-stdin",
    )  # fmt: skip
    for name, argv, given in (("topics create", frontdoor("topics", "create"), None), ("add-user", add_user, password)):
        if (failed := _step(supervisor, name, argv, given)) is not None:
            return failed

    token_file = work / "alertdesk-token"  # Alertmanager presents it to the desk's webhook
    token_file.write_text(secrets.token_urlsafe(32), encoding="utf-8")
    token_file.chmod(0o600)
    datadir = work / "worker"
    shutil.rmtree(datadir, ignore_errors=True)  # in-memory tables: nothing from an earlier run is worth keeping
    worker = frontdoor("worker", "--store", "memory://", "--datadir", str(datadir))
    supervisor.start("worker", [*worker, "--metrics-port", str(options.metrics_port)], log_path=work / "worker.log")
    desk_env = os.environ | {
        "FRONTDOOR_ALERTDESK_USERS_FILE": str(users_file),
        "FRONTDOOR_ALERTDESK_SESSION_SECRET": secrets.token_hex(32),
        "FRONTDOOR_ALERTDESK_COOKIE_SECURE": "false",  # plain HTTP on loopback
        "FRONTDOOR_ALERTDESK_PUBLIC_URL": options.desk_url,
        "FRONTDOOR_ALERTDESK_DATABASE_URL": f"sqlite:///{work / 'alertdesk.sqlite3'}",
        "FRONTDOOR_ALERTDESK_ALERTMANAGER_TOKEN": token_file.read_text(encoding="utf-8"),
    }
    # --rebuild: the demo's read model always matches the topics, even after the broker's data was wiped.
    desk = frontdoor("alertdesk", "serve", "--host", "127.0.0.1", "--port", str(options.desk_port), "--rebuild")
    supervisor.start("alert desk", desk, env=desk_env, log_path=work / "alertdesk.log")

    print(f"Sending a year of history for council {options.council} ...", flush=True)
    feed = ("--council", options.council, "--seed", str(options.seed))
    history_file = work / "history.jsonl"
    start = str(one_year_before(dt.date.today()))
    history = frontdoor("simulate", *feed, "--years", "1", "--start", start, "--out", str(history_file))
    publish = frontdoor("ingest", "--to", "kafka", "--format", "jsonl", str(history_file))
    for name, argv in (("history", history), ("publish history", publish)):
        if (failed := _step(supervisor, name, argv)) is not None:
            return failed
    binaries = find_binaries()
    if binaries is None:
        print("Prometheus and Alertmanager are not installed (`make system` installs them): running without them.")
    elif (failed := start_monitoring(supervisor, options, binaries, history_file, token_file)) is not None:
        return failed
    monitoring = binaries is not None
    live = frontdoor("simulate", "--mode", "live", *feed, "--rate", f"{options.rate:g}")
    supervisor.start("live feed", live, log_path=work / "simulate.log")
    print(banner(options, password, monitoring), flush=True)
    supervisor.start("alerts tail", frontdoor("alerts", "tail"))
    return _until_stopped(supervisor, options, monitoring)


def start_monitoring(
    supervisor: Supervisor, options: DemoOptions, binaries: Binaries, history: Path, token_file: Path
) -> int | None:
    """Backfill the history's monthly series, then start Prometheus and Alertmanager; an exit code if a step failed."""
    work = options.workdir
    data = work / "prometheus"
    shutil.rmtree(data, ignore_errors=True)  # the backfill is of this run's history only
    series = work / "series.om"
    report = frontdoor("report", "--events", str(history), "--by", "month", "--format", "openmetrics")
    backfill = [binaries.promtool, "tsdb", "create-blocks-from", "openmetrics", str(series), str(data)]
    for name, argv in (("monthly series", [*report, "--output", str(series)]), ("backfill", backfill)):
        if (failed := _step(supervisor, name, argv, log_path=work / f"{name.replace(' ', '-')}.log")) is not None:
            return failed
    print(f"Backfilled the history's complete months into Prometheus ({series}).", flush=True)
    prometheus_config, alertmanager_config = write_configs(work, options.ports, token_file)
    prometheus = prometheus_argv(binaries, prometheus_config, data, options.prometheus_port)
    supervisor.start("prometheus", prometheus, log_path=work / "prometheus.log")
    silences = work / "alertmanager"
    alertmanager = alertmanager_argv(binaries, alertmanager_config, silences, options.alertmanager_port)
    supervisor.start("alertmanager", alertmanager, log_path=work / "alertmanager.log")
    return None


def demo_pseudonym_key(path: Path) -> str:
    """The demo's pseudonymisation key, made once (random, 256 bits) and read back on later runs."""
    if not path.exists():
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def _step(
    supervisor: Supervisor, name: str, argv: Sequence[str], input_text: str | None = None, log_path: Path | None = None
) -> int | None:
    """Run a one-shot step; the demo's exit code if it failed or a stop came first, else None."""
    returncode = supervisor.run(name, argv, input_text=input_text, log_path=log_path)
    if returncode is None:
        return 0
    if returncode != 0:
        print(f"frontdoor demo: {name} failed (exit {returncode}); stopping.", file=sys.stderr)
        if log_path is not None and log_path.exists():
            lines = log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
            print(f"The end of {log_path}:", *(f"  {line}" for line in lines), sep="\n", file=sys.stderr)
        return 1
    return None


def _until_stopped(supervisor: Supervisor, options: DemoOptions, monitoring: bool) -> int:
    deadline = options.seconds if options.seconds > 0 else None
    while True:
        stopped = supervisor.watch(deadline)
        if stopped.reason == "deadline":
            print(f"\nAfter {options.seconds:g}s of live feed:", flush=True)
            print("\n".join(metrics_summary(options.metrics_url)), flush=True)
            if monitoring:
                print(history_summary(options), flush=True)
            if options.keep_running:
                print("Still running (--keep-running): Ctrl-C stops everything.", flush=True)
                deadline = None
                continue
            return 0
        if stopped.reason == "exited":
            return _report_exit(stopped)
        print("\nStopping the demo ...", file=sys.stderr, flush=True)
        return 0


def _report_exit(stopped: Stopped) -> int:
    assert stopped.child is not None  # an "exited" stop names its child
    child = stopped.child
    print(f"\nfrontdoor demo: the {child.name} stopped (exit {child.process.returncode}); stopping.", file=sys.stderr)
    if child.log_path and child.log_path.exists():
        lines = child.log_path.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
        print(f"The end of {child.log_path}:", *(f"  {line}" for line in lines), sep="\n", file=sys.stderr)
    return 1


def one_year_before(day: dt.date) -> dt.date:
    """The same date a year earlier; 29 February becomes 28 February."""
    if (day.month, day.day) == (2, 29):
        day = day.replace(day=28)
    return day.replace(year=day.year - 1)


def banner(options: DemoOptions, password: str, monitoring: bool) -> str:
    logs = "  ".join(str(options.workdir / name) for name in ("worker.log", "alertdesk.log", "simulate.log"))
    stop = f"stops after {options.seconds:g}s" if options.seconds > 0 else "Ctrl-C stops everything"
    boards = (
        f"""    prometheus   {options.prometheus_url}/graph   (the monthly series backfilled from the history; """
        f"""rules loaded)
    alertmanager http://127.0.0.1:{options.alertmanager_port}   (routes to the desk's /indicators)
"""
        if monitoring
        else "    prometheus   not installed: `make system`\n"
    )
    return f"""
  Front Door Monitor is running.
    alert desk   {options.desk_url}/login   user: {DEMO_USER}   password: {password}
    metrics      {options.metrics_url}
{boards}    logs         {logs}
  Live alerts follow ({stop}).
"""


def history_summary(options: DemoOptions) -> str:
    """How many months of the council's history Prometheus serves from the backfill, or why it cannot say."""
    try:
        months = backfilled_months(options.prometheus_url, options.council)
    except OSError as error:
        return f"  (could not ask Prometheus at {options.prometheus_url}: {error})"
    return f"  Prometheus serves {months} months of council {options.council}'s monthly series from the backfill"


def metrics_summary(url: str) -> list[str]:
    """The worker's non-zero alert, re-referral and applied-event series, or why they could not be read."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310  # our own http://127.0.0.1 URL
            text = response.read().decode()
    except OSError as error:
        return [f"  (could not read {url}: {error})"]
    return summary_lines(text)


def summary_lines(exposition: str) -> list[str]:
    """Non-zero alert counts by rule, then the re-referral ratio, then all applied events as one total."""
    from services.metrics.metrics import ALERTS_RAISED, EVENTS_CONSUMED, REREFERRAL_R12  # noqa: PLC0415

    samples = [line.rsplit(" ", 1) for line in exposition.splitlines() if line and not line.startswith("#")]
    alerts = [f"  {name} {value}" for name, value in samples if name.startswith(f"{ALERTS_RAISED.name}_total{{")]
    ratios = [f"  {name} {value}" for name, value in samples if name.startswith(f"{REREFERRAL_R12.name}{{")]
    applied = sum(
        float(value)
        for name, value in samples
        if name.startswith(f"{EVENTS_CONSUMED.name}_total{{") and 'outcome="applied"' in name
    )
    lines = [line for line in alerts + ratios if float(line.rsplit(" ", 1)[1]) != 0][: SUMMARY_LINES - 1]
    return [*lines, f"  events applied (all types): {applied:,.0f}"]
