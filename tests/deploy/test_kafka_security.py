"""The secured local broker's ACL table (deploy/kafka/kafka_security.py): names that match the code, and its rules."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.processor.harness import Names
from schemas.topics import ALERT_ACTIONS, ALERTS, AUDIT, COUNCIL_TOTALS, DEADLETTER, EVENTS
from services.processor.app import changelog_names
from services.processor.settings import APP_ID, ProcessorSettings

SECURITY_MODULE = Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "kafka_security.py"


def load_security() -> ModuleType:
    """The launcher's module, loaded from its file: deploy/ is not a package, and the launcher runs without a venv."""
    spec = importlib.util.spec_from_file_location("kafka_security", SECURITY_MODULE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("kafka_security", module)
    spec.loader.exec_module(module)
    return module


security = load_security()


def allowed(service: str, operation: str, name: str) -> bool:
    return any(
        acl.service == service and acl.operation == operation and acl.name == name and acl.permission == "ALLOW"
        for acl in security.ACLS
    )


def test_the_acl_table_names_the_topics_and_the_worker_group_the_code_uses() -> None:
    assert (EVENTS.name, ALERTS.name, DEADLETTER.name) == (security.EVENTS, security.ALERTS, security.DEADLETTER)
    assert (ALERT_ACTIONS.name, AUDIT.name) == (security.ACTIONS, security.AUDIT)
    assert COUNCIL_TOTALS.name == security.COUNCIL_TOTALS
    assert security.WORKER_APP_ID == APP_ID
    assert changelog_names(ProcessorSettings()) == (security.WORKER_CHANGELOG,)


def test_only_the_desk_may_write_actions_and_audit() -> None:
    writers = {acl.service for acl in security.ACLS if acl.operation == "WRITE" and acl.permission == "ALLOW"}
    for topic in (ALERT_ACTIONS.name, AUDIT.name):
        assert {service for service in writers if allowed(service, "WRITE", topic)} == {"desk"}


def test_only_the_worker_may_write_alerts_and_only_ingest_may_write_events() -> None:
    services = security.SERVICES
    assert [s for s in services if allowed(s, "WRITE", ALERTS.name)] == ["worker"]
    assert [s for s in services if allowed(s, "WRITE", EVENTS.name)] == ["ingest"]


def test_only_the_worker_may_write_council_totals_and_only_the_desk_may_read_them() -> None:
    services = security.SERVICES
    assert [s for s in services if allowed(s, "WRITE", COUNCIL_TOTALS.name)] == ["worker"]
    assert [s for s in services if allowed(s, "READ", COUNCIL_TOTALS.name)] == ["desk"]


def test_no_service_may_delete_alter_or_create_anything_but_the_worker_its_changelog() -> None:
    powerful = [acl for acl in security.ACLS if acl.permission == "ALLOW" and acl.operation not in {"READ", "WRITE"}]
    assert [(acl.service, acl.operation, acl.name) for acl in powerful] == [
        ("worker", "CREATE", security.WORKER_CHANGELOG)
    ]


def test_every_principal_is_denied_deleting_the_audit_topic() -> None:
    denials = [acl for acl in security.ACLS if acl.permission == "DENY"]
    assert [(acl.principal(), acl.operation, acl.name) for acl in denials] == [("User:*", "DELETE", AUDIT.name)]


def test_every_service_has_its_own_principal_and_the_admin_is_the_only_super_user() -> None:
    assert set(security.SERVICES) == {"admin", "ingest", "worker", "desk", "receiver"}
    assert {acl.service for acl in security.ACLS} == {"ingest", "worker", "desk", "receiver", "*"}
    credentials = security.new_credentials("127.0.0.1:19093", Path("/tmp/ca.pem"))
    tls = security.TlsFiles(Path("/tmp/tls"), "store-password")
    properties = security.secure_server_properties(credentials, tls, 19093, "127.0.0.1:19094")
    assert properties["super.users"] == f"User:frontdoor-admin;User:{security.BROKER_DN}"
    assert properties["allow.everyone.if.no.acl.found"] == "false"
    assert "PLAINTEXT" not in properties["listener.security.protocol.map"]
    assert properties["listener.name.controller.ssl.client.auth"] == "required"


# --- the CI broker's extra ACLs for the tests' private topics (`launcher.py up --secure --test-acls`) ----------


def authorised(acls: tuple[object, ...], service: str, operation: str, name: str, resource: str = "TOPIC") -> bool:
    """What the StandardAuthorizer decides for one principal: some ALLOW matches and no DENY does."""

    def matches(acl: Any) -> bool:
        named = acl.name == name if acl.pattern_type == "LITERAL" else name.startswith(acl.name)
        implied = acl.operation == operation or (operation == "DESCRIBE" and acl.operation in {"READ", "WRITE"})
        return acl.service in {service, "*"} and acl.resource_type == resource and named and implied

    hits = [acl for acl in acls if matches(acl)]
    return any(a.permission == "ALLOW" for a in hits) and not any(a.permission == "DENY" for a in hits)


def test_the_ci_acls_repeat_every_literal_rule_as_a_prefix_plus_the_private_worker_changelogs() -> None:
    extra = security.test_acls()
    literal = [acl for acl in security.ACLS if acl.pattern_type == "LITERAL"]
    assert [acl for acl in extra if acl.name != security.WORKER_APP_ID or acl.resource_type == "GROUP"] == [
        security.Acl(a.service, a.resource_type, "PREFIXED", a.name, a.operation, a.permission) for a in literal
    ]
    changelog_ops = {acl.operation for acl in security.ACLS if acl.name == security.WORKER_CHANGELOG}
    worker_app = [acl for acl in extra if acl.name == security.WORKER_APP_ID and acl.resource_type == "TOPIC"]
    assert {(acl.service, acl.pattern_type, acl.operation) for acl in worker_app} == {
        ("worker", "PREFIXED", operation) for operation in changelog_ops
    }


def test_a_private_worker_run_gets_exactly_the_production_rules_on_the_ci_broker() -> None:
    acls = security.ACLS + security.test_acls()
    processor = Names.unique("it-acl").processor_settings()
    (changelog,) = changelog_names(processor)
    assert authorised(acls, "worker", "READ", processor.events_topic)
    assert authorised(acls, "worker", "WRITE", processor.alerts_topic)
    assert authorised(acls, "worker", "CREATE", changelog)
    assert authorised(acls, "worker", "READ", processor.app_id, resource="GROUP")
    assert authorised(acls, "worker", "WRITE", processor.totals_topic)
    assert authorised(acls, "desk", "READ", processor.totals_topic)
    assert not authorised(acls, "desk", "WRITE", processor.totals_topic)
    assert not authorised(acls, "worker", "WRITE", processor.events_topic)
    assert not authorised(acls, "desk", "WRITE", processor.alerts_topic)
    assert not authorised(acls, "ingest", "READ", processor.alerts_topic)
    assert not authorised(acls, "receiver", "READ", processor.events_topic)


def test_a_private_desk_may_write_its_audit_topic_but_nobody_may_read_or_delete_it() -> None:
    acls = security.ACLS + security.test_acls()
    names = Names.unique("it-acl")
    audit, actions = names.topic(AUDIT.name), names.topic(ALERT_ACTIONS.name)
    assert authorised(acls, "desk", "WRITE", audit) and authorised(acls, "desk", "WRITE", actions)
    assert not authorised(acls, "desk", "READ", audit)
    assert [s for s in security.SERVICES if authorised(acls, s, "WRITE", actions)] == ["desk"]
    assert not any(authorised(acls, s, "DELETE", audit) for s in security.SERVICES)


def test_the_production_acls_alone_do_not_cover_private_topics() -> None:
    processor = Names.unique("it-acl").processor_settings()
    assert not authorised(security.ACLS, "worker", "READ", processor.events_topic)
    assert authorised(security.ACLS, "worker", "READ", EVENTS.name)
