"""Approvals against real gunicorn with real users (PODIUM_AUTH=basic): a request approved by a
second user moves the version, is in the history and activity, and reaches a webhook receiver
signed; the real MLflow client meets protected stages and aliases; racing approvals leave one
version in Production."""

import os
import shutil
import threading
from contextlib import contextmanager

import pytest
import requests
from conftest import LiveServer, fresh_database
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from receivers import Receiver
from standardwebhooks import Webhook as StandardWebhook

API = "/api/2.0/mlflow"
PODIUM = "/api/2.0/podium"
ADMIN = ("admin", "admin-password")
SOURCE = "s3://models/approvals-live/1"
SECRET = "whsec_" + "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTMyYg=="
PEOPLE = {"alice": "EDIT", "bob": "MANAGE_PRODUCTION_VERSIONS"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("approvals-server")
    env = {
        "PODIUM_AUTH": "basic",
        "PODIUM_ADMIN_USERNAME": ADMIN[0],
        "PODIUM_ADMIN_PASSWORD": ADMIN[1],
        "PODIUM_PROTECTED_ALIASES": "champion",
        "PODIUM_WEBHOOK_ALLOWED_SCHEMES": "http,https",
        "PODIUM_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "PODIUM_DISPATCH_POLL_MS": "10",
    }
    with fresh_database(directory) as url:
        live = LiveServer(url, directory, env=env).start()
        for name in PEOPLE:
            _ok(live, ADMIN, "POST", "/users/create", {"username": name, "password": name * 3})
        yield live
        live.stop()


def _ok(server, auth, method, path, body=None, prefix=API, **query):
    response = requests.request(
        method, server.url + prefix + path, json=body, params=query or None, auth=auth
    )
    assert response.status_code == 200, response.text
    return response.json()


def _call(server, auth, method, path, body=None):
    return requests.request(method, server.url + API + path, json=body, auth=auth)


def _who(name):
    return (name, name * 3)


def _model(server, name, versions=1):
    _ok(server, ADMIN, "POST", "/registered-models/create", {"name": name})
    for _ in range(versions):
        _ok(server, ADMIN, "POST", "/model-versions/create", {"name": name, "source": SOURCE})
    for user, permission in PEOPLE.items():
        body = {"name": name, "username": user, "permission": permission}
        _ok(server, ADMIN, "POST", "/registered-models/permissions/create", body)


@contextmanager
def _client(server, user: str):
    """The MLflow client signed in as `user`, the way a user does it: environment variables."""
    keys = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
    saved = {key: os.environ.get(key) for key in keys}
    os.environ.update(dict(zip(keys, _who(user), strict=True)))
    try:
        yield MlflowClient(tracking_uri=server.url, registry_uri=server.url)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def test_request_approved_by_a_second_user_moves_the_version_and_is_delivered(server):
    receiver = Receiver()
    try:
        _model(server, "live-approve")
        events = [
            {"entity": "TRANSITION_REQUEST", "action": action} for action in ("CREATED", "APPROVED")
        ] + [{"entity": "MODEL_VERSION", "action": "STAGE_TRANSITIONED"}]
        hook = {
            "name": "approvals",
            "url": receiver.url,
            "events": events,
            "secret": SECRET,
            "model_names": ["live-approve"],
        }
        _ok(server, ADMIN, "POST", "/webhooks", hook)
        ask = {"name": "live-approve", "version": "1", "stage": "Production", "comment": "ship"}
        _ok(server, _who("alice"), "POST", "/transition-requests/create", ask)
        refused = _call(server, _who("alice"), "POST", "/transition-requests/approve", ask)
        assert refused.status_code == 403  # alice is no reviewer, and it is her own request
        _ok(server, _who("bob"), "POST", "/transition-requests/approve", {**ask, "comment": "lgtm"})

        got = _ok(server, ADMIN, "GET", "/model-versions/get", name="live-approve", version="1")
        assert got["model_version"]["current_stage"] == "Production"
        activity = _ok(
            server,
            ADMIN,
            "GET",
            "/model-versions/activities",
            prefix=PODIUM,
            name="live-approve",
            version="1",
        )
        assert [a["activity_type"] for a in activity["activities"]] == [
            "REQUESTED_TRANSITION",
            "APPROVED_REQUEST",
            "APPLIED_TRANSITION",
        ]
        history = _ok(
            server, ADMIN, "GET", "/registered-models/history", prefix=PODIUM, name="live-approve"
        )
        assert [(h["to_stage"], h["user"]) for h in history["history"]] == [("Production", "bob")]

        delivered = receiver.wait_for(3)
        bodies = [StandardWebhook(SECRET).verify(body, headers) for headers, body, _ in delivered]
        types = sorted(body["type"] for body in bodies)
        assert types == [
            "model_version.stage_transitioned",
            "transition_request.approved",
            "transition_request.created",
        ]
        created = next(b for b in bodies if b["type"] == "transition_request.created")
        assert created["data"]["event"] == "TRANSITION_REQUEST_CREATED"
        assert created["data"]["stage_event"] == "TRANSITION_REQUEST_TO_PRODUCTION_CREATED"
        assert created["data"]["requester"] == "alice"
    finally:
        receiver.close()


def test_reject_and_cancel_leave_the_version_where_it_was(server):
    _model(server, "live-reject")
    ask = {"name": "live-reject", "version": "1", "stage": "Production"}
    _ok(server, _who("alice"), "POST", "/transition-requests/create", ask)
    _ok(server, _who("bob"), "POST", "/transition-requests/reject", ask)
    _ok(server, _who("alice"), "POST", "/transition-requests/create", ask)
    _ok(server, _who("alice"), "DELETE", "/transition-requests/delete", {**ask, "creator": "alice"})
    got = _ok(server, ADMIN, "GET", "/model-versions/get", name="live-reject", version="1")
    assert got["model_version"]["current_stage"] == "None"


def test_the_mlflow_client_meets_protected_stages_and_aliases(server):
    _model(server, "live-protected")
    with _client(server, "alice") as client:
        with pytest.raises(MlflowException) as caught:
            client.transition_model_version_stage("live-protected", "1", "Production")
        assert caught.value.error_code == "PERMISSION_DENIED"
        assert "transition-requests/create" in caught.value.message
        client.transition_model_version_stage("live-protected", "1", "Staging")
        with pytest.raises(MlflowException) as caught:
            client.set_registered_model_alias("live-protected", "champion", "1")
        assert "protected" in caught.value.message
    with _client(server, "bob") as client:
        client.transition_model_version_stage("live-protected", "1", "Production")
        client.set_registered_model_alias("live-protected", "champion", "1")
        assert client.get_model_version_by_alias("live-protected", "champion").version == "1"


def test_racing_approvals_of_sixteen_versions_leave_one_in_production(server):
    count = 16
    _model(server, "live-race", versions=count)
    for version in range(1, count + 1):
        ask = {"name": "live-race", "version": str(version), "stage": "Production"}
        _ok(server, _who("alice"), "POST", "/transition-requests/create", ask)
    start = threading.Barrier(count)
    statuses = []

    def approve(version):
        body = {
            "name": "live-race",
            "version": str(version),
            "stage": "Production",
            "archive_existing_versions": True,
        }
        start.wait()
        statuses.append(_call(server, _who("bob"), "POST", "/transition-requests/approve", body))

    threads = [threading.Thread(target=approve, args=(v,)) for v in range(1, count + 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in statuses] == [200] * count, [r.text for r in statuses]
    found = _ok(
        server,
        ADMIN,
        "GET",
        "/registered-models/get-latest-versions",
        name="live-race",
        stages=["Production"],
    )
    production = [v for v in found["model_versions"] if v["current_stage"] == "Production"]
    assert len(production) == 1
    search = _ok(server, ADMIN, "GET", "/model-versions/search", filter="name='live-race'")
    stages = sorted(v["current_stage"] for v in search["model_versions"])
    assert stages == ["Archived"] * (count - 1) + ["Production"]


# --- the browser: two signed-in users ----------------------------------------------------------

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _sign_in(browser, server, user: str):
    context = browser.new_context(base_url=server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto("/sign-in?next=/requests")
    page.get_by_label("Username").fill(user)
    page.get_by_label("Password").fill(_who(user)[1])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(server.url + "/requests")
    return context, page, errors


@pytest.mark.skipif(shutil.which("chromium") is None, reason="needs chromium")
def test_a_request_in_the_browser_is_approved_by_a_second_user(server):
    from playwright.sync_api import sync_playwright

    _model(server, "live-browser")
    version_page = "/models/live-browser/versions/1"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            alice_context, alice, alice_errors = _sign_in(browser, server, "alice")
            alice.goto(version_page)
            alice.get_by_label("Request transition to").select_option("Production")
            alice.get_by_label("Request comment").fill("ready for prod")
            alice.get_by_role("button", name="Request transition").click()
            alice.wait_for_load_state()
            assert alice.get_by_role("button", name="Cancel request").is_visible()
            assert alice.get_by_role("button", name="Approve").count() == 0

            bob_context, bob, bob_errors = _sign_in(browser, server, "bob")
            bob.get_by_role("link", name="live-browser v1").click()
            bob.wait_for_url(server.url + version_page)
            bob.get_by_label("Review comment").fill("lgtm")
            bob.get_by_role("button", name="Approve").click()
            bob.wait_for_load_state()
            assert (
                "applied transition"
                in bob.locator("#activity ~ ol, section ol.activity").first.inner_text()
            )
            alice.reload()
            facts = alice.locator("dl.facts-grid").inner_text()
            assert "Production" in facts
            assert alice_errors == [] and bob_errors == []
            alice_context.close()
            bob_context.close()
        finally:
            browser.close()
    got = _ok(server, ADMIN, "GET", "/model-versions/get", name="live-browser", version="1")
    assert got["model_version"]["current_stage"] == "Production"
