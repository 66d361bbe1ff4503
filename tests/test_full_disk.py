"""A full disk under a live Podium: 507 naming the store that is full, nothing partial left,
reads still served, writes back as soon as space is, without a restart.

The small disk is an 8 MB tmpfs (mounting needs root; the tests skip, saying so, without it).
"""

import errno
import os
import subprocess

import pytest
import requests
from conftest import LiveServer
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts/"
TIMEOUT = 30


@pytest.fixture
def small_disk(tmp_path):
    """An 8 MB file system of its own, unmounted afterwards."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8M", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"needs to mount a small tmpfs (root): {done.stderr.strip() or done.stdout}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(disk) -> str:
    """Write a file until the disk has no byte left; its path."""
    filler = os.path.join(disk, "filler")
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (1024 * 1024, 4096, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as error:
                    assert error.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)
    return filler


def _assert_full(response: requests.Response, store: str) -> None:
    assert response.status_code == 507, response.text
    assert response.json()["error_code"] == "RESOURCE_EXHAUSTED"
    assert store in response.json()["message"]


def test_a_full_artifact_root_is_507_and_nothing_partial_is_left(
    database_url, tmp_path, small_disk
):
    root = small_disk / "artifacts"
    server = LiveServer(
        database_url, tmp_path, env={"PODIUM_ARTIFACTS_DESTINATION": str(root)}
    ).start()
    try:
        kept = server.url + ARTIFACTS + "0/run/artifacts/kept.txt"
        big = server.url + ARTIFACTS + "0/run/artifacts/model/weights.bin"
        assert requests.put(kept, data=b"kept", timeout=TIMEOUT).ok
        filler = _fill(small_disk)

        for _ in range(2):  # both workers
            upload = requests.put(big, data=os.urandom(1024 * 1024), timeout=TIMEOUT)
            _assert_full(upload, "artifact")
        assert requests.get(big, timeout=TIMEOUT).status_code == 404
        assert os.listdir(root / ".podium-staging") == []  # no half-written upload
        listing = requests.get(
            server.url + ARTIFACTS.rstrip("/"), params={"path": "0/run/artifacts"}, timeout=TIMEOUT
        )
        assert [f["path"] for f in listing.json()["files"]] == ["kept.txt"]
        assert requests.get(kept, timeout=TIMEOUT).content == b"kept"  # reads go on

        os.unlink(filler)  # space is back: the very next upload works
        weights = os.urandom(1024 * 1024)
        assert requests.put(big, data=weights, timeout=TIMEOUT).ok
        assert requests.get(big, timeout=TIMEOUT).content == weights
    finally:
        server.stop()


def test_a_full_sqlite_database_is_507_and_writes_resume_when_space_returns(tmp_path, small_disk):
    url = f"sqlite:///{small_disk / 'podium.db'}"
    server = LiveServer(url, tmp_path).start()
    try:
        client = MlflowClient(tracking_uri=server.url, registry_uri=server.url)
        client.create_registered_model("kept", description="written before the disk filled")
        filler = _fill(small_disk)

        create = {"name": "big", "description": "x" * 100_000}  # more pages than any slack
        for _ in range(3):  # both workers, and one again on a connection that saw the error
            _assert_full(
                requests.post(
                    server.url + "/api/2.0/mlflow/registered-models/create",
                    json=create,
                    timeout=TIMEOUT,
                ),
                "database",
            )
        with pytest.raises(MlflowException, match="The database is full") as full:
            client.update_registered_model("kept", description="y" * 100_000)
        assert full.value.error_code == "RESOURCE_EXHAUSTED"
        assert client.get_registered_model("kept").description == "written before the disk filled"
        assert [m.name for m in client.search_registered_models()] == ["kept"]  # reads go on

        os.unlink(filler)
        answer = requests.post(
            server.url + "/api/2.0/mlflow/registered-models/create", json=create, timeout=TIMEOUT
        )
        assert answer.status_code == 200, answer.text  # not "already exists": nothing partial
        assert client.get_registered_model("big").description == create["description"]
    finally:
        server.stop()
