"""Artifacts in S3: the proxy against a live gunicorn whose store is a real S3-compatible server
(moto's server mode on loopback), driven by plain HTTP and by the MLflow client.

The same guarantees as the local store: path rules, nothing outside the prefix, whole-or-
nothing uploads, complete deletes, and MLflow-style errors (503 with Retry-After) when the
store is away.
"""

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from conftest import LiveServer, fresh_database
from s3_server import S3Server

from registry.artifacts.s3 import S3ArtifactStore

ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
MiB = 1024 * 1024
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def s3():
    server = S3Server()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def hosted(s3, tmp_path_factory):
    """One live server (2 workers) keeping its artifacts under s3://<bucket>/team/artifacts."""
    directory = tmp_path_factory.mktemp("s3-server")
    bucket = s3.bucket()
    s3.client.put_object(Bucket=bucket, Key="secret.txt", Body=b"outside the prefix")
    with fresh_database(directory) as url:
        server = LiveServer(url, directory, env=s3.env(f"s3://{bucket}/team/artifacts")).start()
        server.bucket, server.prefix = bucket, "team/artifacts/"
        yield server
        server.stop()


def _objects(s3, server) -> dict[str, bytes]:
    """The bucket's objects below the server's prefix, by their path relative to it."""
    found = s3.keys(server.bucket)
    assert found.pop("secret.txt") == b"outside the prefix"
    assert all(key.startswith(server.prefix) for key in found), sorted(found)
    return {key[len(server.prefix) :]: body for key, body in found.items()}


def test_put_get_list_delete(s3, hosted):
    url = hosted.url + ARTIFACTS
    assert requests.put(f"{url}/7/r1/artifacts/a.txt", data=b"first").status_code == 200
    assert requests.put(f"{url}/7/r1/artifacts/a.txt", data=b"second").json() == {}
    chunked = requests.put(f"{url}/7/r1/artifacts/d/e.bin", data=iter([b"x" * 1000, b"y" * 24]))
    assert chunked.status_code == 200
    objects = _objects(s3, hosted)
    assert objects["7/r1/artifacts/d/e.bin"] == b"x" * 1000 + b"y" * 24
    assert objects["7/r1/artifacts/a.txt"] == b"second"

    got = requests.get(f"{url}/7/r1/artifacts/a.txt")
    assert (got.status_code, got.content) == (200, b"second")
    assert got.headers["Content-Disposition"] == "attachment; filename=a.txt"
    assert got.headers["Content-Length"] == "6"
    listed = requests.get(url, params={"path": "7/r1/artifacts"}).json()
    assert listed == {
        "files": [
            {"path": "a.txt", "is_dir": False, "file_size": 6},
            {"path": "d", "is_dir": True},
        ]
    }
    assert requests.get(url, params={"path": "7/r1/artifacts/nothing"}).json() == {}
    assert requests.get(url, params={"path": "7/r1/artifacts/a.txt"}).json() == {}
    missing = requests.get(f"{url}/7/r1/artifacts/nothing.txt")
    assert (missing.status_code, missing.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")

    # A file where a directory is, or below a file: refused as on a file system.
    assert requests.put(f"{url}/7/r1/artifacts/d", data=b"z").status_code == 400
    assert requests.put(f"{url}/7/r1/artifacts/a.txt/under", data=b"z").status_code == 400
    assert _objects(s3, hosted)["7/r1/artifacts/a.txt"] == b"second"

    assert requests.delete(f"{url}/7/r1/artifacts/d").json() == {}
    assert requests.delete(f"{url}/7/r1/artifacts/d").status_code == 200  # already gone
    assert sorted(_objects(s3, hosted)) == ["7/r1/artifacts/a.txt"]
    assert s3.pending_uploads(hosted.bucket) == []


def test_a_large_upload_streams_into_parts_and_appears_whole(s3, hosted):
    size, sent = 21 * MiB, hashlib.sha256()  # three 8 MiB parts, the last one short
    block = os.urandom(MiB)

    def body():
        for i in range(size // MiB):
            chunk = i.to_bytes(4, "big") + block[4:]
            sent.update(chunk)
            yield chunk

    url = f"{hosted.url}{ARTIFACTS}/8/big/artifacts/weights.bin"
    assert requests.put(url, data=body(), timeout=120).status_code == 200
    stored = _objects(s3, hosted)["8/big/artifacts/weights.bin"]
    assert hashlib.sha256(stored).hexdigest() == sent.hexdigest()
    received = hashlib.sha256()
    with requests.get(url, stream=True, timeout=120) as response:
        assert response.headers["Content-Length"] == str(size)
        for chunk in response.iter_content(MiB):
            received.update(chunk)
    assert received.hexdigest() == sent.hexdigest()
    assert s3.pending_uploads(hosted.bucket) == []


def test_an_interrupted_upload_leaves_nothing_visible(s3, hosted):
    url = hosted.url + ARTIFACTS
    assert requests.put(f"{url}/3/r/artifacts/model.bin", data=b"complete").status_code == 200
    host, port = urlsplit(hosted.url).netloc.split(":")
    # 20 MiB announced, 12 sent: past the first part, so a multipart upload was under way.
    for path in ("3/r/artifacts/model.bin", "3/r/artifacts/new.bin"):
        with socket.create_connection((host, int(port)), timeout=60) as sock:
            sock.sendall(f"PUT {ARTIFACTS}/{path} HTTP/1.1\r\nHost: {host}\r\n".encode())
            sock.sendall(f"Content-Length: {20 * MiB}\r\n\r\n".encode())
            for _ in range(12):
                sock.sendall(b"\x01" * MiB)
            sock.shutdown(socket.SHUT_WR)
            answer = sock.makefile("rb").read()
        assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
        assert b"nothing was stored" in answer
    objects = _objects(s3, hosted)
    assert objects["3/r/artifacts/model.bin"] == b"complete"
    assert "3/r/artifacts/new.bin" not in objects
    assert s3.pending_uploads(hosted.bucket) == []  # the parts sent were aborted


@pytest.mark.parametrize(
    "path",
    [
        "../secret.txt",
        "..%2Fsecret.txt",
        "%252e%252e%252fsecret.txt",
        "1/..%5C..%5Csecret.txt",
        "%2Fsecret.txt",
        "1/secret.txt%00",
        ".podium-staging/x",
    ],
)
@pytest.mark.parametrize("method", ["PUT", "GET", "DELETE"])
def test_nothing_outside_the_prefix_is_reached(s3, hosted, method, path):
    before = s3.keys(hosted.bucket)
    answer = requests.request(method, f"{hosted.url}{ARTIFACTS}/{path}", data=b"planted")
    assert 400 <= answer.status_code < 500, answer.text
    assert b"outside the prefix" not in answer.content
    assert s3.keys(hosted.bucket) == before


def test_the_mlflow_client_quickstart_log_model_and_load_model(s3, hosted, tmp_path):
    import mlflow
    import numpy as np
    from mlflow import MlflowClient
    from sklearn.linear_model import LogisticRegression

    mlflow.set_tracking_uri(hosted.url)
    mlflow.set_experiment("s3-quickstart")
    outputs = tmp_path / "outputs"
    (outputs / "sub").mkdir(parents=True)
    (outputs / "test.txt").write_text("hello")
    (outputs / "sub" / "a.json").write_text('{"a": 1}')
    with mlflow.start_run() as run:
        mlflow.log_param("param1", 73)
        for step in range(3):
            mlflow.log_metric("foo", step * 0.5, step=step)
        mlflow.log_artifacts(str(outputs))
        X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
        mlflow.sklearn.log_model(LogisticRegression().fit(X, y), name="model")
    experiment_id = run.info.experiment_id
    client = MlflowClient(hosted.url)
    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["sub", "test.txt"]
    down = Path(client.download_artifacts(run.info.run_id, "", str(tmp_path / "down")))
    assert (down / "sub" / "a.json").read_text() == '{"a": 1}'

    version = mlflow.register_model(f"runs:/{run.info.run_id}/model", "s3-model")
    model = mlflow.pyfunc.load_model(f"models:/s3-model/{version.version}")
    assert list(model.predict(np.array([[0.0], [3.0]]))) == [0, 1]

    objects = _objects(s3, hosted)
    assert objects[f"{experiment_id}/{run.info.run_id}/artifacts/test.txt"] == b"hello"
    model_files = [key for key in objects if f"{experiment_id}/models/m-" in key]
    assert any(key.endswith("/artifacts/MLmodel") for key in model_files), model_files

    # Deleting the run's artifacts removes every object below them.
    mlflow.artifacts.download_artifacts  # noqa: B018 (the client module is loaded)
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    get_artifact_repository(run.info.artifact_uri).delete_artifacts()
    prefix = f"{experiment_id}/{run.info.run_id}/"
    assert [key for key in _objects(s3, hosted) if key.startswith(prefix)] == []


def test_an_outage_of_the_store_is_a_503_with_retry_after_and_passes(s3, hosted):
    url = f"{hosted.url}{ARTIFACTS}/9/r/artifacts/f.txt"
    assert requests.put(url, data=b"before").status_code == 200
    s3.stop()
    try:
        for answer in (
            requests.put(url, data=b"during", timeout=60),
            requests.get(url, timeout=60),
            requests.get(hosted.url + ARTIFACTS, params={"path": "9/r/artifacts"}, timeout=60),
            requests.delete(url, timeout=60),
        ):
            assert answer.status_code == 503, answer.text
            assert answer.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
            assert "artifact store is unreachable" in answer.json()["message"]
            assert int(answer.headers["Retry-After"]) >= 1
    finally:
        s3.restart()
    assert requests.get(url, timeout=60).content == b"before"  # nothing changed meanwhile
    assert requests.put(url, data=b"after", timeout=60).status_code == 200
    assert requests.get(url, timeout=60).content == b"after"


@pytest.mark.parametrize(
    "code, status, error_code",
    [
        ("EntityTooLarge", 507, "RESOURCE_EXHAUSTED"),
        ("QuotaExceeded", 507, "RESOURCE_EXHAUSTED"),
        ("XMinioStorageFull", 507, "RESOURCE_EXHAUSTED"),
        ("SlowDown", 503, "TEMPORARILY_UNAVAILABLE"),
        ("ServiceUnavailable", 503, "TEMPORARILY_UNAVAILABLE"),
        ("AccessDenied", 503, "TEMPORARILY_UNAVAILABLE"),
        ("NoSuchBucket", 503, "TEMPORARILY_UNAVAILABLE"),
        ("NoSuchUpload", 404, "RESOURCE_DOES_NOT_EXIST"),
        ("SomethingNew", 409, "RESOURCE_CONFLICT"),
    ],
)
def test_what_s3_refuses_is_an_mlflow_error(code, status, error_code):
    from botocore.exceptions import ClientError

    store = S3ArtifactStore("s3://bucket/prefix")
    refusal = ClientError({"Error": {"Code": code, "Message": "..."}}, "PutObject")
    with pytest.raises(Exception) as raised, store._errors("1/r/artifacts/f"):
        raise refusal
    assert (raised.value.http_status, raised.value.error_code) == (status, error_code)
    if status == 503:
        assert raised.value.retry_after >= 1


def _podium(*args, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "registry.cli", *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_podium_db_check_says_whether_the_store_is_writable(s3, hosted, tmp_path):
    env = {**s3.env(f"s3://{hosted.bucket}/team/artifacts")}
    env["PODIUM_DATABASE_URL"] = hosted.env["PODIUM_DATABASE_URL"]
    good = _podium("db", "check", env=env, cwd=tmp_path)
    assert good.returncode == 0, good.stdout + good.stderr
    assert f"s3://{hosted.bucket}/team/artifacts at {s3.endpoint}: reachable and writable" in (
        good.stdout
    )
    assert [key for key in s3.keys(hosted.bucket) if ".podium-check" in key] == []

    missing = _podium("db", "check", env={**env, **s3.env("s3://no-such-bucket")}, cwd=tmp_path)
    assert missing.returncode == 1
    assert "no-such-bucket" in missing.stdout and "NoSuchBucket" in missing.stdout

    dead = {**env, "MLFLOW_S3_ENDPOINT_URL": "http://127.0.0.1:1"}
    unreachable = _podium("db", "check", env=dead, cwd=tmp_path)
    assert unreachable.returncode == 1
    assert "unreachable" in unreachable.stdout


def test_serve_refuses_to_start_on_a_store_it_cannot_use(s3, tmp_path):
    # A bucket that does not exist: one line naming the setting, exit 2, no boot loop.
    env = {**s3.env("s3://no-such-bucket/x"), "PODIUM_DATABASE_URL": "sqlite:///p.db"}
    refused = _podium("serve", "--port", "1", env=env, cwd=tmp_path)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "PODIUM_ARTIFACTS_DESTINATION='s3://no-such-bucket/x'" in refused.stderr
    assert "NoSuchBucket" in refused.stderr

    # Without boto3 installed: the error names the extra to install.
    hidden = tmp_path / "no-boto3"
    hidden.mkdir()
    (hidden / "boto3.py").write_text("raise ImportError('boto3 is hidden by the test')\n")
    env["PYTHONPATH"] = f"{hidden}{os.pathsep}{ROOT}"
    refused = _podium("serve", "--port", "1", env=env, cwd=tmp_path)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "pip install 'podium-registry[s3]'" in refused.stderr


def test_listing_and_deleting_page_through_more_than_a_thousand_objects(s3, hosted):
    directory = "11/many/artifacts/shards"
    for i in range(1105):  # past S3's 1,000 keys per listing page and per DeleteObjects call
        key = f"{hosted.prefix}{directory}/part-{i:05d}"
        s3.client.put_object(Bucket=hosted.bucket, Key=key, Body=b"x" * (i % 7))
    s3.client.put_object(Bucket=hosted.bucket, Key=f"{hosted.prefix}{directory}/sub/leaf", Body=b"")
    listed = requests.get(hosted.url + ARTIFACTS, params={"path": directory}).json()["files"]
    assert len(listed) == 1106
    assert listed[0] == {"path": "part-00000", "is_dir": False, "file_size": 0}
    assert listed[-1] == {"path": "sub", "is_dir": True}
    assert {entry["file_size"] for entry in listed if not entry["is_dir"]} == set(range(7))

    assert requests.delete(f"{hosted.url}{ARTIFACTS}/11/many").status_code == 200
    assert [key for key in _objects(s3, hosted) if key.startswith("11/")] == []
