"""MLflow's multipart upload API (`mpu/create|complete|abort` and the parts' URLs) on both
stores: the client's own MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD path, and the guarantees around
it (parts in any order, a bad ETag or a missing part refused with nothing visible, abort)."""

import hashlib
import os

import pytest
import requests
from conftest import LiveServer, fresh_database
from s3_server import S3Server

MPU = "/api/2.0/mlflow-artifacts/mpu"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def s3():
    server = S3Server()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["local", "s3"])
def hosted(request, s3, tmp_path_factory):
    directory = tmp_path_factory.mktemp(f"mpu-{request.param}")
    env = s3.env(f"s3://{s3.bucket()}/mpu") if request.param == "s3" else {}
    with fresh_database(directory) as url:
        server = LiveServer(url, directory, env=env).start()
        server.kind = request.param
        yield server
        server.stop()


def _leftovers(server, s3) -> list[str]:
    """Parts or staging files left behind by uploads that ended."""
    if server.kind == "s3":
        bucket = server.env["PODIUM_ARTIFACTS_DESTINATION"].split("/")[2]
        return s3.pending_uploads(bucket)
    staging = server.workdir / "artifacts" / ".podium-staging"
    return [str(p) for p in staging.rglob("*") if p.is_file()] if staging.exists() else []


def test_the_server_says_it_takes_multipart_uploads(hosted):
    info = requests.get(hosted.url + "/api/3.0/mlflow/server-info").json()
    assert info["multipart_uploads_enabled"] is True
    assert info["multipart_downloads_enabled"] is False


def test_the_mlflow_client_uploads_a_large_file_in_parts(hosted, s3, tmp_path, monkeypatch):
    from mlflow import MlflowClient
    from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository

    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(MiB))
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(5 * MiB))
    created = []
    original = HttpArtifactRepository.create_multipart_upload

    def spy(self, *args, **kwargs):
        answer = original(self, *args, **kwargs)
        created.append(len(answer.credentials))
        return answer

    monkeypatch.setattr(HttpArtifactRepository, "create_multipart_upload", spy)
    weights = tmp_path / "weights.bin"
    weights.write_bytes(os.urandom(12 * MiB + 123))
    client = MlflowClient(hosted.url)
    run = client.create_run("0")
    client.log_artifact(run.info.run_id, str(weights), artifact_path="model")
    assert created == [3]  # 5 + 5 + 2 MiB, through Podium's part URLs

    down = client.download_artifacts(run.info.run_id, "model/weights.bin", str(tmp_path / "d"))
    assert open(down, "rb").read() == weights.read_bytes()
    lineage_path = f"0/{run.info.run_id}/artifacts/model"
    listed = requests.get(hosted.url + ARTIFACTS, params={"path": lineage_path}).json()
    assert listed["files"] == [
        {"path": "weights.bin", "is_dir": False, "file_size": 12 * MiB + 123}
    ]
    assert _leftovers(hosted, s3) == []


def _create(server, directory: str, name: str, parts: int) -> dict:
    answer = requests.post(
        f"{server.url}{MPU}/create/{directory}",
        json={"path": f"/home/me/{name}", "num_parts": parts},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_parts_in_any_order_make_one_whole_file(hosted, s3):
    created = _create(hosted, "5/r/artifacts/m", "blob.bin", 3)
    assert [c["part_number"] for c in created["credentials"]] == [1, 2, 3]
    bodies = [os.urandom(5 * MiB), os.urandom(5 * MiB), b"tail"]
    etags = {}
    for number in (3, 1, 2):
        credential = created["credentials"][number - 1]
        answer = requests.put(credential["url"], data=bodies[number - 1])
        assert answer.status_code == 200, answer.text
        etags[number] = answer.headers["ETag"]
    # Nothing is visible before the upload completes.
    assert requests.get(f"{hosted.url}{ARTIFACTS}/5/r/artifacts/m/blob.bin").status_code == 404
    parts = [{"part_number": n, "etag": etags[n], "url": "ignored"} for n in (1, 2, 3)]
    done = requests.post(
        f"{hosted.url}{MPU}/complete/5/r/artifacts/m",
        json={"path": "/home/me/blob.bin", "upload_id": created["upload_id"], "parts": parts},
    )
    assert done.status_code == 200, done.text
    got = requests.get(f"{hosted.url}{ARTIFACTS}/5/r/artifacts/m/blob.bin").content
    assert hashlib.sha256(got).digest() == hashlib.sha256(b"".join(bodies)).digest()
    assert _leftovers(hosted, s3) == []


def test_a_wrong_etag_or_a_missing_part_is_refused_and_abort_forgets_the_upload(hosted, s3):
    created = _create(hosted, "6/r/artifacts", "x.bin", 2)
    first = requests.put(created["credentials"][0]["url"], data=os.urandom(5 * MiB))
    complete = f"{hosted.url}{MPU}/complete/6/r/artifacts"
    body = {"path": "x.bin", "upload_id": created["upload_id"]}
    wrong = [{"part_number": 1, "etag": '"0123"'}]
    answer = requests.post(complete, json={**body, "parts": wrong})
    assert (answer.status_code, answer.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    missing = [{"part_number": 1, "etag": first.headers["ETag"]}, {"part_number": 2, "etag": "x"}]
    answer = requests.post(complete, json={**body, "parts": missing})
    assert answer.status_code == 400, answer.text
    assert requests.get(f"{hosted.url}{ARTIFACTS}/6/r/artifacts/x.bin").status_code == 404

    aborted = requests.post(f"{hosted.url}{MPU}/abort/6/r/artifacts", json=body)
    assert aborted.status_code == 200, aborted.text
    answer = requests.post(complete, json={**body, "parts": missing[:1]})
    assert (answer.status_code, answer.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
    late = requests.put(created["credentials"][1]["url"], data=b"late")
    # S3 answers NoSuchUpload (404); moto fails inside on a part for an aborted upload (500),
    # which Podium passes on as a store that is not well (503): either way nothing is stored.
    assert late.status_code in ((404,) if hosted.kind == "local" else (404, 503)), late.text
    assert _leftovers(hosted, s3) == []


@pytest.mark.parametrize(
    "directory, name",
    [
        ("%2e%2e", "x.bin"),
        ("1/%2E%2E%2F%2E%2E", "x.bin"),
        ("1/r", "C:\\Users\\me\\.."),
        ("1/r", "/home/me/"),
        ("1/r", "%2e%2e"),
        (".podium-staging", "x"),
    ],
)
def test_a_multipart_upload_is_held_to_the_path_rules(hosted, directory, name):
    answer = requests.post(f"{hosted.url}{MPU}/create/{directory}", json={"path": name})
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["error_code"] in ("INVALID_PARAMETER_VALUE", "ENDPOINT_NOT_FOUND")


def test_a_part_url_for_another_path_or_upload_is_refused(hosted):
    created = _create(hosted, "7/r/artifacts", "a.bin", 1)
    url = created["credentials"][0]["url"]
    other_path = url.replace("/7/r/artifacts/a.bin", "/7/r/artifacts/b.bin")
    assert requests.put(other_path, data=b"x").status_code == 404
    token = url.split("/parts/")[1].split("/")[0]
    assert requests.put(url.replace(token, "bm9wZQ"), data=b"x").status_code == 404
    assert requests.put(url.replace("/1/7/", "/0/7/"), data=b"x").status_code == 400


def test_the_local_store_removes_the_parts_of_abandoned_uploads(hosted, s3):
    if hosted.kind != "local":
        pytest.skip("S3 users give the bucket a lifecycle rule for abandoned uploads")
    from registry.artifacts.local import ABANDONED_AFTER_SECONDS

    old = _create(hosted, "8/r/artifacts", "old.bin", 1)
    assert requests.put(old["credentials"][0]["url"], data=b"part").status_code == 200
    directory = hosted.workdir / "artifacts/.podium-staging/multipart" / old["upload_id"]
    idle = os.stat(directory).st_mtime - ABANDONED_AFTER_SECONDS - 60
    os.utime(directory, (idle, idle))
    recent = _create(hosted, "8/r/artifacts", "new.bin", 1)  # starting one sweeps the idle
    assert not directory.exists()
    body = {"path": "old.bin", "upload_id": old["upload_id"], "parts": [{"part_number": 1}]}
    answer = requests.post(f"{hosted.url}{MPU}/complete/8/r/artifacts", json=body)
    assert answer.status_code == 404
    abort = {"path": "new.bin", "upload_id": recent["upload_id"]}
    assert requests.post(f"{hosted.url}{MPU}/abort/8/r/artifacts", json=abort).status_code == 200


def test_behind_authentication_the_parts_need_only_their_sealed_url(tmp_path, monkeypatch):
    """With PODIUM_AUTH=basic, creating and completing need the caller's credentials; the
    client sends each part to its URL without them, and the URL's token is enough."""
    from mlflow import MlflowClient

    admin = ("admin", "a-long-admin-password-for-tests")
    env = {
        "PODIUM_AUTH": "basic",
        "PODIUM_ADMIN_USERNAME": admin[0],
        "PODIUM_ADMIN_PASSWORD": admin[1],
    }
    with fresh_database(tmp_path) as url:
        server = LiveServer(url, tmp_path, env=env).start()
        try:
            refused = requests.post(f"{server.url}{MPU}/create/0/r/artifacts", json={"path": "x"})
            assert refused.status_code == 401
            monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", admin[0])
            monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", admin[1])
            monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
            monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(MiB))
            monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(5 * MiB))
            weights = tmp_path / "w.bin"
            weights.write_bytes(os.urandom(6 * MiB))
            client = MlflowClient(server.url)
            run = client.create_run("0")
            client.log_artifact(run.info.run_id, str(weights))
            got = requests.get(
                f"{server.url}{ARTIFACTS}/0/{run.info.run_id}/artifacts/w.bin", auth=admin
            )
            assert got.content == weights.read_bytes()
            # A made-up token is no way in.
            forged = requests.put(f"{server.url}{MPU}/parts/Zm9v/1/0/r/artifacts/x", data=b"x")
            assert forged.status_code == 404
        finally:
            server.stop()
