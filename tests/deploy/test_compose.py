"""Static checks of docker-compose.yml and the Prometheus, Alertmanager and Grafana files it mounts."""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.alertdesk.settings import AlertDeskSettings
from services.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
ALERTMANAGER_CONFIG = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
GRAFANA_DATASOURCE = ROOT / "deploy" / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
GRAFANA_DASHBOARD_PROVIDER = ROOT / "deploy" / "grafana" / "provisioning" / "dashboards" / "frontdoor.yml"

# The frontdoor subcommand each service built from deploy/Dockerfile runs.
FRONTDOOR_COMMANDS = {
    "frontdoor-init": ["topics", "create"],
    "worker": ["worker"],
    "simulator": ["simulate"],
    "alertdesk": ["alertdesk"],
}
THIRD_PARTY_SERVICES = {"kafka", "prometheus", "alertmanager", "grafana"}
ONE_SHOT_SERVICES = {"frontdoor-init"}
EXPLICIT_VERSION = re.compile(r"^v?\d+\.\d+\.\d+([.-][0-9A-Za-z.-]+)?$")
REQUIRED_VARIABLE = re.compile(r"^\$\{(?P<name>[A-Z_][A-Z0-9_]*):?\?[^}]*\}$")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def compose_services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = load_yaml(COMPOSE_FILE)["services"]
    return services


def environment_of(service: dict[str, Any]) -> dict[str, str | None]:
    """A service's `environment`, in either the mapping form or the list form (`KEY=value` or bare `KEY`)."""
    raw = service.get("environment") or {}
    if isinstance(raw, dict):
        return {str(key): None if value is None else str(value) for key, value in raw.items()}
    pairs = (str(item).partition("=") for item in raw)
    return {key: value if sep else None for key, sep, value in pairs}


def published_host_ips(port: str | int | dict[str, Any]) -> list[str | None]:
    """The host address each published port binds; None means every interface (Docker's default)."""
    if isinstance(port, dict):
        if "published" not in port:
            return []  # long syntax without `published` only documents the container port
        return [port.get("host_ip")]
    spec = str(port).split("/", 1)[0]
    if spec.startswith("["):  # [::1]:9092:9092
        return [spec[1 : spec.index("]")]]
    parts = spec.split(":")
    if len(parts) == 3:
        return [parts[0]]
    return [None]  # "9092:9092" publishes on all interfaces; "9092" on an ephemeral all-interface port


def is_loopback(host_ip: str | None) -> bool:
    if not host_ip:
        return False
    try:
        return ipaddress.ip_address(host_ip).is_loopback
    except ValueError:
        return False


def bind_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of every bind mount, short or long syntax; named volumes are left out."""
    mounts: list[tuple[str, str]] = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            if volume.get("type") == "bind":
                mounts.append((volume["source"], volume["target"]))
            continue
        source, _, rest = str(volume).partition(":")
        if source.startswith((".", "/", "~")):
            mounts.append((source, rest.split(":", 1)[0]))
    return mounts


def container_ports(service: dict[str, Any]) -> set[int]:
    ports: set[int] = set()
    for port in service.get("ports", []):
        if isinstance(port, dict):
            ports.add(int(port["target"]))
        else:
            ports.add(int(str(port).split("/", 1)[0].rsplit(":", 1)[-1]))
    return ports


def run_checker(tool: str, args: list[str], required_by: tuple[str, ...], package: str) -> None:
    """Run a Prometheus project checker; skip without it unless one of `required_by` is set to 1."""
    executable = shutil.which(tool)
    if executable is None:
        message = f"{tool} not found on PATH: install Debian's {package} package (apt-get install {package})"
        for variable in required_by:
            if os.environ.get(variable) == "1":
                pytest.fail(f"{variable}=1 but {message}")
        pytest.skip(message)
    result = subprocess.run([executable, *args], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"{tool} {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"


def test_compose_file_parses_and_names_every_service() -> None:
    document = load_yaml(COMPOSE_FILE)

    assert "version" not in document, "the compose spec has no `version:` key; compose v2 warns about it"
    services = document["services"]
    assert set(services) == set(FRONTDOOR_COMMANDS) | THIRD_PARTY_SERVICES
    for name, subcommand in FRONTDOOR_COMMANDS.items():
        service = services[name]
        assert service["build"]["dockerfile"] == "deploy/Dockerfile", name
        assert [str(part) for part in service["command"][: len(subcommand)]] == subcommand, name


def test_every_image_is_pinned_to_an_explicit_version() -> None:
    for name, service in compose_services().items():
        if "build" in service:
            continue  # built from this repository; the base image is pinned in the Dockerfile
        image = service.get("image", "")
        assert "@sha256:" in image or ":" in image.rsplit("/", 1)[-1], f"{name}: {image!r} has no tag"
        tag = image.rsplit("/", 1)[-1].partition(":")[2].partition("@")[0]
        assert tag != "latest", f"{name}: {image!r} floats on latest"
        assert EXPLICIT_VERSION.match(tag), f"{name}: {image!r} is not pinned to a major.minor.patch release"


def test_service_image_builds_from_a_pinned_python_311_and_runs_as_non_root() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    lines = (line.strip() for line in dockerfile.splitlines())
    instructions = [line for line in lines if line and not line.startswith("#")]

    base_images = [line.split()[1] for line in instructions if line.upper().startswith("FROM ")]
    assert base_images, "deploy/Dockerfile has no FROM"
    assert all(re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?", image) for image in base_images), base_images
    users = [line.split()[1] for line in instructions if line.upper().startswith("USER ")]
    assert users, "the image must drop root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert 'ENTRYPOINT ["frontdoor"]' in instructions
    assert not any(re.match(r"(ENV|ARG)\s+\S*(PASSWORD|SECRET|PSEUDONYM_KEY)", line) for line in instructions)


@pytest.mark.parametrize(
    ("port", "loopback"),
    [
        ("127.0.0.1:9092:9092", True),
        ("127.0.0.1:9464:9464/tcp", True),
        ("[::1]:3000:3000", True),
        ({"target": 8080, "published": "8080", "host_ip": "127.0.0.1"}, True),
        ("9092:9092", False),
        ("9092", False),
        ("0.0.0.0:9092:9092", False),
        ({"target": 8080, "published": "8080"}, False),
        ({"target": 8080, "published": "8080", "host_ip": "0.0.0.0"}, False),
    ],
)
def test_port_check_tells_loopback_bindings_from_all_interface_bindings(
    port: str | dict[str, Any], loopback: bool
) -> None:
    assert all(is_loopback(ip) for ip in published_host_ips(port)) is loopback


def test_every_published_port_is_bound_to_loopback() -> None:
    published = 0
    for name, service in compose_services().items():
        assert service.get("network_mode") != "host", f"{name}: host networking bypasses port bindings"
        for port in service.get("ports", []):
            for host_ip in published_host_ips(port):
                published += 1
                assert is_loopback(host_ip), f"{name}: port {port!r} is published beyond 127.0.0.1"
    assert published >= 6, "expected Kafka, worker, alert desk, Prometheus, Alertmanager and Grafana ports"


def test_every_long_running_service_has_a_healthcheck() -> None:
    services = compose_services()
    for name in ONE_SHOT_SERVICES:
        assert str(services[name].get("restart")) == "no", f"{name} is one-shot and must not restart"
    for name, service in services.items():
        if name in ONE_SHOT_SERVICES:
            continue
        healthcheck = service.get("healthcheck")
        assert healthcheck, f"{name} runs indefinitely but has no healthcheck"
        assert not healthcheck.get("disable", False), name
        test = healthcheck["test"]
        assert test not in (["NONE"], "NONE", []), name
        if isinstance(test, list):
            assert test[0] in {"CMD", "CMD-SHELL"} and len(test) > 1, f"{name}: malformed test {test!r}"


def test_services_wait_for_a_healthy_broker_and_created_topics() -> None:
    services = compose_services()
    assert services["frontdoor-init"]["depends_on"]["kafka"]["condition"] == "service_healthy"
    for name in ("worker", "simulator", "alertdesk"):
        assert services[name]["depends_on"]["frontdoor-init"]["condition"] == "service_completed_successfully"


def test_every_frontdoor_variable_in_compose_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    services = compose_services()
    seen: set[str] = set()
    for name, service in services.items():
        assert "env_file" not in service, f"{name}: env_file hides variables from this check"
        environment = environment_of(service)
        frontdoor = {key: value for key, value in environment.items() if key.startswith("FRONTDOOR_")}
        for key in frontdoor:
            if key.startswith("FRONTDOOR_ALERTDESK_"):
                field = key.removeprefix("FRONTDOOR_ALERTDESK_").lower()
                assert field in AlertDeskSettings.model_fields, f"{name}: {key} is not an alert desk setting"
                continue
            field = key.removeprefix("FRONTDOOR_").lower()
            assert field in Settings.model_fields, f"{name}: {key} is not a field of services.settings.Settings"
        seen.update(frontdoor)
        if name in FRONTDOOR_COMMANDS:
            # The values must also be ones Settings accepts, read the way the services read them.
            for key in [key for key in os.environ if key.startswith("FRONTDOOR_")]:
                monkeypatch.delenv(key)
            for key, value in frontdoor.items():
                if value is not None and not key.startswith("FRONTDOOR_ALERTDESK_"):
                    monkeypatch.setenv(key, value)
            settings = Settings()
            assert settings.bootstrap_servers == "kafka:29092", name
            assert settings.profile == "dev", f"{name}: the compose demo runs on synthetic data only"
    assert {"FRONTDOOR_BOOTSTRAP_SERVERS", "FRONTDOOR_PROFILE"} <= seen


def test_grafana_has_no_default_admin_password() -> None:
    grafana = compose_services()["grafana"]
    environment = environment_of(grafana)

    password = environment.get("GF_SECURITY_ADMIN_PASSWORD")
    assert password is not None, "without GF_SECURITY_ADMIN_PASSWORD Grafana falls back to admin/admin"
    required = REQUIRED_VARIABLE.match(password)
    assert required, f"{password!r} must be ${{VAR:?message}} so compose refuses to start without it"
    assert environment.get("GF_AUTH_ANONYMOUS_ENABLED") == "false", "anonymous Grafana access must be off"
    assert not any(key.startswith("GF_SECURITY_ADMIN_PASSWORD__FILE") for key in environment)
    dotenv = ROOT / ".env"
    if dotenv.exists():  # compose reads .env silently, which would turn it into a committed default
        lines = dotenv.read_text(encoding="utf-8").splitlines()
        assert not any(line.strip().startswith(f"{required['name']}=") for line in lines)


def test_provisioning_files_mounted_by_compose_exist() -> None:
    document = load_yaml(COMPOSE_FILE)
    declared_volumes = set(document.get("volumes") or {})
    targets: dict[str, dict[str, Path]] = {}
    for name, service in document["services"].items():
        for source, target in bind_mounts(service):
            assert source.startswith("./"), f"{name}: bind {source!r} must be relative to the repository"
            path = ROOT / source
            assert path.exists(), f"{name}: mounts {source} which does not exist"
            targets.setdefault(name, {})[target] = path
        for volume in service.get("volumes", []):
            source = volume.get("source") if isinstance(volume, dict) else str(volume).partition(":")[0]
            if source and not source.startswith((".", "/", "~")):
                assert source in declared_volumes, f"{name}: named volume {source} is not declared"

    # Each image reads its configuration from a fixed path inside the mounted folder.
    assert (targets["prometheus"]["/etc/prometheus"] / "prometheus.yml").is_file()
    assert (targets["alertmanager"]["/etc/alertmanager"] / "alertmanager.yml").is_file()
    provisioning = targets["grafana"]["/etc/grafana/provisioning"]
    assert (provisioning / "datasources" / "prometheus.yml").is_file()
    assert (provisioning / "dashboards" / "frontdoor.yml").is_file()
    assert targets["grafana"]["/var/lib/grafana/dashboards"].is_dir()

    datasource = load_yaml(GRAFANA_DATASOURCE)["datasources"][0]
    assert datasource["uid"] == "frontdoor-prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    mounted = targets["grafana"]["/var/lib/grafana/dashboards"]
    for provider in load_yaml(GRAFANA_DASHBOARD_PROVIDER)["providers"]:  # a folder per council, regional, platform
        assert provider["type"] == "file"
        folder = provider["options"]["path"].removeprefix("/var/lib/grafana/dashboards/")
        assert (mounted / folder).is_dir(), provider["name"]


def test_prometheus_config_is_valid() -> None:
    config = load_yaml(PROMETHEUS_CONFIG)
    services = compose_services()

    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    expected = {"frontdoor-worker": ("worker", 9464), "frontdoor-alertdesk": ("alertdesk", 8080)}
    for job_name, (service, port) in expected.items():
        job = jobs[job_name]
        targets = [target for group in job["static_configs"] for target in group["targets"]]
        assert targets == [f"{service}:{port}"], job_name
        assert job.get("metrics_path", "/metrics") == "/metrics", job_name
        assert port in container_ports(services[service]), f"{service} does not listen on {port}"
    assert "prometheus" in jobs
    assert "rules/*.yml" in config["rule_files"]
    assert (PROMETHEUS_CONFIG.parent / "rules").is_dir()
    alertmanagers = config["alerting"]["alertmanagers"]
    assert [t for am in alertmanagers for group in am["static_configs"] for t in group["targets"]] == [
        "alertmanager:9093"
    ]

    run_checker("promtool", ["check", "config", str(PROMETHEUS_CONFIG)], ("PROMTOOL_REQUIRED",), "prometheus")


def test_alertmanager_config_is_valid() -> None:
    config = load_yaml(ALERTMANAGER_CONFIG)

    route = config["route"]
    receivers = {receiver["name"]: receiver for receiver in config["receivers"]}
    assert route["receiver"] in receivers
    assert route["group_by"] == ["alertname", "la_code"]
    webhooks = receivers[route["receiver"]]["webhook_configs"]
    assert [hook["url"] for hook in webhooks] == ["http://alertdesk:8080/hooks/alertmanager"]
    assert 8080 in container_ports(compose_services()["alertdesk"])

    run_checker(
        "amtool",
        ["check-config", str(ALERTMANAGER_CONFIG)],
        # `make test` sets PROMTOOL_REQUIRED=1 meaning "the Prometheus tools"; amtool is one of them.
        ("AMTOOL_REQUIRED", "PROMTOOL_REQUIRED"),
        "prometheus-alertmanager",
    )


README = ROOT / "README.md"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
REQUIRED_REFERENCE = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*):?\?")


def required_variables(node: Any) -> set[str]:
    """Every variable compose refuses to start without (`${VAR:?message}`), anywhere in the file."""
    if isinstance(node, dict):
        return set().union(*(required_variables(value) for value in node.values()), set())
    if isinstance(node, list):
        return set().union(*(required_variables(value) for value in node), set())
    return {match["name"] for match in REQUIRED_REFERENCE.finditer(str(node))}


def readme_docker_blocks() -> list[list[str]]:
    """The code blocks of the README's Docker section, as lists of non-empty lines."""
    section = README.read_text(encoding="utf-8").split("## The Docker path", 1)[1].split("\n## ", 1)[0]
    blocks = section.split("```")[1::2]
    return [[line.strip() for line in block.splitlines() if line.strip()] for block in blocks]


def assignments_and_command(line: str) -> tuple[set[str], list[str]]:
    """`export A=1` or `A=1 B=2 cmd args`: the names assigned, and the command that follows (if any)."""
    words = shlex.split(line)
    if words and words[0] == "export":
        return {word.partition("=")[0] for word in words[1:]}, []
    names: set[str] = set()
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        names.add(words.pop(0).partition("=")[0])
    return names, words


def readme_up_block() -> tuple[list[str], set[str]]:
    """The README block that starts the stack, and the variables it sets for `docker compose up`."""
    for block in readme_docker_blocks():
        parsed = [assignments_and_command(line) for line in block]
        if any(command[:3] == ["docker", "compose", "up"] for _, command in parsed):
            return block, set().union(*(names for names, _ in parsed))
    raise AssertionError("the README's Docker section has no `docker compose up` block")


def test_the_readme_compose_command_sets_every_variable_compose_requires() -> None:
    required = required_variables(load_yaml(COMPOSE_FILE))
    block, assigned = readme_up_block()

    assert {"GF_ADMIN_PASSWORD", "FRONTDOOR_ALERTDESK_SESSION_SECRET"} <= required
    assert required <= assigned, f"the README's command leaves {sorted(required - assigned)} unset: compose would stop"
    assert assigned <= required, f"the README sets {sorted(assigned - required)}, which compose does not read"
    assert [assignments_and_command(line)[1] for line in block][-1] == ["docker", "compose", "up", "--build"]


def test_the_compose_file_header_shows_the_readme_command() -> None:
    block, _ = readme_up_block()
    header = []
    for line in COMPOSE_FILE.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        header.append(line.removeprefix("#").strip())

    assert "\n".join(block) in "\n".join(header), "docker-compose.yml's usage comment differs from the README"


def test_the_readme_add_user_command_is_a_frontdoor_command_the_desk_service_can_run() -> None:
    from services.alertdesk.cli_alertdesk import run_add_user  # noqa: PLC0415
    from services.cli import build_parser  # noqa: PLC0415

    runs = [
        shlex.split(line) for block in readme_docker_blocks() for line in block if line.startswith("docker compose run")
    ]
    assert runs, "the README does not say how to add the first alert desk user"
    for words in runs:
        after_run = words[3:]
        while after_run[0].startswith("-"):  # compose's own flags (--rm, --no-deps) take no value here
            after_run.pop(0)
        service, *frontdoor_args = after_run
        assert compose_services()[service]["build"]["dockerfile"] == "deploy/Dockerfile", "runs `frontdoor`"
        assert build_parser().parse_args(frontdoor_args).handler is run_add_user


def test_the_desk_users_volume_is_writable_by_the_image_user() -> None:
    dockerfile = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    owned = {
        path
        for line in dockerfile.splitlines()
        for command in line.split("&&")
        if "install --directory --owner frontdoor" in command
        for path in command.split()
        if path.startswith("/")
    }
    for volume in compose_services()["alertdesk"]["volumes"]:
        source, _, target = str(volume).partition(":")
        if not source.startswith((".", "/")):
            # An empty named volume takes the owner of the image's directory; root's would refuse the users file.
            assert target in owned, f"{target} must be created in deploy/Dockerfile owned by the frontdoor user"
