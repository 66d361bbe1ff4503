"""Secrets at rest: webhook secrets encrypted under Podium's keys, the key file, key rotation,
exports without plaintext, private database and artifact files. Real gunicorn, the real MLflow
client, a real receiver verified with the standardwebhooks package."""

import base64
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests
from conftest import LiveServer
from mlflow import MlflowClient
from receivers import Receiver
from standardwebhooks import Webhook as StandardWebhook

from registry.store import secrets

ROOT = Path(__file__).resolve().parent.parent
SECRET = "whsec_" + base64.b64encode(b"a-secret-of-thirty-two-bytes-!!!").decode()
ROTATED = "whsec_" + base64.b64encode(b"the-next-secret-also-32-bytes-!!").decode()
LOOPBACK = {
    "PODIUM_WEBHOOK_ALLOWED_SCHEMES": "http",
    "PODIUM_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    "PODIUM_DISPATCH_POLL_MS": "10",
}
KEY_1, KEY_2 = secrets.new_key(), secrets.new_key()


@pytest.fixture(autouse=True)
def session_keys(secret_key_file):
    """Tests here configure other keys in this process; the next tests get the run's back."""
    yield
    secrets.configure({"PODIUM_SECRET_KEY_FILE": str(secret_key_file)})


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def stored_secrets(database_url: str) -> list[tuple]:
    """(secret, previous_secret) of every webhook row, as the database holds them."""
    query = "SELECT secret, previous_secret FROM webhook ORDER BY id"
    if database_url.startswith("sqlite:"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///")) as connection:
            return connection.execute(query).fetchall()
    import psycopg2

    connection = psycopg2.connect(database_url)
    try:
        with connection.cursor() as cursor:
            cursor.execute(query)
            return cursor.fetchall()
    finally:
        connection.close()


def podium(database_url: str, *args, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "registry.cli", *map(str, args)],
        cwd=ROOT,
        env={**os.environ, "PODIUM_DATABASE_URL": database_url, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def deliver_one(server: LiveServer, receiver: Receiver, model: str) -> tuple:
    """Make an event for the webhook and return what the receiver got."""
    client = MlflowClient(tracking_uri=server.url, registry_uri=server.url)
    before = len(receiver.received)
    client.create_registered_model(model)
    return receiver.wait_for(before + 1)[-1]


def create_webhook(server: LiveServer, receiver: Receiver, secret: str = SECRET) -> str:
    client = MlflowClient(tracking_uri=server.url, registry_uri=server.url)
    created = client.create_webhook(
        name="deployer", url=receiver.url, events=["registered_model.created"], secret=secret
    )
    return created.webhook_id


def test_secrets_are_stored_encrypted_and_deliveries_still_verify(
    live_server_factory, database_url, receiver
):
    server = live_server_factory(env=LOOPBACK)
    webhook_id = create_webhook(server, receiver)
    rotated = requests.post(
        f"{server.url}/api/2.0/podium/webhooks/{webhook_id}/rotate-secret",
        json={"secret": ROTATED},
        timeout=10,
    )
    assert rotated.status_code == 200, rotated.text

    ((secret, previous),) = stored_secrets(database_url)
    for token, plaintext in ((secret, ROTATED), (previous, SECRET)):
        assert token.startswith("gAAAAA")  # a Fernet token
        assert plaintext not in token and plaintext.removeprefix("whsec_") not in token
    headers, body, _ = deliver_one(server, receiver, "encrypted")
    for signing_secret in (ROTATED, SECRET):  # both sign during the overlap
        assert StandardWebhook(signing_secret).verify(body, headers)["type"] == (
            "registered_model.created"
        )


def test_a_key_rotation_keeps_deliveries_verifiable(tmp_path, database_url, receiver):
    first = LiveServer(database_url, tmp_path, env={**LOOPBACK, "PODIUM_SECRET_KEY": KEY_1})
    first.start()
    try:
        create_webhook(first, receiver)
        headers, body, _ = deliver_one(first, receiver, "one")
        StandardWebhook(SECRET).verify(body, headers)
    finally:
        first.stop()
    (before,) = stored_secrets(database_url)

    # The new key first, the old one after it: the new one encrypts, both decrypt.
    both = {"PODIUM_SECRET_KEY": f"{KEY_2},{KEY_1}"}
    rotated = podium(database_url, "secrets", "rotate", **both)
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.strip() == "re-encrypted 1 stored secrets with the first key"
    (after,) = stored_secrets(database_url)
    assert after[0] != before[0]

    # Re-encrypted: the new key alone now serves, and deliveries verify with the same secret.
    second = LiveServer(database_url, tmp_path, env={**LOOPBACK, "PODIUM_SECRET_KEY": KEY_2})
    second.start()
    try:
        headers, body, _ = deliver_one(second, receiver, "two")
        StandardWebhook(SECRET).verify(body, headers)
    finally:
        second.stop()

    # The old key alone no longer opens it: a clear refusal, not deliveries with bad signatures.
    wrong = podium(database_url, "db", "upgrade", PODIUM_SECRET_KEY=KEY_1)
    assert wrong.returncode == 2
    assert wrong.stderr.count("\n") == 1
    assert "cannot be decrypted with the keys from PODIUM_SECRET_KEY" in wrong.stderr
    assert KEY_1 not in wrong.stderr + wrong.stdout and KEY_2 not in wrong.stderr


def test_a_wrong_key_stops_the_app_before_it_signs_anything(database_url, tmp_path, client):
    from registry import create_app

    made = client.post(
        "/api/2.0/mlflow/webhooks",
        json={
            "name": "hook",
            "url": "https://93.184.216.34/hook",
            "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}],
            "secret": SECRET,
        },
    )
    assert made.status_code == 200, made.text
    with pytest.raises(secrets.SecretKeyError, match="cannot be decrypted"):
        create_app(
            {
                "PODIUM_DATABASE_URL": database_url,
                "PODIUM_ARTIFACTS_DESTINATION": str(tmp_path / "artifacts"),
                "PODIUM_SECRET_KEY": KEY_2,
            }
        )


def test_the_default_key_file_database_and_artifact_root_are_private(tmp_path, receiver):
    """The laptop default: SQLite, no key given. Four workers and a dispatcher start at once."""
    url = f"sqlite:///{tmp_path / 'podium.db'}"
    server = LiveServer(url, tmp_path, workers=4, env={**LOOPBACK, "PODIUM_SECRET_KEY_FILE": ""})
    server.start()
    try:
        create_webhook(server, receiver)
        headers, body, _ = deliver_one(server, receiver, "laptop")
        StandardWebhook(SECRET).verify(body, headers)
    finally:
        server.stop()
    key_file = tmp_path / "podium.db.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    (key,) = key_file.read_text().split()
    assert server.log.read_text().count("created the secret key file") == 1
    assert key not in server.log.read_text()
    for name in ("podium.db", "podium.db-writers"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE((tmp_path / "artifacts").stat().st_mode) == 0o700
    # Never in the database: no table, no row holds the key.
    with sqlite3.connect(tmp_path / "podium.db") as connection:
        dump = "\n".join(connection.iterdump())
    assert key not in dump and SECRET not in dump


RACER = textwrap.dedent(
    """
    import logging, sys, time
    logging.basicConfig(level=logging.INFO)
    from registry.store import secrets
    time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # every racer starts at once
    print(secrets.load_keys({"PODIUM_SECRET_KEY_FILE": sys.argv[1]})[0][0])
    """
)


def test_processes_starting_together_create_one_key_file(tmp_path):
    path = tmp_path / "shared" / "podium.key"
    path.parent.mkdir()
    start_at = time.time() + 3  # after every interpreter has imported Podium
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(path), str(start_at)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(8)
    ]
    finished = [(r.wait(timeout=60), *r.communicate()) for r in racers]
    assert [code for code, _out, _err in finished] == [0] * 8, finished
    keys = {out.strip() for _code, out, _err in finished}
    assert keys == {path.read_text().strip()}  # one key, the one in the file
    assert sum(err.count("created the secret key file") for *_, err in finished) == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(os.listdir(path.parent)) == ["podium.key"]  # no temporary file left


def test_an_existing_artifact_root_and_database_keep_their_modes(tmp_path):
    from registry import create_app

    (tmp_path / "artifacts").mkdir(mode=0o750)
    os.chmod(tmp_path / "artifacts", 0o750)
    sqlite3.connect(tmp_path / "mine.db").close()
    os.chmod(tmp_path / "mine.db", 0o640)
    create_app(
        {
            "PODIUM_DATABASE_URL": f"sqlite:///{tmp_path / 'mine.db'}",
            "PODIUM_ARTIFACTS_DESTINATION": str(tmp_path / "artifacts"),
        }
    )
    assert stat.S_IMODE((tmp_path / "artifacts").stat().st_mode) == 0o750
    assert stat.S_IMODE((tmp_path / "mine.db").stat().st_mode) == 0o640


def test_postgresql_without_a_key_refuses_to_start_with_one_line():
    url = "postgresql://podium@127.0.0.1:1/podium"  # never reached: the key is checked first
    for command in (["db", "upgrade"], ["serve", "--port", "1"]):
        refused = podium(url, *command, PODIUM_SECRET_KEY_FILE="", PODIUM_SECRET_KEY="")
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.count("\n") == 1
        assert "PODIUM_SECRET_KEY or PODIUM_SECRET_KEY_FILE must be set" in refused.stderr


def test_a_malformed_key_is_refused_by_name():
    refused = podium("sqlite:///unused.db", "db", "upgrade", PODIUM_SECRET_KEY="not-a-key-at-all")
    assert refused.returncode == 2
    assert "PODIUM_SECRET_KEY: a key must be 32 url-safe base64-encoded bytes" in refused.stderr
    assert "not-a-key-at-all" not in refused.stderr


def test_an_export_holds_no_plaintext_secret_and_needs_the_key_to_import(
    live_server_factory, database_url, tmp_path, receiver
):
    server = live_server_factory(env=LOOPBACK)
    create_webhook(server, receiver)
    server.stop()
    exported = podium(database_url, "export", tmp_path / "out")
    assert exported.returncode == 0, exported.stderr
    written = "".join(p.read_text() for p in (tmp_path / "out").iterdir())
    assert SECRET not in written and SECRET.removeprefix("whsec_") not in written
    assert stored_secrets(database_url)[0][0] in written  # the stored token, as it is

    elsewhere = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    refused = podium(elsewhere, "import", tmp_path / "out", PODIUM_SECRET_KEY=KEY_2)
    assert refused.returncode == 1
    assert "encrypted with another key" in refused.stderr
    imported = podium(elsewhere, "import", tmp_path / "out")  # the run's key, as exported
    assert imported.returncode == 0, imported.stderr


SHORT = base64.b64encode(b"x" * 23).decode()
LONG_ENOUGH = base64.b64encode(b"x" * 24).decode()


@pytest.mark.parametrize(
    "secret, accepted",
    [
        ("whsec_" + SHORT, False),
        ("whsec_short", False),
        ("r" * 23, False),
        ("\u00e9" * 11, False),  # 22 bytes of UTF-8
        ("whsec_" + LONG_ENOUGH, True),
        ("r" * 24, True),
    ],
)
def test_secrets_shorter_than_24_bytes_are_refused(client, secret, accepted):
    body = {
        "name": "short",
        "url": "https://93.184.216.34/hook",
        "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}],
        "secret": secret,
    }
    created = client.post("/api/2.0/mlflow/webhooks", json=body)
    if accepted:
        assert created.status_code == 200, created.text
        return
    assert created.status_code == 400
    assert created.json["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "at least 24 random bytes" in created.json["message"]
    body["secret"] = "r" * 24
    webhook_id = client.post("/api/2.0/mlflow/webhooks", json=body).json["webhook"]["webhook_id"]
    rotated = client.post(
        f"/api/2.0/podium/webhooks/{webhook_id}/rotate-secret", json={"secret": secret}
    )
    assert rotated.status_code == 400
    assert "at least 24 random bytes" in rotated.json["message"]
