"""Log lines of a real server: one JSON object a line with PODIUM_LOG_FORMAT=json, readable text
by default, the request id in both, and never a secret, a token, a query string or a body."""

import json
import logging
import sys

import pytest
import requests

from registry.server.logs import JsonLines, RequestContext

WEBHOOK_SECRET = "whsec_" + "bG9nLXNlY3JldC1sb2ctc2VjcmV0LWxvZy1zZWNyZXQ="
TOKEN = "token-that-must-not-be-logged"
PASSWORD = "password-that-must-not-be-logged"


def _traffic(url: str) -> None:
    """Requests carrying secrets in each place a request can: header, query, body."""
    requests.post(
        url + "/api/2.0/mlflow/webhooks",
        json={
            "name": "logged",
            "url": "http://127.0.0.1:9/hook",  # never called: no event is made
            "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}],
            "secret": WEBHOOK_SECRET,
        },
        headers={"Authorization": f"Bearer {TOKEN}", "X-Request-Id": "log-line-1"},
        timeout=10,
    ).raise_for_status()
    missing = requests.get(
        url + "/api/2.0/mlflow/registered-models/get",
        params={"name": "absent", "password": PASSWORD},
        headers={"X-Request-Id": "log-line-2"},
        timeout=10,
    )
    assert missing.status_code == 404
    requests.post(
        url + "/api/2.0/mlflow/registered-models/create",
        data="{not json " + PASSWORD,
        headers={"Content-Type": "application/json", "X-Request-Id": "log-line-3"},
        timeout=10,
    )


@pytest.mark.parametrize("log_format", ["json", "text"])
def test_server_log_lines(live_server_factory, log_format):
    env = {
        "PODIUM_ACCESS_LOG": "-",
        "PODIUM_WEBHOOK_ALLOWED_SCHEMES": "http",
        "PODIUM_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    }
    if log_format == "json":  # text is the default
        env["PODIUM_LOG_FORMAT"] = "json"
    server = live_server_factory(env=env)
    _traffic(server.url)
    server.stop()
    text = server.log.read_text()
    for secret in (WEBHOOK_SECRET, TOKEN, PASSWORD):
        assert secret not in text
    lines = [line for line in text.splitlines() if line.strip()]
    if log_format == "json":
        records = [json.loads(line) for line in lines]  # every line, from every process
        assert {"gunicorn.error", "gunicorn.access", "hooks.dispatcher"} <= {
            r["logger"] for r in records
        }
        assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
        access = {r["request_id"]: r for r in records if r["logger"] == "gunicorn.access"}
        assert access["log-line-2"]["status"] == 404
        assert access["log-line-2"]["path"] == "/api/2.0/mlflow/registered-models/get"
        assert access["log-line-2"]["route"] == "/api/2.0/mlflow/registered-models/get"
        assert access["log-line-3"]["status"] == 400
    else:
        with pytest.raises(json.JSONDecodeError):
            json.loads(lines[0])
        (missing,) = [line for line in lines if "log-line-2" in line]
        assert '"GET /api/2.0/mlflow/registered-models/get HTTP/1.1" 404' in missing
        assert missing.endswith(" log-line-2")
        assert any("[INFO] hooks.dispatcher: webhook dispatcher" in line for line in lines)


def test_a_json_line_carries_the_exception_and_only_known_fields():
    record = logging.LogRecord("registry.x", logging.ERROR, __file__, 1, "failed %s", ("x",), None)
    record.body = "a request body"  # something a careless caller passed in `extra`
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    RequestContext().filter(record)
    line = json.loads(JsonLines().format(record))
    assert line["message"] == "failed x"
    assert line["level"] == "ERROR" and line["logger"] == "registry.x"
    assert "ValueError: boom" in line["exception"]
    assert "body" not in line and "request_id" not in line


def test_a_line_logged_during_a_request_names_its_route_and_user(app):
    from flask import g

    from registry.request_ids import current_request_id

    with app.test_request_context("/api/2.0/mlflow/registered-models/get?name=x"):
        app.preprocess_request()  # the request hooks: its id among them
        g.username = "ana"  # what the authentication gate sets
        record = logging.LogRecord("registry.x", logging.INFO, __file__, 1, "seen", (), None)
        RequestContext().filter(record)
        line = json.loads(JsonLines().format(record))
        assert line["request_id"] == current_request_id.get()
    assert line["user"] == "ana"
    assert line["route"] == "/api/2.0/mlflow/registered-models/get"
