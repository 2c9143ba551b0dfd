"""The three Grafana boards (MASH wall, performance, partner agencies), generated as JSON with stable uids."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from services.metrics.metrics import SOURCE_GROUPS
from services.metrics.panels import (
    COUNCIL_PICKER,
    GROUP,
    LA,
    PCT,
    Dashboard,
    Layout,
    Query,
    bars,
    custom_variable,
    dashboard,
    stat,
    table,
)
from services.metrics.performance_board import performance

DASHBOARD_DIR = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards"


def mash_wall() -> Dashboard:
    """Kiosk board for the MASH office wall: today so far, refreshed every 30 s, no time picker needed."""
    board = Layout()
    board.row("Today at the front door")
    board.add(
        table(
            "Contacts today by source group, against the expected band for a working day",
            Query(f"sum by (source_group) (increase(frontdoor_contacts_total{{{LA}}}[$__range]))", "Today"),
            Query(f"sum by (source_group) (frontdoor:contacts_expected_lower:per_working_day{{{LA}}})", "Low"),
            Query(f"sum by (source_group) (frontdoor:contacts_expected_upper:per_working_day{{{LA}}})", "High"),
            join_on="source_group",
            description="Band: the average contacts per working day over the last 12 complete months, "
            "plus or minus two standard deviations. It is a whole day's band, so mornings sit low.",
        ),
        12,
        11,
    )
    board.add(stat("Contacts today", Query(f"sum(increase(frontdoor_contacts_total{{{LA}}}[$__range]))")), 6, 5)
    board.add(
        stat("Decisions pending", Query(f"max(frontdoor_contacts_awaiting_decision{{{LA}}})")),
        6,
        5,
    )
    board.add(
        stat("Alerts raised today", Query(f"sum(increase(frontdoor_alerts_raised_total{{{LA}}}[$__range]))")), 6, 6
    )
    board.add(
        bars(
            "Alerts raised today by rule",
            Query(f"sum by (rule) (increase(frontdoor_alerts_raised_total{{{LA}}}[$__range]))", "{{rule}}"),
        ),
        6,
        6,
    )
    board.row("Pipeline health")
    health = [
        ("Workers up", 'sum(up{job="frontdoor-worker"})', "short"),
        ("Events per second", "sum(frontdoor:events_applied:rate5m)", "short"),
        ("Consumer lag (events)", "sum(frontdoor:consumer_lag_events:sum)", "short"),
        ("Processing latency p99", "max(frontdoor:processing_latency_seconds:p99_5m)", "s"),
        ("Event age p50", "max(frontdoor:event_age_seconds:p50_5m)", "s"),
        ("Since last event", "time() - max(frontdoor:last_event_processed_timestamp_seconds:max)", "s"),
        ("Dead letters today", "sum(increase(frontdoor_dead_letters_total[$__range]))", "short"),
        ("Children in state", "sum(frontdoor:state_children:sum)", "short"),
    ]
    for title, expr, unit in health:
        board.add(stat(title, Query(expr), unit=unit), 3, 4)
    return dashboard(
        "frontdoor-mash-wall",
        "Front Door: MASH wall",
        board,
        [COUNCIL_PICKER],
        time_from="now/d",
        refresh="30s",
        description="Today's front door for the MASH wall display. Open with ?kiosk for full screen.",
    )


def partners() -> Dashboard:
    """For police, schools, health and the other partner agencies: how their contacts meet the threshold."""
    board = Layout()
    board.row("$source_group, rolling 12 months")
    board.add(
        bars(
            "Funnel: $source_group",
            Query(f"max(frontdoor_source_group_contacts_rolling_12_months{{{GROUP}}})", "Contacts"),
            Query(f"max(frontdoor_source_group_referrals_rolling_12_months{{{GROUP}}})", "Referrals"),
            Query(f"max(frontdoor_source_group_rereferrals_rolling_12_months{{{GROUP}}})", "Re-referrals"),
            Query(f"max(frontdoor_source_group_nfa_referrals_rolling_12_months{{{GROUP}}})", "Referrals NFA"),
            description="Assessments are not split by source group in the council totals yet, so the funnel "
            "stops at referral and NFA.",
        ),
        12,
        8,
    )
    board.add(
        bars(
            "NFA rate: $source_group against all partner agencies",
            Query(f"frontdoor:source_group_nfa:ratio{{{GROUP}}}", "$source_group"),
            Query(f"frontdoor:source_group_nfa_all_partners:ratio{{{LA}}}", "All partner agencies"),
            unit=PCT,
            decimals=1,
        ),
        12,
        4,
    )
    board.add(
        bars(
            "Contacts that became referrals: $source_group against all partner agencies",
            Query(f"frontdoor:source_group_contact_to_referral:ratio{{{GROUP}}}", "$source_group"),
            Query(f"frontdoor:source_group_contact_to_referral_all_partners:ratio{{{LA}}}", "All partner agencies"),
            unit=PCT,
            decimals=1,
        ),
        12,
        4,
    )
    board.add(
        stat(
            "Re-referral rate: $source_group against the council",
            Query(f"max(frontdoor_source_group_rereferral_ratio{{{GROUP}}})", "$source_group"),
            Query(f"frontdoor:rereferral_rolling_12_months:ratio{{{LA}}}", "Council"),
            unit=PCT,
            decimals=1,
        ),
        12,
        5,
    )
    board.add(
        stat(
            "Contacts in the last 24 hours: $source_group",
            Query(f"sum(increase(frontdoor_contacts_total{{{GROUP}}}[1d]))"),
        ),
        12,
        5,
    )
    board.row("Every source group")
    board.add(
        table(
            "Funnel by source group",
            Query(f"max by (source_group) (frontdoor_source_group_contacts_rolling_12_months{{{LA}}})", "Contacts"),
            Query(f"max by (source_group) (frontdoor_source_group_referrals_rolling_12_months{{{LA}}})", "Referrals"),
            Query(
                f"max by (source_group) (frontdoor_source_group_rereferrals_rolling_12_months{{{LA}}})", "Re-referrals"
            ),
            Query(f"max by (source_group) (frontdoor_source_group_nfa_referrals_rolling_12_months{{{LA}}})", "NFA"),
            join_on="source_group",
        ),
        12,
        10,
    )
    board.add(
        bars(
            "NFA rate by source group",
            Query(f"frontdoor:source_group_nfa:ratio{{{LA}}}", "{{source_group}}"),
            unit=PCT,
            decimals=1,
        ),
        12,
        10,
    )
    return dashboard(
        "frontdoor-partners",
        "Front Door: partner agencies",
        board,
        [COUNCIL_PICKER, custom_variable("source_group", "Source group (Ofsted Annex A)", SOURCE_GROUPS)],
        time_from="now-30d",
        refresh="15m",
        description="How each partner agency's contacts meet the threshold: the funnel and NFA rate against "
        "the average of all partner agencies (every source group except individuals, anonymous and unknown).",
    )


def all_dashboards() -> list[Dashboard]:
    return [mash_wall(), performance(), partners()]


def render(board: Dashboard) -> str:
    return json.dumps(board, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def dashboard_files(directory: Path = DASHBOARD_DIR) -> dict[Path, str]:
    """The committed JSON file of each board, keyed by path: `<uid>.json`."""
    return {directory / f"{board['uid']}.json": render(board) for board in all_dashboards()}


def panels_of(board: Dashboard) -> Iterator[dict[str, Any]]:
    """Every panel that queries data (rows excluded), including panels nested in collapsed rows."""
    for item in board["panels"]:
        if item.get("type") == "row":
            yield from item.get("panels", [])
        else:
            yield item
