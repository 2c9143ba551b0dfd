"""The drills' figures: each drill records its counts and timings; the session writes them with the machine."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.measure import machine

RESULTS_DIR = Path(__file__).resolve().parents[2] / "bench" / "results"


@dataclass(slots=True)
class DrillReport:
    """One session's drills, in the order they ran; written to `<results>/drills.{json,md}` at the end."""

    started_at: str
    load_at_start: list[float]
    drills: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def start(cls) -> DrillReport:
        return cls(dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), [round(x, 2) for x in os.getloadavg()])

    def record(self, name: str, **figures: Any) -> None:
        """Keep a drill's figures, and print them so the test log shows them too."""
        self.drills.append({"drill": name} | figures)
        print(f"\n[drill] {name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))

    def write(self, results_dir: Path | None = None) -> None:
        if not self.drills:
            return
        target = Path(os.environ.get("DRILLS_RESULTS_DIR", "")) if os.environ.get("DRILLS_RESULTS_DIR") else None
        target = results_dir or target or RESULTS_DIR
        document = {
            "started_at": self.started_at,
            "load_average_start": self.load_at_start,
            "load_average_end": [round(x, 2) for x in os.getloadavg()],
            "machine": machine(),
            "drills": self.drills,
        }
        target.mkdir(parents=True, exist_ok=True)
        (target / "drills.json").write_text(json.dumps(document, indent=2, default=str) + "\n")
        (target / "drills.md").write_text(markdown(document))


def markdown(document: dict[str, Any]) -> str:
    lines = [
        "# Reliability drills on a three-broker cluster (the last run)",
        "",
        "Written by `pytest tests/drills` (part of `make test`). Three KRaft nodes on loopback, replication 3,",
        "min.insync.replicas 2, PLAINTEXT; one `frontdoor worker` (two in the election drill); see docs/runbook.md.",
        "",
    ]
    for drill in document["drills"]:
        lines += [f"## {drill['drill']}", "", "| figure | value |", "|---|---|"]
        lines += [f"| {key.replace('_', ' ')} | {value} |" for key, value in drill.items() if key != "drill"]
        lines.append("")
    m = document["machine"]
    lines.append(
        f"Machine: {m.get('cpu_model', '?')}, {m.get('nproc', '?')} cores, {m.get('ram_gib', '?')} GiB, Python "
        f"{m.get('python', '?')}; load average {document['load_average_start']} at start, "
        f"{document['load_average_end']} at end; commit {str(m.get('git_commit', '?'))[:12]}, "
        f"started {document['started_at']}."
    )
    return "\n".join(lines) + "\n"
