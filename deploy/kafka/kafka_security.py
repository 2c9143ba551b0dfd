"""The launcher's --secure mode: a local CA and broker certificate, one SCRAM user per service, and their ACLs.

Standard library only, like the launcher: the certificates come from the JDK's keytool and the ACLs from
Kafka's own Admin API (`AclSetup.java`, run once by the JVM's single-file source launcher).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MECHANISM = "SCRAM-SHA-512"
SERVICES = ("admin", "ingest", "worker", "desk", "receiver")
ADMIN = "admin"
CA_DN = "CN=frontdoor-local-ca"
BROKER_DN = "CN=frontdoor-local-broker"
CERT_VALIDITY_DAYS = "365"
STANDARD_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
SCRAM_LOGIN = "org.apache.kafka.common.security.scram.ScramLoginModule"

# The names schemas/topics.py and services/processor/settings.py define. The launcher runs before any virtualenv
# exists, so it cannot import them; tests/deploy/test_kafka_security.py fails when the two drift apart.
EVENTS = "frontdoor.events.v2"
ALERTS = "frontdoor.alerts.v1"
DEADLETTER = "frontdoor.deadletter.v1"
ACTIONS = "frontdoor.alert-actions.v1"
AUDIT = "frontdoor.audit.v1"
IDENTITY = "frontdoor.identity.v1"
CSC_RECORDS = "frontdoor.csc-records.v1"
COUNCIL_TOTALS = "frontdoor.council-totals.v1"
WORKER_APP_ID = "frontdoor-processor"
WORKER_CHANGELOG = f"{WORKER_APP_ID}-children-changelog"
DESK_GROUP_PREFIX = "frontdoor-alertdesk"
RECEIVER_GROUP_PREFIX = "frontdoor-receiver"


class SecuritySetupError(Exception):
    """A step of the secure setup failed; the launcher reports it like its own errors."""


@dataclass(frozen=True)
class Acl:
    """One ACL binding; `service` is a key of SERVICES, or "*" for every principal."""

    service: str
    resource_type: str  # TOPIC or GROUP
    pattern_type: str  # LITERAL or PREFIXED
    name: str
    operation: str  # READ, WRITE, CREATE, DELETE (READ and WRITE imply DESCRIBE)
    permission: str = "ALLOW"

    def principal(self) -> str:
        return "User:*" if self.service == "*" else f"User:{username(self.service)}"

    def line(self) -> str:
        """The form AclSetup.java reads: permission|principal|resource type|pattern type|name|operation."""
        fields = (self.permission, self.principal(), self.resource_type, self.pattern_type, self.name, self.operation)
        return "|".join(fields)


def topic(service: str, name: str, operation: str, permission: str = "ALLOW") -> Acl:
    return Acl(service, "TOPIC", "LITERAL", name, operation, permission)


# Each service only its topics and operations. Nothing else is allowed (allow.everyone.if.no.acl.found=false);
# the admin is a super user (creates topics, manages ACLs) and no service runs as it.
ACLS: tuple[Acl, ...] = (
    # ingest and simulate: write events, and dead letters for records they cannot map.
    topic("ingest", EVENTS, "WRITE"),
    topic("ingest", DEADLETTER, "WRITE"),
    # the sealed identity store (pseudonym -> LA child id): ingest writes it (and its erasures), the desk reads it.
    topic("ingest", IDENTITY, "WRITE"),
    topic("desk", IDENTITY, "READ"),
    # each child's previous DfE CSC API record (pseudonymised): ingest and the CSC API door read and write it.
    topic("ingest", CSC_RECORDS, "READ"),
    topic("ingest", CSC_RECORDS, "WRITE"),
    # the worker: its consumer group is its app id; it creates, reads and writes its changelog.
    topic("worker", EVENTS, "READ"),
    topic("worker", ALERTS, "WRITE"),
    topic("worker", DEADLETTER, "WRITE"),
    topic("worker", COUNCIL_TOTALS, "WRITE"),  # council-month snapshots, aggregates only
    topic("worker", WORKER_CHANGELOG, "CREATE"),
    topic("worker", WORKER_CHANGELOG, "READ"),
    topic("worker", WORKER_CHANGELOG, "WRITE"),
    Acl("worker", "GROUP", "LITERAL", WORKER_APP_ID, "READ"),
    # the desk: reads alerts and actions (without a group today), and is the only writer of actions and audit.
    topic("desk", ALERTS, "READ"),
    topic("desk", EVENTS, "READ"),  # the child timeline is projected from the events
    topic("desk", COUNCIL_TOTALS, "READ"),  # the partner portal's figures
    topic("desk", ACTIONS, "READ"),
    topic("desk", ACTIONS, "WRITE"),
    topic("desk", AUDIT, "WRITE"),
    Acl("desk", "GROUP", "PREFIXED", DESK_GROUP_PREFIX, "READ"),
    # a receiver of alerts (alerts tail, a council's case system): read only.
    topic("receiver", ALERTS, "READ"),
    Acl("receiver", "GROUP", "PREFIXED", RECEIVER_GROUP_PREFIX, "READ"),
    # Nobody deletes the audit trail. A DENY outranks any ALLOW; only a super user bypasses it.
    topic("*", AUDIT, "DELETE", "DENY"),
)


# The CI broker only (`up --secure --test-acls`): the integration tests run each service under its own principal
# on private topics named "<production topic>.<unique suffix>" and a worker app id "<WORKER_APP_ID>-<suffix>"
# (bench/processor/harness.py Names, tests/integration/conftest.py TestTopics). Each ACL above is repeated with its
# name as a PREFIXED pattern, so a test's topics carry exactly the production rules; the worker's changelog of a
# private app id ("<app id>-children-changelog") is covered by the app id as a topic prefix.
def test_acls() -> tuple[Acl, ...]:
    literal = (a for a in ACLS if a.pattern_type == "LITERAL")
    prefixed = tuple(Acl(a.service, a.resource_type, "PREFIXED", a.name, a.operation, a.permission) for a in literal)
    changelog = tuple(
        Acl("worker", "TOPIC", "PREFIXED", WORKER_APP_ID, a.operation) for a in ACLS if a.name == WORKER_CHANGELOG
    )
    return prefixed + changelog


def username(service: str) -> str:
    return f"frontdoor-{service}"


# --- credentials ---------------------------------------------------------------------------------------


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read, created with that mode so it is never readable by others."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def new_credentials(bootstrap: str, cafile: Path) -> dict[str, object]:
    return {
        "bootstrap_servers": bootstrap,
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": MECHANISM,
        "ssl_cafile": str(cafile),
        "principals": {s: {"username": username(s), "password": secrets.token_urlsafe(24)} for s in SERVICES},
    }


def load_or_create_credentials(path: Path, bootstrap: str, cafile: Path) -> dict[str, object]:
    if path.exists():
        loaded: dict[str, object] = json.loads(path.read_text())
        return loaded
    credentials = new_credentials(bootstrap, cafile)
    write_private(path, json.dumps(credentials, indent=2) + "\n")
    return credentials


def password(credentials: dict[str, object], service: str) -> str:
    principals = credentials["principals"]
    assert isinstance(principals, dict)
    return str(principals[service]["password"])


def env_file(credentials: dict[str, object], service: str) -> str:
    """FRONTDOOR_* lines for one service, as services/settings.py reads them."""
    lines = {
        "FRONTDOOR_BOOTSTRAP_SERVERS": credentials["bootstrap_servers"],
        "FRONTDOOR_SECURITY_PROTOCOL": "SASL_SSL",
        "FRONTDOOR_SASL_MECHANISM": MECHANISM,
        "FRONTDOOR_SASL_USERNAME": username(service),
        "FRONTDOOR_SASL_PASSWORD": password(credentials, service),
        "FRONTDOOR_SSL_CAFILE": credentials["ssl_cafile"],
    }
    return "".join(f"{key}={value}\n" for key, value in lines.items())


def write_env_files(env_dir: Path, credentials: dict[str, object]) -> None:
    for service in SERVICES:
        write_private(env_dir / f"{service}.env", env_file(credentials, service))


def jaas(credentials: dict[str, object], service: str) -> str:
    return f'{SCRAM_LOGIN} required username="{username(service)}" password="{password(credentials, service)}";'


def scram_format_args(credentials: dict[str, object]) -> list[str]:
    """`StorageTool format` arguments that create every SCRAM user in the first metadata records (KRaft)."""
    args: list[str] = []
    for service in SERVICES:
        args += ["--add-scram", f"{MECHANISM}=[name={username(service)},password={password(credentials, service)}]"]
    return args


def admin_client_properties(credentials: dict[str, object]) -> str:
    """A Java client config for the admin principal (AclSetup.java, or kafka-*.sh --command-config)."""
    lines = {
        "bootstrap.servers": credentials["bootstrap_servers"],
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": MECHANISM,
        "sasl.jaas.config": jaas(credentials, ADMIN),
        "ssl.truststore.type": "PEM",
        "ssl.truststore.location": credentials["ssl_cafile"],
    }
    return "".join(f"{key}={value}\n" for key, value in lines.items())


# --- broker configuration ------------------------------------------------------------------------------


def secure_server_properties(
    credentials: dict[str, object], tls: TlsFiles, port: int, controller: str
) -> dict[str, str]:
    """Overrides of the PLAINTEXT properties: SASL_SSL for clients, mutual TLS for the controller listener."""
    return {
        "listeners": f"SASL_SSL://127.0.0.1:{port},CONTROLLER://{controller}",
        "advertised.listeners": f"SASL_SSL://127.0.0.1:{port}",
        # The controller listener takes no SASL (SCRAM users live in the metadata it serves); it requires a
        # client certificate from our CA instead, and the broker's own certificate is the one super user there.
        "listener.security.protocol.map": "CONTROLLER:SSL,SASL_SSL:SASL_SSL",
        "inter.broker.listener.name": "SASL_SSL",
        "listener.name.controller.ssl.client.auth": "required",
        "sasl.enabled.mechanisms": MECHANISM,
        "sasl.mechanism.inter.broker.protocol": MECHANISM,
        "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": jaas(credentials, ADMIN),
        "ssl.keystore.type": "PKCS12",
        "ssl.keystore.location": str(tls.keystore),
        "ssl.keystore.password": tls.password,
        "ssl.key.password": tls.password,
        "ssl.truststore.type": "PKCS12",
        "ssl.truststore.location": str(tls.truststore),
        "ssl.truststore.password": tls.password,
        "ssl.enabled.protocols": "TLSv1.3,TLSv1.2",
        "authorizer.class.name": STANDARD_AUTHORIZER,
        "allow.everyone.if.no.acl.found": "false",
        "super.users": f"User:{username(ADMIN)};User:{BROKER_DN}",
    }


# --- certificates --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsFiles:
    directory: Path
    password: str

    @property
    def ca_pem(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def keystore(self) -> Path:
        return self.directory / "broker.p12"

    @property
    def truststore(self) -> Path:
        return self.directory / "truststore.p12"


def keytool_binary() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "keytool").exists():
        return str(Path(java_home) / "bin" / "keytool")
    keytool = shutil.which("keytool")
    if keytool is None:
        raise SecuritySetupError("keytool (part of the JDK) is not on PATH; it makes the local CA and certificate.")
    return keytool


def ensure_tls(directory: Path) -> TlsFiles:
    """A CA and a broker certificate for 127.0.0.1/localhost, made once and kept with the broker's state."""
    marker, password_file = directory / ".complete", directory / "store.password"
    if marker.exists():
        return TlsFiles(directory, password_file.read_text().strip())
    shutil.rmtree(directory, ignore_errors=True)  # a half-made directory from an interrupted run
    directory.mkdir(parents=True, mode=0o700)
    tls = TlsFiles(directory, secrets.token_urlsafe(24))
    write_private(password_file, tls.password + "\n")
    for args in keytool_steps(tls):
        run_keytool(args)
    marker.write_text("keytool\n")
    return tls


def keytool_steps(tls: TlsFiles) -> list[list[str]]:
    d, pw = tls.directory, tls.password
    ca, broker, csr, signed = d / "ca.p12", tls.keystore, d / "broker.csr", d / "broker.pem"
    store = ["-storetype", "PKCS12", "-storepass", pw, "-keypass", pw]
    key = ["-keyalg", "RSA", "-keysize", "2048", "-validity", CERT_VALIDITY_DAYS]
    return [
        ["-genkeypair", "-alias", "ca", "-dname", CA_DN, *key, "-keystore", str(ca), *store,
         "-ext", "BC:critical=ca:true", "-ext", "KU:critical=keyCertSign,cRLSign"],
        ["-exportcert", "-rfc", "-alias", "ca", "-keystore", str(ca), "-storepass", pw, "-file", str(tls.ca_pem)],
        ["-genkeypair", "-alias", "broker", "-dname", BROKER_DN, *key, "-keystore", str(broker), *store],
        ["-certreq", "-alias", "broker", "-keystore", str(broker), "-storepass", pw, "-file", str(csr)],
        ["-gencert", "-rfc", "-alias", "ca", "-keystore", str(ca), "-storepass", pw, "-infile", str(csr),
         "-outfile", str(signed), "-validity", CERT_VALIDITY_DAYS, "-ext", "SAN=ip:127.0.0.1,dns:localhost",
         "-ext", "KU:critical=digitalSignature,keyEncipherment", "-ext", "EKU=serverAuth,clientAuth"],
        ["-importcert", "-noprompt", "-alias", "ca", "-file", str(tls.ca_pem), "-keystore", str(broker), *store],
        ["-importcert", "-noprompt", "-alias", "broker", "-file", str(signed), "-keystore", str(broker), *store],
        ["-importcert", "-noprompt", "-alias", "ca", "-file", str(tls.ca_pem), "-keystore", str(tls.truststore),
         *store],
    ]  # fmt: skip


def run_keytool(args: list[str]) -> None:
    result = subprocess.run([keytool_binary(), *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SecuritySetupError(
            f"keytool {args[0]} failed (exit {result.returncode}):\n{result.stdout}{result.stderr}"
        )
