"""The web UI through Flask's test client: escaping, CSRF refusals, error pages, the access
seam, and the same messages as the API. The browser tests are in test_ui_browser.py."""

import re

import pytest

from registry.services import aliases, model_versions, registered_models
from registry.store.db import db

XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_TAG = "<script>alert(2)</script>"
API = "/api/2.0/mlflow"


@pytest.fixture
def seeded(app):
    """A model whose name, tags and description try to inject markup; three versions."""
    with app.app_context(), db.connection_context():
        registered_models.create_registered_model(
            name=XSS_NAME,
            tags=[{"key": XSS_TAG, "value": XSS_TAG}],
            description="**bold** <b>raw</b> [bad](javascript:alert(3)) [good](https://example.com)",
        )
        for _ in range(3):
            model_versions.create_model_version(name=XSS_NAME, source="s3://bucket/model")
        model_versions.transition_stage(name=XSS_NAME, version=2, stage="Production")
        aliases.set_alias(name=XSS_NAME, alias="champion", version=2)
    return XSS_NAME


def model_url(name: str) -> str:
    from urllib.parse import quote

    return "/models/" + quote(name, safe="")


def token_of(client, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page)[1]


def assert_inert(body: str) -> None:
    """No markup from the seeded values is live, and nothing could run inline."""
    assert "<img src=x" not in body and "<script>alert" not in body
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", body), "inline script"
    assert not re.search(r"\son[a-z]+\s*=", body.replace("onerror=alert(1)&gt;", "")), "on* attr"
    assert not re.search(r"\sstyle\s*=", body), "inline style breaks the CSP"
    assert 'href="javascript:' not in body


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/?q=img",
        "/?sort=modified",
        "{model}",
        "{model}/versions/2",
        "/activity",
        "{model}?as_of=2099-01-01T00:00",
        "/experiments",
        "/experiments/0",
        "/webhooks",
        "/-/patterns",
    ],
)
def test_pages_escape_names_tags_and_descriptions(client, seeded, path):
    response = client.get(path.format(model=model_url(seeded)))
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert_inert(response.get_data(as_text=True))


def test_descriptions_render_markdown_without_raw_html_or_script_links(client, seeded):
    body = client.get(model_url(seeded)).get_data(as_text=True)
    assert "<strong>bold</strong>" in body
    assert "&lt;b&gt;raw&lt;/b&gt;" in body
    assert '<a href="https://example.com">good</a>' in body
    assert "[bad](javascript:alert(3))" in body  # left as text, not a link


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(app, client, seeded):
    for form in ({}, {"csrf_token": "forged"}):
        response = client.post(
            model_url(seeded), data={**form, "action": "describe", "description": "hacked"}
        )
        assert response.status_code == 400
        assert "CSRF token" in response.get_data(as_text=True)
    with app.app_context(), db.connection_context():
        assert "hacked" not in registered_models.get_registered_model(name=seeded).description


def test_a_post_with_the_token_acts_and_redirects(app, client, seeded):
    token = token_of(client, model_url(seeded))
    response = client.post(
        model_url(seeded), data={"csrf_token": token, "action": "describe", "description": "new"}
    )
    assert response.status_code == 303
    from urllib.parse import unquote

    assert unquote(response.headers["Location"]) == unquote(model_url(seeded))
    with app.app_context(), db.connection_context():
        assert registered_models.get_registered_model(name=seeded).description == "new"


def test_the_session_cookie_is_httponly_and_samesite(client, seeded):
    client.get(model_url(seeded))
    cookie = client.get_cookie("podium_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"


def test_every_worker_signs_sessions_with_the_same_key(app, database_url, tmp_path):
    from registry import create_app

    other = create_app(
        {
            "TESTING": True,
            "PODIUM_DATABASE_URL": database_url,
            "PODIUM_ARTIFACTS_DESTINATION": str(tmp_path / "artifacts"),
        }
    )
    assert app.secret_key and other.secret_key == app.secret_key


def test_a_failed_action_shows_the_apis_message_and_keeps_the_input(client, seeded):
    url = model_url(seeded) + "/versions/1"
    token = token_of(client, url)
    response = client.post(
        url, data={"csrf_token": token, "action": "set_alias", "alias": "no way"}
    )
    api = client.post(
        f"{API}/registered-models/alias", json={"name": seeded, "alias": "no way", "version": "1"}
    )
    assert response.status_code == api.status_code == 400
    body = response.get_data(as_text=True)
    from markupsafe import escape

    assert str(escape(api.get_json()["message"])) in body
    assert 'value="no way"' in body


@pytest.mark.parametrize(
    "path",
    [
        "/models/nope",
        "/models/nope/versions/1",
        "{model}/versions/99",
        "/experiments/12345",
        "/experiments/0/runs/" + "0" * 32,
        "/runs/" + "0" * 32,
        "/webhooks/nope",
        "/artifacts/nope.txt",
    ],
)
def test_unknown_things_get_a_404_page_with_a_link_home(client, seeded, path):
    response = client.get(path.format(model=model_url(seeded)))
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert 'href="/"' in body and "Traceback" not in body


def test_the_api_keeps_its_json_errors(client):
    response = client.get(f"{API}/nope")
    assert response.status_code == 404
    assert response.get_json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_podium_ui_false_turns_the_ui_off(database_url, tmp_path):
    from registry import create_app

    app = create_app(
        {
            "TESTING": True,
            "PODIUM_DATABASE_URL": database_url,
            "PODIUM_UI": False,
            "PODIUM_ARTIFACTS_DESTINATION": str(tmp_path / "artifacts"),
        }
    )
    response = app.test_client().get("/")
    assert response.status_code == 404
    assert response.get_json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_the_access_seam_hides_controls_and_refuses_actions(client, seeded, monkeypatch):
    from registry.ui import access

    url = model_url(seeded) + "/versions/1"
    token = token_of(client, url)
    monkeypatch.setattr(access, "may", lambda level, **resource: level == "READ")
    body = client.get(url).get_data(as_text=True)
    assert ">Transition</button>" not in body and ">Set alias</button>" not in body
    assert ">Webhooks</a>" not in body
    response = client.post(
        url, data={"csrf_token": token, "action": "transition", "stage": "Staging"}
    )
    assert response.status_code == 403


def test_every_ui_view_goes_through_the_page_decorator(app):
    views = [
        view
        for name, view in app.view_functions.items()
        if name.startswith("ui.") and name != "ui.static"
    ]
    assert views and all(getattr(view, "ui_page", False) for view in views)


def test_metric_histories_are_thinned_for_charts(app):
    from registry.services import browsing, experiments, run_data, runs
    from registry.ui import charts

    with app.app_context(), db.connection_context():
        experiment = experiments.create_experiment(name="thin")
        run = runs.create_run(experiment_id=experiment, start_time=1)
        points = [
            {"key": "loss", "value": 1 / (i + 1), "timestamp": i, "step": i} for i in range(1000)
        ]
        run_data.log_batch(run_id=run.run_id, metrics=points, params=[], tags=[])
        series = browsing.metric_series(run_id=run.run_id, keys=["loss"], max_points=100)
    assert len(series["loss"]) == 101
    assert series["loss"][0][0] == 0 and series["loss"][-1][0] == 999
    chart = charts.line_chart(series)
    assert len(chart["lines"][0]["points"].split()) == 101


def test_sign_in_is_off_without_authentication(client):
    assert client.get("/sign-in").status_code == 404


@pytest.mark.parametrize(
    "path, status",
    [
        ("/experiments/99999999999999999999999", 400),
        ("/experiments/abc", 400),
        ("/models/{name}/versions/99999999999999999999", 400),
        ("/models/{name}?offset=99999999999999999999999", 200),
        ("/activity?before=99999999999999999999999", 200),
        ("/?page_token=garbage", 400),
        ("/compare?run=a", 400),
        ("/models/{name}?as_of=yesterday", 200),
    ],
)
def test_odd_input_gets_a_page_never_a_server_error(client, seeded, path, status):
    response = client.get(path.format(name=model_url(seeded)[len("/models/") :]))
    assert response.status_code == status
    assert response.mimetype == "text/html"
    if "as_of" in path:
        assert "Not a date and time" in response.get_data(as_text=True)


def test_a_busy_database_is_a_503_page_with_retry_after(client, seeded, monkeypatch):
    from peewee import OperationalError

    from registry.services import registered_models as service

    def unreachable(**_):
        raise OperationalError("database is locked")

    monkeypatch.setattr(service, "search_registered_models", unreachable)
    response = client.get("/")
    assert response.mimetype == "text/html"
    assert response.status_code == 503 and response.headers["Retry-After"]
