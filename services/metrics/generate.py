"""Writes the generated deploy files (Grafana boards, Alertmanager bank holidays); --check fails on any drift."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from services.metrics.alertmanager import with_bank_holidays
from services.metrics.dashboards import dashboard_files

ROOT = Path(__file__).resolve().parents[2]
ALERTMANAGER_CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"


def generated_files() -> dict[Path, str]:
    files = dashboard_files()
    files[ALERTMANAGER_CONFIG] = with_bank_holidays(ALERTMANAGER_CONFIG.read_text(encoding="utf-8"))
    return files


def stale_files() -> list[Path]:
    """Generated files whose committed content differs from what the code generates now."""
    return [
        path
        for path, text in generated_files().items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]


def write_files() -> list[Path]:
    written = []
    for path, text in generated_files().items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.metrics.generate", description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a committed file differs")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            sys.stderr.write(f"stale: {path.relative_to(ROOT)} (run python -m services.metrics.generate)\n")
        return 1 if stale else 0
    for path in write_files():
        sys.stdout.write(f"wrote {path.relative_to(ROOT)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
