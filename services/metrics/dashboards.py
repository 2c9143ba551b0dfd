"""A council's MASH wall and partner agency boards, and the platform team's pipeline board, as Grafana JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from services.metrics.panels import (
    PCT,
    Council,
    Dashboard,
    Layout,
    Query,
    bars,
    dashboard,
    shown_count,
    shown_rate,
    stat,
    table,
)
from services.reports.suppression import SUPPRESSED


def mash_wall(council: Council) -> Dashboard:
    """Kiosk board for the MASH office wall: today so far, refreshed every 30 s, no time picker needed."""
    la = council.selector
    board = Layout()
    board.row("Today at the front door")
    board.add(
        table(
            "Contacts today by source group, against the expected band for a working day",
            Query(f"sum by (source_group) (increase(frontdoor_contacts_total{{{la}}}[$__range]))", "Today"),
            Query(f"sum by (source_group) (frontdoor:contacts_expected_lower:per_working_day{{{la}}})", "Low"),
            Query(f"sum by (source_group) (frontdoor:contacts_expected_upper:per_working_day{{{la}}})", "High"),
            join_on="source_group",
            description="Band: the average contacts per working day over the last 12 complete months, "
            "plus or minus two standard deviations. It is a whole day's band, so mornings sit low.",
        ),
        12,
        11,
    )
    board.add(stat("Contacts today", Query(f"sum(increase(frontdoor_contacts_total{{{la}}}[$__range]))")), 6, 5)
    board.add(stat("Decisions pending", Query(f"max(frontdoor_contacts_awaiting_decision{{{la}}})")), 6, 5)
    board.add(
        stat("Alerts raised today", Query(f"sum(increase(frontdoor_alerts_raised_total{{{la}}}[$__range]))")), 6, 6
    )
    board.add(
        bars(
            "Alerts raised today by rule",
            Query(f"sum by (rule) (increase(frontdoor_alerts_raised_total{{{la}}}[$__range]))", "{{rule}}"),
        ),
        6,
        6,
    )
    return dashboard(
        f"frontdoor-{council.la_code}-mash-wall",
        f"{council.title}: MASH wall",
        board,
        [],
        time_from="now/d",
        refresh="30s",
        tags=["frontdoor", f"council-{council.la_code}"],
        description="Today's front door for the MASH wall display. Open with ?kiosk for full screen.",
    )


def partners(council: Council, group: str) -> Dashboard:
    """One partner agency's board: its funnel and rates against all partner agencies, small numbers hidden."""
    la, own = council.selector, council.group_selector(group)

    def count(metric: str) -> str:
        return f"max({metric}{{{own}}})"

    contacts, referrals = (
        count("frontdoor_source_group_contacts_rolling_12_months"),
        count("frontdoor_source_group_referrals_rolling_12_months"),
    )
    rereferrals, nfa = (
        count("frontdoor_source_group_rereferrals_rolling_12_months"),
        count("frontdoor_source_group_nfa_referrals_rolling_12_months"),
    )
    board = Layout()
    board.row(f"{group}, rolling 12 months")
    board.add(
        bars(
            f"Funnel: {group}",
            Query(shown_count(contacts), "Contacts"),
            Query(shown_count(referrals), "Referrals"),
            Query(shown_count(rereferrals), "Re-referrals"),
            Query(shown_count(nfa), "Referrals NFA"),
            no_value=SUPPRESSED,
            description="Counts from 1 to 4 are hidden (c). Assessments are not split by source group in the "
            "council totals yet, so the funnel stops at referral and NFA.",
        ),
        12,
        8,
    )
    board.add(
        bars(
            f"NFA rate: {group} against all partner agencies",
            Query(shown_rate(f"max(frontdoor:source_group_nfa:ratio{{{own}}})", nfa, referrals), group),
            Query(f"frontdoor:source_group_nfa_all_partners:ratio{{{la}}}", "All partner agencies"),
            unit=PCT,
            decimals=1,
            no_value=SUPPRESSED,
        ),
        12,
        4,
    )
    board.add(
        bars(
            f"Contacts that became referrals: {group} against all partner agencies",
            Query(shown_rate(count("frontdoor:source_group_contact_to_referral:ratio"), referrals, contacts), group),
            Query(f"frontdoor:source_group_contact_to_referral_all_partners:ratio{{{la}}}", "All partner agencies"),
            unit=PCT,
            decimals=1,
            no_value=SUPPRESSED,
        ),
        12,
        4,
    )
    board.add(
        stat(
            f"Re-referral rate: {group} against the council",
            Query(shown_rate(count("frontdoor_source_group_rereferral_ratio"), rereferrals, referrals), group),
            Query(f"frontdoor:rereferral_rolling_12_months:ratio{{{la}}}", "Council"),
            unit=PCT,
            decimals=1,
            no_value=SUPPRESSED,
        ),
        12,
        5,
    )
    return dashboard(
        f"frontdoor-{council.la_code}-partner-{group.replace('_', '-')}",
        f"{council.title}: partner agency, {group}",
        board,
        [],
        time_from="now-30d",
        refresh="15m",
        tags=["frontdoor", f"council-{council.la_code}", "partner"],
        description="How this partner agency's contacts meet the threshold: the funnel and rates against the "
        "average of all partner agencies (every source group except individuals, anonymous and unknown). "
        "No child-level data and no other agency's figures; counts 1 to 4, and rates on fewer than 10 "
        "referrals or on a hidden count, show as c.",
    )


def platform() -> Dashboard:
    """The platform team's board: the pipeline's health across every council served, no council's figures."""
    board = Layout()
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
        board.add(stat(title, Query(expr), unit=unit), 6, 4)
    return dashboard(
        "frontdoor-platform",
        "Front Door: platform",
        board,
        [],
        time_from="now/d",
        refresh="30s",
        tags=["frontdoor", "platform"],
        description="The pipeline across every council this deployment serves, for the platform team only: "
        "workers, throughput, lag and dead letters. No council's indicators.",
    )


def render(board: Dashboard) -> str:
    return json.dumps(board, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def panels_of(board: Dashboard) -> Iterator[dict[str, Any]]:
    """Every panel that queries data (rows excluded), including panels nested in collapsed rows."""
    for item in board["panels"]:
        if item.get("type") == "row":
            yield from item.get("panels", [])
        else:
            yield item
