"""A council's rules file reaches the live worker: a council configured for 365 days gets the 365-day flags live,
exactly as `frontdoor replay` gives them from the same file, while another council keeps the 12-month window."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.kafka_principals import principal_settings
from bench.processor.harness import (
    REPO,
    Names,
    WorkerProcess,
    alerts_by_child,
    keyed,
    private_topics,
    produce,
    read_topic,
    simulated_feed,
    wait_caught_up,
)
from schemas.alerts import RereferralDetected
from schemas.codec import decode_alert, encode
from services.settings import Settings
from tests.builders import make_referral, pseudonym

RULES = """
[councils.942]
rereferral_window = "365d"
"""


def across_a_leap_day(la_code: str) -> list[object]:
    """Two referrals 12 calendar months apart across 29 February: a re-referral under 12 months, not under 365 days
    (2025-02-28 minus 365 days is 2024-02-29)."""
    child = pseudonym(f"leap-year-child-{la_code}")
    return [
        make_referral("2024-02-28", la_code=la_code, child_key=child, event_id=f"leap-1-{la_code}"),
        make_referral("2025-02-28", la_code=la_code, child_key=child, event_id=f"leap-2-{la_code}"),
    ]


@pytest.mark.kafka
@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_a_council_configured_for_365_days_gets_the_365_day_flags_live_as_replay_gives_them(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    feed = [*across_a_leap_day("942"), *across_a_leap_day("886"), *simulated_feed(("942", "886"), 150, seed=7)]
    events_file = tmp_path / "events.jsonl"
    events_file.write_bytes(b"".join(encode(e) + b"\n" for e in feed))  # type: ignore[arg-type]
    replay = [sys.executable, "-m", "services.cli", "replay", "--events", str(events_file), "--out-dir", str(tmp_path)]
    subprocess.run([*replay, "--rules", str(rules)], cwd=REPO, check=True, capture_output=True)  # our own argv
    offline = [decode_alert(line) for line in (tmp_path / "alerts.jsonl").read_bytes().splitlines()]

    names = Names.unique("it-council-rules")
    processor = names.processor_settings()
    async with private_topics(kafka_settings, names):
        await produce(principal_settings("ingest"), processor.events_topic, keyed(feed, encode))  # type: ignore[arg-type]
        env = names.env() | {"FRONTDOOR_RULES_CONFIG": str(rules)}
        worker = WorkerProcess("worker", tmp_path, env).start()
        try:
            await wait_caught_up(kafka_settings, processor.app_id, processor.events_topic, [worker], timeout=90)
        finally:
            assert worker.stop() == 0, worker.log_tail()
        records = await read_topic(kafka_settings, processor.alerts_topic)

    live = alerts_by_child(records)
    expected: dict[str, list[object]] = {}
    for message in offline:
        expected.setdefault(message.child_key, []).append(message)
    assert live == expected

    def rereferrals(child: str) -> list[str]:
        return [str(a.referral_date) for a in live.get(child, []) if isinstance(a, RereferralDetected)]

    assert rereferrals(pseudonym("leap-year-child-942")) == []  # 365 days: 2024-02-28 is outside the window
    assert rereferrals(pseudonym("leap-year-child-886")) == ["2025-02-28"]  # 12 calendar months: inside
