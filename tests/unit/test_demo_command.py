"""`frontdoor demo` refuses real data and says plainly when there is no broker, before it starts anything."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import pytest

from services.cli import main
from services.cli_demo import frontdoor, one_year_before, summary_lines


def closed_port() -> int:
    """A local port nothing listens on: bound once to pick it, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize("profile", ["production", None])
def test_demo_refuses_to_run_outside_the_dev_profile(
    profile: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if profile is None:
        monkeypatch.delenv("FRONTDOOR_PROFILE", raising=False)  # the default profile is production
    else:
        monkeypatch.setenv("FRONTDOOR_PROFILE", profile)
    monkeypatch.setenv("FRONTDOOR_BOOTSTRAP_SERVERS", f"127.0.0.1:{closed_port()}")

    assert main(["demo", "--workdir", str(tmp_path / "demo")]) == 2

    assert "runs only with FRONTDOOR_PROFILE=dev" in capsys.readouterr().err
    assert not (tmp_path / "demo").exists(), "nothing is prepared before the profile check"


def test_demo_reports_a_missing_broker_by_its_address_and_how_to_start_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"127.0.0.1:{closed_port()}"
    monkeypatch.setenv("FRONTDOOR_PROFILE", "dev")
    monkeypatch.setenv("FRONTDOOR_BOOTSTRAP_SERVERS", address)

    assert main(["demo", "--workdir", str(tmp_path / "demo")]) == 1

    err = capsys.readouterr().err
    assert f"no Kafka broker answers at {address}" in err
    assert "make kafka-up" in err
    assert "Traceback" not in err
    assert not (tmp_path / "demo").exists(), "no child is started without a broker"


def test_demo_children_run_the_frontdoor_command_with_this_interpreter() -> None:
    argv = frontdoor("topics", "create")

    assert argv[1:] == ["-m", "services.cli", "topics", "create"]
    assert Path(argv[0]).name.startswith("python")


@pytest.mark.parametrize(
    ("today", "year_before"),
    [(dt.date(2026, 5, 14), dt.date(2025, 5, 14)), (dt.date(2028, 2, 29), dt.date(2027, 2, 28))],
)
def test_history_starts_a_year_before_today_even_on_29_february(today: dt.date, year_before: dt.date) -> None:
    assert one_year_before(today) == year_before


def test_the_summary_shows_non_zero_alerts_and_ratios_and_totals_the_applied_events() -> None:
    exposition = "\n".join(
        [
            "# HELP frontdoor_alerts_raised_total Alerts raised",
            'frontdoor_alerts_raised_total{la_code="942",rule="rereferral_12m",severity="high"} 7.0',
            'frontdoor_alerts_raised_total{la_code="942",rule="repeat_cpp",severity="high"} 0.0',
            'frontdoor_alerts_raised_created{la_code="942",rule="rereferral_12m",severity="high"} 1.7e+09',
            'frontdoor_rereferral_rolling_12_months_ratio{la_code="942"} 0.21',
            'frontdoor_events_consumed_total{type="ReferralOpened",outcome="applied"} 120.0',
            'frontdoor_events_consumed_total{type="ReferralOpened",outcome="duplicate"} 3.0',
            'frontdoor_events_consumed_total{type="ContactReceived",outcome="applied"} 1000.0',
        ]
    )

    assert summary_lines(exposition) == [
        '  frontdoor_alerts_raised_total{la_code="942",rule="rereferral_12m",severity="high"} 7.0',
        '  frontdoor_rereferral_rolling_12_months_ratio{la_code="942"} 0.21',
        "  events applied (all types): 1,120",
    ]
