"""`frontdoor dashboards generate|publish|verify`: write, push and prove the Grafana boards."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.metrics import generate, verify
from services.metrics.dashboards import all_dashboards
from services.metrics.publish import FOLDER_UID, grafana_api, publish


class GrafanaSettings(BaseSettings):
    """FRONTDOOR_GRAFANA_TOKEN: a Grafana service account token (or API key) allowed to write dashboards."""

    model_config = SettingsConfigDict(env_prefix="FRONTDOOR_GRAFANA_", extra="ignore", frozen=True)

    token: SecretStr | None = None


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("dashboards", help="generate, publish or verify the Grafana boards")
    commands = parser.add_subparsers(dest="dashboards_command", required=True)

    gen = commands.add_parser("generate", help="write deploy/grafana/dashboards and the Alertmanager holidays")
    gen.add_argument("--check", action="store_true", help="fail if the committed files differ")
    gen.set_defaults(handler=run_generate)

    pub = commands.add_parser("publish", help="push the boards to a running Grafana (token: FRONTDOOR_GRAFANA_TOKEN)")
    pub.add_argument("--url", required=True, help="Grafana base URL, e.g. https://grafana.example.org")
    pub.add_argument("--folder-uid", default=FOLDER_UID, help="folder to publish into (created if missing)")
    pub.set_defaults(handler=run_publish)

    ver = commands.add_parser("verify", help="run every panel query and recording rule against Prometheus")
    ver.add_argument("--prometheus", required=True, help="Prometheus base URL, e.g. http://127.0.0.1:9090")
    ver.add_argument("--la-code", required=True, help="council to fill the $la_code variable with")
    ver.add_argument("--source-group", default="police", help="value for the partner board's $source_group")
    ver.add_argument("--rules-dir", type=Path, default=verify.RULES_DIR, help="recording rules to check")
    ver.set_defaults(handler=run_verify)


def run_generate(args: argparse.Namespace) -> int:
    return generate.main(["--check"] if args.check else [])


def run_publish(args: argparse.Namespace) -> int:
    token = GrafanaSettings().token
    api = grafana_api(args.url, token.get_secret_value() if token else None)
    for item in publish(api, all_dashboards(), folder_uid=args.folder_uid):
        print(f"published {item.uid} ({item.title}) version {item.version} {item.url}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    variables = {"la_code": args.la_code, "source_group": args.source_group}
    rule_files = sorted(args.rules_dir.glob("*.yml"))
    if not rule_files:
        print(f"no rule files in {args.rules_dir}: pass --rules-dir deploy/prometheus/rules")
        return 2
    checks = verify.panel_checks(all_dashboards(), variables) + verify.rule_checks(rule_files)
    outcomes = verify.run_checks(args.prometheus, checks)
    print(verify.report(outcomes))
    empty = [o for o in outcomes if not o.has_data]
    print(f"{len(outcomes) - len(empty)} of {len(outcomes)} queries returned data")
    return 1 if empty else 0
