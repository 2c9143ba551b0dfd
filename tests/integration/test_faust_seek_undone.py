"""Why the #596 workaround never seeks faust's consumer: on the pinned faust a seek made under backpressure is
undone by the records its fetcher hands over after it (tests/integration/faust_seek_app.py).

faust's fetcher hands a fetched batch over record by record and keeps a read offset per partition: a record below
it is dropped as read. `seek_wait` sets that read offset to the target, but the records of the batch in hand still
follow, each moving the read offset past the target, so the records fetched again from the target are dropped.
The worker's workaround used to seek back at every jump and livelocked this way after a rebalance
(docs/processor.md, "Known problems"). When an upgrade fixes this, the sought records come again and this fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from itertools import chain
from pathlib import Path
from typing import Any

import pytest

from bench.kafka_principals import principal_settings
from bench.processor.harness import Names, private_topics, produce
from services.kafka.clients import faust_broker_url
from services.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
RECORDS = 1_500
SEEK_TO = 10


async def result_when_drained(process: subprocess.Popen[bytes], result: Path, log: Path) -> dict[str, Any]:
    """The app's offsets once the last record has been delivered after the seek."""
    async with asyncio.timeout(90):
        while True:
            assert process.poll() is None, log.read_text(errors="replace")[-3000:]
            seen: dict[str, Any] = json.loads(result.read_text()) if result.exists() else {}
            if seen.get("after") and max(seen["after"]) == RECORDS - 1:
                return seen
            await asyncio.sleep(0.2)


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.timeout(150)
async def test_a_seek_under_backpressure_is_undone_and_the_records_sought_never_come_again(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    names = Names.unique("it-faust-seek")
    topic = names.processor_settings().events_topic
    result, log = tmp_path / "seek.json", tmp_path / "seek.log"
    async with private_topics(kafka_settings, names):
        await produce(principal_settings("ingest"), topic, [(b"886", b"x" * 200)] * RECORDS)
        options = {
            "--app-id": f"frontdoor-processor-{names.prefix}",
            "--broker": faust_broker_url(kafka_settings),
            "--topic": topic,
            "--seek-to": str(SEEK_TO),
            "--result": str(result),
        }
        command = [sys.executable, "-m", "tests.integration.faust_seek_app", *chain.from_iterable(options.items())]
        env = os.environ | {"PYTHONPATH": str(REPO_ROOT)}
        with log.open("wb") as out:
            process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            seen = await result_when_drained(process, result, log)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    before, after = seen["before"], seen["after"]
    assert SEEK_TO in before and max(before) > SEEK_TO  # the seek went back over records already delivered
    # The records sought back to were never delivered again: faust dropped them as read...
    assert [offset for offset in after if SEEK_TO <= offset < max(before)] == []
    # ...while the records from before the seek kept coming after it.
    assert min(after) >= max(before)
    assert sorted(set(range(RECORDS)) - set(before) - set(after)) == []  # nothing beyond them is lost
