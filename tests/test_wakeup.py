"""The dispatcher is woken by commits, not by its poll; cached subscriptions follow every change.

Each test runs on SQLite (an abstract Unix socket wakes the dispatcher) and on PostgreSQL
(LISTEN/NOTIFY), with real gunicorn servers and a real receiver on loopback. The safety poll
is set to a minute, so a delivery that arrives within a second was woken, not polled for.
"""

import statistics
import time

import pytest
import requests
from conftest import LiveServer, postgres_database, reachable_postgres
from receivers import Receiver

SOURCE = "s3://models/wake/1"
SLOW_POLL = {
    "PODIUM_WEBHOOK_ALLOWED_SCHEMES": "http",
    "PODIUM_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    "PODIUM_WEBHOOK_RETRY_SCHEDULE": "0.5,0.5",
    "PODIUM_DISPATCH_POLL_MS": "60000",
}
NO_DISPATCHER = {**SLOW_POLL, "PODIUM_DISPATCHER": "false"}


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'podium.db'}"
        return
    server = reachable_postgres()
    if not server:
        pytest.skip("needs PostgreSQL")
    with postgres_database(server) as database:
        yield database


@pytest.fixture
def servers(url, tmp_path):
    """Start servers on the test's database; all are stopped afterwards."""
    started = []

    def start(env, workers=2):
        server = LiveServer(url, tmp_path, workers=workers, env=env).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def call(server, method, path, body):
    response = requests.request(method, f"{server.url}/api/2.0/{path}", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def webhook(server, receiver, events, **extra):
    body = {
        "name": "wake",
        "url": receiver.url,
        "events": [{"entity": e.split(".")[0], "action": e.split(".")[1]} for e in events],
        **extra,
    }
    return call(server, "POST", "mlflow/webhooks", body)["webhook"]["webhook_id"]


def deliveries(server, webhook_id):
    return call(server, "GET", f"podium/webhooks/{webhook_id}/deliveries", None)["deliveries"]


def test_a_commit_wakes_the_dispatcher(servers, receiver):
    server = servers(SLOW_POLL)
    webhook(server, receiver, ["registered_model.created"])
    time.sleep(0.5)  # the dispatcher has looked once and sleeps for its minute-long poll
    latencies = []
    for i in range(10):
        call(server, "POST", "mlflow/registered-models/create", {"name": f"woken-{i}"})
        committed = time.time()
        arrived = receiver.wait_for(i + 1, timeout=5)[i][2]
        latencies.append(arrived - committed)
    print(f"commit to receiver: median {statistics.median(latencies) * 1000:.1f} ms")
    assert max(latencies) < 2, latencies


def test_a_retry_goes_out_when_due_not_at_the_next_poll(servers, receiver):
    server = servers(SLOW_POLL)
    webhook(server, receiver, ["registered_model.created"])
    receiver.answer(500)
    call(server, "POST", "mlflow/registered-models/create", {"name": "retried"})
    first, second = receiver.wait_for(2, timeout=10)
    assert 0.3 < second[2] - first[2] < 3  # the schedule's 0.5 s (jittered), not the 60 s poll


def test_a_redelivery_wakes_the_dispatcher(servers, receiver):
    server = servers(SLOW_POLL)
    hook = webhook(server, receiver, ["registered_model.created"])
    call(server, "POST", "mlflow/registered-models/create", {"name": "again"})
    receiver.wait_for(1, timeout=5)
    delivery = deliveries(server, hook)[0]["delivery_id"]
    time.sleep(0.5)
    call(server, "POST", f"podium/deliveries/{delivery}/redeliver", {})
    receiver.wait_for(2, timeout=5)


def test_webhook_changes_reach_another_server_with_warm_subscriptions(servers, receiver):
    admin = servers(NO_DISPATCHER)
    writer = servers(NO_DISPATCHER, workers=1)
    call(writer, "POST", "mlflow/registered-models/create", {"name": "warm-up"})  # cached: none

    def created_deliveries(hook, name):
        before = len(deliveries(admin, hook))
        call(writer, "POST", "mlflow/registered-models/create", {"name": name})
        return len(deliveries(admin, hook)) - before

    hook = webhook(admin, receiver, ["registered_model.created"])
    assert created_deliveries(hook, "after-create") == 1
    call(admin, "PATCH", f"mlflow/webhooks/{hook}", {"model_names": ["someone-else"]})
    assert created_deliveries(hook, "filtered-out") == 0
    call(admin, "PATCH", f"mlflow/webhooks/{hook}", {"model_names": []})
    assert created_deliveries(hook, "filter-removed") == 1
    call(admin, "PATCH", f"mlflow/webhooks/{hook}", {"status": "DISABLED"})
    assert created_deliveries(hook, "while-disabled") == 0
    call(admin, "PATCH", f"mlflow/webhooks/{hook}", {"status": "ACTIVE"})
    assert created_deliveries(hook, "re-enabled") == 1
    second = webhook(admin, receiver, ["registered_model.created"])
    call(admin, "DELETE", f"mlflow/webhooks/{hook}", None)
    assert created_deliveries(second, "after-delete") == 1


def test_a_webhook_the_dispatcher_disables_gets_no_more_deliveries(servers, receiver):
    server = servers(SLOW_POLL, workers=1)
    call(server, "POST", "mlflow/registered-models/create", {"name": "warm-up"})
    hook = webhook(server, receiver, ["registered_model.created"])
    receiver.answer(410)
    call(server, "POST", "mlflow/registered-models/create", {"name": "gone"})
    deadline = time.monotonic() + 10
    while call(server, "GET", f"mlflow/webhooks/{hook}", None)["webhook"]["status"] == "ACTIVE":
        assert time.monotonic() < deadline, "the dispatcher never disabled the webhook"
        time.sleep(0.05)
    call(server, "POST", "mlflow/registered-models/create", {"name": "after-gone"})
    assert len(deliveries(server, hook)) == 1
