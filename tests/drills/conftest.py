"""The drills' session: one three-broker cluster for every drill (started once, stopped and wiped at the end), and
the figures each drill records, written to bench/results/drills.{json,md} when the session ends.

The cluster needs Java and the launcher's cached jars, as `make test` does. Two nodes' log dirs on small tmpfs mounts,
for the disk-full drill, need mount permission (root in the CI container); without it that drill alone is skipped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.kafka_cluster import Cluster
from tests.drills.report import DrillReport

DEFAULT_PORT = 19500
DISK_NODES = (2, 3)  # two of three: with both full, fewer than min.insync.replicas remain and writes are refused
DISK_MIB = 192  # a node's log dir: the drills' topics fit, a filler file fills it


def mount_tmpfs(path: Path, mib: int) -> bool:
    """A size-limited tmpfs on `path`, if this machine lets the test mount one (needs CAP_SYS_ADMIN)."""
    if os.environ.get("DRILLS_NO_TMPFS") == "1" or shutil.which("mount") is None:
        return False
    path.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(  # fixed arguments
        ["mount", "-t", "tmpfs", "-o", f"size={mib}m", "tmpfs", str(path)], capture_output=True, check=False
    )
    return result.returncode == 0


def unmount(path: Path) -> None:
    subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


@pytest.fixture(scope="session")
def drill_report() -> Iterator[DrillReport]:
    report = DrillReport.start()
    yield report
    report.write()


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    """Started once; every drill leaves it with three nodes up and its own topics deleted."""
    state = Path(tempfile.mkdtemp(prefix="frontdoor-drills-kafka-"))
    port = int(os.environ.get("DRILLS_KAFKA_PORT", DEFAULT_PORT))
    disks = [state / f"node-{node}" / "data" for node in DISK_NODES]
    mounted = [disk for disk in disks if mount_tmpfs(disk, DISK_MIB)]
    running = Cluster(port, state, small_disks=DISK_NODES if len(mounted) == len(disks) else ())
    try:
        running.up()
    except RuntimeError as error:
        with contextlib.suppress(RuntimeError):
            running.down()
        release(state, mounted)
        pytest.fail(f"the drills' three-broker cluster did not start: {error}", pytrace=False)
    try:
        yield running
    finally:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            running.down()
        release(state, mounted)


def release(state: Path, mounted: list[Path]) -> None:
    for disk in mounted:
        unmount(disk)
    shutil.rmtree(state, ignore_errors=True)
