"""A private local Kafka (one broker, or three KRaft nodes) for drills and benchmarks: started with the launcher, its
nodes killed, stopped, started and their disks filled by the caller. PLAINTEXT on loopback ports of the caller's
choosing, apart from the shared broker on 9092."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from services.kafka.clients import common_kwargs
from services.settings import Settings

REPO = Path(__file__).resolve().parents[1]
LAUNCHER = REPO / "deploy" / "kafka" / "launcher.py"
FILLER = "drill-filler.bin"


@dataclass(frozen=True, slots=True)
class Cluster:
    """A cluster (three nodes by default): where it listens, how services reach it, and the node controls drills use.

    Node n (1-based) of three listens on port + n - 1; one broker listens on `port` (its controller on port + 1).
    """

    port: int
    state_dir: Path
    small_disks: tuple[int, ...] = ()  # nodes whose log dir is a size-limited tmpfs (the disk-full drill)
    brokers: int = 3

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{self.port + i}" for i in range(self.brokers))

    @property
    def settings(self) -> Settings:
        """The caller's client settings: PLAINTEXT, dev profile, replication = brokers (3: min.insync.replicas 2)."""
        return Settings(
            profile="dev",
            bootstrap_servers=self.bootstrap,
            security_protocol="PLAINTEXT",
            topic_replication_factor=self.brokers,
            sasl_username=None,
            sasl_password=None,
            ssl_cafile=None,
        )

    def service_env(self) -> dict[str, str]:
        """FRONTDOOR_* for a service process (worker), overriding a secured CI broker's variables."""
        return {
            "FRONTDOOR_PROFILE": "dev",
            "FRONTDOOR_BOOTSTRAP_SERVERS": self.bootstrap,
            "FRONTDOOR_SECURITY_PROTOCOL": "PLAINTEXT",
            "FRONTDOOR_TOPIC_REPLICATION_FACTOR": str(self.brokers),
            "FRONTDOOR_SASL_USERNAME": "",
            "FRONTDOOR_SASL_PASSWORD": "",
        }

    def launcher_env(self) -> dict[str, str]:
        # make test exports the CI broker's KAFKA_* (port, controller port, state dir, secure): none applies here.
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_") or k == "KAFKA_HOME_CACHE"}
        return env | {"KAFKA_PORT": str(self.port), "KAFKA_STATE_DIR": str(self.state_dir)}

    def launcher(self, *args: str, timeout: float = 180.0) -> str:
        command = [sys.executable, str(LAUNCHER), *args, "--brokers", str(self.brokers)]
        result = subprocess.run(  # noqa: S603  # our own launcher, with our own arguments
            command, env=self.launcher_env(), capture_output=True, text=True, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"launcher {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def up(self) -> float:
        """Start every node not running; returns the seconds it took until all answer."""
        started = time.monotonic()
        self.launcher("up")
        return time.monotonic() - started

    def down(self, node: int | None = None) -> None:
        self.launcher("down", *(["--node", str(node)] if node is not None else []))

    def pid(self, node: int) -> int | None:
        try:
            pid = int((self.state_dir / f"node-{node}" / "kafka.pid").read_text())
        except (OSError, ValueError):
            return None
        return pid if running(pid) else None

    def kill9(self, node: int) -> None:
        """SIGKILL the node's JVM: no controlled shutdown, as when a machine or pod dies."""
        pid = self.pid(node)
        assert pid is not None, f"node {node} is not running"
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while running(pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def fill_disk(self, node: int, leave_bytes: int = 64 * 1024) -> int:
        """Fill the node's log dir (a small tmpfs) with a filler file but `leave_bytes`; returns the bytes written."""
        data = self.state_dir / f"node-{node}" / "data"
        free = os.statvfs(data).f_bavail * os.statvfs(data).f_frsize
        size = max(0, free - leave_bytes)
        with (data / FILLER).open("wb") as filler:
            try:
                os.posix_fallocate(filler.fileno(), 0, size)
            except OSError as error:  # the broker wrote in the meantime: fill what is left
                if error.errno != errno.ENOSPC:
                    raise
                with contextlib.suppress(OSError):
                    while True:
                        filler.write(b"\0" * 1024 * 1024)
                        filler.flush()
        return (data / FILLER).stat().st_size

    def free_disk(self, node: int) -> None:
        (self.state_dir / f"node-{node}" / "data" / FILLER).unlink(missing_ok=True)

    def wait_stopped(self, node: int, timeout: float) -> float | None:
        """Seconds until the node's process exits by itself, or None if it is still running after `timeout`."""
        pid, started = self.pid(node), time.monotonic()
        while pid is not None and running(pid):
            if time.monotonic() - started > timeout:
                return None
            time.sleep(0.1)
        return time.monotonic() - started

    def log(self, node: int) -> Path:
        return self.state_dir / f"node-{node}" / "logs" / "server.log"

    async def leader(self, topic: str, partition: int, timeout: float = 30.0) -> int:
        """The node that leads the partition now (waiting while it has none)."""
        async with asyncio.timeout(timeout):
            while True:
                described = await self.describe(topic)
                leader = next(p["leader"] for p in described["partitions"] if p["partition"] == partition)
                if leader >= 0:
                    return int(leader)
                await asyncio.sleep(0.2)

    async def in_sync(self, topic: str, partition: int) -> list[int]:
        described = await self.describe(topic)
        return sorted(next(p["isr"] for p in described["partitions"] if p["partition"] == partition))

    async def describe(self, topic: str) -> dict[str, object]:
        admin = AIOKafkaAdminClient(**common_kwargs(self.settings), request_timeout_ms=5_000)
        try:
            await admin.start()
            (described,) = await admin.describe_topics([topic])
        finally:
            await admin.close()
        return dict(described)

    async def wait_all_in_sync(self, topics: list[str], timeout: float = 90.0) -> float:
        """Until every partition of `topics` has all three replicas in sync again; returns the seconds waited."""
        started = time.monotonic()
        async with asyncio.timeout(timeout):
            while True:
                try:
                    described = [await self.describe(t) for t in topics]
                    if all(len(p["isr"]) == self.brokers for d in described for p in d["partitions"]):  # type: ignore[attr-defined]
                        return time.monotonic() - started
                except KafkaError:
                    pass
                await asyncio.sleep(0.5)


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    return state != "Z"
