"""Graceful drain: SIGTERM in the middle of a burst of deliveries loses none and sends none
twice. The dispatcher records every send in flight, claims nothing more and holds no lease
once stopped, so the next server sends the rest at once, not after a lease expires."""

import signal
import sqlite3
import time
from contextlib import closing
from urllib.parse import urlsplit

import requests
from receivers import Receiver

VERSIONS = 24
ENV = {
    "PODIUM_WEBHOOK_ALLOWED_SCHEMES": "http",
    "PODIUM_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    "PODIUM_DISPATCH_CONCURRENCY": "2",
    "PODIUM_DISPATCH_POLL_MS": "10",
    # Far above the test's length: a lease left behind would hold its delivery back.
    "PODIUM_WEBHOOK_TIMEOUT": "20",
}


def deliveries(database_url: str) -> list[tuple]:
    """(id, status, lease_owner) of every delivery, read straight from the database."""
    query = "SELECT id, status, lease_owner FROM delivery"
    if database_url.startswith("sqlite:"):
        with closing(sqlite3.connect(urlsplit(database_url).path[1:])) as connection:
            return connection.execute(query).fetchall()
    import psycopg2

    with closing(psycopg2.connect(database_url)) as connection, connection.cursor() as cursor:
        cursor.execute(query)
        return cursor.fetchall()


def test_sigterm_during_a_burst_of_deliveries_loses_none_and_sends_none_twice(
    live_server_factory, database_url
):
    receiver = Receiver(delay=0.4)  # two sends in flight most of the time
    try:
        first = live_server_factory(env=ENV)
        requests.post(
            first.url + "/api/2.0/mlflow/webhooks",
            json={
                "name": "drain",
                "url": receiver.url,
                "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}],
            },
            timeout=10,
        ).raise_for_status()
        requests.post(
            first.url + "/api/2.0/mlflow/registered-models/create",
            json={"name": "drained"},
            timeout=10,
        ).raise_for_status()
        for _ in range(VERSIONS):
            requests.post(
                first.url + "/api/2.0/mlflow/model-versions/create",
                json={"name": "drained", "source": "s3://models/drained/1"},
                timeout=10,
            ).raise_for_status()
        receiver.wait_for(4)

        first.process.send_signal(signal.SIGTERM)
        assert first.process.wait(timeout=60) == 0
        stopped = {headers["webhook-id"] for headers, _body, _t in receiver.wait_for(0)}
        rows = deliveries(database_url)
        assert len(rows) == VERSIONS
        # Every send made was recorded; nothing is leased to the stopped dispatcher.
        assert {id for id, status, _owner in rows if status == "succeeded"} == stopped
        assert all(owner is None for _id, _status, owner in rows)
        assert 0 < len(stopped) < VERSIONS, "the burst must straddle the SIGTERM"

        restarted = time.monotonic()
        live_server_factory(env=ENV)
        received = receiver.wait_for(VERSIONS, timeout=30)
        caught_up = time.monotonic() - restarted
        time.sleep(1.0)  # a late duplicate would arrive meanwhile
        received = receiver.wait_for(0)
    finally:
        receiver.close()

    ids = [headers["webhook-id"] for headers, _body, _t in received]
    assert sorted(ids) == sorted(id for id, _status, _owner in rows)  # each exactly once
    print(
        f"\n{len(stopped)} of {VERSIONS} delivered before SIGTERM; the rest within "
        f"{caught_up:.1f} s of the restart"
    )
