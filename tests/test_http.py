"""HTTP details against a real gunicorn: 405 with Allow, gunicorn's own refusals as MLflow
JSON, HEAD and OPTIONS.

gunicorn refuses a malformed request line, an overlong one and oversized headers before any
route runs; those are sent over raw sockets, since an HTTP client would not send them.
"""

import json
import socket

import pytest
import requests

API = "/api/2.0/mlflow"


def raw_request(server, data: bytes) -> tuple[int, dict, bytes]:
    """Send bytes as they are; return the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def get_line(target: str, *headers: str) -> bytes:
    lines = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def assert_mlflow_json(status, headers, body, expected_status, error_code):
    assert status == expected_status, body
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    error = json.loads(body)
    assert error["error_code"] == error_code
    assert error["message"]


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("GET", f"{API}/registered-models/create", "OPTIONS, POST"),
        ("POST", f"{API}/registered-models/get", "GET, HEAD, OPTIONS"),
        ("TRACE", f"{API}/registered-models/get-latest-versions", "GET, HEAD, OPTIONS, POST"),
        ("PUT", f"{API}/registered-models/alias", "DELETE, GET, HEAD, OPTIONS, POST"),
    ],
)
def test_405_names_the_allowed_methods(shared_server, method, path, allowed):
    response = requests.request(method, shared_server.url + path, timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == allowed
    assert response.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    assert method in response.json()["message"]
