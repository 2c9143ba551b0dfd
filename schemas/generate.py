"""Generate the committed JSON Schema files from the models: `python -m schemas.generate [--check]`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from schemas.codec import ALERT_ADAPTER, AUDIT_ADAPTER, EVENT_ADAPTER
from schemas.identity import ChildIdentitySealed
from schemas.ssd_contacts import PreviousRecordValue
from schemas.topics import ALERTS, AUDIT, COUNCIL_TOTALS, CSC_RECORDS, EVENTS, IDENTITY
from schemas.totals import CouncilMonthTotals

OUT_DIR = Path(__file__).parent / "jsonschema"
SCHEMAS: dict[str, TypeAdapter[Any]] = {
    f"{EVENTS.name}.json": EVENT_ADAPTER,  # the event contract is unchanged from v1; the topic's key changed
    f"{ALERTS.name}.json": ALERT_ADAPTER,
    f"{IDENTITY.name}.json": TypeAdapter(ChildIdentitySealed),
    f"{CSC_RECORDS.name}.json": TypeAdapter(PreviousRecordValue),  # CSC API records and SSD contacts
    f"{AUDIT.name}.json": AUDIT_ADAPTER,  # also the lines of the dip sample's dip-sample-audit.jsonl
    f"{COUNCIL_TOTALS.name}.json": TypeAdapter(CouncilMonthTotals),
}


def rendered() -> dict[str, str]:
    """Each schema file's name and exact text."""
    return {
        name: json.dumps(adapter.json_schema(mode="validation"), indent=2, sort_keys=True) + "\n"
        for name, adapter in SCHEMAS.items()
    }


def stale_files() -> list[str]:
    """Names of committed schema files that differ from what the models generate."""
    return [name for name, text in rendered().items() if _read(OUT_DIR / name) != text]


def _read(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed files are stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for name in stale:
            sys.stderr.write(f"stale JSON Schema: schemas/jsonschema/{name} (run python -m schemas.generate)\n")
        return 1 if stale else 0
    OUT_DIR.mkdir(exist_ok=True)
    for name, text in rendered().items():
        (OUT_DIR / name).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
