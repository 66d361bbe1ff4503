"""Slow clients against a real gunicorn with Podium's default worker settings: a handful of
sockets that announce a body and stall cannot stop the service answering, and each is cut off
with an MLflow-style 408 once it has been silent for PODIUM_CLIENT_TIMEOUT."""

import json
import socket
import time

import pytest
import requests

CREATE = "/api/2.0/mlflow/registered-models/create"


def _stalled_request(server, path: str = CREATE) -> socket.socket:
    """A socket that sent complete headers for a 1 MB body, then four bytes of it."""
    client = socket.create_connection(("127.0.0.1", server.port))
    client.sendall(
        f"POST {path} HTTP/1.1\r\nHost: podium\r\nContent-Type: application/json\r\n"
        'Content-Length: 1000000\r\n\r\n{"na'.encode()
    )
    return client


def _response(client: socket.socket, timeout: float) -> bytes:
    """What the server sent back until it closed the connection."""
    client.settimeout(timeout)
    data = b""
    while chunk := client.recv(65536):
        data += chunk
    return data


@pytest.fixture
def server(live_server_factory):
    return live_server_factory(env={"PODIUM_CLIENT_TIMEOUT": "2"})


def test_a_handful_of_stalled_clients_do_not_stop_the_service(server):
    stalled = [_stalled_request(server) for _ in range(6)]
    time.sleep(0.5)  # let the workers take them
    try:
        assert requests.get(server.url + "/health", timeout=5).status_code == 200
        created = requests.post(server.url + CREATE, json={"name": "still-served"}, timeout=5)
        assert created.status_code == 200, created.text
    finally:
        for client in stalled:
            client.close()


def test_a_stalled_client_is_answered_408_in_mlflows_shape_and_cut_off(server):
    client = _stalled_request(server)
    started = time.monotonic()
    answer = _response(client, timeout=30)  # returns once the server closes the connection
    waited = time.monotonic() - started
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer[:300]
    assert json.loads(body)["error_code"] == "BAD_REQUEST"
    assert "sent nothing for 2 seconds" in json.loads(body)["message"]
    assert waited >= 1.5  # the timeout, not an immediate refusal
    # Nothing was created from the four bytes it did send.
    search = requests.get(server.url + "/api/2.0/mlflow/registered-models/search", timeout=5)
    assert search.json().get("registered_models", []) == []


def test_more_stalled_clients_than_threads_wait_only_until_they_are_cut_off(server):
    stalled = [_stalled_request(server) for _ in range(12)]  # 2 workers x 4 threads = 8
    try:
        # Answered once the first stalled ones time out, well before the client gives up.
        assert requests.get(server.url + "/health", timeout=15).status_code == 200
    finally:
        for client in stalled:
            client.close()


def test_a_slow_but_steady_body_is_served(server):
    body = json.dumps({"name": "steady", "description": "d" * 100}).encode()
    client = socket.create_connection(("127.0.0.1", server.port))
    client.sendall(
        f"POST {CREATE} HTTP/1.1\r\nHost: podium\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
    )
    for start in range(0, len(body), len(body) // 3 + 1):  # each pause under the timeout
        client.sendall(body[start : start + len(body) // 3 + 1])
        time.sleep(1)
    answer = _response(client, timeout=10)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
    client.close()


def test_a_new_connection_goes_to_a_worker_with_a_free_thread(live_server_factory):
    # 2 workers x 2 threads, 3 held by stalled clients: one thread is free, and every new
    # connection must reach it, not queue behind a worker whose threads are all stalled. Plain
    # gthread accepts wherever it is quickest, and most of ten tries would wait out the stall.
    server = live_server_factory(env={"PODIUM_CLIENT_TIMEOUT": "6", "PODIUM_THREADS": "2"})
    stalled = []
    try:
        for _ in range(3):
            stalled.append(_stalled_request(server))
            time.sleep(0.3)  # taken by a thread before the next arrives
        for attempt in range(10):
            started = time.monotonic()
            answer = requests.get(
                server.url + "/health", timeout=10, headers={"Connection": "close"}
            )
            waited = time.monotonic() - started
            assert answer.status_code == 200
            assert waited < 2, f"request {attempt} waited {waited:.1f} s behind stalled clients"
    finally:
        for client in stalled:
            client.close()
