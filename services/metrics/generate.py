"""Writes the generated deploy files (Grafana boards per council, Alertmanager holidays); --check fails on drift."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from services.metrics.alertmanager import with_bank_holidays
from services.metrics.council_boards import (
    COUNCIL_LIST,
    DASHBOARD_DIR,
    PROVISIONING_FILE,
    councils_served,
    dashboard_files,
    provisioning,
)

ROOT = Path(__file__).resolve().parents[2]
ALERTMANAGER_CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"


@dataclass(frozen=True, slots=True)
class Targets:
    """Where the files go: the repository's deploy/ by default, or a deployment's own directories."""

    councils: Path = COUNCIL_LIST
    dashboards: Path = DASHBOARD_DIR
    provisioning: Path = PROVISIONING_FILE
    alertmanager: Path | None = ALERTMANAGER_CONFIG


def generated_files(targets: Targets = Targets()) -> dict[Path, str]:
    councils = councils_served(targets.councils)
    files = dashboard_files(councils, targets.dashboards)
    files[targets.provisioning] = provisioning(councils)
    if targets.alertmanager is not None:
        files[targets.alertmanager] = with_bank_holidays(targets.alertmanager.read_text(encoding="utf-8"))
    return files


def stale_files(targets: Targets = Targets()) -> list[Path]:
    """Generated files whose content differs from what the code generates now, and boards it no longer generates
    (a council removed from the list, a board renamed)."""
    generated = generated_files(targets)
    changed = [
        path for path, text in generated.items() if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    return changed + leftover_boards(generated, targets.dashboards)


def leftover_boards(generated: dict[Path, str], directory: Path) -> list[Path]:
    return sorted(set(directory.rglob("*.json")) - set(generated))


def write_files(targets: Targets = Targets()) -> list[Path]:
    generated = generated_files(targets)
    written = []
    for path, text in generated.items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    for path in leftover_boards(generated, targets.dashboards):
        path.unlink()
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.metrics.generate", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a committed file differs")
    parser.add_argument("--councils", type=Path, help="the council list: a rules file (default: deploy's example)")
    parser.add_argument("--out", type=Path, help="a deployment's directory: dashboards/ and provisioning/ go there")
    args = parser.parse_args(argv)
    targets = Targets(councils=args.councils or COUNCIL_LIST)
    if args.out is not None:
        out = args.out
        targets = Targets(
            targets.councils, out / "dashboards", out / "provisioning" / "dashboards" / "frontdoor.yml", None
        )
    if args.check:
        stale = stale_files(targets)
        for path in stale:
            sys.stderr.write(f"stale: {path} (run python -m services.metrics.generate)\n")
        return 1 if stale else 0
    for path in write_files(targets):
        sys.stdout.write(f"{'wrote' if path.exists() else 'removed'} {path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
