"""`frontdoor dashboards generate|publish|verify`: write, push and prove the Grafana boards."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.metrics import generate, verify
from services.metrics.council_boards import COUNCIL_LIST, boards_to_verify, council_boards, councils_served, regional
from services.metrics.dashboards import platform
from services.metrics.publish import grafana_api, publish


class GrafanaSettings(BaseSettings):
    """FRONTDOOR_GRAFANA_TOKEN: a Grafana service account token (or API key) allowed to write dashboards."""

    model_config = SettingsConfigDict(env_prefix="FRONTDOOR_GRAFANA_", extra="ignore", frozen=True)

    token: SecretStr | None = None


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("dashboards", help="generate, publish or verify the Grafana boards")
    commands = parser.add_subparsers(dest="dashboards_command", required=True)

    gen = commands.add_parser("generate", help="write the boards (a folder per council) and Alertmanager holidays")
    gen.add_argument("--check", action="store_true", help="fail if the committed files differ")
    gen.add_argument("--councils", type=Path, help="the council list: a rules file whose councils have a name")
    gen.add_argument("--out", type=Path, help="write dashboards/ and provisioning/ here instead of deploy/grafana")
    gen.set_defaults(handler=run_generate)

    pub = commands.add_parser("publish", help="push the boards to a running Grafana (token: FRONTDOOR_GRAFANA_TOKEN)")
    pub.add_argument("--url", required=True, help="Grafana base URL, e.g. https://grafana.example.org")
    pub.add_argument("--councils", type=Path, default=COUNCIL_LIST, help="the council list (a rules file)")
    pub.set_defaults(handler=run_publish)

    ver = commands.add_parser("verify", help="run every panel query and recording rule against Prometheus")
    ver.add_argument("--prometheus", required=True, help="Prometheus base URL, e.g. http://127.0.0.1:9090")
    ver.add_argument("--la-code", required=True, help="the council whose boards to check")
    ver.add_argument("--source-group", default="police", help="the partner agency board to check")
    ver.add_argument("--rules-dir", type=Path, default=verify.RULES_DIR, help="recording rules to check")
    ver.set_defaults(handler=run_verify)


def run_generate(args: argparse.Namespace) -> int:
    argv = ["--check"] if args.check else []
    argv += ["--councils", str(args.councils)] if args.councils else []
    return generate.main(argv + (["--out", str(args.out)] if args.out else []))


def run_publish(args: argparse.Namespace) -> int:
    """Each council's boards into its own folder (uid frontdoor-<la_code>), then the regional and platform boards."""
    token = GrafanaSettings().token
    api = grafana_api(args.url, token.get_secret_value() if token else None)
    councils = councils_served(args.councils)
    folders = [(f"frontdoor-{c.la_code}", c.title, council_boards(c)) for c in councils]
    folders.append(("frontdoor-regional", "Front Door: regional view", [regional(councils)]))
    folders.append(("frontdoor-platform", "Front Door: platform", [platform()]))
    for uid, title, boards in folders:
        for item in publish(api, boards, folder_uid=uid, folder_title=title):
            print(f"published {item.uid} ({item.title}) version {item.version} {item.url}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    boards = boards_to_verify(args.la_code, args.source_group)
    rule_files = sorted(args.rules_dir.glob("*.yml"))
    if not rule_files:
        print(f"no rule files in {args.rules_dir}: pass --rules-dir deploy/prometheus/rules")
        return 2
    checks = verify.panel_checks(boards, {}) + verify.rule_checks(rule_files)
    outcomes = verify.run_checks(args.prometheus, checks)
    print(verify.report(outcomes))
    empty = [o for o in outcomes if not o.has_data]
    print(f"{len(outcomes) - len(empty)} of {len(outcomes)} queries returned data")
    return 1 if empty else 0
