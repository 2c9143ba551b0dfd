"""The drills' own three-broker cluster: started with the launcher, its nodes killed, stopped and started by the test.

PLAINTEXT on loopback ports 19500-19505 (DRILLS_KAFKA_PORT moves them), apart from the shared broker on 9092.
"""

from __future__ import annotations

import asyncio
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

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = REPO / "deploy" / "kafka" / "launcher.py"
BROKERS = 3
NODES = (1, 2, 3)


@dataclass(frozen=True, slots=True)
class Cluster:
    """A running three-node cluster: where it listens, how services reach it, and the node controls drills use."""

    port: int
    state_dir: Path
    disk_on_tmpfs: bool = False  # node 3's log dir is a size-limited tmpfs (the disk-full drill)

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{self.port + i}" for i in range(BROKERS))

    @property
    def settings(self) -> Settings:
        """The test's own client settings: PLAINTEXT, dev profile, replication 3 (so min.insync.replicas 2)."""
        return Settings(
            profile="dev",
            bootstrap_servers=self.bootstrap,
            security_protocol="PLAINTEXT",
            topic_replication_factor=BROKERS,
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
            "FRONTDOOR_TOPIC_REPLICATION_FACTOR": str(BROKERS),
            "FRONTDOOR_SASL_USERNAME": "",
            "FRONTDOOR_SASL_PASSWORD": "",
        }

    def launcher_env(self) -> dict[str, str]:
        # make test exports the CI broker's KAFKA_* (port, controller port, state dir, secure): none applies here.
        env = {k: v for k, v in os.environ.items() if not k.startswith("KAFKA_") or k == "KAFKA_HOME_CACHE"}
        return env | {"KAFKA_PORT": str(self.port), "KAFKA_STATE_DIR": str(self.state_dir), "KAFKA_BROKERS": "3"}

    def launcher(self, *args: str, timeout: float = 180.0) -> str:
        command = [sys.executable, str(LAUNCHER), *args, "--brokers", str(BROKERS)]
        result = subprocess.run(  # our own launcher
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
                    if all(len(p["isr"]) == BROKERS for d in described for p in d["partitions"]):  # type: ignore[attr-defined]
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
