"""Authentication and permissions (PODIUM_AUTH=basic) through the Flask test client: every route
gated, levels as MLflow's, searches filtered in the query, tokens, rate limits, timing.

The real MLflow client and AuthServiceClient against real gunicorn are in test_auth_live.py.
"""

import statistics
import time

import pytest

API = "/api/2.0/mlflow"
API3 = "/api/3.0/mlflow"
PODIUM = "/api/2.0/podium"
ADMIN = ("admin", "admin-password")
SOURCE = "s3://models/auth/1"

# Routes anyone may call: liveness, readiness (probes carry no credentials), the version, and
# the web UI's sign-in page.
PUBLIC = {
    "health.health",
    "health.ready",
    "health.server_version",
    "ui.sign_in",
    "ui.sign_in_submit",
    # A multipart upload's part URLs: the sealed token in the URL is the credential (as in a
    # presigned URL), since the MLflow client sends parts without its own.
    "artifacts.upload_part",
    "artifacts_ui.upload_part",
}


def _auth_app(database_url, tmp_path, **settings):
    from registry import create_app

    return create_app(
        {
            "TESTING": True,
            "PODIUM_DATABASE_URL": database_url,
            "PODIUM_ARTIFACTS_DESTINATION": str(tmp_path / "artifacts"),
            "PODIUM_AUTH": "basic",
            "PODIUM_ADMIN_USERNAME": ADMIN[0],
            "PODIUM_ADMIN_PASSWORD": ADMIN[1],
            "PODIUM_WEBHOOK_ALLOWED_SCHEMES": ["http"],
            "PODIUM_WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.0/8"],
            **settings,
        }
    )


@pytest.fixture
def app(database_url, tmp_path):
    return _auth_app(database_url, tmp_path)


@pytest.fixture
def call(client):
    """call(auth, method, path, body=None, **query) -> (status, json)."""

    def call(auth, method, path, body=None, headers=None, **query):
        response = client.open(
            path,
            method=method,
            json=body,
            query_string=query or None,
            auth=auth,
            headers=headers,
        )
        return response.status_code, response.json

    return call


@pytest.fixture
def ok(call):
    def ok(auth, method, path, body=None, **query):
        status, body = call(auth, method, path, body, **query)
        assert status == 200, body
        return body

    return ok


def _user(ok, name: str, password: str | None = None) -> tuple[str, str]:
    password = password or f"{name}-password"
    ok(ADMIN, "POST", f"{API}/users/create", {"username": name, "password": password})
    return name, password


def _grant(ok, user, resource_type, resource_id, permission):
    body = {
        "username": user[0],
        "resource_type": resource_type,
        "resource_id": resource_id,
        "permission": permission,
    }
    ok(ADMIN, "POST", f"{API3}/users/permissions/grant", body)


def _model(ok, name, versions=1, owner=ADMIN):
    ok(owner, "POST", f"{API}/registered-models/create", {"name": name})
    for _ in range(versions):
        ok(owner, "POST", f"{API}/model-versions/create", {"name": name, "source": SOURCE})


def _dummy(converter: str) -> str:
    return {"IntegerConverter": "1", "PathConverter": "0/a"}.get(converter, "x")


def test_every_route_declares_an_access_rule_and_refuses_strangers(app, client):
    """Route coverage: a new route without a decision fails here. Every rule but the public
    ones answers 401 with a Basic challenge to a request without credentials (a web UI page:
    a redirect to the sign-in page)."""
    undeclared, open_routes, unchallenged = [], [], []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        access = getattr(view, "access", None)
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue  # Flask's static files: public by the list in the issue
        if access is None:
            undeclared.append(rule.endpoint)
            continue
        if access.public:
            open_routes.append(rule.endpoint)
            continue
        kinds = {name: type(c).__name__ for name, c in rule._converters.items()}
        values = {name: _dummy(kind) for name, kind in kinds.items()}
        path = rule.build(values, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            if access.browser:
                location = response.headers.get("Location", "")
                refused = response.status_code == 303 and location.startswith("/sign-in?")
            else:
                challenge = response.headers.get("WWW-Authenticate", "")
                refused = response.status_code == 401 and "Basic" in challenge
            if not refused:
                unchallenged.append(f"{method} {path}: {response.status_code}")
    assert not undeclared, f"routes with no access rule: {undeclared}"
    assert set(open_routes) == PUBLIC
    assert not unchallenged, unchallenged


def test_public_routes_answer_without_credentials(client):
    assert client.get("/health").status_code == 200
    assert client.get("/version").status_code == 200
    assert client.get("/ready").status_code == 200


def test_wrong_credentials_and_unknown_tokens_are_401(call):
    challenge = call(("admin", "wrong"), "GET", f"{API}/registered-models/search")
    assert challenge == (401, {"error_code": "UNAUTHENTICATED", "message": challenge[1]["message"]})
    assert call(("nobody", "x"), "GET", f"{API}/registered-models/search")[0] == 401
    bearer = {"Authorization": "Bearer pdm_not-a-token"}
    assert call(None, "GET", f"{API}/registered-models/search", headers=bearer)[0] == 401


@pytest.mark.parametrize(
    ("level", "allowed"),
    [
        ("NO_PERMISSIONS", set()),
        ("READ", {"get"}),
        ("USE", {"get"}),
        ("EDIT", {"get", "update", "transition"}),
        ("MANAGE", {"get", "update", "transition", "delete"}),
    ],
)
def test_levels_on_a_registered_model_are_mlflows(ok, call, level, allowed):
    _model(ok, "guarded")
    user = _user(ok, "ana")
    _grant(ok, user, "registered_model", "guarded", level)
    attempts = {
        "get": ("GET", f"{API}/model-versions/get", None, {"name": "guarded", "version": "1"}),
        "update": (
            "PATCH",
            f"{API}/registered-models/update",
            {"name": "guarded", "description": "d"},
            {},
        ),
        "transition": (
            "POST",
            f"{API}/model-versions/transition-stage",
            {"name": "guarded", "version": "1", "stage": "Staging"},
            {},
        ),
        "delete": ("DELETE", f"{API}/registered-models/delete", {"name": "guarded"}, {}),
    }
    for action, (method, path, body, query) in attempts.items():
        status, answer = call(user, method, path, body, **query)
        if action in allowed:
            assert status == 200, (action, answer)
        elif level == "NO_PERMISSIONS":  # as if the model did not exist
            assert (status, answer["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST"), action
        else:
            assert (status, answer["error_code"]) == (403, "PERMISSION_DENIED"), action


def test_a_model_you_may_not_read_answers_as_one_that_does_not_exist(ok, call):
    _model(ok, "secret-model")
    user = _user(ok, "eve")
    _grant(ok, user, "registered_model", "secret-model", "NO_PERMISSIONS")
    hidden = call(user, "GET", f"{API}/registered-models/get", name="secret-model")
    missing = call(user, "GET", f"{API}/registered-models/get", name="no-such-model")
    assert hidden[0] == missing[0] == 404
    assert hidden[1]["message"].replace("secret-model", "X") == missing[1]["message"].replace(
        "no-such-model", "X"
    )
    assert call(user, "GET", f"{API}/registered-models/search")[1].get("registered_models") in (
        None,
        [],
    )


def test_the_creator_gets_manage_and_others_the_default(ok, call):
    bob, ana = _user(ok, "bob"), _user(ok, "ana")
    _model(ok, "bobs", owner=bob)
    assert call(ana, "GET", f"{API}/registered-models/get", name="bobs")[0] == 200  # READ
    denied = call(ana, "PATCH", f"{API}/registered-models/update", {"name": "bobs"})
    assert denied[0] == 403
    ok(bob, "DELETE", f"{API}/registered-models/delete", {"name": "bobs"})


def test_grants_follow_a_rename_and_go_with_a_deletion(ok, call):
    user = _user(ok, "ana")
    _model(ok, "before")
    _grant(ok, user, "registered_model", "before", "EDIT")
    ok(ADMIN, "POST", f"{API}/registered-models/rename", {"name": "before", "new_name": "after"})
    ok(user, "PATCH", f"{API}/registered-models/update", {"name": "after", "description": "d"})
    ok(ADMIN, "DELETE", f"{API}/registered-models/delete", {"name": "after"})
    _model(ok, "after")  # a new model of the same name starts with no grants
    assert call(user, "PATCH", f"{API}/registered-models/update", {"name": "after"})[0] == 403


@pytest.fixture
def private_app(database_url, tmp_path):
    return _auth_app(database_url, tmp_path, PODIUM_DEFAULT_PERMISSION="NO_PERMISSIONS")


def _pages(call, user, path, key, **query):
    """Every page of a listing: the items, and the size of each page."""
    items, sizes, token = [], [], None
    while True:
        extra = {"page_token": token} if token else {}
        status, body = call(user, "GET", path, **query, **extra)
        assert status == 200, body
        page = body.get(key, [])
        items += page
        sizes.append(len(page))
        token = body.get("next_page_token")
        if not token:
            return items, sizes


@pytest.mark.parametrize("default", ["NO_PERMISSIONS", "READ"])
def test_search_pages_hold_only_what_the_user_may_read_and_stay_full(private_app, app, default):
    chosen = private_app if default == "NO_PERMISSIONS" else app
    client = chosen.test_client()

    def call(auth, method, path, body=None, **query):
        response = client.open(path, method=method, json=body, query_string=query, auth=auth)
        return response.status_code, response.json

    def ok(auth, method, path, body=None, **query):
        status, answer = call(auth, method, path, body, **query)
        assert status == 200, answer
        return answer

    user = _user(ok, "ana")
    readable = []
    for number in range(30):
        name = f"model-{number:02}"
        _model(ok, name, versions=2)
        if default == "NO_PERMISSIONS" and number % 3 == 0:
            _grant(ok, user, "registered_model", name, "READ")
            readable.append(name)
        elif default == "READ" and number % 3 != 0:
            readable.append(name)
        elif default == "READ":
            _grant(ok, user, "registered_model", name, "NO_PERMISSIONS")
    search = f"{API}/registered-models/search"
    models, sizes = _pages(call, user, search, "registered_models", max_results=4)
    assert [model["name"] for model in models] == readable
    assert sizes[:-1] == [4] * (len(sizes) - 1) and sizes[-1] == len(readable) % 4 or 4
    versions, vsizes = _pages(
        call, user, f"{API}/model-versions/search", "model_versions", max_results=3
    )
    assert sorted({version["name"] for version in versions}) == readable
    assert len(versions) == 2 * len(readable)
    assert all(size == 3 for size in vsizes[:-1])
    admin_models, _ = _pages(call, ADMIN, search, "registered_models", max_results=100)
    assert len(admin_models) == 30


def test_experiments_and_runs_are_filtered_and_guarded(private_app):
    client = private_app.test_client()

    def call(auth, method, path, body=None, **query):
        response = client.open(path, method=method, json=body, query_string=query, auth=auth)
        return response.status_code, response.json

    def ok(auth, method, path, body=None, **query):
        status, answer = call(auth, method, path, body, **query)
        assert status == 200, answer
        return answer

    ana = _user(ok, "ana")
    mine = ok(ana, "POST", f"{API}/experiments/create", {"name": "anas"})["experiment_id"]
    theirs = ok(ADMIN, "POST", f"{API}/experiments/create", {"name": "admins"})["experiment_id"]
    run = ok(ADMIN, "POST", f"{API}/runs/create", {"experiment_id": theirs})["run"]["info"]
    found = ok(ana, "POST", f"{API}/experiments/search", {"max_results": 10})["experiments"]
    assert [experiment["name"] for experiment in found] == ["anas"]
    runs = ok(ana, "POST", f"{API}/runs/search", {"experiment_ids": [mine, theirs]})
    assert runs.get("runs", []) == []
    assert call(ana, "GET", f"{API}/runs/get", run_id=run["run_id"])[0] == 404
    assert call(ana, "POST", f"{API}/runs/create", {"experiment_id": theirs})[0] == 404
    own_run = ok(ana, "POST", f"{API}/runs/create", {"experiment_id": mine})["run"]["info"]
    metric = {"run_id": own_run["run_id"], "key": "m", "value": 1, "timestamp": 1, "step": 0}
    ok(ana, "POST", f"{API}/runs/log-metric", metric)
    upload = client.put(
        f"/api/2.0/mlflow-artifacts/artifacts/{theirs}/{run['run_id']}/artifacts/a.txt",
        data=b"x",
        auth=ana,
    )
    assert upload.status_code == 404


def test_tokens_are_shown_once_stored_hashed_used_expired_and_revoked(app, ok, call):
    from registry.store.db import db
    from registry.store.tables.auth import AccessToken

    ana = _user(ok, "ana")
    created = ok(ana, "POST", f"{PODIUM}/tokens", {"name": "ci"})
    token, info = created["token"], created["token_info"]
    assert info["name"] == "ci" and info["expires"] is None and info["last_used"] is None
    bearer = {"Authorization": f"Bearer {token}"}
    status, me = call(None, "GET", f"{API}/users/current", headers=bearer)
    assert status == 200 and me["user"]["username"] == "ana"
    listed = ok(ana, "GET", f"{PODIUM}/tokens")["tokens"]
    assert [t["name"] for t in listed] == ["ci"] and listed[0]["last_used"] is not None
    assert "token" not in listed[0]
    with db.connection_context():
        stored = [row.digest for row in AccessToken.select()]
    assert token not in stored and all(len(digest) == 64 for digest in stored)

    # Expired: a token whose expiry passed answers 401.
    expiring = ok(ana, "POST", f"{PODIUM}/tokens", {"name": "short", "expires_in_days": 1})
    with db.connection_context():
        AccessToken.update(expires=1).where(
            AccessToken.id == expiring["token_info"]["id"]
        ).execute()
    expired = {"Authorization": f"Bearer {expiring['token']}"}
    assert call(None, "GET", f"{API}/users/current", headers=expired)[0] == 401

    # Revoked, by its owner; another user's token only by an admin.
    bob = _user(ok, "bob")
    bobs = ok(bob, "POST", f"{PODIUM}/tokens", {"name": "bobs"})
    assert call(ana, "DELETE", f"{PODIUM}/tokens/{bobs['token_info']['id']}")[0] == 404
    ok(ADMIN, "DELETE", f"{PODIUM}/tokens/{bobs['token_info']['id']}")
    ok(ana, "DELETE", f"{PODIUM}/tokens/{info['id']}")
    assert call(None, "GET", f"{API}/users/current", headers=bearer)[0] == 401
    assert call(ana, "DELETE", f"{PODIUM}/tokens/{10**30}")[0] == 404  # never a 500


def test_the_acting_user_in_history_is_the_authenticated_one(ok, call):
    ana = _user(ok, "ana")
    _model(ok, "audited")
    _grant(ok, ana, "registered_model", "audited", "EDIT")
    token = ok(ana, "POST", f"{PODIUM}/tokens", {"name": "t"})["token"]
    # Staging: Production is protected (PODIUM_PROTECTED_STAGES) and EDIT may not enter it.
    transition = {"name": "audited", "version": "1", "stage": "Staging"}
    status, _ = call(
        None,
        "POST",
        f"{API}/model-versions/transition-stage",
        transition,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert status == 200
    history = ok(ADMIN, "GET", f"{PODIUM}/registered-models/history", name="audited")["history"]
    assert [entry["user"] for entry in history if entry.get("to_stage") == "Staging"] == ["ana"]


def test_users_api_rules(ok, call):
    ana = _user(ok, "ana")
    assert (
        call(ana, "POST", f"{API}/users/create", {"username": "x", "password": "p" * 8})[0] == 403
    )
    assert call(ana, "GET", f"{API}/users/get", username="admin")[0] == 403
    assert ok(ana, "GET", f"{API}/users/get", username="ana")["user"]["username"] == "ana"
    assert call(ana, "GET", f"{API}/users/list")[0] == 403
    listed = ok(ADMIN, "GET", f"{API}/users/list")["users"]
    assert [user["username"] for user in listed] == ["admin", "ana"]
    change = {"username": "ana", "password": "new-password"}
    status, answer = call(ana, "PATCH", f"{API}/users/update-password", change)
    assert (status, answer["message"]) == (
        400,
        "Current password is required when changing your own password.",
    )
    ok(ana, "PATCH", f"{API}/users/update-password", {**change, "current_password": ana[1]})
    assert call(ana, "GET", f"{API}/users/current")[0] == 401
    assert ok(("ana", "new-password"), "GET", f"{API}/users/current")["user"]["is_admin"] is False
    assert call(ADMIN, "DELETE", f"{API}/users/delete", {"username": "admin"})[0] == 400
    ok(ADMIN, "PATCH", f"{API}/users/update-admin", {"username": "ana", "is_admin": True})
    assert ok(("ana", "new-password"), "GET", f"{API}/users/list")["users"]
    ok(ADMIN, "DELETE", f"{API}/users/delete", {"username": "ana"})
    assert call(("ana", "new-password"), "GET", f"{API}/users/current")[0] == 401


def test_passwords_are_stored_as_argon2_hashes(app, ok):
    from registry.store.db import db
    from registry.store.tables.auth import User

    _user(ok, "ana", "plain-text-password")
    with db.connection_context():
        stored = User.get(User.username == "ana").password_hash
    assert stored.startswith("$argon2id$") and "plain-text-password" not in stored


def test_legacy_permission_endpoints(ok, call):
    ana = _user(ok, "ana")
    _model(ok, "legacy")
    body = {"name": "legacy", "username": "ana", "permission": "EDIT"}
    created = ok(ADMIN, "POST", f"{API}/registered-models/permissions/create", body)
    assert created["registered_model_permission"]["permission"] == "EDIT"
    again = call(ADMIN, "POST", f"{API}/registered-models/permissions/create", body)
    assert again[1]["error_code"] == "RESOURCE_ALREADY_EXISTS"
    ok(
        ADMIN,
        "PATCH",
        f"{API}/registered-models/permissions/update",
        {**body, "permission": "READ"},
    )
    got = ok(
        ADMIN, "GET", f"{API}/registered-models/permissions/get", name="legacy", username="ana"
    )
    assert got["registered_model_permission"]["permission"] == "READ"
    assert call(ana, "PATCH", f"{API}/registered-models/update", {"name": "legacy"})[0] == 403
    ok(ADMIN, "DELETE", f"{API}/registered-models/permissions/delete", {**body})
    experiment = ok(ADMIN, "POST", f"{API}/experiments/create", {"name": "e"})["experiment_id"]
    exp_body = {"experiment_id": experiment, "username": "ana", "permission": "MANAGE"}
    made = ok(ADMIN, "POST", f"{API}/experiments/permissions/create", exp_body)
    assert made["experiment_permission"] == {
        "experiment_id": experiment,
        "user_id": made["experiment_permission"]["user_id"],
        "permission": "MANAGE",
    }
    ok(ana, "POST", f"{API}/experiments/delete", {"experiment_id": experiment})


def test_webhooks_need_manage_on_their_models_or_admin(ok, call):
    ana = _user(ok, "ana")
    _model(ok, "hooked")
    hook = {
        "name": "h",
        "url": "http://127.0.0.1:9/hook",
        "events": [{"entity": "model_version", "action": "created"}],
    }
    assert call(ana, "POST", f"{API}/webhooks", hook)[0] == 403  # registry-wide: admins only
    filtered = {**hook, "model_names": ["hooked"]}
    assert call(ana, "POST", f"{API}/webhooks", filtered)[0] == 403  # READ is not MANAGE
    _grant(ok, ana, "registered_model", "hooked", "MANAGE")
    created = ok(ana, "POST", f"{API}/webhooks", filtered)["webhook"]
    ok(ana, "PATCH", f"{API}/webhooks/{created['webhook_id']}", {"description": "mine"})
    widened = {"model_names": []}
    assert call(ana, "PATCH", f"{API}/webhooks/{created['webhook_id']}", widened)[0] == 403
    assert call(ana, "GET", f"{API}/webhooks")[0] == 403
    admin_hook = ok(ADMIN, "POST", f"{API}/webhooks", hook)["webhook"]
    assert call(ana, "DELETE", f"{API}/webhooks/{admin_hook['webhook_id']}")[0] == 403


def test_failed_sign_ins_are_limited_per_user_name_and_address(app, client):
    app.config["PODIUM_LOGIN_ATTEMPTS"] = 3
    app.config["PODIUM_LOGIN_WINDOW"] = 2
    search = f"{API}/registered-models/search"

    def attempt(password, address="10.0.0.1"):
        return client.get(search, auth=("admin", password), environ_base={"REMOTE_ADDR": address})

    assert [attempt("wrong").status_code for _ in range(3)] == [401, 401, 401]
    limited = attempt("wrong")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert attempt(ADMIN[1]).status_code == 429  # no guessing on, even with the right one
    assert attempt(ADMIN[1], address="10.0.0.2").status_code == 200  # the real user elsewhere
    time.sleep(2.1)
    assert attempt(ADMIN[1]).status_code == 200  # the window passed: never locked out for good


def test_a_wrong_user_name_takes_as_long_as_a_wrong_password(app, client):
    app.config["PODIUM_LOGIN_ATTEMPTS"] = 1000
    search = f"{API}/registered-models/search"

    def seconds(auth):
        start = time.perf_counter()
        assert client.get(search, auth=auth).status_code == 401
        return time.perf_counter() - start

    wrong_user, wrong_password = [], []
    for _ in range(12):
        wrong_user.append(seconds(("nobody-at-all", "password")))
        wrong_password.append(seconds(("admin", "password")))
    ratio = statistics.median(wrong_user) / statistics.median(wrong_password)
    assert 0.7 < ratio < 1.4, (wrong_user, wrong_password)


def test_correct_passwords_are_verified_once_per_process(app, client):
    from registry.auth import identity

    calls = []
    real = identity.verify_password
    identity.verify_password = lambda *args: calls.append(1) or real(*args)
    try:
        for _ in range(5):
            assert client.get(f"{API}/users/current", auth=ADMIN).status_code == 200
    finally:
        identity.verify_password = real
    assert len(calls) <= 1
