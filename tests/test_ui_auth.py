"""The web UI with PODIUM_AUTH=basic: the sign-in page, the session cookie, and pages that obey
the same permissions as the API (through the Flask test client; the browser suite signs in too).
"""

import re

import pytest

API = "/api/2.0/mlflow"
ADMIN = ("admin", "admin-password")


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
        }
    )


@pytest.fixture
def api(app):
    client = app.test_client()

    def api(method, path, body, auth=ADMIN):
        response = client.open(path, method=method, json=body, auth=auth)
        assert response.status_code == 200, response.json
        return response.json

    return api


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html)[1]


def _sign_in(client, username, password, next_path="/"):
    page = client.get(f"/sign-in?next={next_path}")
    form = {
        "csrf_token": _token(page.get_data(as_text=True)),
        "username": username,
        "password": password,
        "next": next_path,
    }
    return client.post("/sign-in", data=form)


def test_strangers_are_sent_to_the_sign_in_page_and_back(client):
    stranger = client.get("/models/anything?tab=history")
    assert stranger.status_code == 303
    assert stranger.headers["Location"].startswith("/sign-in?next=/models/anything")
    page = client.get("/sign-in").get_data(as_text=True)
    assert ">Username <input" in page and ">Password <input" in page
    assert ">Sign in</button>" in page
    refused = _sign_in(client, "admin", "wrong")
    assert refused.status_code == 401 and 'value="admin"' in refused.get_data(as_text=True)
    signed_in = _sign_in(client, *ADMIN, next_path="/activity")
    assert (signed_in.status_code, signed_in.headers["Location"]) == (303, "/activity")
    cookie = signed_in.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    home = client.get("/").get_data(as_text=True)
    assert ">admin</span>" in home and ">Sign out</button>" in home
    assert client.post("/sign-out", data={"csrf_token": _token(home)}).status_code == 303
    assert client.get("/").status_code == 303


def test_sign_in_never_redirects_off_the_site(client):
    for target in ("//evil.example", "https://evil.example", "/\\evil.example"):
        assert _sign_in(client, *ADMIN, next_path=target).headers["Location"] == "/"


def test_pages_obey_the_apis_permissions(app, api):
    api("POST", f"{API}/users/create", {"username": "ana", "password": "ana-password"})
    for name in ("open-model", "hidden-model"):
        api("POST", f"{API}/registered-models/create", {"name": name})
        api("POST", f"{API}/model-versions/create", {"name": name, "source": "s3://b/m"})
    grant = {"username": "ana", "resource_type": "registered_model", "permission": "NO_PERMISSIONS"}
    api("POST", "/api/3.0/mlflow/users/permissions/grant", {**grant, "resource_id": "hidden-model"})
    client = app.test_client()
    assert _sign_in(client, "ana", "ana-password").status_code == 303
    listing = client.get("/").get_data(as_text=True)
    assert "open-model" in listing and "hidden-model" not in listing
    assert client.get("/models/hidden-model").status_code == 404
    assert "hidden-model" not in client.get("/activity").get_data(as_text=True)
    version = client.get("/models/open-model/versions/1").get_data(as_text=True)
    assert ">Transition</button>" not in version  # READ: no controls to promote
    # Staging: Production is protected (PODIUM_PROTECTED_STAGES) and EDIT may not enter it.
    form = {"csrf_token": _token(version), "action": "transition", "stage": "Staging"}
    assert client.post("/models/open-model/versions/1", data=form).status_code == 403

    api(
        "POST",
        "/api/3.0/mlflow/users/permissions/grant",
        {**grant, "resource_id": "open-model", "permission": "EDIT"},
    )
    version = client.get("/models/open-model/versions/1").get_data(as_text=True)
    assert ">Transition</button>" in version and "Delete version" not in version
    form["csrf_token"] = _token(version)
    assert client.post("/models/open-model/versions/1", data=form).status_code == 303
    history = (
        app.test_client()
        .get(
            "/api/2.0/podium/registered-models/history",
            query_string={"name": "open-model"},
            auth=ADMIN,
        )
        .json["history"]
    )
    assert [(h["to_stage"], h["user"]) for h in history if h.get("to_stage")] == [
        ("Staging", "ana")
    ]
    assert "Webhooks</a>" not in version  # webhooks are for admins


def test_a_password_change_ends_the_users_sessions(app, api):
    api("POST", f"{API}/users/create", {"username": "ana", "password": "ana-password"})
    client = app.test_client()
    assert _sign_in(client, "ana", "ana-password").status_code == 303
    assert client.get("/").status_code == 200
    api("PATCH", f"{API}/users/update-password", {"username": "ana", "password": "new-password"})
    assert client.get("/").status_code == 303


def test_credentials_sign_a_page_in_too(client):
    assert client.get("/", auth=ADMIN).status_code == 200
    assert client.get("/", auth=("admin", "wrong")).status_code == 401


def test_the_session_cookie_is_secure_behind_https(client):
    page = client.get("/sign-in", base_url="https://podium.example")
    form = {
        "csrf_token": _token(page.get_data(as_text=True)),
        "username": ADMIN[0],
        "password": ADMIN[1],
    }
    signed_in = client.post("/sign-in", data=form, base_url="https://podium.example")
    assert "Secure" in signed_in.headers["Set-Cookie"]
    plain = _sign_in(client, *ADMIN)
    assert "Secure" not in plain.headers["Set-Cookie"]
