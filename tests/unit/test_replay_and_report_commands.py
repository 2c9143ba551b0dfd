"""`frontdoor replay` and `frontdoor report`: the offline paths give the core's alerts and the C1 figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.codec import encode
from services.cli import main
from tests.builders import make_nfa, make_referral
from tests.reference import reference_file


def test_replay_writes_the_alerts_and_an_indicator_snapshot_in_event_time(tmp_path: Path) -> None:
    first = make_referral("2024-05-01")
    events = [first, make_nfa(first), make_referral("2024-08-01"), make_referral("2024-08-01", referral_id="dup")]
    source = tmp_path / "events.jsonl"
    source.write_bytes(b"".join(encode(e) + b"\n" for e in events) + b'{"type": "Nonsense"}\n')
    assert main(["replay", "--events", str(source), "--out-dir", str(tmp_path)]) == 0
    alerts = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert sorted(a["type"] for a in alerts) == ["RereferralDetected", "TwoReferralsInSixMonths"]
    snapshot = json.loads((tmp_path / "indicators.json").read_text())["886"]
    assert snapshot["as_of"] == "2024-08-01"
    ytd = snapshot["reporting_year_to_date"]
    assert (ytd["referrals"], ytd["rereferrals"], ytd["nfa_referrals"], ytd["same_day_collapsed"]) == (2, 1, 1, 1)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_replay_writes_every_rejected_line_with_its_file_line_number_and_reason(tmp_path: Path, jobs: str) -> None:
    kent, leeds = make_referral("2024-05-01"), make_referral("2024-06-01", la_code="383")
    lines = [encode(kent), b'{"type": "ReferralOpened", "la_code": "383"}', encode(leeds), b"", b"not json"]
    source = tmp_path / "history.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")

    assert main(["replay", "--events", str(source), "--out-dir", str(tmp_path / "out"), "--jobs", jobs]) == 0

    rejected = [json.loads(line) for line in (tmp_path / "out" / "rejected.jsonl").read_text().splitlines()]
    assert [(r["source"], r["location"]) for r in rejected] == [("history.jsonl", f"line {n}") for n in (2, 5)]
    assert "event_id: Field required" in rejected[0]["reason"]
    assert rejected[1]["reason"].startswith("not JSON")


def test_report_prints_the_c1_figures_as_json_for_the_fake_census(capsys: pytest.CaptureFixture[str]) -> None:
    census = str(reference_file("cin-census-xml", "d2i_fake_CIN_data.xml"))
    args = ["report", "--cin-census", census, "--period-start", "2000-04-01", "--period-end", "2031-03-31"]
    assert main([*args, "--format", "json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    # The reference README documents 402 referrals of 332 children and 20 close consecutive pairs.
    assert (figures["referrals"], figures["children_referred"], figures["rereferrals"]) == (402, 332, 20)
    assert figures["rereferral_rate"] == round(20 / 402, 6)
    assert (figures["nfa_referrals"], figures["same_day_collapsed"], figures["rejected"]) == (402, 0, 0)
    assert set(figures) >= {"children_rereferred", "child_rereferral_rate"}


def test_report_default_format_is_a_readable_table(capsys: pytest.CaptureFixture[str]) -> None:
    census = str(reference_file("cin-census-xml", "d2i_CIN_Census_2024.xml"))
    assert main(["report", "--cin-census", census, "--period-start", "2022-04-01", "--period-end", "2025-03-31"]) == 0
    out = capsys.readouterr().out
    assert "rereferral rate" in out and "referrals" in out
