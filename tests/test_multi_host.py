"""Two hosts, one PostgreSQL database, one artifact directory, and a dispatcher killed mid-stream.

Each "host" is a `podium serve` of its own (gunicorn master, workers, dispatcher) on its own
port. Writes race across both; one dispatcher is SIGKILLed while it holds leases; the other
must deliver everything, including what the dead one had claimed.
"""

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
import requests
from conftest import LiveServer
from mlflow import MlflowClient
from receivers import Receiver
from standardwebhooks import Webhook as StandardWebhook

SOURCE = "mlflow-artifacts:/1/0123456789abcdef0123456789abcdef/artifacts/model"
SETTINGS = {
    "PODIUM_WEBHOOK_ALLOWED_SCHEMES": "http,https",
    "PODIUM_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    # Short sends make short leases ((timeout * 3 + 5) s): a dead dispatcher's rows free up soon.
    "PODIUM_WEBHOOK_TIMEOUT": "1",
    "PODIUM_WEBHOOK_RETRY_SCHEDULE": "1,1,1,1,1",
    "PODIUM_DISPATCH_CONCURRENCY": "4",
}
THREADS, VERSIONS_EACH = 12, 4


def query(url: str, sql: str, *args) -> list[tuple]:
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(sql, args)
        return cursor.fetchall()


def race(count: int, action) -> list:
    """action(i) for i in range(count), on `count` threads released at the same instant."""
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        return action(i)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


@pytest.fixture
def hosts(postgres_database_url, tmp_path):
    """Two `podium serve` instances on different ports sharing a database and artifacts."""
    servers = [LiveServer(postgres_database_url, tmp_path, env=SETTINGS) for _ in range(2)]
    try:
        yield [server.start() for server in servers]
    finally:
        for server in servers:
            server.stop()


def test_two_hosts_share_the_registry_and_deliver_every_event_after_a_dispatcher_dies(
    hosts, postgres_database_url
):
    a, b = hosts
    assert a.workdir == b.workdir and a.port != b.port
    clients = [MlflowClient(tracking_uri=h.url, registry_uri=h.url) for h in hosts]
    receiver = Receiver(delay=0.2)  # slow, so deliveries are in flight when the kill comes
    created = requests.post(
        a.url + "/api/2.0/mlflow/webhooks",
        json={
            "name": "everything",
            "url": receiver.url,
            "events": [
                {"entity": "registered_model", "action": "created"},
                {"entity": "model_version", "action": "created"},
                {"entity": "model_version_alias", "action": "created"},
            ],
        },
    )
    assert created.status_code == 200, created.text
    secret = created.json()["secret"]
    clients[1].create_registered_model("shared")

    # Versions created from both hosts at once, while host A's dispatcher is killed.
    def create_versions(i):
        client = clients[i % 2]
        return [client.create_model_version("shared", SOURCE).version for _ in range(VERSIONS_EACH)]

    writing = ThreadPoolExecutor(1).submit(race, THREADS, create_versions)
    victim = a.dispatcher_pid()
    deadline = time.monotonic() + 60
    while not query(
        postgres_database_url,
        "SELECT 1 FROM delivery WHERE status = 'pending' AND lease_owner LIKE %s",
        f"%:{victim}:%",
    ):
        assert time.monotonic() < deadline, "host A's dispatcher never claimed a delivery"
        time.sleep(0.005)
    os.kill(victim, signal.SIGKILL)
    orphaned = {
        row[0]
        for row in query(
            postgres_database_url,
            "SELECT id FROM delivery WHERE status = 'pending' AND lease_owner LIKE %s",
            f"%:{victim}:%",
        )
    }
    assert orphaned, "the kill came when host A's dispatcher held no lease"
    created_versions = [v for batch in writing.result(timeout=120) for v in batch]

    # Racing promotions and alias moves, spread over both hosts.
    race(
        8,
        lambda i: clients[i % 2].transition_model_version_stage(
            "shared", str(i + 1), "Production", archive_existing_versions=True
        ),
    )
    race(8, lambda i: clients[i % 2].set_registered_model_alias("shared", "champion", str(i + 1)))

    # One artifact directory: uploaded through A, read back through B.
    path = "/api/2.0/mlflow-artifacts/artifacts/1/shared-run/artifacts/model.bin"
    payload = os.urandom(10_000)
    assert requests.put(a.url + path, data=payload).status_code == 200
    assert requests.get(b.url + path).content == payload

    # Versions: dense and unique across both hosts.
    expected = [str(n) for n in range(1, THREADS * VERSIONS_EACH + 1)]
    assert sorted(created_versions, key=int) == expected
    stored = clients[0].search_model_versions("name = 'shared'", max_results=1000)
    assert sorted((v.version for v in stored), key=int) == expected
    stages = [v.current_stage for v in stored]
    assert stages.count("Production") == 1
    assert stages.count("Archived") == 7
    holder = clients[1].get_model_version_by_alias("shared", "champion").version
    assert [v.version for v in stored if "champion" in v.aliases] == [holder]

    # Every event delivered at least once, signed with the webhook's secret: what host A's
    # dispatcher had claimed when it died too, by host B's dispatcher once the leases expired.
    events = 1 + THREADS * VERSIONS_EACH + 8
    deliveries = {row[0] for row in query(postgres_database_url, "SELECT id FROM delivery")}
    assert len(deliveries) == events
    deadline = time.monotonic() + 90
    while query(postgres_database_url, "SELECT 1 FROM delivery WHERE status <> 'succeeded'"):
        assert time.monotonic() < deadline, "deliveries still unsettled"
        time.sleep(0.2)
    received = receiver.wait_for(events)
    verifier = StandardWebhook(secret)
    for headers, body, _ in received:
        verifier.verify(body, headers)
    assert {headers["webhook-id"] for headers, _, _ in received} == deliveries
    settled_orphans = query(
        postgres_database_url,
        "SELECT count(*) FROM delivery WHERE id = ANY(%s) AND status = 'succeeded'",
        list(orphaned),
    )
    assert settled_orphans == [(len(orphaned),)]
    types = [event["type"] for event in receiver.events()]
    assert types.count("model_version.created") >= THREADS * VERSIONS_EACH
    # Host A still serves after losing its dispatcher; host B's dispatcher is still running.
    assert requests.get(a.url + "/health").text == "OK"
    os.kill(b.dispatcher_pid(), 0)
    receiver.close()
