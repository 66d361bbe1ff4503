"""The parts of hooks/ that need no live server: signals, vetoes, the outbox, egress, receiving."""

import json
import time

import pytest
from standardwebhooks import Webhook as StandardWebhook

from hooks import signals
from hooks.dispatcher import send_once
from hooks.egress import EgressDenied, check_url
from hooks.receiver import InvalidDelivery, receiver_blueprint, verify
from registry.errors import PolicyViolation
from registry.store.db import db
from registry.store.tables.webhooks import Delivery, Webhook

API = "/api/2.0/mlflow"
SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYg=="


@pytest.fixture
def app(app):
    app.config.update(
        PODIUM_WEBHOOK_ALLOWED_SCHEMES=["http", "https"],
        PODIUM_WEBHOOK_ALLOWED_NETWORKS=["127.0.0.0/8"],
    )
    return app


@pytest.fixture
def webhook(client):
    response = client.post(
        API + "/webhooks",
        json={
            "name": "all",
            "url": "http://127.0.0.1:9/hook",
            "secret": SECRET,
            "events": [
                {"entity": e, "action": a}
                for e, a in [
                    ("MODEL_VERSION", "CREATED"),
                    ("MODEL_VERSION_ALIAS", "CREATED"),
                    ("MODEL_VERSION", "STAGE_TRANSITIONED"),
                ]
            ],
        },
    )
    assert response.status_code == 200, response.json
    return response.json["webhook"]


def _post(client, path, body):
    return client.post(API + path, json=body)


def _deliveries():
    with db.connection_context():
        return [(d.event_type, json.loads(d.body)["data"]) for d in Delivery.select()]


@pytest.fixture
def seeded(client):
    _post(client, "/registered-models/create", {"name": "m"})
    _post(client, "/model-versions/create", {"name": "m", "source": "s3://b/m"})


def test_signals_are_sent_after_commit_with_the_domain_object(client, seeded):
    received = []

    def on_created(sender, **data):
        # After commit: another connection already sees the row.
        received.append((sender.version, data, db.transaction_depth()))

    with signals.model_version_created.connected_to(on_created):
        _post(client, "/model-versions/create", {"name": "m", "source": "s3://b/m2"})
        _post(client, "/model-versions/create", {"name": "missing", "source": "s3://b/m"})
    assert received == [
        (
            2,
            {
                "name": "m",
                "version": "2",
                "source": "s3://b/m2",
                "run_id": None,
                "tags": {},
                "description": None,
            },
            0,
        )
    ]


def test_a_veto_fails_the_request_and_changes_nothing(client, seeded, webhook):
    def veto(sender, **data):
        raise PolicyViolation(f"no aliases on {data['name']} today")

    before = _deliveries()
    with signals.before_alias_set.connected_to(veto):
        response = _post(
            client, "/registered-models/alias", {"name": "m", "alias": "champion", "version": "1"}
        )
    assert response.status_code == 403
    assert response.json == {"error_code": "PERMISSION_DENIED", "message": "no aliases on m today"}
    model = client.get(API + "/registered-models/get", query_string={"name": "m"}).json
    assert model["registered_model"]["aliases"] == []
    assert _deliveries() == before


def test_stage_veto_sees_the_transition_and_blocks_it(client, seeded, webhook):
    seen = []

    def veto(sender, **data):
        seen.append(data)
        raise PolicyViolation("frozen")

    with signals.before_stage_transition.connected_to(veto):
        response = _post(
            client,
            "/model-versions/transition-stage",
            {
                "name": "m",
                "version": "1",
                "stage": "Production",
                "archive_existing_versions": True,
            },
        )
    assert response.status_code == 403
    assert seen == [
        {
            "name": "m",
            "version": "1",
            "from_stage": "None",
            "to_stage": "Production",
            "archive_existing_versions": True,
            "user": "",
        }
    ]
    version = client.get(API + "/model-versions/get", query_string={"name": "m", "version": "1"})
    assert version.json["model_version"]["current_stage"] == "None"
    assert [t for t, _ in _deliveries()] == []


def test_deliveries_commit_with_the_change_and_only_with_it(client, seeded, webhook):
    _post(client, "/model-versions/create", {"name": "nope", "source": "s3://b/m"})  # 404
    _post(client, "/model-versions/create", {"name": "m", "source": "/etc/passwd"})  # 400
    _post(client, "/model-versions/create", {"name": "m", "source": "s3://b/m2"})
    assert [(t, d["version"]) for t, d in _deliveries()] == [("model_version.created", "2")]


def test_a_webhook_change_applies_to_the_next_event(client, seeded, webhook):
    client.patch(f"{API}/webhooks/{webhook['webhook_id']}", json={"status": "DISABLED"})
    _post(client, "/model-versions/create", {"name": "m", "source": "s3://b/2"})
    client.patch(f"{API}/webhooks/{webhook['webhook_id']}", json={"status": "ACTIVE"})
    _post(client, "/model-versions/create", {"name": "m", "source": "s3://b/3"})
    assert [d["version"] for _, d in _deliveries()] == ["3"]


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost/x",
        "http://2130706433/x",
        "http://0x7f000001/x",
        "http://0177.0.0.1/x",
        "http://127.1/x",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://[::ffff:7f00:1]/x",
        "http://[64:ff9b::7f00:1]/x",
        "http://[2002:7f00:1::]/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[fd00:ec2::254]/x",
        "http://10.0.0.1/x",
        "http://192.168.1.1/x",
        "http://172.16.0.1/x",
        "http://100.64.0.1/x",
        "http://0.0.0.0/x",
        "http://[fe80::1]/x",
        "http://[::]/x",
        "http://224.0.0.1/x",
        "http://0/x",
    ],
)
def test_private_addresses_are_refused_in_any_spelling(url):
    with pytest.raises(EgressDenied):
        check_url(url, allowed_schemes=["http", "https"], allowed_networks=[])


# Non-global addresses in spellings that Python's is_global calls global, or that embed an
# internal IPv4 address; each is refused at creation and again on connecting.
NON_GLOBAL = [
    "::127.0.0.1",  # IPv4-compatible (deprecated ::/96)
    "::7f00:1",
    "::a9fe:a9fe",  # 169.254.169.254, IPv4-compatible
    "::808:808",  # even a public IPv4 address: no stack routes ::/96 any more
    "fec0::1",  # site-local (deprecated)
    "fec0:0:0:ffff::1",
    "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
    "64:ff9b:1::808:808",  # local-use NAT64
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    "2001:db8::1",  # documentation
    "3fff::1",  # documentation (RFC 9637)
    "100::1",  # discard-only
    "ff05::1",  # multicast
    "fc00::1",  # unique local
    "::ffff:a9fe:a9fe",  # IPv4-mapped metadata address
    "198.18.0.1",  # benchmarking
    "192.0.2.1",  # documentation
    "240.0.0.1",  # reserved
    "255.255.255.255",
]


def _literal(address: str) -> str:
    return f"[{address}]" if ":" in address else address


@pytest.mark.parametrize("address", NON_GLOBAL)
def test_non_global_addresses_are_refused_at_creation(address):
    with pytest.raises(EgressDenied, match="not public"):
        check_url(
            f"https://{_literal(address)}/x",
            allowed_schemes=["https"],
            allowed_networks=["127.0.0.0/8"],
        )


@pytest.mark.parametrize("address", NON_GLOBAL)
def test_non_global_addresses_are_refused_when_connecting(address, monkeypatch):
    """Allowed at creation (loopback, via PODIUM_WEBHOOK_ALLOWED_NETWORKS), the host later
    resolves to a non-global spelling: the connection is refused before any packet is sent."""
    import socket

    real, answer = socket.getaddrinfo, ["127.0.0.1"]

    def getaddrinfo(host, *args, **kwargs):
        if host != "hook.test":
            return real(host, *args, **kwargs)
        if ":" in answer[0]:
            return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (answer[0], 8080, 0, 0))]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer[0], 8080))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    url = "http://hook.test:8080/x"
    check_url(url, allowed_schemes=["http"], allowed_networks=["127.0.0.0/8"])
    answer[0] = address
    connected = []
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: connected.append(a))
    webhook = Webhook(id="w", url=url, secret=SECRET, previous_secret=None)
    attempt = send_once(
        webhook,
        "msg_1",
        "{}",
        settings={"PODIUM_WEBHOOK_TIMEOUT": 2, "PODIUM_WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.0/8"]},
    )
    assert attempt.response_status is None and "egress denied" in attempt.error
    assert "not public" in attempt.error and connected == []


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.216.34/a b",
        "https://93.184.216.34/a\tb",  # urlsplit would silently drop the tab
        "https://93.184.216.34/x\r\nX-Injected: 1",
        "https://93.184.216.34/\x00",
        "https://93.184.216.34/\x7f",
        " https://93.184.216.34/x",
        "https://exa mple.com/x",
        "https://93.184.216.34/caf\u00e9",
        "https://93.184.216.34/\u200bx",
        "https://93.184.216.34/x\\y",
        'https://93.184.216.34/"x"',
        "https://93.184.216.34/<x>",
        "https://93.184.216.34/%zz",
        "https://93.184.216.34/x%4",
    ],
)
def test_urls_with_characters_invalid_in_a_url_are_refused(url):
    with pytest.raises(EgressDenied, match="Invalid webhook URL"):
        check_url(url, allowed_schemes=["https"], allowed_networks=[])


def test_public_addresses_in_ipv6_spellings_pass():
    for address in ["2606:4700:4700::1111", "::ffff:93.184.216.34", "64:ff9b::5db8:d822"]:
        check_url(f"https://[{address}]/x", allowed_schemes=["https"], allowed_networks=[])


@pytest.mark.parametrize(
    "url, schemes, says",
    [
        ("http://93.184.216.34/x", ["https"], "scheme"),
        ("ftp://93.184.216.34/x", ["ftp", "https"], "HTTP"),
        ("file:///etc/passwd", ["https"], "scheme"),
        ("https://user:pw@93.184.216.34/x", ["https"], "user names"),
        ("https://93.184.216.34@127.0.0.1/x", ["https"], "user names"),
        ("https:///x", ["https"], "no host"),
        ("https://93.184.216.34:99999/x", ["https"], "port"),
    ],
)
def test_malformed_or_forbidden_urls_are_refused(url, schemes, says):
    with pytest.raises(EgressDenied, match=says):
        check_url(url, allowed_schemes=schemes, allowed_networks=[])


def test_public_addresses_and_allowed_networks_pass():
    check_url("https://93.184.216.34/hook", allowed_schemes=["https"], allowed_networks=[])
    check_url(
        "http://10.1.2.3:8080/hook", allowed_schemes=["http"], allowed_networks=["10.0.0.0/8"]
    )


def test_the_address_is_checked_again_when_connecting(tmp_path):
    """A webhook stored while loopback was allowed is not sent once the policy forbids it."""
    from receivers import Receiver

    receiver = Receiver()
    try:
        webhook = Webhook(id="w", url=receiver.url, secret=SECRET, previous_secret=None)
        attempt = send_once(
            webhook,
            "msg_1",
            "{}",
            settings={"PODIUM_WEBHOOK_TIMEOUT": 2, "PODIUM_WEBHOOK_ALLOWED_NETWORKS": []},
        )
        assert attempt.response_status is None and "egress denied" in attempt.error
        assert not attempt.retryable
        assert receiver.received == []
        allowed = send_once(
            webhook,
            "msg_2",
            "{}",
            settings={
                "PODIUM_WEBHOOK_TIMEOUT": 2,
                "PODIUM_WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.1/32"],
            },
        )
        assert allowed.response_status == 200
    finally:
        receiver.close()


def _signed(secret, body, message_id="msg_1", at=None):
    timestamp = at or time.time()
    from datetime import UTC, datetime

    signature = StandardWebhook(secret).sign(
        message_id, datetime.fromtimestamp(timestamp, UTC), body
    )
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": signature,
    }


def test_receiver_verify_accepts_what_standard_webhooks_signs():
    body = json.dumps({"type": "model_version.created", "data": {"name": "m"}})
    assert verify(SECRET, _signed(SECRET, body), body.encode())["data"] == {"name": "m"}


@pytest.mark.parametrize("change", ["body", "secret", "stale", "missing"])
def test_receiver_verify_refuses_forgeries(change):
    body = json.dumps({"type": "x"})
    headers = _signed(SECRET, body, at=time.time() - 3600 if change == "stale" else None)
    if change == "body":
        body = body.replace("x", "y")
    if change == "secret":
        headers = _signed("whsec_" + "b3RoZXItb3RoZXItb3RoZXItb3RoZXItMzJieXRl", body)
    if change == "missing":
        del headers["webhook-signature"]
    with pytest.raises(InvalidDelivery):
        verify(SECRET, headers, body.encode())


def test_receiver_blueprint_hands_each_delivery_on_once():
    from flask import Flask

    handled = []
    app = Flask(__name__)
    app.register_blueprint(receiver_blueprint(secret=SECRET, handle=lambda e, i: handled.append(i)))
    client = app.test_client()
    body = json.dumps({"type": "model_version.created", "data": {}})
    headers = _signed(SECRET, body, message_id="msg_dup")
    for _ in range(2):
        response = client.post("/podium-webhook", data=body, headers=headers)
        assert response.status_code == 204
    forged = client.post("/podium-webhook", data=body + " ", headers=headers)
    assert forged.status_code == 400
    assert handled == ["msg_dup"]


def test_kept_connections_are_reused_and_replaced_when_the_receiver_drops_them():
    """Keep-alive: one connection for many deliveries; a silently dropped one is replaced."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from hooks.dispatcher import KeptConnections

    connections, bodies = [], []

    class KeepAliveHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            super().setup()
            connections.append(self.client_address)

        def do_POST(self):
            bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            # After the second delivery, drop the connection without saying so.
            self.close_connection = len(bodies) == 2

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), KeepAliveHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        webhook = Webhook(id="w", url=url, secret=SECRET, previous_secret=None)
        settings = {
            "PODIUM_WEBHOOK_TIMEOUT": 2,
            "PODIUM_WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.1/32"],
        }
        kept = KeptConnections()
        statuses = [
            send_once(
                webhook, f"msg_{i}", json.dumps({"n": i}), settings=settings, kept=kept
            ).response_status
            for i in range(4)
        ]
        assert statuses == [204, 204, 204, 204]
        assert [json.loads(b)["n"] for b in bodies] == [0, 1, 2, 3]
        assert len(connections) == 2  # one for the first two, a fresh one after the drop
    finally:
        server.shutdown()
        server.server_close()
