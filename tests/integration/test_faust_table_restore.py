"""A faust table survives a worker restart by being restored from its compacted changelog topic."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiokafka import AIOKafkaProducer

from services.kafka.clients import faust_broker_url, producer_kwargs
from services.settings import Settings
from tests.integration.faust_table_app import make_app

if TYPE_CHECKING:  # pytest loads the conftest itself; importing it at run time would load a second copy
    from tests.integration.conftest import TestTopics

REPO_ROOT = Path(__file__).resolve().parents[2]
PARTITIONS = 6
CHILDREN = [f"child-{n:02d}" for n in range(20)]
WAIT_SECONDS = 60.0

Snapshot = dict[str, Any]


class Worker:
    """One `faust_table_app worker` subprocess with its own log and snapshot file."""

    def __init__(self, name: str, tmp_path: Path, args: list[str]) -> None:
        self.snapshot_path = tmp_path / f"{name}.json"
        self.log_path = tmp_path / f"{name}.log"
        command = [sys.executable, "-m", "tests.integration.faust_table_app", "worker", *args]
        command += ["--snapshot", str(self.snapshot_path), "--datadir", str(tmp_path / f"{name}-data")]
        env = os.environ | {"PYTHONPATH": str(REPO_ROOT)}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    async def snapshot_when(self, ready: Callable[[Snapshot], bool], what: str) -> Snapshot:
        """The first snapshot for which `ready` holds; fails with the worker's log if it never comes."""
        latest: Snapshot | None = None
        async with asyncio.timeout(WAIT_SECONDS):
            while True:
                if self.process.poll() is not None:
                    pytest.fail(f"worker exited ({self.process.returncode}) before {what}:\n{self.log_tail()}")
                if self.snapshot_path.exists():
                    latest = json.loads(self.snapshot_path.read_text())
                    if ready(latest):
                        return latest
                await asyncio.sleep(0.1)
        pytest.fail(f"no snapshot with {what} within {WAIT_SECONDS}s; last {latest}:\n{self.log_tail()}")

    def stop(self) -> int:
        """SIGTERM lets faust commit offsets and leave the group; a worker that hangs is killed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


async def produce(settings: Settings, topic: str, children: list[str]) -> None:
    producer = AIOKafkaProducer(**producer_kwargs(settings))
    await producer.start()
    try:
        for n, child in enumerate(children):
            await producer.send(topic, key=child.encode(), value=json.dumps({"n": n}).encode())
        await producer.flush()
    finally:
        await producer.stop()


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_a_restarted_worker_restores_its_table_from_the_changelog_instead_of_recounting(
    kafka_settings: Settings, topics: TestTopics, tmp_path: Path
) -> None:
    source = await topics.create("child-events", partitions=PARTITIONS)
    app_id = f"it-counts-{uuid.uuid4().hex[:10]}"
    changelog = f"{app_id}-counts-changelog"
    topics.delete_later(changelog)
    first_batch = [CHILDREN[n % len(CHILDREN)] for n in range(300)]
    second_batch = [CHILDREN[(n * 7) % len(CHILDREN)] for n in range(30)]
    after_first = dict(Counter(first_batch))
    after_both = dict(Counter(first_batch) + Counter(second_batch))
    args = ["--app-id", app_id, "--broker", faust_broker_url(kafka_settings), "--topic", source.name]
    args += ["--partitions", str(PARTITIONS)]
    workers: list[Worker] = []
    try:
        await produce(kafka_settings, source.name, first_batch)
        first = Worker("first", tmp_path, args)
        workers.append(first)
        counted = await first.snapshot_when(lambda s: s["counts"] == after_first, "all 300 events counted")
        assert counted["processed_by_this_process"] == 300
        assert first.stop() == 0, first.log_tail()

        second = Worker("second", tmp_path, args)
        workers.append(second)
        restored = await second.snapshot_when(lambda s: True, "a first snapshot after recovery")
        # Memory store: the new process started empty and has counted nothing, yet holds the totals.
        assert restored == {"counts": after_first, "processed_by_this_process": 0}

        await produce(kafka_settings, source.name, second_batch)
        final = await second.snapshot_when(lambda s: s["counts"] == after_both, "the 30 new events counted")
        assert final["processed_by_this_process"] == 30
    finally:
        for worker in workers:
            worker.stop()

    on_broker = await topics.describe(changelog)
    assert on_broker.partitions == PARTITIONS
    assert on_broker.configs["cleanup.policy"] == "compact"


def test_faust_environment_variables_cannot_override_the_app_config(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without env={}, faust lets an unprefixed BROKER_URL in the environment beat broker=... silently.
    monkeypatch.setenv("BROKER_URL", "kafka://somewhere-else:9092")
    monkeypatch.setenv("APP_STORE", "rocksdb://")
    monkeypatch.setenv("TOPIC_PARTITIONS", "1")

    counting = make_app("env-check", "kafka://127.0.0.1:19092", "source", PARTITIONS)

    assert [str(url) for url in counting.app.conf.broker] == ["kafka://127.0.0.1:19092"]
    assert str(counting.app.conf.store) == "memory:"
    assert counting.app.conf.topic_partitions == PARTITIONS
