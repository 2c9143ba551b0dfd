"""SSD contacts extracts through the door with each contact's state: a year's extract, sent again, then changed.

    .venv/bin/python -m bench.ssd_contacts [--council 886] [--years 1] [--changed 0.1] [--results-dir bench/results]

The council's contacts come from the simulator (`frontdoor simulate --council 886 --years N`): the contacts of the
reported years, written as an `ssd_contacts` extract with the SSD's own headings. The door then reads it three
times against the same states, in this process, without Kafka: the first extract (every contact new), the same
extract again (nothing should be emitted), and the extract with a share of the decisions changed (one retraction
and one new decision each). The states' size is what `frontdoor.csc-records.v1` and an `ingest` run hold for them.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import resource
import secrets
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.measure import machine, timed
from schemas.events import ContactDecided, ContactReceived, EventRetracted
from services.ingest.identity import Pseudonymiser
from services.ingest.ssd_changes import ContactStates
from services.ingest.ssd_contacts import SsdContactsMapping, read_ssd_contacts
from services.kafka.previous_records import encode_state

FRONTDOOR = [sys.executable, "-m", "services.cli"]  # this checkout's code
HEADINGS = ["cont_contact_id", "cont_person_id", "cont_contact_date", "cont_contact_source_code"]
FLAGS = {"referral": "OUTCOME_NEW_REFERRAL_FLAG", "nfa": "OUTCOME_NFA_FLAG", "early_help": "OUTCOME_EARLY_HELP_FLAG",
         "advice_signpost": "OUTCOME_ADVICE_FLAG", "strategy_s47": "OUTCOME_CP_ENQUIRY_FLAG"}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--council", default="886")
    parser.add_argument("--years", type=float, default=1.0)
    parser.add_argument("--changed", type=float, default=0.1, help="share of decided contacts changed in night 3")
    parser.add_argument("--results-dir", type=Path, default=Path("bench/results"))
    args = parser.parse_args()
    os.environ.setdefault("FRONTDOOR_PROFILE", "dev")  # synthetic children only
    os.environ.setdefault("FRONTDOOR_PSEUDONYM_KEY", secrets.token_hex(32))
    figures: dict[str, object] = {"machine": machine(), "council": args.council, "years": args.years}
    with tempfile.TemporaryDirectory(prefix="bench-ssd-") as directory:
        work = Path(directory)
        events = work / "events.jsonl"
        simulate = [*FRONTDOOR, "simulate", "--council", args.council, "--years", str(args.years), "--seed", "7"]
        made = timed([*simulate, "--out", str(events)], work, "simulate")
        if made.returncode != 0:
            sys.stderr.write(made.stderr_tail())
            return 1
        rows = extract_rows(events)
        first, same = work / "night1.csv", work / "night2.csv"
        write_extract(first, rows)
        write_extract(same, rows)
        changed_rows, changed = change_decisions(rows, args.changed)
        third = work / "night3.csv"
        write_extract(third, changed_rows)
        pseudonymiser, states = Pseudonymiser(os.urandom(32)), ContactStates()
        nights = [night(path, pseudonymiser, states) for path in (first, same, third)]
    sizes = [len(encode_state(state)) for state in states.states.values()]
    figures |= {
        "simulate_seconds": round(made.seconds, 1),
        "contacts": len(rows),
        "decided": sum(1 for row in rows if row["outcome"]),
        "decisions_changed": changed,
        "nights": nights,
        "states": len(sizes),
        "state_bytes_mean": round(sum(sizes) / max(len(sizes), 1), 1),
        "state_bytes_total_mib": round(sum(sizes) / 2**20, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),  # the door and its states
    }
    figures["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]  # type: ignore[index]  # built above
    for label, figure in zip(("first extract", "sent again", "decisions changed"), nights, strict=True):
        sys.stdout.write(f"{label}: {figure['seconds']} s, {figure['rows_per_second']:,} rows/s, {figure['events']}\n")
    sys.stdout.write(f"{len(sizes):,} states, {figures['state_bytes_mean']} bytes each on the topic")
    sys.stdout.write(f", peak RSS {figures['peak_rss_mib']} MiB\n")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "ssd_contacts.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


def extract_rows(events: Path) -> list[dict[str, str]]:
    """One row per simulated contact with its decision (the outcome's SSD flag), in contact order."""
    rows: dict[str, dict[str, str]] = {}
    with events.open(encoding="utf-8") as lines:
        for line in lines:
            if '"ContactReceived"' not in line and '"ContactDecided"' not in line:
                continue
            event = json.loads(line)
            if event["type"] == "ContactReceived":
                day = dt.datetime.fromisoformat(event["received_at"]).strftime("%Y-%m-%d %H:%M")
                rows[event["contact_id"]] = {
                    "id": event["contact_id"], "person": event["child_key"], "date": day,
                    "source": event["source"], "outcome": rows.get(event["contact_id"], {}).get("outcome", ""),
                }  # fmt: skip
            elif event["contact_id"] in rows:
                rows[event["contact_id"]]["outcome"] = event["outcome"]
    return list(rows.values())


def change_decisions(rows: list[dict[str, str]], share: float) -> tuple[list[dict[str, str]], int]:
    """The rows with `share` of the decided contacts given another outcome."""
    chooser, outcomes, changed = random.Random(7), sorted(FLAGS), 0  # noqa: S311  # a reproducible sample, no secret
    out = []
    for row in rows:
        if row["outcome"] and chooser.random() < share:
            out.append(row | {"outcome": chooser.choice([o for o in outcomes if o != row["outcome"]])})
            changed += 1
        else:
            out.append(row)
    return out, changed


def write_extract(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*HEADINGS, "cont_contact_outcome_json"])
        for row in rows:
            flags = json.dumps({FLAGS[row["outcome"]]: "Y"}) if row["outcome"] else ""
            writer.writerow([row["id"], row["person"], row["date"], row["source"], flags])


def night(path: Path, pseudonymiser: Pseudonymiser, states: ContactStates) -> dict[str, object]:
    started = time.perf_counter()
    recorded = dt.datetime.now(dt.UTC)
    result = read_ssd_contacts(
        path, SsdContactsMapping.shipped(), "886", pseudonymiser, recorded_at=recorded, contacts=states
    )
    seconds = time.perf_counter() - started
    kinds = Counter(type(e).__name__ for e in result.events)
    assert not result.rejected, result.rejected[:3]
    assert set(kinds) <= {ContactReceived.__name__, ContactDecided.__name__, EventRetracted.__name__}
    return {
        "seconds": round(seconds, 2),
        "rows_per_second": round(result.read / seconds),
        "events": dict(kinds),
    }


if __name__ == "__main__":
    raise SystemExit(main())
