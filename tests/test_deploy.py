"""Deployment: the gunicorn configuration, and every recipe under deploy/ checked by a validator."""

import ast
import os
import signal
import socket
import time
from pathlib import Path

import pytest
import requests
from gunicorn.config import Config

from registry.cli import GUNICORN_CONFIG, PodiumServer

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"


# --- gunicorn ---------------------------------------------------------------------------------


def test_deploy_gunicorn_conf_is_the_file_podium_serve_loads():
    assert (DEPLOY / "gunicorn.conf.py").resolve() == GUNICORN_CONFIG.resolve()
    assert GUNICORN_CONFIG.parent == ROOT / "registry"  # shipped in the package, not beside it


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
    from registry.serving import no_dispatcher, start_dispatcher

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
    assert (cfg.workers, cfg.worker_class_str, cfg.threads) == (3, "gthread", 4)
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


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # exited meanwhile
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append((int(entry.name), command.strip()))
    return found


def dispatcher_of(server) -> int:
    """The pid of the `podium worker` dispatcher a live server's master started."""
    for pid, command in _children(server.process.pid):
        if f"worker --parent-pid {server.process.pid}" in command:
            return pid
    raise AssertionError("the server runs no dispatcher")


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
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: requests.get(server.url + "/health").text, range(16)))
    assert answers == ["OK"] * 16
    assert "Using worker: gthread" in server.log.read_text()


def test_sigterm_finishes_in_flight_requests_then_stops_workers_and_dispatcher(live_server):
    dispatcher = dispatcher_of(live_server)
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
