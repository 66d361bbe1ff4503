"""Two Podium hosts, one PostgreSQL database, one bucket: each sees what the other stores.

Each host is a `podium serve` of its own with its own working directory (nothing on disk is
shared); the artifacts live only in the bucket. Skipped, saying so, without PostgreSQL.
"""

import os

import pytest
import requests
from conftest import LiveServer
from mlflow import MlflowClient
from s3_server import S3Server

ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
MPU = "/api/2.0/mlflow-artifacts/mpu"


@pytest.fixture
def hosts(postgres_database_url, tmp_path):
    s3 = S3Server()
    bucket = s3.bucket()
    servers = []
    try:
        for name in ("a", "b"):
            (tmp_path / name).mkdir()
            env = s3.env(f"s3://{bucket}/shared")
            servers.append(LiveServer(postgres_database_url, tmp_path / name, env=env).start())
        yield servers, s3, bucket
    finally:
        for server in servers:
            server.stop()
        s3.stop()


def test_two_hosts_share_one_bucket(hosts, tmp_path):
    (a, b), s3, bucket = hosts
    assert a.workdir != b.workdir
    run = MlflowClient(a.url).create_run("0")
    root = f"0/{run.info.run_id}/artifacts"

    payload = os.urandom(100_000)
    assert requests.put(f"{a.url}{ARTIFACTS}/{root}/model.bin", data=payload).status_code == 200
    assert requests.get(f"{b.url}{ARTIFACTS}/{root}/model.bin").content == payload
    listed = requests.get(b.url + ARTIFACTS, params={"path": root}).json()
    assert listed == {"files": [{"path": "model.bin", "is_dir": False, "file_size": 100_000}]}

    # A multipart upload begun on A, its parts sent to B and A in turn, completed on B.
    created = requests.post(
        f"{a.url}{MPU}/create/{root}/big", json={"path": "weights.bin", "num_parts": 2}
    ).json()
    parts, bodies = [], [os.urandom(5 * 1024 * 1024), b"end"]
    for credential, host, body in zip(created["credentials"], (b, a), bodies, strict=True):
        url = credential["url"].replace(a.url, host.url)
        sent = requests.put(url, data=body)
        assert sent.status_code == 200, sent.text
        parts.append({"part_number": credential["part_number"], "etag": sent.headers["ETag"]})
    done = requests.post(
        f"{b.url}{MPU}/complete/{root}/big",
        json={"path": "weights.bin", "upload_id": created["upload_id"], "parts": parts},
    )
    assert done.status_code == 200, done.text
    assert requests.get(f"{a.url}{ARTIFACTS}/{root}/big/weights.bin").content == b"".join(bodies)

    # The MLflow client on B reads what A stored, and a delete through B is seen on A.
    down = MlflowClient(b.url).download_artifacts(run.info.run_id, "", str(tmp_path / "d"))
    assert sorted(os.listdir(down)) == ["big", "model.bin"]
    assert requests.delete(f"{b.url}{ARTIFACTS}/{root}").status_code == 200
    assert requests.get(a.url + ARTIFACTS, params={"path": root}).json() == {}
    assert list(s3.keys(bucket, "shared/")) == []
    assert s3.pending_uploads(bucket) == []
