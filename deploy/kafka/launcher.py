"""Run a real Apache Kafka (KRaft) broker, or a three-node cluster, locally from Maven Central jars, without Docker."""

from __future__ import annotations

import argparse
import base64
import dataclasses
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import kafka_security as security

HOST = "127.0.0.1"
NODE_ID = 1
HERE = Path(__file__).resolve().parent
POM = HERE / "pom.xml"
LOG4J2_CONFIG = HERE / "log4j2.xml"
MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL_CLASS = "kafka.tools.StorageTool"
ACL_SETUP_SOURCE = HERE / "AclSetup.java"
ACL_SETUP_TIMEOUT_SECONDS = 60
COMPLETE_MARKER = ".complete"
STOP_GRACE_SECONDS = 30.0
POLL_SECONDS = 0.25
LOG_TAIL_LINES = 40
EXIT_NOT_RUNNING = 3
# Maven 3.8 emits colour resets even with -B; they only garble the error we relay.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# The only entries `down --wipe` deletes; anything else means KAFKA_STATE_DIR points somewhere we don't own.
STATE_ENTRIES = {"data", "logs", "server.properties", "kafka.pid", "cluster.id"}
CLUSTER_HEAP = "-Xms128m -Xmx384m"  # three JVMs share a 2-core machine with the services under test
CLUSTER_MIN_INSYNC_REPLICAS = 2
SECURE_STATE_ENTRIES = {"tls", "env", "credentials.json", "admin.properties", "acls.txt"}  # made by `up --secure`


class LauncherError(Exception):
    """A failure the user must act on; main() prints it and exits 1."""


@dataclass(frozen=True)
class Config:
    version: str
    home_cache: Path
    state_dir: Path
    port: int
    controller_port: int
    heap: list[str]
    start_timeout: float
    secure: bool
    test_acls: bool = False
    brokers: int = 1  # 1: the single combined node; 3: a cluster, one combined broker+controller per node
    node_id: int = NODE_ID
    voters: str = ""  # controller.quorum.voters; empty means this node alone

    @property
    def is_cluster(self) -> bool:
        """The whole cluster (its nodes have their voters set), as opposed to one broker or one node of it."""
        return self.brokers > 1 and not self.voters

    @property
    def libs_dir(self) -> Path:
        return self.home_cache / "libs"

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def pid_file(self) -> Path:
        return self.state_dir / "kafka.pid"

    @property
    def properties_file(self) -> Path:
        return self.state_dir / "server.properties"

    @property
    def server_log(self) -> Path:
        return self.logs_dir / "server.log"

    @property
    def stdout_log(self) -> Path:
        return self.logs_dir / "kafka.out"

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def tls_dir(self) -> Path:
        return self.state_dir / "tls"

    @property
    def credentials_file(self) -> Path:
        return self.state_dir / "credentials.json"

    @property
    def admin_properties(self) -> Path:
        return self.state_dir / "admin.properties"

    @property
    def acl_file(self) -> Path:
        return self.state_dir / "acls.txt"

    @property
    def env_dir(self) -> Path:
        return self.state_dir / "env"


def load_config(*, secure: bool = False, test_acls: bool = False, brokers: int | None = None) -> Config:
    """Secure when asked (--secure or KAFKA_SECURE=1), or when the state dir was made secure before.

    test_acls (--test-acls or KAFKA_TEST_ACLS=1, for the CI broker): also the ACLs for the tests' private topics.
    brokers (--brokers or KAFKA_BROKERS, default 1): 3 starts a cluster; see `node_configs`.
    """
    version = os.environ.get("KAFKA_VERSION", "4.1.1")
    port = int(os.environ.get("KAFKA_PORT", "9092"))
    brokers = brokers or int(os.environ.get("KAFKA_BROKERS", "1"))
    if brokers not in (1, 3):
        raise LauncherError(f"--brokers must be 1 or 3, not {brokers}")
    # A cluster's controllers sit after its client ports unless told otherwise: 9092-9094 clients, 9095-9097 quorum.
    default_controller = port + 1 if brokers == 1 else port + brokers
    default_heap = "-Xms256m -Xmx768m" if brokers == 1 else CLUSTER_HEAP
    cache_root = Path.home() / ".cache" / "frontdoor"
    home_cache = os.environ.get("KAFKA_HOME_CACHE") or str(cache_root / "kafka" / version)
    state_dir = os.environ.get("KAFKA_STATE_DIR") or str(cache_root / "kafka-run" / str(port))
    resolved_state = Path(state_dir).expanduser().resolve()
    secure = secure or os.environ.get("KAFKA_SECURE", "") in {"1", "true", "yes"}
    return Config(
        version=version,
        home_cache=Path(home_cache).expanduser().resolve(),
        state_dir=resolved_state,
        port=port,
        controller_port=int(os.environ.get("KAFKA_CONTROLLER_PORT", str(default_controller))),
        heap=shlex.split(os.environ.get("KAFKA_HEAP", default_heap)),
        start_timeout=float(os.environ.get("KAFKA_START_TIMEOUT", "120")),
        secure=secure or (resolved_state / "credentials.json").exists(),
        test_acls=test_acls or os.environ.get("KAFKA_TEST_ACLS", "") in {"1", "true", "yes"},
        brokers=brokers,
    )


def node_configs(cfg: Config) -> list[Config]:
    """The nodes to run: the config itself for one broker; for a cluster, node i in <state>/node-i.

    Node i (1-based) listens for clients on port+i-1 and for the quorum on controller_port+i-1. Every node is a
    combined broker and controller, so the three form a three-voter KRaft quorum that survives losing one node.
    """
    if not cfg.is_cluster:
        return [cfg]
    voters = ",".join(f"{i}@{HOST}:{cfg.controller_port + i - 1}" for i in range(1, cfg.brokers + 1))
    return [
        dataclasses.replace(
            cfg,
            state_dir=cfg.state_dir / f"node-{i}",
            port=cfg.port + i - 1,
            controller_port=cfg.controller_port + i - 1,
            node_id=i,
            voters=voters,
        )
        for i in range(1, cfg.brokers + 1)
    ]


def cluster_bootstrap(cfg: Config) -> str:
    return ",".join(node.bootstrap for node in node_configs(cfg))


# --- process bookkeeping -------------------------------------------------------------------------------


def is_kafka_process(pid: int) -> bool:
    # A bare kill(pid, 0) is not enough: after a reboot or a long idle the pid may belong to another program.
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # A zombie still has a /proc entry (with an empty cmdline) until its parent reaps it.
    state = stat.rsplit(")", 1)[-1].split()[0]
    return state != "Z" and MAIN_CLASS.encode() in cmdline.split(b"\0")


def read_pid(cfg: Config) -> int | None:
    try:
        return int(cfg.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def running_pid(cfg: Config, *, remove_stale: bool) -> int | None:
    """Return the live broker pid; a pid file not pointing at our broker is reported (and maybe removed)."""
    pid = read_pid(cfg)
    if pid is not None and is_kafka_process(pid):
        return pid
    if cfg.pid_file.exists():
        if remove_stale:
            cfg.pid_file.unlink()
        action = "Removed" if remove_stale else "Found"
        print(f"{action} stale pid file {cfg.pid_file} (pid {pid} is not a running Kafka broker)")
    return None


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        content = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"(no {path})"
    return "\n".join(content[-lines:]) or f"({path} is empty)"


def print_logs(cfg: Config) -> None:
    for path in (cfg.stdout_log, cfg.server_log):
        print(f"--- last {LOG_TAIL_LINES} lines of {path} ---", file=sys.stderr)
        print(tail(path), file=sys.stderr)


# --- jar resolution ------------------------------------------------------------------------------------


def maven_command(cfg: Config, output_dir: Path) -> list[str]:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise LauncherError("Maven (mvn) is not on PATH; it is needed once to fetch the Kafka jars.")
    return [
        mvn,
        "-B",
        "-q",
        "-f",
        str(POM),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={output_dir}",
        "-DincludeScope=runtime",
        f"-Dkafka.version={cfg.version}",
    ]


def resolve_jars(cfg: Config) -> None:
    started = time.monotonic()
    if (cfg.libs_dir / COMPLETE_MARKER).exists():
        print(f"Kafka {cfg.version} jars cached in {cfg.libs_dir} ({time.monotonic() - started:.1f}s)")
        return
    cfg.home_cache.mkdir(parents=True, exist_ok=True)
    # Download beside the final directory so the rename is atomic and an interrupted run leaves no half cache.
    staging = Path(tempfile.mkdtemp(prefix="libs.partial-", dir=cfg.home_cache))
    try:
        print(f"Resolving Kafka {cfg.version} jars with Maven into {cfg.libs_dir} ...", flush=True)
        result = subprocess.run(maven_command(cfg, staging), capture_output=True, text=True, check=False)
        if result.returncode != 0:
            output = ANSI_ESCAPE.sub("", result.stdout + result.stderr).strip().splitlines()
            raise LauncherError(
                f"Maven could not resolve Kafka {cfg.version} (exit {result.returncode}); last output:\n"
                + "\n".join(output[-LOG_TAIL_LINES:])
            )
        if not any(staging.glob("kafka_2.13-*.jar")):
            raise LauncherError(f"Maven succeeded but no kafka_2.13 jar appeared in {staging}")
        (staging / COMPLETE_MARKER).write_text(f"{cfg.version}\n")
        install_staging(staging, cfg.libs_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(f"Resolved Kafka {cfg.version} jars in {time.monotonic() - started:.1f}s")


def install_staging(staging: Path, libs_dir: Path) -> None:
    if libs_dir.exists() and not (libs_dir / COMPLETE_MARKER).exists():
        shutil.rmtree(libs_dir)  # left by an older, interrupted layout: not trustworthy
    try:
        staging.rename(libs_dir)
    except OSError:
        # Another launcher won the race; its copy is complete, so ours is simply dropped.
        if not (libs_dir / COMPLETE_MARKER).exists():
            raise


# --- broker configuration and storage ------------------------------------------------------------------


def server_properties(cfg: Config) -> dict[str, str]:
    properties = {
        "process.roles": "broker,controller",
        "node.id": str(cfg.node_id),
        "controller.quorum.voters": cfg.voters or f"{cfg.node_id}@{HOST}:{cfg.controller_port}",
        "listeners": f"PLAINTEXT://{HOST}:{cfg.port},CONTROLLER://{HOST}:{cfg.controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{cfg.port}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": str(cfg.data_dir),
        "num.partitions": "1",
        # A single node cannot satisfy the default replication factor of 3 for internal topics.
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # Tests join consumer groups constantly; the default 3 s delay would be paid on every join.
        "group.initial.rebalance.delay.ms": "0",
        # The project creates its topics explicitly; a typo must fail instead of creating a new topic.
        "auto.create.topics.enable": "false",
    }
    if cfg.brokers > 1:
        replicas, min_isr = str(cfg.brokers), str(CLUSTER_MIN_INSYNC_REPLICAS)
        properties |= {
            "offsets.topic.replication.factor": replicas,
            "transaction.state.log.replication.factor": replicas,
            "transaction.state.log.min.isr": min_isr,
            "share.coordinator.state.topic.replication.factor": replicas,
            "share.coordinator.state.topic.min.isr": min_isr,
            "default.replication.factor": replicas,
            "min.insync.replicas": min_isr,
            # A killed node's partitions move to the others within this (default 9 s): drills measure the gap.
            "broker.session.timeout.ms": "6000",
            "broker.heartbeat.interval.ms": "1000",
            # A node back from a crash takes its partitions back when it has caught up, as in production.
            "auto.leader.rebalance.enable": "true",
            "leader.imbalance.check.interval.seconds": "30",
            # Never elect a replica that missed acknowledged writes: an outage, never a silent loss.
            "unclean.leader.election.enable": "false",
        }
    return properties


def write_properties(cfg: Config) -> None:
    properties = server_properties(cfg)
    if cfg.secure:
        controller = f"{HOST}:{cfg.controller_port}"
        tls = security.ensure_tls(cfg.tls_dir)
        properties |= security.secure_server_properties(credentials(cfg), tls, cfg.port, controller)
    lines = ["# Generated by deploy/kafka/launcher.py on every `up`; edits are overwritten."]
    lines += [f"{key}={value}" for key, value in properties.items()]
    # Secure mode puts the keystore password and the admin's SCRAM password in it: owner only.
    security.write_private(cfg.properties_file, "\n".join(lines) + "\n")


def credentials(cfg: Config) -> dict[str, object]:
    return security.load_or_create_credentials(cfg.credentials_file, cfg.bootstrap, cfg.tls_dir / "ca.pem")


def prepare_secure_state(cfg: Config) -> None:
    """CA, certificate and credentials before the first format: SCRAM users exist from the first record."""
    if (cfg.data_dir / "meta.properties").exists() and not cfg.credentials_file.exists():
        raise LauncherError(
            f"{cfg.state_dir} holds a broker formatted without --secure (no SCRAM users, no ACLs); "
            "run `launcher.py down --wipe` first to start it secured"
        )
    started = time.monotonic()
    security.ensure_tls(cfg.tls_dir)
    creds = credentials(cfg)
    security.write_env_files(cfg.env_dir, creds)
    security.write_private(cfg.admin_properties, security.admin_client_properties(creds))
    write_acl_file(cfg)
    print(f"TLS and credentials ready in {cfg.state_dir} ({time.monotonic() - started:.1f}s)")


def write_acl_file(cfg: Config) -> None:
    acls = security.ACLS + (security.test_acls() if cfg.test_acls else ())
    cfg.acl_file.write_text("".join(acl.line() + "\n" for acl in acls))


def apply_acls(cfg: Config) -> None:
    started = time.monotonic()
    timeout = str(ACL_SETUP_TIMEOUT_SECONDS)
    cmd = java_command(cfg, str(ACL_SETUP_SOURCE), str(cfg.admin_properties), str(cfg.acl_file), timeout)
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LauncherError(f"Creating the ACLs failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")
    print(f"{result.stdout.strip()} (in {time.monotonic() - started:.1f}s)")


def java_binary() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise LauncherError("java is not on PATH (Kafka 4.x needs Java 17+).")
    return java


def java_command(cfg: Config, main_class: str, *args: str) -> list[str]:
    return [
        java_binary(),
        *cfg.heap,
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dkafka.logs.dir={cfg.logs_dir}",
        f"-Dlog4j2.configurationFile={LOG4J2_CONFIG}",
        "-cp",
        f"{cfg.libs_dir}/*",
        main_class,
        *args,
    ]


def new_cluster_id() -> str:
    # Same shape as Kafka's Uuid.toString(): base64url of 16 random bytes, no padding. A leading '-' would be
    # parsed as a CLI flag by the storage tool, so such ids are redrawn (Kafka itself does the same).
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def format_storage(cfg: Config, cluster_id: str | None = None) -> None:
    """Format the node's log dir once; a cluster's nodes share the `cluster_id` their state dir keeps."""
    if (cfg.data_dir / "meta.properties").exists():
        return
    cluster_id = cluster_id or new_cluster_id()
    started = time.monotonic()
    cmd = java_command(cfg, STORAGE_TOOL_CLASS, "format", "-t", cluster_id, "-c", str(cfg.properties_file))
    if cfg.secure:
        cmd += security.scram_format_args(credentials(cfg))
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise LauncherError(
            f"Formatting {cfg.data_dir} failed (exit {result.returncode}):\n{result.stdout}{result.stderr}"
        )
    print(f"Formatted {cfg.data_dir} (cluster id {cluster_id}) in {time.monotonic() - started:.1f}s")


# --- Kafka wire protocol: just enough for a MetadataRequest v0 -----------------------------------------


class _Reader:
    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.offset = 0

    def take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.payload, self.offset)
        self.offset += struct.calcsize(fmt)
        return int(value)

    def string(self) -> str:
        length = self.take(">h")
        if length < 0:
            return ""
        value = self.payload[self.offset : self.offset + length].decode()
        self.offset += length
        return value


def metadata_request(correlation_id: int, client_id: str = "frontdoor-launcher") -> bytes:
    encoded_client = client_id.encode()
    header = struct.pack(">hhih", 3, 0, correlation_id, len(encoded_client)) + encoded_client
    body = struct.pack(">i", 0)  # v0: an empty topic array means "all topics"
    message = header + body
    return struct.pack(">i", len(message)) + message


def recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = sock.recv(remaining)
        if not chunk:
            raise ConnectionError("broker closed the connection mid-response")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def parse_brokers(payload: bytes, correlation_id: int) -> Iterator[tuple[int, str, int]]:
    reader = _Reader(payload)
    if reader.take(">i") != correlation_id:
        raise ConnectionError("metadata response has the wrong correlation id")
    for _ in range(reader.take(">i")):
        node_id = reader.take(">i")
        host = reader.string()
        yield node_id, host, reader.take(">i")


def broker_ready(port: int, timeout: float = 2.0, node_id: int = NODE_ID) -> bool:
    """True once a MetadataRequest lists this broker; its client listener opens only after it is unfenced."""
    correlation_id = int(time.monotonic() * 1000) & 0x7FFFFFFF
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.sendall(metadata_request(correlation_id))
            (size,) = struct.unpack(">i", recv_exact(sock, 4))
            brokers = list(parse_brokers(recv_exact(sock, size), correlation_id))
    except (OSError, struct.error, UnicodeDecodeError):
        return False
    return (node_id, HOST, port) in brokers


def api_versions_request(correlation_id: int, client_id: str = "frontdoor-launcher") -> bytes:
    encoded_client = client_id.encode()
    message = struct.pack(">hhih", 18, 0, correlation_id, len(encoded_client)) + encoded_client
    return struct.pack(">i", len(message)) + message


def secure_broker_ready(port: int, cafile: Path, timeout: float = 2.0) -> bool:
    """True once the SASL_SSL listener completes a verified TLS handshake and answers ApiVersions.

    ApiVersions is the one request a SASL listener answers before authentication; like the PLAINTEXT probe, it
    relies on the client listener opening only after the broker is unfenced.
    """
    correlation_id = int(time.monotonic() * 1000) & 0x7FFFFFFF
    try:
        context = ssl.create_default_context(cafile=str(cafile))
        with (
            socket.create_connection((HOST, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=HOST) as sock,
        ):
            sock.sendall(api_versions_request(correlation_id))
            (size,) = struct.unpack(">i", recv_exact(sock, 4))
            answered, error_code = struct.unpack_from(">ih", recv_exact(sock, size))
    except (OSError, struct.error):  # ssl.SSLError is an OSError
        return False
    return bool(answered == correlation_id and error_code == 0)


def answers(cfg: Config) -> bool:
    if cfg.secure:
        return secure_broker_ready(cfg.port, cfg.tls_dir / "ca.pem")
    return broker_ready(cfg.port, node_id=cfg.node_id)


def broker_exited(proc: subprocess.Popen[bytes] | None, pid: int | None) -> bool:
    if proc is not None:
        return proc.poll() is not None
    return pid is not None and not is_kafka_process(pid)


def wait_until_ready(cfg: Config, proc: subprocess.Popen[bytes] | None, pid: int | None) -> float:
    """Poll the broker; returns seconds waited. Fails fast if the broker process dies meanwhile."""
    started = time.monotonic()
    deadline = started + cfg.start_timeout
    while time.monotonic() < deadline:
        if answers(cfg):
            return time.monotonic() - started
        if broker_exited(proc, pid):
            code = f" with exit code {proc.returncode}" if proc is not None else ""
            print_logs(cfg)
            raise LauncherError(f"Kafka exited{code} before becoming ready; see the logs above.")
        time.sleep(POLL_SECONDS)
    print_logs(cfg)
    raise LauncherError(f"No MetadataRequest answer from {cfg.bootstrap} within {cfg.start_timeout:g}s")


# --- commands ------------------------------------------------------------------------------------------


def start_broker(cfg: Config) -> subprocess.Popen[bytes]:
    cfg.logs_dir.mkdir(parents=True, exist_ok=True)
    cmd = java_command(cfg, MAIN_CLASS, str(cfg.properties_file))
    # Truncated per start so a crash report shows this run's JVM output only (server.log rolls by itself).
    with cfg.stdout_log.open("wb") as out:
        # A new session keeps the broker alive after this script (or the shell that ran it) exits,
        # and gives `down` a process group to signal.
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    cfg.pid_file.write_text(f"{proc.pid}\n")
    return proc


def cmd_up(cfg: Config) -> int:
    if cfg.is_cluster:
        return cmd_up_cluster(cfg)
    pid = running_pid(cfg, remove_stale=True)
    if pid is not None:
        print(f"Kafka is already running (pid {pid}) at {cfg.bootstrap}")
        if cfg.credentials_file.exists():
            write_acl_file(cfg)  # the table may have grown since it started; creating an existing ACL is a no-op
            apply_acls(cfg)
        print_client_lines(cfg)
        return 0
    for port in (cfg.port, cfg.controller_port):
        if port_in_use(port):
            # Otherwise the readiness probe could be answered by someone else's broker.
            raise LauncherError(f"Port {port} on {HOST} is already in use by another process.")
    resolve_jars(cfg)
    if cfg.secure:
        prepare_secure_state(cfg)
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    write_properties(cfg)
    format_storage(cfg)
    started = time.monotonic()
    proc = start_broker(cfg)
    print(f"Started Kafka {cfg.version} (pid {proc.pid}); waiting for {cfg.bootstrap} ...", flush=True)
    try:
        wait_until_ready(cfg, proc, None)
        if cfg.secure:
            apply_acls(cfg)
    except LauncherError:
        stop_process(proc.pid)
        cfg.pid_file.unlink(missing_ok=True)
        raise
    elapsed = time.monotonic() - started
    print(f"Kafka {cfg.version} ready at {cfg.bootstrap} (started in {elapsed:.1f}s; log: {cfg.server_log})")
    print_client_lines(cfg)
    return 0


def shared_cluster_id(cfg: Config) -> str:
    """The id every node of the cluster is formatted with, kept in the cluster's state dir."""
    path = cfg.state_dir / "cluster.id"
    if not path.exists():
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(new_cluster_id() + "\n")
    return path.read_text().strip()


def cmd_up_cluster(cfg: Config) -> int:
    """Start every node of the cluster that is not running (all of them at first, one after a drill killed it)."""
    if cfg.secure:
        raise LauncherError(
            "--secure runs one broker; the three-broker cluster is PLAINTEXT on loopback (deploy/kafka/README.md)"
        )
    resolve_jars(cfg)
    cluster_id = shared_cluster_id(cfg)
    started: list[tuple[Config, subprocess.Popen[bytes]]] = []
    began = time.monotonic()
    try:
        for node in node_configs(cfg):
            pid = running_pid(node, remove_stale=True)
            if pid is not None:
                print(f"Node {node.node_id} is already running (pid {pid}) at {node.bootstrap}")
                continue
            for port in (node.port, node.controller_port):
                if port_in_use(port):
                    raise LauncherError(f"Port {port} on {HOST} is already in use by another process.")
            node.data_dir.mkdir(parents=True, exist_ok=True)
            write_properties(node)
            format_storage(node, cluster_id)
            proc = start_broker(node)
            started.append((node, proc))
            print(f"Started node {node.node_id} (pid {proc.pid}) at {node.bootstrap}", flush=True)
        # All started before any is waited for: a node answers only once the quorum (two of three) has formed.
        for node, proc in started:
            wait_until_ready(node, proc, None)
    except LauncherError:
        for node, proc in started:
            stop_process(proc.pid)
            node.pid_file.unlink(missing_ok=True)
        raise
    elapsed = time.monotonic() - began
    print(f"Kafka {cfg.version} cluster of {cfg.brokers} ready ({len(started)} started in {elapsed:.1f}s)")
    print(f"BOOTSTRAP={cluster_bootstrap(cfg)}")
    return 0


def cmd_down_cluster(cfg: Config, *, wipe: bool, node_id: int | None) -> int:
    """SIGTERM the chosen nodes together (one by one, the last ones would wait for a quorum already gone)."""
    nodes = [n for n in node_configs(cfg) if node_id is None or n.node_id == node_id]
    running = [(n, pid) for n in nodes if (pid := running_pid(n, remove_stale=True)) is not None]
    began = time.monotonic()
    for _node, pid in running:
        signal_group(pid, signal.SIGTERM)
    for node, pid in running:
        killed = False
        if not wait_for_exit(pid, max(0.0, STOP_GRACE_SECONDS - (time.monotonic() - began))):
            signal_group(pid, signal.SIGKILL)
            wait_for_exit(pid, 5.0)
            killed = True
        node.pid_file.unlink(missing_ok=True)
        how = "killed with SIGKILL after the grace period" if killed else "stopped"
        print(f"Node {node.node_id} (pid {pid}) {how} in {time.monotonic() - began:.1f}s")
    if not running:
        print("Kafka is not running")
    if wipe and node_id is None:
        for node in node_configs(cfg):
            wipe_state(node)
        wipe_state(cfg)
    return 0


def print_client_lines(cfg: Config) -> None:
    """What a script needs to connect (deploy/run-tests.sh reads them): the address, and for TLS the credentials."""
    print(f"BOOTSTRAP={cfg.bootstrap}")
    if cfg.credentials_file.exists():
        print(f"CREDENTIALS={cfg.credentials_file}")


def signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        # The broker leads its own session; signalling the group also reaches anything it forked.
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def wait_for_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_kafka_process(pid):
            return True
        time.sleep(POLL_SECONDS)
    return not is_kafka_process(pid)


def stop_process(pid: int) -> bool:
    """SIGTERM (Kafka's controlled shutdown), then SIGKILL after the grace period; True if it was killed."""
    signal_group(pid, signal.SIGTERM)
    if wait_for_exit(pid, STOP_GRACE_SECONDS):
        return False
    signal_group(pid, signal.SIGKILL)
    wait_for_exit(pid, 5.0)
    return True


def wipe_state(cfg: Config) -> None:
    if not cfg.state_dir.exists():
        return
    nodes = {f"node-{i}" for i in range(1, cfg.brokers + 1)} if cfg.is_cluster else set()
    unexpected = {entry.name for entry in cfg.state_dir.iterdir()} - STATE_ENTRIES - SECURE_STATE_ENTRIES - nodes
    if unexpected:
        raise LauncherError(f"Refusing to wipe {cfg.state_dir} (unexpected entries: {sorted(unexpected)})")
    shutil.rmtree(cfg.state_dir)
    print(f"Wiped {cfg.state_dir}")


def cmd_down(cfg: Config, *, wipe: bool, node_id: int | None = None) -> int:
    if cfg.is_cluster:
        return cmd_down_cluster(cfg, wipe=wipe, node_id=node_id)
    pid = running_pid(cfg, remove_stale=True)
    if pid is None:
        print("Kafka is not running")
    else:
        started = time.monotonic()
        killed = stop_process(pid)
        cfg.pid_file.unlink(missing_ok=True)
        how = f"killed with SIGKILL after {STOP_GRACE_SECONDS:g}s grace" if killed else "stopped"
        print(f"Kafka (pid {pid}) {how} in {time.monotonic() - started:.1f}s")
    if wipe:
        wipe_state(cfg)
    return 0


def cmd_status(cfg: Config) -> int:
    if cfg.is_cluster:
        codes = [cmd_status(node) for node in node_configs(cfg)]
        return EXIT_NOT_RUNNING if any(codes) else 0
    pid = running_pid(cfg, remove_stale=False)
    if pid is None:
        print(f"Kafka is not running (state: {cfg.state_dir})")
        return EXIT_NOT_RUNNING
    answering = "answering" if answers(cfg) else "NOT answering metadata requests"
    print(f"Kafka is running (pid {pid}) at {cfg.bootstrap}, {answering}; log: {cfg.server_log}")
    return 0


def cmd_wait(cfg: Config) -> int:
    for node in node_configs(cfg):
        waited = wait_until_ready(node, None, running_pid(node, remove_stale=False))
        print(f"Kafka ready at {node.bootstrap} (waited {waited:.1f}s)")
    print(f"BOOTSTRAP={cluster_bootstrap(cfg)}")
    return 0


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="resolve jars if needed, format storage, start the broker and wait for it")
    up.add_argument(
        "--secure", action="store_true", help="SASL_SSL (SCRAM-SHA-512), a local CA, and one ACL'd user per service"
    )
    up.add_argument(
        "--test-acls",
        action="store_true",
        help="with --secure, for CI: the same ACLs on the tests' private topics (production names as prefixes)",
    )
    down = sub.add_parser("down", help="stop the broker (SIGTERM, then SIGKILL after 30s)")
    down.add_argument("--wipe", action="store_true", help="also delete the state dir (data, logs, config)")
    down.add_argument("--node", type=int, help="with --brokers 3: stop this node only (1-3)")
    status = sub.add_parser("status", help="exit 0 if the broker is running, 3 if not")
    wait = sub.add_parser("wait", help="wait until an already started broker answers metadata requests")
    for command in (up, down, status, wait):
        command.add_argument(
            "--brokers", type=int, help="1 (default) or 3: a KRaft cluster of three combined nodes (KAFKA_BROKERS)"
        )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        cfg = load_config(
            secure=getattr(args, "secure", False), test_acls=getattr(args, "test_acls", False), brokers=args.brokers
        )
        if args.command == "up":
            return cmd_up(cfg)
        if args.command == "down":
            return cmd_down(cfg, wipe=args.wipe, node_id=args.node)
        if args.command == "status":
            return cmd_status(cfg)
        return cmd_wait(cfg)
    except (LauncherError, security.SecuritySetupError) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
