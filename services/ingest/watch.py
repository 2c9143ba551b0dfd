"""Polling a folder for new extract files: each file is ingested once, when it has stopped growing, across restarts.

The ledger (a JSON file, by default `.frontdoor-ingested.json` in the folder) names every file done, with its
size and SHA-256, and is rewritten atomically after each file is published: a restart resumes where it stopped,
and a file replaced by a different one under the same name is ingested again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

LEDGER_NAME = ".frontdoor-ingested.json"


@dataclass(frozen=True, slots=True)
class Seen:
    size: int
    mtime_ns: int


@dataclass
class Ledger:
    """File name -> "size:sha256" of each file already ingested."""

    path: Path
    done: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Ledger:
        if not path.exists():
            return cls(path)
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(path, {str(k): str(v) for k, v in data.get("done", {}).items()})

    def is_done(self, file: Path) -> bool:
        return self.done.get(file.name) == fingerprint(file)

    def mark_done(self, file: Path) -> None:
        self.done[file.name] = fingerprint(file)
        partial = self.path.with_name(self.path.name + ".partial")
        partial.write_text(json.dumps({"done": self.done}, indent=1, sort_keys=True), encoding="utf-8")
        partial.replace(self.path)  # atomic: a crash leaves the old ledger or the new one, never half of one


def fingerprint(file: Path) -> str:
    digest = hashlib.sha256()
    with file.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"{file.stat().st_size}:{digest.hexdigest()}"


@dataclass
class FolderWatch:
    """The files of `folder` matching `pattern` that are new, settled (unchanged since the last poll) and not done."""

    folder: Path
    pattern: str
    ledger: Ledger
    last_seen: dict[str, Seen] = field(default_factory=dict)

    def ready(self) -> list[Path]:
        """Files to ingest now, oldest first. A file is ready once two polls in a row see the same size and time."""
        ready: list[Path] = []
        current: dict[str, Seen] = {}
        for file in sorted(self.folder.glob(self.pattern), key=lambda f: (f.stat().st_mtime_ns, f.name)):
            if not file.is_file() or file.name.startswith("."):
                continue
            stat = file.stat()
            seen = Seen(stat.st_size, stat.st_mtime_ns)
            current[file.name] = seen
            if self.last_seen.get(file.name) == seen and not self.ledger.is_done(file):
                ready.append(file)
        self.last_seen = current
        return ready


def poll(
    watch: FolderWatch,
    ingest: Callable[[Path], object],
    *,
    poll_seconds: float,
    looks: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Ingest each ready file, marking it done after `ingest` returns, for `looks` looks (None: until stopped).

    A file whose `ingest` raises is not marked done, so it is taken again after a restart.
    """
    count = 0
    look = 0
    while True:
        for file in watch.ready():
            ingest(file)
            watch.ledger.mark_done(file)
            count += 1
        look += 1
        if looks is not None and look >= looks:
            return count
        sleep(poll_seconds)
