"""Authentication against real gunicorn with the real MLflow client: MLflow's own
AuthServiceClient manages users and grants, MLFLOW_TRACKING_USERNAME/PASSWORD and
MLFLOW_TRACKING_TOKEN sign in, and changes reach every worker at once. Also the start-up
refusals: a non-loopback address with PODIUM_AUTH unset, and basic auth with no admin.
"""

import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from conftest import LiveServer, _free_port, fresh_database
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException

ADMIN = ("admin", "admin-password")
ROOT = Path(__file__).resolve().parent.parent
SEARCH = "/api/2.0/mlflow/registered-models/search"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    directory = tmp_path_factory.mktemp("auth-server")
    env = {
        "PODIUM_AUTH": "basic",
        "PODIUM_ADMIN_USERNAME": ADMIN[0],
        "PODIUM_ADMIN_PASSWORD": ADMIN[1],
        "PODIUM_LOGIN_ATTEMPTS": "100",  # these tests fail sign-ins on purpose, many at once
    }
    with fresh_database(directory) as url:
        live = LiveServer(url, directory, env=env).start()
        yield live
        live.stop()


@contextmanager
def signed_in(username: str, password: str):
    """The MLflow client's credentials, as a user sets them: environment variables."""
    saved = {
        key: os.environ.get(key) for key in ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
    }
    os.environ["MLFLOW_TRACKING_USERNAME"], os.environ["MLFLOW_TRACKING_PASSWORD"] = (
        username,
        password,
    )
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _auth_client(server):
    from mlflow.server import get_app_client

    return get_app_client("basic-auth", tracking_uri=server.url)


def _error_code(call) -> str:
    with pytest.raises(MlflowException) as caught:
        call()
    return caught.value.error_code


def test_auth_service_client_grants_and_the_registry_honours_them(server, tmp_path, monkeypatch):
    import mlflow
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(server.url)
    mlflow.set_registry_uri(server.url)
    client = MlflowClient(tracking_uri=server.url, registry_uri=server.url)
    with signed_in(*ADMIN):
        auth = _auth_client(server)
        for name in ("reader", "editor", "manager"):
            assert auth.create_user(name, f"{name}-password").username == name
        features, labels = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
        mlflow.set_experiment("auth-live")
        with mlflow.start_run():
            mlflow.sklearn.log_model(
                LogisticRegression().fit(features, labels),
                name="model",
                registered_model_name="guarded",
            )
        auth.grant_user_permission("reader", "registered_model", "guarded", "READ")
        auth.grant_user_permission("editor", "registered_model", "guarded", "EDIT")
        auth.grant_user_permission("manager", "registered_model", "guarded", "MANAGE")
        checked = auth.get_user_permission("editor", "registered_model", "guarded")
        assert (checked.permission, checked.allowed) == ("EDIT", True)

    with signed_in("reader", "reader-password"):
        loaded = mlflow.pyfunc.load_model("models:/guarded/1")
        assert list(loaded.predict(features)) == [0, 0, 1, 1]
        transition = lambda: client.transition_model_version_stage("guarded", "1", "Staging")  # noqa: E731
        assert _error_code(transition) == "PERMISSION_DENIED"
    with signed_in("editor", "editor-password"):
        client.transition_model_version_stage("guarded", "1", "Staging")
        assert [v.version for v in client.get_latest_versions("guarded", ["Staging"])] == ["1"]
        delete = lambda: client.delete_registered_model("guarded")  # noqa: E731
        assert _error_code(delete) == "PERMISSION_DENIED"
    with signed_in(*ADMIN):
        auth.revoke_user_permission("reader", "registered_model", "guarded")
        auth.grant_user_permission("reader", "registered_model", "guarded", "NO_PERMISSIONS")
    with signed_in("reader", "reader-password"):
        hidden = lambda: client.get_registered_model("guarded")  # noqa: E731
        assert _error_code(hidden) == "RESOURCE_DOES_NOT_EXIST"
        assert client.search_registered_models() == []
    with signed_in("manager", "manager-password"):
        client.delete_registered_model("guarded")
    with signed_in(*ADMIN):
        assert client.search_registered_models("name = 'guarded'") == []


def _fresh_statuses(server, auth, count: int = 16) -> set[int]:
    """Status codes of `count` concurrent requests on fresh connections (both workers)."""
    statuses, lock = set(), threading.Lock()

    def call():
        status = requests.get(server.url + SEARCH, auth=auth, timeout=30).status_code
        with lock:
            statuses.add(status)

    threads = [threading.Thread(target=call) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_password_changes_and_deletions_reach_every_worker_at_once(server):
    with signed_in(*ADMIN):
        auth = _auth_client(server)
        auth.create_user("rotating", "first-password")
    for _ in range(3):  # every worker verified and remembers the password now
        assert _fresh_statuses(server, ("rotating", "first-password")) == {200}
    with signed_in("rotating", "first-password"):
        auth.update_user_password("rotating", "second-password", current_password="first-password")
    assert _fresh_statuses(server, ("rotating", "first-password")) == {401}
    assert _fresh_statuses(server, ("rotating", "second-password")) == {200}
    with signed_in(*ADMIN):
        auth.delete_user("rotating")
    assert _fresh_statuses(server, ("rotating", "second-password")) == {401}


def test_the_mlflow_client_signs_in_with_a_token(server, monkeypatch):
    created = requests.post(
        server.url + "/api/2.0/podium/tokens", json={"name": "ci"}, auth=ADMIN, timeout=30
    ).json()
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", created["token"])
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME", raising=False)
    client = MlflowClient(tracking_uri=server.url, registry_uri=server.url)
    client.create_registered_model("made-with-a-token")
    assert client.get_registered_model("made-with-a-token").name == "made-with-a-token"
    revoked = requests.delete(
        f"{server.url}/api/2.0/podium/tokens/{created['token_info']['id']}", auth=ADMIN
    )
    assert revoked.status_code == 200
    with pytest.raises(RestException) as caught:
        client.get_registered_model("made-with-a-token")
    assert caught.value.error_code == "UNAUTHENTICATED"


def test_the_client_sees_401_with_a_challenge_and_a_clear_message(server):
    answer = requests.get(server.url + SEARCH, timeout=30)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="podium"'
    assert answer.json()["error_code"] == "UNAUTHENTICATED"


def _start(command: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("entry", ["podium serve", "gunicorn -c deploy/gunicorn.conf.py"])
def test_a_non_loopback_address_without_podium_auth_refuses_to_start(entry, tmp_path):
    port = str(_free_port())
    env = {"PODIUM_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}", "PODIUM_AUTH": ""}
    if entry == "podium serve":
        command = [
            sys.executable,
            "-m",
            "registry.cli",
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            port,
        ]
    else:
        command = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"]
        command += ["-b", f"0.0.0.0:{port}", "wsgi:app"]
    finished = _start(command, env)
    assert finished.returncode == 2, finished.stderr
    refusal = [line for line in finished.stderr.splitlines() if line.startswith("podium:")]
    assert len(refusal) == 1
    assert "PODIUM_AUTH=basic" in refusal[0] and "PODIUM_AUTH=none" in refusal[0]


def test_basic_auth_with_no_admin_refuses_to_start(tmp_path):
    env = {"PODIUM_DATABASE_URL": f"sqlite:///{tmp_path / 'r.db'}", "PODIUM_AUTH": "basic"}
    command = [sys.executable, "-m", "registry.cli", "serve", "--port", str(_free_port())]
    finished = _start(command, env)
    assert finished.returncode == 2
    assert "podium users create --admin" in finished.stderr


def test_users_create_makes_an_admin_offline(tmp_path):
    url = f"sqlite:///{tmp_path / 'offline.db'}"
    made = subprocess.run(
        [sys.executable, "-m", "registry.cli", "users", "create", "--admin", "root"],
        input="offline-password\n",
        env={**os.environ, "PODIUM_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    live = LiveServer(url, tmp_path, env={"PODIUM_AUTH": "basic"}).start()
    try:
        assert requests.get(live.url + SEARCH, auth=("root", "offline-password")).status_code == 200
    finally:
        live.stop()
