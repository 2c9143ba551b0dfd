"""`launcher.py up --brokers 3`: three combined KRaft nodes, their ports, and the replication every topic gets."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

KAFKA_DIR = Path(__file__).resolve().parents[2] / "deploy" / "kafka"


def load_launcher() -> ModuleType:
    """The launcher from its file (deploy/ is not a package); it imports kafka_security from beside itself."""
    sys.path.insert(0, str(KAFKA_DIR))
    try:
        spec = importlib.util.spec_from_file_location("frontdoor_kafka_launcher", KAFKA_DIR / "launcher.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(KAFKA_DIR))
    return module


launcher = load_launcher()


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> object:
    for name in ("KAFKA_CONTROLLER_PORT", "KAFKA_HEAP", "KAFKA_SECURE", "KAFKA_BROKERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAFKA_PORT", "19500")
    monkeypatch.setenv("KAFKA_STATE_DIR", str(tmp_path))
    return launcher.load_config(brokers=3)


def test_three_nodes_take_consecutive_client_ports_and_the_quorum_ports_after_them(cluster: object) -> None:
    nodes = launcher.node_configs(cluster)
    assert [(n.node_id, n.port, n.controller_port) for n in nodes] == [
        (1, 19500, 19503),
        (2, 19501, 19504),
        (3, 19502, 19505),
    ]
    assert {n.voters for n in nodes} == {"1@127.0.0.1:19503,2@127.0.0.1:19504,3@127.0.0.1:19505"}
    assert launcher.cluster_bootstrap(cluster) == "127.0.0.1:19500,127.0.0.1:19501,127.0.0.1:19502"


def test_every_node_replicates_internal_topics_three_times_and_needs_two_in_sync(cluster: object) -> None:
    properties = launcher.server_properties(launcher.node_configs(cluster)[1])
    assert properties["node.id"] == "2"
    assert properties["process.roles"] == "broker,controller"
    assert properties["offsets.topic.replication.factor"] == "3"
    assert properties["default.replication.factor"] == "3"
    assert properties["min.insync.replicas"] == "2"
    assert properties["unclean.leader.election.enable"] == "false"


def test_a_cluster_gets_small_heaps_and_one_broker_keeps_the_single_node_defaults(
    cluster: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "-Xmx384m" in cluster.heap  # type: ignore[attr-defined]
    single = launcher.load_config()
    assert launcher.node_configs(single) == [single]
    assert (single.controller_port, launcher.server_properties(single)["offsets.topic.replication.factor"]) == (
        19501,
        "1",
    )


def test_a_secured_cluster_is_refused_with_the_reason(cluster: object) -> None:
    with pytest.raises(launcher.LauncherError, match="PLAINTEXT on loopback"):
        launcher.cmd_up_cluster(dataclasses.replace(cluster, secure=True))
