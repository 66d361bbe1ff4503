"""Transition requests, approvals, comments, stage permissions, protected stages and aliases,
through the Flask test client with authentication on (PODIUM_AUTH=basic).

The real MLflow client, webhooks and races against real gunicorn are in test_approvals_live.py.
"""

import re

import pytest

from hooks import signals
from registry.errors import PolicyViolation

API = "/api/2.0/mlflow"
API3 = "/api/3.0/mlflow"
PODIUM = "/api/2.0/podium"
ADMIN = ("admin", "admin-password")
SOURCE = "s3://models/approvals/1"
MODEL = "fraud"


@pytest.fixture
def app(database_url, tmp_path):
    from registry import create_app

    return create_app(
        {
            "TESTING": True,
            "PODIUM_DATABASE_URL": database_url,
            "PODIUM_ARTIFACTS_DESTINATION": str(tmp_path / "artifacts"),
            "PODIUM_AUTH": "basic",
            "PODIUM_ADMIN_USERNAME": ADMIN[0],
            "PODIUM_ADMIN_PASSWORD": ADMIN[1],
            "PODIUM_PROTECTED_ALIASES": ["champion"],
            "PODIUM_WEBHOOK_ALLOWED_SCHEMES": ["http"],
            "PODIUM_WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.0/8"],
        }
    )


@pytest.fixture
def call(client):
    def call(auth, method, path, body=None, **query):
        response = client.open(
            path, method=method, json=body, query_string=query or None, auth=auth
        )
        return response.status_code, response.json

    return call


@pytest.fixture
def ok(call):
    def ok(auth, method, path, body=None, **query):
        status, answer = call(auth, method, path, body, **query)
        assert status == 200, answer
        return answer

    return ok


@pytest.fixture
def team(ok):
    """A model with two versions; alice may EDIT, bob may approve Production, carol Staging."""
    ok(ADMIN, "POST", f"{API}/registered-models/create", {"name": MODEL})
    for _ in range(2):
        ok(ADMIN, "POST", f"{API}/model-versions/create", {"name": MODEL, "source": SOURCE})
    people = {}
    for name, permission in (
        ("alice", "EDIT"),
        ("bob", "MANAGE_PRODUCTION_VERSIONS"),
        ("carol", "MANAGE_STAGING_VERSIONS"),
        ("dave", "MANAGE_PRODUCTION_VERSIONS"),
    ):
        auth = (name, f"{name}-password")
        ok(ADMIN, "POST", f"{API}/users/create", {"username": name, "password": auth[1]})
        body = {
            "username": name,
            "resource_type": "registered_model",
            "resource_id": MODEL,
            "permission": permission,
        }
        ok(ADMIN, "POST", f"{API3}/users/permissions/grant", body)
        people[name] = auth
    return people


def _request(ok, auth, version="1", stage="Production", comment="please"):
    body = {"name": MODEL, "version": version, "stage": stage, "comment": comment}
    return ok(auth, "POST", f"{API}/transition-requests/create", body)["request"]


def _stage(ok, version="1"):
    found = ok(ADMIN, "GET", f"{API}/model-versions/get", name=MODEL, version=version)
    return found["model_version"]["current_stage"]


def _review(call, auth, action, version="1", stage="Production", **extra):
    body = {"name": MODEL, "version": version, "stage": stage, "comment": "ok", **extra}
    return call(auth, "POST", f"{API}/transition-requests/{action}", body)


def test_request_then_approval_by_another_user_moves_the_version(ok, call, team):
    request = _request(ok, team["alice"])
    assert request["to_stage"] == "Production" and request["user_id"] == "alice"
    assert request["available_actions"] == ["CANCEL_TRANSITION_REQUEST"]
    listed = ok(team["bob"], "GET", f"{API}/transition-requests/list", name=MODEL, version="1")
    assert listed["requests"][0]["available_actions"] == [
        "APPROVE_TRANSITION_REQUEST",
        "REJECT_TRANSITION_REQUEST",
    ]
    status, answer = _review(call, team["bob"], "approve", archive_existing_versions=True)
    assert status == 200, answer
    assert answer["activity"]["activity_type"] == "APPROVED_REQUEST"
    assert _stage(ok) == "Production"
    assert ok(ADMIN, "GET", f"{API}/transition-requests/list", name=MODEL, version="1") == {
        "requests": []
    }
    timeline = ok(
        team["alice"], "GET", f"{PODIUM}/model-versions/activities", name=MODEL, version="1"
    )
    kinds = [(a["activity_type"], a["user_id"]) for a in timeline["activities"]]
    assert kinds == [
        ("REQUESTED_TRANSITION", "alice"),
        ("APPROVED_REQUEST", "bob"),
        ("APPLIED_TRANSITION", "bob"),
    ]
    history = ok(ADMIN, "GET", f"{PODIUM}/registered-models/history", name=MODEL)
    assert [(h.get("to_stage"), h["user"]) for h in history["history"]] == [("Production", "bob")]


def test_the_requester_may_not_approve_their_own_request(ok, call, team):
    _request(ok, team["bob"])
    status, answer = _review(call, team["bob"], "approve")
    assert status == 403 and "separation of duties" in answer["message"]
    assert _stage(ok) == "None"
    assert _review(call, team["dave"], "approve")[0] == 200
    assert _stage(ok) == "Production"


def test_reviewers_need_the_stage_permission(ok, call, team):
    _request(ok, team["alice"])
    status, answer = _review(call, team["carol"], "approve")
    assert status == 403 and "MANAGE_PRODUCTION_VERSIONS" in answer["message"]
    _request(ok, team["alice"], stage="Staging")
    assert _review(call, team["carol"], "approve", stage="Staging")[0] == 200
    assert _stage(ok) == "Staging"


def test_reject_closes_the_request_and_leaves_the_version(ok, call, team):
    _request(ok, team["alice"])
    status, answer = _review(call, team["bob"], "reject")
    assert status == 200 and answer["activity"]["activity_type"] == "REJECTED_REQUEST"
    assert _stage(ok) == "None"
    assert _review(call, team["dave"], "approve")[0] == 404


def test_cancel_by_the_creator_or_a_manager_only(ok, call, team):
    _request(ok, team["alice"])
    body = {"name": MODEL, "version": "1", "stage": "Production", "creator": "alice"}
    status, answer = call(team["bob"], "DELETE", f"{API}/transition-requests/delete", body)
    assert status == 403, answer
    answer = ok(team["alice"], "DELETE", f"{API}/transition-requests/delete", body)
    assert answer["activity"]["activity_type"] == "CANCELLED_REQUEST"
    _request(ok, team["alice"])
    ok(ADMIN, "DELETE", f"{API}/transition-requests/delete", body)


def test_a_second_open_request_for_the_same_version_and_stage_is_refused(ok, call, team):
    _request(ok, team["alice"])
    body = {"name": MODEL, "version": "1", "stage": "Production"}
    status, answer = call(team["carol"], "POST", f"{API}/transition-requests/create", body)
    assert status == 400 and answer["error_code"] == "RESOURCE_ALREADY_EXISTS"
    _request(ok, team["alice"], stage="Staging")  # another stage is another request


def test_approving_a_request_whose_version_moved_or_was_deleted_changes_nothing(ok, call, team):
    _request(ok, team["alice"], version="1")
    _request(ok, team["alice"], version="2")
    body = {"name": MODEL, "version": "1", "stage": "Staging"}
    ok(ADMIN, "POST", f"{API}/model-versions/transition-stage", body)
    status, answer = _review(call, team["bob"], "approve")
    assert status == 409 and "moved to Staging" in answer["message"]
    assert _stage(ok) == "Staging"
    ok(ADMIN, "DELETE", f"{API}/model-versions/delete", {"name": MODEL, "version": "2"})
    status, answer = _review(call, team["bob"], "approve", version="2")
    assert status == 409 and "was deleted" in answer["message"]
    listed = ok(ADMIN, "GET", f"{API}/transition-requests/list", name=MODEL, version="2")
    assert len(listed["requests"]) == 1  # still open: the failed approval changed nothing


def test_a_protected_stage_refuses_direct_transitions_without_the_stage_permission(ok, call, team):
    body = {"name": MODEL, "version": "1", "stage": "Production"}
    status, answer = call(team["alice"], "POST", f"{API}/model-versions/transition-stage", body)
    assert status == 403 and answer["error_code"] == "PERMISSION_DENIED"
    assert "/api/2.0/mlflow/transition-requests/create" in answer["message"]
    staging = {**body, "stage": "Staging"}
    ok(team["alice"], "POST", f"{API}/model-versions/transition-stage", staging)  # unprotected
    ok(team["bob"], "POST", f"{API}/model-versions/transition-stage", body)
    assert _stage(ok) == "Production"


def test_a_model_policy_overrides_the_protected_stages_and_approvals_needed(ok, call, team):
    policy = {"name": MODEL, "protected_stages": ["Staging"], "approvals_required": 2}
    status, _ = call(team["alice"], "POST", f"{PODIUM}/registered-models/approval-policy", policy)
    assert status == 403
    answer = ok(ADMIN, "POST", f"{PODIUM}/registered-models/approval-policy", policy)
    assert answer["policy"]["protected_stages"] == ["Staging"]
    body = {"name": MODEL, "version": "1", "stage": "Production"}
    ok(team["alice"], "POST", f"{API}/model-versions/transition-stage", body)  # no longer protected
    body["stage"] = "Staging"
    status, _ = call(team["alice"], "POST", f"{API}/model-versions/transition-stage", body)
    assert status == 403
    _request(ok, team["alice"], version="2")
    assert _review(call, team["bob"], "approve", version="2")[0] == 200
    assert _stage(ok, "2") == "None"  # one of two approvals
    status, answer = _review(call, team["bob"], "approve", version="2")
    assert status == 400 and "already" in answer["message"]
    assert _review(call, team["dave"], "approve", version="2")[0] == 200
    assert _stage(ok, "2") == "Production"


def test_a_protected_alias_needs_manage_production_versions(ok, call, team):
    body = {"name": MODEL, "alias": "champion", "version": "1"}
    status, answer = call(team["alice"], "POST", f"{API}/registered-models/alias", body)
    assert status == 403 and "protected" in answer["message"]
    ok(team["alice"], "POST", f"{API}/registered-models/alias", {**body, "alias": "candidate"})
    ok(team["bob"], "POST", f"{API}/registered-models/alias", body)
    ok(team["bob"], "POST", f"{API}/registered-models/alias", {**body, "version": "2"})


def test_stage_permissions_are_granted_through_the_permission_api(ok, call, team):
    status, answer = call(
        ADMIN,
        "POST",
        f"{API}/registered-models/permissions/create",
        {"name": MODEL, "username": "alice", "permission": "BOGUS"},
    )
    assert status == 400 and "MANAGE_PRODUCTION_VERSIONS" in answer["message"]


def test_comments_edit_by_author_delete_by_author_or_manager(ok, call, team):
    body = {"name": MODEL, "version": "1", "comment": "Looks **good**"}
    comment = ok(team["alice"], "POST", f"{API}/comments/create", body)["comment"]
    assert comment["available_actions"] == ["EDIT_COMMENT", "DELETE_COMMENT"]
    update = {"id": comment["id"], "comment": "Looks great"}
    assert call(team["bob"], "PATCH", f"{API}/comments/update", update)[0] == 403
    assert ok(team["alice"], "PATCH", f"{API}/comments/update", update)["comment"]["comment"] == (
        "Looks great"
    )
    assert call(team["bob"], "DELETE", f"{API}/comments/delete", {"id": comment["id"]})[0] == 403
    timeline = ok(
        team["bob"], "GET", f"{PODIUM}/model-versions/activities", name=MODEL, version="1"
    )
    assert [a["activity_type"] for a in timeline["activities"]] == ["NEW_COMMENT"]
    ok(ADMIN, "DELETE", f"{API}/comments/delete", {"id": comment["id"]})
    assert call(ADMIN, "DELETE", f"{API}/comments/delete", {"id": comment["id"]})[0] == 404


def test_a_veto_signal_refuses_an_approval(ok, call, team):
    _request(ok, team["alice"])

    def veto(request, **data):
        raise PolicyViolation(f"change freeze: no {data['to_stage']} today")

    with signals.before_request_approval.connected_to(veto):
        status, answer = _review(call, team["bob"], "approve")
    assert status == 403 and "change freeze" in answer["message"]
    assert _stage(ok) == "None"


def test_events_are_sent_as_signals_after_commit(ok, call, team):
    seen = []

    def record(sender, **data):
        seen.append((data["event"], data.get("stage_event")))

    with (
        signals.transition_request_created.connected_to(record),
        signals.transition_request_approved.connected_to(record),
        signals.comment_created.connected_to(record),
    ):
        _request(ok, team["alice"])
        _review(call, team["bob"], "approve")
        ok(
            team["bob"],
            "POST",
            f"{API}/comments/create",
            {"name": MODEL, "version": "1", "comment": "x"},
        )
    assert seen == [
        ("TRANSITION_REQUEST_CREATED", "TRANSITION_REQUEST_TO_PRODUCTION_CREATED"),
        ("TRANSITION_REQUEST_APPROVED", "TRANSITION_REQUEST_TO_PRODUCTION_APPROVED"),
        ("COMMENT_CREATED", None),
    ]


def test_strangers_to_a_private_model_see_no_requests(ok, call, team):
    ok(ADMIN, "POST", f"{API}/users/create", {"username": "eve", "password": "eve-password"})
    body = {
        "username": "eve",
        "resource_type": "registered_model",
        "resource_id": MODEL,
        "permission": "NO_PERMISSIONS",
    }
    ok(ADMIN, "POST", f"{API3}/users/permissions/grant", body)
    status, _ = call(
        ("eve", "eve-password"), "GET", f"{API}/transition-requests/list", name=MODEL, version="1"
    )
    assert status == 404


# --- the web UI -----------------------------------------------------------------------------


def _form_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


def _signed_in(app, username, password):
    browser = app.test_client()
    page = browser.get("/sign-in?next=/")
    form = {
        "csrf_token": _form_token(page.get_data(as_text=True)),
        "username": username,
        "password": password,
        "next": "/",
    }
    assert browser.post("/sign-in", data=form).status_code in (302, 303)
    return browser


def _post_form(browser, path, **form):
    page = browser.get(path).get_data(as_text=True)
    return browser.post(path, data={"csrf_token": _form_token(page), **form})


def test_the_version_page_requests_and_a_reviewer_approves(app, ok, team):
    page = f"/models/{MODEL}/versions/1"
    alice = _signed_in(app, *team["alice"])
    answer = _post_form(
        alice, page, action="request_transition", stage="Production", comment="ship **it**"
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)
    html = alice.get(page).get_data(as_text=True)
    assert "Cancel request" in html and ">Approve<" not in html
    assert "<strong>it</strong>" in html  # the comment as Markdown in the activity
    assert "Version 1" in alice.get(f"/models/{MODEL}").get_data(as_text=True)

    bob = _signed_in(app, *team["bob"])
    assert f"{MODEL} v1" in bob.get("/requests").get_data(as_text=True)
    assert "Nothing waiting" in _signed_in(app, *team["carol"]).get("/requests").get_data(
        as_text=True
    )
    answer = _post_form(bob, page, action="approve", stage="Production", comment="lgtm")
    assert answer.status_code == 303, answer.get_data(as_text=True)
    assert _stage(ok) == "Production"
    html = bob.get(page).get_data(as_text=True)
    assert "approved request" in html and "applied transition" in html


def test_the_version_page_shows_a_refused_review_beside_its_form(app, ok, team):
    page = f"/models/{MODEL}/versions/1"
    bob = _signed_in(app, *team["bob"])
    _post_form(bob, page, action="request_transition", stage="Production")
    answer = _post_form(bob, page, action="approve", stage="Production")
    assert answer.status_code == 403
    assert "separation of duties" in answer.get_data(as_text=True)


def test_the_activity_feed_shows_requests_and_comments(app, ok, team):
    _request(ok, team["alice"], comment="for the launch")
    bob = _signed_in(app, *team["bob"])
    html = bob.get("/activity?kind=review").get_data(as_text=True)
    assert "requested transition: None → Production" in html and "for the launch" in html


def test_a_version_4_database_gets_the_approval_tables_from_step_5(database_url):
    from registry.store import migrations
    from registry.store.db import db, open_database
    from registry.store.tables import ALL_TABLES, SEEDS
    from registry.store.tables.approvals import APPROVAL_TABLES

    db.initialize(open_database(database_url))
    try:
        before_step_5 = [t for t in ALL_TABLES if t not in APPROVAL_TABLES]
        migrations.upgrade(before_step_5, SEEDS, migrations.MIGRATIONS[:4])
        assert migrations.upgrade(ALL_TABLES, SEEDS) == (4, migrations.LATEST_VERSION)
        with db.connection_context():
            assert migrations.missing_tables(ALL_TABLES) == []
    finally:
        db.close()


def test_request_events_are_filtered_by_model_and_stage_and_queued_in_the_outbox(app, ok, team):
    from registry.store.db import db
    from registry.store.tables.webhooks import Delivery

    hook = {
        "name": "prod-requests",
        "url": "http://127.0.0.1:9/hook",
        "events": [{"entity": "TRANSITION_REQUEST", "action": "CREATED"}],
        "model_names": [MODEL],
        "stages": ["Production"],
    }
    ok(ADMIN, "POST", f"{API}/webhooks", hook)
    _request(ok, team["alice"], stage="Staging")
    _request(ok, team["alice"], stage="Production")
    with db.connection_context():
        queued = [d.body for d in Delivery.select()]
    assert len(queued) == 1 and '"TRANSITION_REQUEST_TO_PRODUCTION_CREATED"' in queued[0]


def test_with_authentication_off_nothing_is_protected(database_url, tmp_path):
    from registry import create_app

    open_app = create_app(
        {
            "TESTING": True,
            "PODIUM_DATABASE_URL": database_url,
            "PODIUM_ARTIFACTS_DESTINATION": str(tmp_path / "artifacts"),
            "PODIUM_AUTH": "none",
            "PODIUM_PROTECTED_ALIASES": ["champion"],
        }
    )
    client = open_app.test_client()

    def post(path, body):
        response = client.post(API + path, json=body)
        assert response.status_code == 200, response.json
        return response.json

    post("/registered-models/create", {"name": MODEL})
    post("/model-versions/create", {"name": MODEL, "source": SOURCE})
    post("/model-versions/transition-stage", {"name": MODEL, "version": "1", "stage": "Production"})
    post("/registered-models/alias", {"name": MODEL, "alias": "champion", "version": "1"})
    asked = post(
        "/transition-requests/create", {"name": MODEL, "version": "1", "stage": "Archived"}
    )
    assert "APPROVE_TRANSITION_REQUEST" in asked["request"]["available_actions"]
    post("/transition-requests/approve", {"name": MODEL, "version": "1", "stage": "Archived"})


def test_comments_on_the_version_page_are_added_edited_and_deleted_by_their_author(app, ok, team):
    page = f"/models/{MODEL}/versions/1"
    alice = _signed_in(app, *team["alice"])
    assert _post_form(alice, page, action="comment", comment="first *take*").status_code == 303
    timeline = ok(ADMIN, "GET", f"{PODIUM}/model-versions/activities", name=MODEL, version="1")
    comment_id = timeline["activities"][0]["id"]
    bob = _signed_in(app, *team["bob"])
    assert "Edit comment" not in bob.get(page).get_data(as_text=True)
    refused = _post_form(bob, page, action="edit_comment", id=comment_id, comment="mine now")
    assert refused.status_code == 403
    answer = _post_form(alice, page, action="edit_comment", id=comment_id, comment="second take")
    assert answer.status_code == 303
    assert "second take" in alice.get(page).get_data(as_text=True)
    assert _post_form(alice, page, action="delete_comment", id=comment_id).status_code == 303
    assert "No activity yet" in alice.get(page).get_data(as_text=True)
