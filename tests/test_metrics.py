"""GET /metrics: Prometheus's text format, added up over every gunicorn worker and the dispatcher,
with the outbox's state read at scrape time; off on a public bind unless asked for.

The live tests run real gunicorn with PROMETHEUS_MULTIPROC_DIR in the test's directory, so each
process's own samples can be read from its files and compared with what /metrics adds up.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
import yaml
from conftest import _free_port
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families
from receivers import Receiver

from registry.config import load_settings, serves_metrics

HOOK_ENV = {
    "PODIUM_WEBHOOK_ALLOWED_SCHEMES": "http",
    "PODIUM_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    "PODIUM_WEBHOOK_TIMEOUT": "2",
    "PODIUM_DISPATCH_POLL_MS": "10",
}
CREATE_VERSION = "/api/2.0/mlflow/model-versions/create"
SOURCE = "s3://models/metrics/1"


def scrape(url: str, **headers) -> dict:
    """/metrics as {(sample name, frozenset of labels): value}."""
    response = requests.get(url + "/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    """The sum of the samples named `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def wait_until(condition, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def subscribe(url: str, receiver: Receiver, event: str) -> str:
    entity, action = event.upper().split(".")
    response = requests.post(
        url + "/api/2.0/mlflow/webhooks",
        json={
            "name": f"metrics-{entity}",
            "url": receiver.url,
            "events": [{"entity": entity, "action": action}],
        },
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["webhook"]["webhook_id"]


def post(url: str, path: str, body: dict) -> dict:
    response = requests.post(url + path, json=body, headers={"Connection": "close"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def requests_by_process(directory: Path) -> Counter:
    """podium_http_requests per pid, read from each process's own counter file."""
    counts = Counter()
    for path in directory.glob("counter_*.db"):
        pid = int(path.stem.split("_")[1])
        for key, count, _timestamp, _pos in MmapedDict.read_all_values_from_file(str(path)):
            if json.loads(key)[0] == "podium_http_requests":
                counts[pid] += count
    return counts


def delivery_attempts_by_process(directory: Path) -> Counter:
    counts = Counter()
    for path in directory.glob("counter_*.db"):
        pid = int(path.stem.split("_")[1])
        for key, count, _timestamp, _pos in MmapedDict.read_all_values_from_file(str(path)):
            if json.loads(key)[0] == "podium_webhook_delivery_attempts":
                counts[pid] += count
    return counts


def test_metrics_of_both_workers_and_the_dispatcher_add_up(live_server_factory, tmp_path):
    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"stale")  # a previous run's file: removed at start
    server = live_server_factory(
        env={
            **HOOK_ENV,
            "PROMETHEUS_MULTIPROC_DIR": str(directory),
            # sync workers take one request at a time: holding one busy sends the rest to the
            # other, so both are known to have served.
            "PODIUM_WORKER_CLASS": "sync",
        }
    )
    assert not (directory / "counter_1.db").exists()
    receiver = Receiver()
    try:
        subscribe(server.url, receiver, "model_version.created")
        post(server.url, "/api/2.0/mlflow/registered-models/create", {"name": "counted"})

        # One worker reads a request body that is slow to come...
        body = b"x" * 10_000
        held = socket.create_connection(("127.0.0.1", server.port))
        held.sendall(
            b"PUT /api/2.0/mlflow-artifacts/artifacts/0/held/artifacts/f HTTP/1.1\r\n"
            b"Host: podium\r\nContent-Type: application/octet-stream\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body[:100]
        )
        time.sleep(0.5)
        # ... so these are all served by the other.
        versions = 12
        for _ in range(versions):
            post(server.url, CREATE_VERSION, {"name": "counted", "source": SOURCE})
        held.sendall(body[100:])
        assert held.makefile("rb").readline().startswith(b"HTTP/1.1 200")
        held.close()
        receiver.wait_for(versions)

        dispatcher = server.dispatcher_pid()
        samples = wait_until(
            lambda: (
                s := scrape(server.url),
                value(s, "podium_webhook_delivery_attempts_total", outcome="delivered") == versions
                and s,
            )[1]
        )
    finally:
        receiver.close()

    assert value(samples, "podium_http_requests_total", route=CREATE_VERSION) == versions
    assert (
        value(
            samples, "podium_http_requests_total", route=CREATE_VERSION, status="200", method="POST"
        )
        == versions
    )
    assert (
        value(samples, "podium_http_request_duration_seconds_count", route=CREATE_VERSION)
        == versions
    )
    assert value(samples, "podium_http_request_database_seconds_count", route=CREATE_VERSION) == (
        versions
    )
    assert value(samples, "podium_http_request_database_seconds_sum", route=CREATE_VERSION) > 0
    assert value(samples, "podium_webhook_delivery_latency_seconds_count") == versions
    if not os.environ.get("PODIUM_TEST_DATABASE_URL"):  # the queue is SQLite's alone
        assert value(samples, "podium_sqlite_write_queue_wait_seconds_count") > 0
    assert value(samples, "podium_model_versions") == versions
    assert value(samples, "podium_model_versions_in_stage", stage="None") == versions
    assert value(samples, "podium_registered_models") == 1
    assert value(samples, "podium_outbox_deliveries", status="pending") == 0
    assert value(samples, "podium_database_up") == 1
    kind = "postgresql" if os.environ.get("PODIUM_TEST_DATABASE_URL") else "sqlite"
    assert value(samples, "podium_build_info", database=kind) == 1

    # Each web worker recorded requests of its own, the dispatcher the deliveries; /metrics
    # shows their sum.
    by_process = requests_by_process(directory)
    workers = {pid for pid in by_process if pid != dispatcher}
    assert len(workers) == 2, by_process
    assert all(by_process[pid] > 0 for pid in workers), by_process
    total = value(scrape(server.url), "podium_http_requests_total")
    # That scrape is counted once it has answered (after it read the files), so the files now
    # hold one request more than it showed.
    assert sum(requests_by_process(directory).values()) == total + 1
    attempts = delivery_attempts_by_process(directory)  # at 0 in the workers' files
    assert {pid: count for pid, count in attempts.items() if count} == {dispatcher: versions}


def test_a_failing_receiver_moves_the_failure_counters_and_the_oldest_pending_age(
    live_server_factory,
):
    # Three attempts a second apart, then the next after an hour: still pending, and ageing.
    server = live_server_factory(env={**HOOK_ENV, "PODIUM_WEBHOOK_RETRY_SCHEDULE": "0.1,0.1,3600"})
    failing, refusing = Receiver(), Receiver()
    failing.answer(*[500] * 10)
    refusing.answer(400)  # not retryable: failed at once
    try:
        subscribe(server.url, failing, "model_version.created")
        subscribe(server.url, refusing, "registered_model.created")
        post(server.url, "/api/2.0/mlflow/registered-models/create", {"name": "failing"})
        post(server.url, CREATE_VERSION, {"name": "failing", "source": SOURCE})
        failing.wait_for(3)
        refusing.wait_for(1)

        attempts = "podium_webhook_delivery_attempts_total"

        def settled():
            # The receiver saw the third attempt before the dispatcher recorded it; and the
            # outbox gauges may be a few seconds old.
            samples = scrape(server.url)
            return (
                samples
                if value(samples, attempts, outcome="retry") == 3
                and value(samples, "podium_outbox_deliveries", status="retrying") == 1
                and value(samples, "podium_outbox_deliveries", status="failed") == 1
                else None
            )

        samples = wait_until(settled)
        assert value(samples, attempts, outcome="retry") == 3
        assert value(samples, attempts, outcome="failed") == 1
        assert value(samples, attempts, outcome="delivered") == 0
        assert value(samples, "podium_outbox_deliveries", status="pending") == 0
        first_age = value(samples, "podium_outbox_oldest_pending_age_seconds")
        assert first_age > 0
        # Scrapes are cached a few seconds per worker; the age keeps growing past that.
        wait_until(
            lambda: (
                value(scrape(server.url), "podium_outbox_oldest_pending_age_seconds")
                > first_age + 1
            )
        )
    finally:
        failing.close()
        refusing.close()


@pytest.mark.parametrize(
    ("binds", "setting", "served"),
    [
        (["127.0.0.1:5000"], "auto", True),
        (["[::1]:5000"], "auto", True),
        (["localhost:5000"], "auto", True),
        (["unix:/run/podium.sock"], "auto", True),
        (["0.0.0.0:5000"], "auto", False),
        (["127.0.0.1:5000", "10.0.0.5:5000"], "auto", False),
        (["podium.example:5000"], "auto", False),
        (["0.0.0.0:5000"], "true", True),
        (["127.0.0.1:5000"], "false", False),
        (["127.0.0.1"], "auto", True),
        (["::1"], "auto", True),
    ],
)
def test_metrics_are_off_on_a_public_bind_unless_asked_for(binds, setting, served):
    assert serves_metrics(load_settings({"PODIUM_METRICS": setting})["PODIUM_METRICS"], binds) is (
        served
    )


def _app(database_url, tmp_path, **config):
    from registry import create_app

    return create_app(
        {
            "TESTING": True,
            "PODIUM_DATABASE_URL": database_url,
            "PODIUM_ARTIFACTS_DESTINATION": str(tmp_path / "artifacts"),
            **config,
        }
    )


def test_metrics_on_a_public_host_are_not_served_by_default(database_url, tmp_path):
    client = _app(database_url, tmp_path, PODIUM_HOST="0.0.0.0").test_client()
    assert client.get("/metrics").status_code == 404
    client = _app(database_url, tmp_path, PODIUM_HOST="0.0.0.0", PODIUM_METRICS=True).test_client()
    assert client.get("/metrics").status_code == 200


def test_a_metrics_token_is_required_when_set(database_url, tmp_path):
    client = _app(database_url, tmp_path, PODIUM_METRICS_TOKEN="scrape-me").test_client()
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused.json["error_code"] == "UNAUTHENTICATED"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Basic scrape-me"}).status_code == 401
    served = client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
    assert served.status_code == 200
    assert b"podium_build_info" in served.data


AUTH = {
    "PODIUM_AUTH": "basic",
    "PODIUM_ADMIN_USERNAME": "admin",
    "PODIUM_ADMIN_PASSWORD": "admin-password",
}


def test_with_authentication_on_metrics_need_a_user_or_else_the_scraper_token(
    database_url, tmp_path
):
    client = _app(database_url, tmp_path, **AUTH).test_client()
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert "Basic" in refused.headers["WWW-Authenticate"]
    assert client.get("/metrics", auth=("admin", "admin-password")).status_code == 200

    # With a scraper token, that token is the credential: the gate lets /metrics through to it.
    client = _app(database_url, tmp_path, **AUTH, PODIUM_METRICS_TOKEN="scrape-me").test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", auth=("admin", "admin-password")).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).status_code == 200
    # Every other route is still gated.
    assert client.get("/api/2.0/mlflow/registered-models/search").status_code == 401


def test_route_labels_are_rules_never_urls(client):
    client.get("/api/2.0/mlflow/registered-models/get", query_string={"name": "secret-model"})
    client.get("/no/such/path/secret-model")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'route="/api/2.0/mlflow/registered-models/get"' in text
    assert 'route="unmatched"' in text
    assert "secret-model" not in text


DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "prometheus"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="needs promtool (apt prometheus)")
def test_the_prometheus_recipes_pass_promtool():
    for command in (
        ["promtool", "check", "rules", str(DEPLOY / "alerts.yml")],
        ["promtool", "check", "config", "--syntax-only", str(DEPLOY / "prometheus.yml")],
    ):
        checked = subprocess.run(command, capture_output=True, text=True, check=False)
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_alert_names_metrics_podium_exports(client):
    client.get("/health")
    client.get("/metrics")
    exported = set()
    for family in text_string_to_metric_families(client.get("/metrics").get_data(as_text=True)):
        exported.update(sample.name for sample in family.samples)
    rules = yaml.safe_load((DEPLOY / "alerts.yml").read_text())["groups"][0]["rules"]
    assert len(rules) >= 5
    for rule in rules:
        named = set(re.findall(r"\bpodium_[a-z_]+", rule["expr"]))
        assert named, rule["alert"]
        assert named <= exported, f"{rule['alert']} names {named - exported}"


def test_a_separate_dispatcher_serves_its_counters_on_a_port_of_its_own(database_url, tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "PODIUM_DATABASE_URL": database_url,
        "PODIUM_WORKER_METRICS_PORT": str(port),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    worker = subprocess.Popen(
        [sys.executable, "-m", "registry.cli", "worker"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        text = wait_until(lambda: _get_text(f"http://127.0.0.1:{port}/metrics"))
    finally:
        worker.terminate()
        assert worker.wait(timeout=30) == 0
    assert 'podium_webhook_delivery_attempts_total{outcome="delivered"} 0.0' in text


def _get_text(url: str) -> str | None:
    try:
        return requests.get(url, timeout=2).text
    except requests.ConnectionError:
        return None


def test_a_killed_masters_metrics_directory_is_removed_by_the_next(tmp_path):
    from registry.server.metrics import PREFIX, remove_orphans

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    orphan = tmp_path / f"{PREFIX}{dead.pid}-abc"
    live = tmp_path / f"{PREFIX}{os.getpid()}-def"
    other = tmp_path / "podium-metrics-not-a-pid"
    for directory in (orphan, live, other):
        directory.mkdir()
        (directory / "counter_1.db").write_bytes(b"")
    remove_orphans(tmp_path)
    assert not orphan.exists()
    assert live.exists() and other.exists()
