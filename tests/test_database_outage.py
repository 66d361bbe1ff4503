"""PostgreSQL going away under a live Podium: stopped, killed, cut off mid-burst, then back.

A private server (tests/postgres_cluster.py) runs beneath real gunicorn with webhooks flowing to
a loopback receiver. While it is away, clients get 503 with Retry-After (never 500, never a
hang); once it is back, every process recovers on its own and every committed change is
delivered exactly as committed: nothing lost, nothing stuck.
"""

import os
import re
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from conftest import LiveServer
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from postgres_cluster import PrivateCluster, _children, unavailable_reason
from receivers import Receiver
from standardwebhooks import Webhook as StandardWebhook

pytestmark = pytest.mark.skipif(bool(unavailable_reason()), reason=unavailable_reason())

SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYg=="
SOURCE = "s3://models/outage/1"
SERVER_ENV = {
    "PODIUM_WEBHOOK_ALLOWED_SCHEMES": "http,https",
    "PODIUM_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    "PODIUM_WEBHOOK_RETRY_SCHEDULE": "0.3,0.3,0.3",
    "PODIUM_WEBHOOK_TIMEOUT": "2",
    "PODIUM_DISPATCH_POLL_MS": "10",
    "PODIUM_DATABASE_CONNECT_TIMEOUT": "2",
}
REQUEST_TIMEOUT = 30  # a request that hangs past this fails the test: answers must be bounded


@pytest.fixture(scope="module")
def cluster():
    cluster = PrivateCluster().start()
    yield cluster
    cluster.destroy()


@pytest.fixture
def server(cluster, tmp_path, request):
    if cluster.process.poll() is not None:  # an earlier test failed while it was down
        cluster.start()
    url = cluster.create_database("podium_" + uuid.uuid4().hex[:8])
    env = {**SERVER_ENV, **getattr(request, "param", {})}  # a test's own settings, if any
    live = LiveServer(url, tmp_path, env=env).start()
    yield live
    live.stop()
    if cluster.process.poll() is not None:
        cluster.start()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def _create_version(server, model: str) -> requests.Response:
    return requests.post(
        server.url + "/api/2.0/mlflow/model-versions/create",
        json={"name": model, "source": SOURCE},
        timeout=REQUEST_TIMEOUT,
    )


def _assert_unavailable(response: requests.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
    assert int(response.headers["Retry-After"]) >= 1


def _delivered_versions(receiver, expected: int, timeout: float = 60.0) -> list[str]:
    """Wait for `expected` distinct events (by webhook-id); verify each; their versions."""
    deadline = time.monotonic() + timeout
    while True:
        distinct = {h["webhook-id"]: (h, body) for h, body, _ in list(receiver.received)}
        if len(distinct) >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(distinct) == expected, f"{len(distinct)} distinct events, expected {expected}"
    versions = []
    for headers, body in distinct.values():
        event = StandardWebhook(SECRET).verify(body, headers)  # raises if not signed right
        if event["type"] == "model_version.created":
            versions.append(event["data"]["version"])
    return versions


def _assert_none_pending(server, webhook_id: str, timeout: float = 30.0) -> list[dict]:
    url = f"{server.url}/api/2.0/podium/webhooks/{webhook_id}/deliveries"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deliveries = requests.get(url, params={"max_results": 1000}, timeout=REQUEST_TIMEOUT).json()
        deliveries = deliveries["deliveries"]
        if all(d["status"] == "succeeded" for d in deliveries):
            return deliveries
        time.sleep(0.1)
    raise AssertionError(f"deliveries left unsettled: {[d['status'] for d in deliveries]}")


def _metrics_see_the_database_again(server, timeout: float = 20.0) -> str:
    # Each worker reads the database for /metrics at most every few seconds (a cache).
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = requests.get(server.url + "/metrics", timeout=REQUEST_TIMEOUT).text
        if "\npodium_database_up 1.0\n" in text:
            return text
        time.sleep(0.5)
    raise AssertionError("/metrics still reports the database down")


def _recover(server, model: str, timeout: float = 30.0) -> tuple[float, requests.Response]:
    """Write until a write succeeds; every failure on the way must be a 503."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        response = _create_version(server, model)
        if response.status_code == 200:
            return time.monotonic() - started, response
        _assert_unavailable(response)
        time.sleep(0.05)
    raise AssertionError(f"no successful write {timeout} s after the database came back")


@pytest.mark.parametrize("fault", ["stop", "kill"])
def test_requests_answer_503_while_postgres_is_away_and_everything_recovers(
    server, cluster, receiver, fault
):
    client = MlflowClient(tracking_uri=server.url, registry_uri=server.url)
    hook = client.create_webhook(
        name="outage",
        url=receiver.url,
        events=["registered_model.created", "model_version.created"],
        secret=SECRET,
    )
    client.create_registered_model("outage")
    for _ in range(2):
        client.create_model_version("outage", SOURCE)
    receiver.wait_for(3)

    cluster.stop() if fault == "stop" else cluster.kill()
    for _ in range(4):  # enough to reach both workers
        _assert_unavailable(_create_version(server, "outage"))
        _assert_unavailable(
            requests.get(
                server.url + "/api/2.0/mlflow/registered-models/get",
                params={"name": "outage"},
                timeout=REQUEST_TIMEOUT,
            )
        )
        _assert_unavailable(requests.get(server.url + "/ready", timeout=REQUEST_TIMEOUT))
        health = requests.get(server.url + "/health", timeout=REQUEST_TIMEOUT)
        assert (health.status_code, health.text) == (200, "OK")
        # Metrics are served meanwhile: the processes' counters, and the database's absence.
        metrics = requests.get(server.url + "/metrics", timeout=REQUEST_TIMEOUT)
        assert metrics.status_code == 200
        assert "\npodium_database_up 0.0\n" in metrics.text
    # The client's retries are off in the tests (conftest); it reports the 503 it would retry.
    with pytest.raises(MlflowException, match="503"):
        client.create_model_version("outage", SOURCE)

    cluster.start()
    back = time.monotonic()
    recovery, _written = _recover(server, "outage")
    _delivered_versions(receiver, expected=4)  # the model, two versions, and this one
    print(
        f"\n{fault}: first write {recovery:.2f} s and its webhook "
        f"{time.monotonic() - back:.2f} s after PostgreSQL was back"
    )
    assert requests.get(server.url + "/ready", timeout=REQUEST_TIMEOUT).json()["status"] == "ready"
    text = _metrics_see_the_database_again(server)
    # The 503s were counted, those whose connection failed before any route ran among them.
    assert re.search(r'podium_http_requests_total\{[^}]*status="503"[^}]*\} [1-9]', text)
    for _ in range(2):
        client.create_model_version("outage", SOURCE)

    versions = [v.version for v in client.search_model_versions("name = 'outage'")]
    assert sorted(map(int, versions)) == list(range(1, len(versions) + 1))  # dense: none lost
    delivered = _delivered_versions(receiver, expected=1 + len(versions))
    assert sorted(delivered, key=int) == sorted(versions, key=int)
    assert len(_assert_none_pending(server, hook.webhook_id)) == 1 + len(versions)

    # One line when the database went, one when it came back: no log flood while it was away.
    log = server.log.read_text()
    assert log.count("lost the database") == 1, log
    assert log.count("has the database back") == 1, log


def test_a_burst_of_writes_cut_by_a_crash_commits_each_change_with_its_event_or_not_at_all(
    server, cluster, receiver
):
    client = MlflowClient(tracking_uri=server.url, registry_uri=server.url)
    hook = client.create_webhook(
        name="burst", url=receiver.url, events=["model_version.created"], secret=SECRET
    )
    client.create_registered_model("burst")
    answers = []  # (status, Retry-After, version or None, time)
    stopping = threading.Event()

    def write():
        while not stopping.is_set():
            response = _create_version(server, "burst")
            version = response.json()["model_version"]["version"] if response.ok else None
            answers.append((response.status_code, response.headers.get("Retry-After"), version))

    def wait_until(condition, timeout=30.0):
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out; answers so far: {len(answers)}"
            time.sleep(0.01)

    writers = [threading.Thread(target=write) for _ in range(4)]
    for writer in writers:
        writer.start()
    try:
        wait_until(lambda: sum(a[0] == 200 for a in answers) >= 20)
        cluster.kill()  # mid-burst: some transactions are cut, some commits in flight
        killed_at = len(answers)
        wait_until(lambda: sum(a[0] == 503 for a in answers[killed_at:]) >= 8)
        cluster.start()
        back_at = len(answers)
        wait_until(lambda: sum(a[0] == 200 for a in answers[back_at:]) >= 10)
    finally:
        stopping.set()
        for writer in writers:
            writer.join(timeout=REQUEST_TIMEOUT * 2)

    statuses = {status for status, _, _ in answers}
    assert statuses <= {200, 503}, statuses
    assert all(retry_after for status, retry_after, _ in answers if status == 503)
    found = client.search_model_versions("name = 'burst'", max_results=1000)
    committed = {version.version for version in found}
    assert sorted(map(int, committed)) == list(range(1, len(committed) + 1))
    assert {version for status, _, version in answers if status == 200} <= committed
    delivered = _delivered_versions(receiver, expected=len(committed))
    assert sorted(delivered, key=int) == sorted(committed, key=int)  # each exactly once
    assert len(_assert_none_pending(server, hook.webhook_id)) == len(committed)
    print(f"\nburst: {len(answers)} writes, {len(committed)} committed, all delivered once")


def _local_ports(pid: int) -> set[int]:
    """The local TCP ports of a process's sockets, read off /proc."""
    fd_dir = Path(f"/proc/{pid}/fd")
    inodes = set()
    for fd in fd_dir.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _until_every_process_holds_a_session(server, cursor, database: str) -> None:
    """Concurrent requests on fresh connections until each worker and the dispatcher holds a
    database session (a keep-alive client would only ever reach one worker)."""
    url = f"{server.url}/api/2.0/mlflow/registered-models/get?name=ended"
    processes = _children(server.process.pid)
    assert len(processes) == 3  # two workers and the dispatcher
    deadline = time.monotonic() + 30
    while True:
        threads = [
            threading.Thread(target=requests.get, args=(url,), kwargs={"timeout": 10})
            for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        cursor.execute(
            "SELECT client_port FROM pg_stat_activity"
            " WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        )
        sessions = {port for (port,) in cursor.fetchall()}
        if all(_local_ports(pid) & sessions for pid in processes):
            return
        assert time.monotonic() < deadline, "a process never opened a database session"


def test_sessions_the_server_ends_are_replaced_in_every_process(server, cluster, receiver):
    """Every session terminated server-side (idle_session_timeout, a failover): no error
    answer, and the dispatcher, whose session died too, delivers the next change."""
    import psycopg2

    client = MlflowClient(tracking_uri=server.url, registry_uri=server.url)
    client.create_webhook(
        name="ended", url=receiver.url, events=["model_version.created"], secret=SECRET
    )
    client.create_registered_model("ended")
    database = server.env["PODIUM_DATABASE_URL"].rsplit("/", 1)[1]
    admin = psycopg2.connect(cluster.url)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            _until_every_process_holds_a_session(server, cursor, database)
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            )
            assert cursor.fetchone()[0] >= 3
    finally:
        admin.close()
    for _ in range(4):
        client.create_model_version("ended", SOURCE)  # raises on any error answer
    assert sorted(_delivered_versions(receiver, expected=4), key=int) == ["1", "2", "3", "4"]


WORKER_TIMEOUT = 2  # seconds; the outage below lasts several times as long


@pytest.mark.parametrize("server", [{"PODIUM_WORKER_TIMEOUT": str(WORKER_TIMEOUT)}], indirect=True)
def test_a_worker_started_while_postgres_is_away_waits_for_it(server, cluster):
    """gunicorn stops the whole server when a worker fails to boot: one replaced during the
    outage must wait for the database instead, and serve once it is back. gunicorn times a
    worker out only after its first heartbeat, which comes once it serves, so a wait longer
    than PODIUM_WORKER_TIMEOUT is not taken for a hung worker (and replaced again)."""
    import signal

    client = MlflowClient(tracking_uri=server.url, registry_uri=server.url)
    client.create_registered_model("respawned")
    dispatcher = server.dispatcher_pid()
    workers = [pid for pid in _children(server.process.pid) if pid != dispatcher]
    assert len(workers) == 2

    cluster.stop()
    os.kill(workers[0], signal.SIGKILL)  # gunicorn starts a new worker, which cannot set up
    deadline = time.monotonic() + 30
    while "waiting for it" not in server.log.read_text():
        assert time.monotonic() < deadline, server.log.read_text()
        time.sleep(0.05)
    _assert_unavailable(_create_version(server, "respawned"))  # the other worker answers
    time.sleep(3 * WORKER_TIMEOUT)
    assert "WORKER TIMEOUT" not in server.log.read_text()
    assert server.log.read_text().count("waiting for it") == 1

    cluster.start()
    _recover(server, "respawned")
    deadline = time.monotonic() + 30
    while "the database answers after" not in server.log.read_text():
        assert time.monotonic() < deadline, server.log.read_text()
        time.sleep(0.05)
    assert server.process.poll() is None  # the master still runs
    replaced = [pid for pid in _children(server.process.pid) if pid != dispatcher]
    assert len(replaced) == 2 and workers[0] not in replaced
    for _ in range(6):  # whichever worker takes them
        assert client.get_registered_model("respawned").name == "respawned"
