"""The identity store at a council's size: seal, publish, the desk's cold read, its memory, reveal and erasure.

`python -m bench.identity [--council 886] [--years 2] [--children 100000]` (needs a broker; FRONTDOOR_PROFILE=dev).
The council's children come from `frontdoor simulate` (synthetic council ids such as "886-0001234", pseudonymised
by the ingest Pseudonymiser that keeps the mapping); `--children` adds synthetic children up to that many, so the
desk's 100k-alert target has a store to match. Results go to bench/results/identity.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import secrets
import statistics
import sys
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

from bench.measure import machine
from schemas.codec import encode
from schemas.identity import ChildIdentitySealed
from services.identity.sealing import Keyring
from services.identity.store import follow_identities, publish_erasure, publish_identities
from services.identity.vault import IdentityVault
from services.ingest.identity import Pseudonymiser
from services.kafka.topics import TopicPlan, ensure_topics
from services.settings import Settings
from services.simulator.cli_simulate import profiles
from services.simulator.history import simulate

RESULTS = Path(__file__).parent / "results"


def council_identities(council: str, years: float, children: int, key: bytes) -> tuple[dict[str, tuple[str, str]], int]:
    """pseudonym -> (council, council id) for the simulated council's children, topped up to `children`."""
    pseudonymiser = Pseudonymiser(key, keep_identities=True)
    events = sum(1 for _ in simulate(profiles([council]), dt.date(2023, 4, 1), years, 1, pseudonymiser=pseudonymiser))
    assert pseudonymiser.identities is not None
    simulated = len(pseudonymiser.identities)
    for n in range(simulated, children):
        pseudonymiser.pseudonymise_child(council, f"{council}-9{n:07d}")
    return pseudonymiser.identities, events if simulated else 0


async def cold_read(settings: Settings, topic: str, keyring: Keyring) -> tuple[IdentityVault, float]:
    vault, stop = IdentityVault(keyring), asyncio.Event()
    started = time.perf_counter()
    task = asyncio.create_task(follow_identities(vault, settings, topic, stop))
    while not vault.caught_up:
        await asyncio.sleep(0.01)
    seconds = time.perf_counter() - started
    stop.set()
    await task
    return vault, seconds


def vault_mib(keyring: Keyring, identities: dict[str, tuple[str, str]], now: dt.datetime) -> float:
    """Python heap the desk's sealed copy takes, folded from encoded values as they come off the topic."""
    # bytearrays, so the vault's own copies are made (and counted) inside the window, as aiokafka's values are
    values = [(k.encode(), bytearray(encode(keyring.seal(la, k, raw, now)))) for k, (la, raw) in identities.items()]
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    vault = IdentityVault(keyring)
    for key, value in values:
        vault.fold(key, value)
    used = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()
    assert len(vault.sealed) == len(identities)
    return round(used / 2**20, 1)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings(profile="dev")
    keyring = Keyring(secrets.token_bytes(32))
    identities, events = council_identities(args.council, args.years, args.children, secrets.token_bytes(32))
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    sealed = [keyring.seal(la, k, raw, now) for k, (la, raw) in identities.items()]
    seal_seconds = time.perf_counter() - started
    topic = f"bench.identity.{uuid.uuid4().hex[:10]}"
    await ensure_topics(settings, [TopicPlan(topic, settings.topic_partitions, 1, {"cleanup.policy": "compact"})])
    started = time.perf_counter()
    await publish_identities(settings, keyring, identities, topic, now)
    publish_seconds = time.perf_counter() - started
    vault, read_seconds = await cold_read(settings, topic, keyring)
    sample = [ChildIdentitySealed.model_validate_json(v) for v in list(vault.sealed.values())[:10_000]]
    timings = []
    for record in sample:
        t0 = time.perf_counter_ns()
        found = vault.find(record.child_key, record.la_code)
        assert found is not None
        vault.open_for(found)
        timings.append(time.perf_counter_ns() - t0)
    erased = [r.child_key for r in sample[:1000]]
    await publish_erasure(settings, erased, topic)
    vault_after, reread_seconds = await cold_read(settings, topic, keyring)
    await delete_topic(settings, topic)
    n = len(identities)
    return {
        "benchmark": "identity",
        "machine": machine(),
        "council": args.council,
        "years": args.years,
        "simulated_events": events,
        "children": n,
        "seal": {"seconds": round(seal_seconds, 2), "children_per_second": round(n / seal_seconds)},
        "publish": {"seconds": round(publish_seconds, 2), "children_per_second": round(n / publish_seconds)},
        "value_bytes_median": statistics.median(len(encode(s)) for s in sealed[:10_000]),
        "desk_cold_read": {"seconds": round(read_seconds, 2), "children_per_second": round(n / read_seconds)},
        "desk_vault_mib": vault_mib(keyring, identities, now),
        "reveal_find_and_unseal_microseconds": {
            "p50": round(statistics.median(timings) / 1000, 1),
            "p99": round(statistics.quantiles(timings, n=100)[98] / 1000, 1),
        },
        "erasure": {
            "tombstones": len(erased),
            "left": len(vault_after.sealed),
            "reread_seconds": round(reread_seconds, 2),
        },
    }


async def delete_topic(settings: Settings, topic: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient  # noqa: PLC0415

    from services.kafka.clients import common_kwargs  # noqa: PLC0415

    admin = AIOKafkaAdminClient(**common_kwargs(settings))
    await admin.start()
    try:
        await admin.delete_topics([topic])
    finally:
        await admin.close()


def markdown(f: dict[str, Any]) -> str:
    m = f["machine"]
    return "\n".join(
        [
            "# Identity store",
            "",
            f"Council {f['council']}, {f['years']} simulated years ({f['simulated_events']:,} events), "
            f"{f['children']:,} children in the store. Machine: {m['cpu_model']}, {m['nproc']} cores, "
            f"{m['ram_gib']} GiB, Python {m['python']}, load at start {m['load_average_at_start']}, "
            f"commit {m['git_commit'][:10]}, {m['date_utc']}.",
            "",
            "| Measure | Figure |",
            "|---|---:|",
            f"| Seal (AES-256-GCM), ingest side | {f['seal']['seconds']} s, "
            f"{f['seal']['children_per_second']:,} children/s |",
            f"| Publish to the compacted topic (acks=all) | {f['publish']['seconds']} s, "
            f"{f['publish']['children_per_second']:,} children/s |",
            f"| Sealed value on the topic (median) | {f['value_bytes_median']} bytes |",
            f"| Desk cold read of the whole topic | {f['desk_cold_read']['seconds']} s, "
            f"{f['desk_cold_read']['children_per_second']:,} children/s |",
            f"| Desk memory for the sealed copy (Python heap) | {f['desk_vault_mib']} MiB |",
            f"| Reveal: find and unseal one child, p50 / p99 | {f['reveal_find_and_unseal_microseconds']['p50']} / "
            f"{f['reveal_find_and_unseal_microseconds']['p99']} µs |",
            f"| Erasure: {f['erasure']['tombstones']:,} tombstones, then a cold read | "
            f"{f['erasure']['left']:,} children left, {f['erasure']['reread_seconds']} s |",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--council", default="886")
    parser.add_argument("--years", type=float, default=2)
    parser.add_argument("--children", type=int, default=100_000)
    parser.add_argument("--results-dir", type=Path, default=RESULTS)
    args = parser.parse_args()
    figures = asyncio.run(run(args))
    args.results_dir.mkdir(parents=True, exist_ok=True)
    (args.results_dir / "identity.json").write_text(json.dumps(figures, indent=2, default=str) + "\n", encoding="utf-8")
    (args.results_dir / "identity.md").write_text(markdown(figures), encoding="utf-8")
    sys.stdout.write(markdown(figures))


if __name__ == "__main__":
    main()
