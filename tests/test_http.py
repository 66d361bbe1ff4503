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


@pytest.mark.parametrize(
    "request_bytes, status, error_code",
    [
        (b"GARBAGE\r\n\r\n", 400, "BAD_REQUEST"),
        (b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n", 400, "BAD_REQUEST"),
        (b"G\x00T /health HTTP/1.1\r\nHost: x\r\n\r\n", 400, "BAD_REQUEST"),
        (get_line("/health?" + "a" * 9000), 414, "INVALID_PARAMETER_VALUE"),
        (get_line("/health", "X-Big: " + "b" * 9000), 431, "INVALID_PARAMETER_VALUE"),
        (get_line("/health", *(f"X-H{i}: v" for i in range(120))), 431, "INVALID_PARAMETER_VALUE"),
        (get_line("/health", "Bad Header: v"), 400, "BAD_REQUEST"),
    ],
    ids=[
        "bad-request-line",
        "bad-http-version",
        "nul-in-method",
        "request-line-too-long",
        "header-too-large",
        "too-many-headers",
        "bad-header-name",
    ],
)
def test_gunicorn_refusals_have_the_mlflow_error_shape(
    shared_server, request_bytes, status, error_code
):
    assert_mlflow_json(*raw_request(shared_server, request_bytes), status, error_code)


def test_a_long_filter_the_schemas_allow_reaches_podium(shared_server):
    # A 4,096-character filter (the schemas' limit) makes a request line past gunicorn's
    # default limit of 4094 bytes; Podium's own parser must be the one to answer.
    status, headers, body = raw_request(
        shared_server,
        get_line(f"{API}/registered-models/search?filter=name%3D%27{'x' * 4080}%27"),
    )
    assert status == 200, body
    assert json.loads(body) == {"registered_models": []}


@pytest.mark.parametrize(
    "path, status",
    [
        ("/health", 200),
        (f"{API}/registered-models/search", 200),
        (f"{API}/registered-models/get?name=nobody", 404),
        (f"{API}/registered-models/get", 400),
        ("/api/2.0/podium/openapi.json", 200),
    ],
)
def test_head_answers_like_get_without_a_body(shared_server, path, status):
    got = requests.get(shared_server.url + path, timeout=10)
    status_code, headers, body = raw_request(
        shared_server,
        f"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode(),
    )
    assert got.status_code == status_code == status
    assert headers["content-type"] == got.headers["Content-Type"]
    assert int(headers["content-length"]) == len(got.content)
    assert body == b""


@pytest.mark.parametrize(
    "path, allowed",
    [
        (f"{API}/registered-models/create", "OPTIONS, POST"),
        (f"{API}/registered-models/alias", "DELETE, GET, HEAD, OPTIONS, POST"),
        ("/health", "GET, HEAD, OPTIONS"),
    ],
)
def test_options_answers_200_with_allow(shared_server, path, allowed):
    response = requests.options(shared_server.url + path, timeout=10)
    assert response.status_code == 200
    assert sorted(response.headers["Allow"].split(", ")) == allowed.split(", ")
    assert response.content == b""


def test_options_on_an_unknown_route_is_the_json_404(shared_server):
    response = requests.options(shared_server.url + f"{API}/nope", timeout=10)
    assert response.status_code == 404
    assert response.json()["error_code"] == "ENDPOINT_NOT_FOUND"
