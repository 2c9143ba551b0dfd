"""A Grafana folder per council served, from the council list: boards with the council fixed, regional view, files."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import yaml

from services.metrics.dashboards import mash_wall, partners, platform, render
from services.metrics.metrics import SOURCE_GROUPS
from services.metrics.panels import (
    PCT,
    Council,
    Dashboard,
    Layout,
    Query,
    bars,
    dashboard,
)
from services.metrics.performance_board import performance
from services.reports.suppression import SMALLEST_RATE_DENOMINATOR, SUPPRESSED
from services.rules_config import load_council_names

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = ROOT / "deploy" / "grafana" / "dashboards"
PROVISIONING_FILE = ROOT / "deploy" / "grafana" / "provisioning" / "dashboards" / "frontdoor.yml"
# The council list the committed boards are generated from: every council the rules file names.
COUNCIL_LIST = ROOT / "deploy" / "rules.example.toml"
GRAFANA_DASHBOARDS = "/var/lib/grafana/dashboards"  # where compose mounts deploy/grafana/dashboards
# Partner agencies: every Annex A source group except individuals, anonymous and unknown sources.
PARTNER_GROUPS = tuple(g for g in SOURCE_GROUPS if g not in ("individual", "anonymous", "unknown"))
REGIONAL, PLATFORM = "regional", "platform"


def councils_served(path: Path = COUNCIL_LIST) -> list[Council]:
    """The councils of the council list (the rules file), in LA code order."""
    return [Council(la_code, name) for la_code, name in load_council_names(path).items()]


def council_boards(council: Council, partner_groups: Sequence[str] = PARTNER_GROUPS) -> list[Dashboard]:
    """Everything in a council's folder: the wall, performance, and one board per partner agency."""
    return [mash_wall(council), performance(council), *(partners(council, group) for group in partner_groups)]


def boards_to_verify(la_code: str, source_group: str = "police") -> list[Dashboard]:
    """What `dashboards verify` runs against Prometheus: one council's boards (one partner agency's), the regional
    view of that council, and the platform board."""
    council = Council(la_code, la_code)
    return [*council_boards(council, (source_group,)), regional([council]), platform()]


def regional(councils: Sequence[Council]) -> Dashboard:
    """Each council's rates side by side: aggregates only, a rate hidden when its council has under 10 referrals."""
    codes = "|".join(c.la_code for c in councils)
    served = f'la_code=~"{codes}"'
    enough = f"on (la_code) (max by (la_code) (frontdoor_referrals_rolling_12_months{{{served}}}) >= "
    enough += f"{SMALLEST_RATE_DENOMINATOR})"
    board = Layout()
    board.row("Each council, rolling 12 months")
    rates = [
        ("Re-referral rate", "frontdoor:rereferral_rolling_12_months:ratio"),
        ("Referrals NFA", "frontdoor:referral_nfa:ratio"),
        ("Contacts to referral or S47", "frontdoor:contact_to_referral:ratio"),
        ("Referrals to assessment", "frontdoor:referral_to_assessment:ratio"),
    ]
    for title, record in rates:
        expr = f"max by (la_code) ({record}{{{served}}}) and {enough}"
        board.add(bars(title, Query(expr, "{{la_code}}"), unit=PCT, decimals=1, no_value=SUPPRESSED), 12, 8)
    names = ", ".join(c.title for c in councils)
    return dashboard(
        "frontdoor-regional",
        "Front Door: regional view",
        board,
        [],
        time_from="now-30d",
        refresh="15m",
        tags=["frontdoor", REGIONAL],
        description=f"Rates of the councils served ({names}) side by side. Rates only, no counts and nothing "
        f"child-level; a council with fewer than {SMALLEST_RATE_DENOMINATOR} referrals shows c.",
    )


def dashboard_files(councils: Sequence[Council], directory: Path = DASHBOARD_DIR) -> dict[Path, str]:
    """Each board's JSON under a folder per council (`<la_code>/<uid>.json`), plus the regional and platform ones."""
    folders = {c.la_code: council_boards(c) for c in councils}
    folders[REGIONAL], folders[PLATFORM] = [regional(councils)], [platform()]
    return {directory / folder / f"{b['uid']}.json": render(b) for folder, boards in folders.items() for b in boards}


def provisioning(councils: Sequence[Council]) -> str:
    """Grafana's dashboard providers: one folder per council (uid frontdoor-<la_code>), regional and platform."""
    folders = [(c.la_code, c.title) for c in councils]
    folders += [(REGIONAL, "Front Door: regional view"), (PLATFORM, "Front Door: platform")]
    providers = [
        {
            "name": f"frontdoor-{folder}",
            "orgId": 1,
            "type": "file",
            "folder": title,
            "folderUid": f"frontdoor-{folder}",
            "disableDeletion": True,
            "allowUiUpdates": False,
            "updateIntervalSeconds": 30,
            "options": {"path": f"{GRAFANA_DASHBOARDS}/{folder}", "foldersFromFilesStructure": False},
        }
        for folder, title in folders
    ]
    head = (
        "# Generated by `frontdoor dashboards generate` from the council list (the rules file's named councils):\n"
        "# one folder per council, with the council fixed in every board, and the regional and platform folders.\n"
        "# Give each council's users access to their folder only (docs/platform.md). Do not edit: regenerate.\n"
    )
    return head + yaml.safe_dump({"apiVersion": 1, "providers": providers}, sort_keys=False)
