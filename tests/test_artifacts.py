"""The artifact proxy against a live gunicorn server: streaming in and out in constant memory,
whole-or-nothing uploads, the MLflow client's own calls, and path traversal refused.
"""

import hashlib
import http.client
import os
import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"
MiB = 1024 * 1024
SECRET = "the secret kept next to the artifact root: 7f3a9c"


def _files(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


def _staging(server) -> list[str]:
    staging = server.workdir / "artifacts" / ".podium-staging"
    return os.listdir(staging) if staging.exists() else []


# --- the proxy's own behaviour ----------------------------------------------------------------


def test_put_get_list_delete(shared_server):
    url = shared_server.url + ARTIFACTS
    root = shared_server.workdir / "artifacts"
    assert requests.put(f"{url}/7/r1/artifacts/a.txt", data=b"first").status_code == 200
    assert requests.put(f"{url}/7/r1/artifacts/a.txt", data=b"second").json() == {}
    # A body without Content-Length (chunked transfer encoding) streams in the same way.
    chunked = requests.put(f"{url}/7/r1/artifacts/d/e.bin", data=iter([b"x" * 1000, b"y" * 24]))
    assert chunked.status_code == 200
    assert (root / "7/r1/artifacts/d/e.bin").read_bytes() == b"x" * 1000 + b"y" * 24

    got = requests.get(f"{url}/7/r1/artifacts/a.txt")
    assert (got.status_code, got.content) == (200, b"second")
    assert got.headers["Content-Disposition"] == "attachment; filename=a.txt"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    html = requests.put(f"{url}/7/r1/artifacts/page.html", data=b"<script>alert(1)</script>")
    assert html.status_code == 200
    assert (
        requests.get(f"{url}/7/r1/artifacts/page.html")
        .headers["Content-Type"]
        .startswith("text/plain")
    )

    listed = requests.get(url, params={"path": "7/r1/artifacts"}).json()
    assert listed == {
        "files": [
            {"path": "a.txt", "is_dir": False, "file_size": 6},
            {"path": "d", "is_dir": True},
            {"path": "page.html", "is_dir": False, "file_size": 25},
        ]
    }
    # A missing path and a file path both list as {}, which the client reads as "a file".
    assert requests.get(url, params={"path": "7/r1/artifacts/nothing"}).json() == {}
    assert requests.get(url, params={"path": "7/r1/artifacts/a.txt"}).json() == {}
    missing = requests.get(f"{url}/7/r1/artifacts/nothing.txt")
    assert (missing.status_code, missing.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")

    # Writing onto a directory, or below a file, is refused and changes nothing.
    assert requests.put(f"{url}/7/r1/artifacts/d", data=b"z").status_code == 400
    assert requests.put(f"{url}/7/r1/artifacts/a.txt/under", data=b"z").status_code == 400
    assert (root / "7/r1/artifacts/a.txt").read_bytes() == b"second"

    assert requests.delete(f"{url}/7/r1/artifacts/a.txt").json() == {}
    assert requests.delete(f"{url}/7/r1/artifacts/d").json() == {}
    assert requests.delete(f"{url}/7/r1/artifacts/d").status_code == 200  # already gone
    assert sorted(os.listdir(root / "7/r1/artifacts")) == ["page.html"]
    assert _staging(shared_server) == []


def test_the_mlflow_client_logs_lists_downloads_and_deletes(shared_server, tmp_path):
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
    from mlflow.tracking import MlflowClient

    client = MlflowClient(shared_server.url)
    run = client.create_run("0")
    (tmp_path / "up" / "deep" / "er").mkdir(parents=True)
    (tmp_path / "up" / "top.txt").write_text("top")
    (tmp_path / "up" / "deep" / "er" / "leaf.bin").write_bytes(bytes(range(256)) * 100)
    client.log_artifacts(run.info.run_id, str(tmp_path / "up"), artifact_path="tree")
    client.log_text(run.info.run_id, "note", "notes/n.txt")

    assert [f.path for f in client.list_artifacts(run.info.run_id)] == ["notes", "tree"]
    assert [f.path for f in client.list_artifacts(run.info.run_id, "tree/deep/er")] == [
        "tree/deep/er/leaf.bin"
    ]
    downloaded = Path(client.download_artifacts(run.info.run_id, "tree", str(tmp_path / "down")))
    assert _files(downloaded) == _files(tmp_path / "up")

    import mlflow

    mlflow.set_tracking_uri(shared_server.url)
    repo = get_artifact_repository(run.info.artifact_uri)
    repo.delete_artifacts("tree/deep")
    assert [f.path for f in client.list_artifacts(run.info.run_id, "tree")] == ["tree/top.txt"]
    repo.delete_artifacts()  # the run's whole artifact directory
    assert client.list_artifacts(run.info.run_id) == []


def test_large_upload_streams_in_constant_memory(live_server_factory):
    """~400 MB in and out; the worker's peak memory stays far below that, whatever the limit
    on JSON bodies (1 KB here) says."""
    server = live_server_factory(workers=1, env={"PODIUM_MAX_REQUEST_BYTES": "1024"})
    [worker] = _web_workers(server)
    before = _memory_kb(worker, "VmHWM")
    size, block = 400 * MiB, os.urandom(MiB)
    sent = hashlib.sha256()

    class Body:
        """Generated as it is sent, so the client does not hold it either; has a length."""

        def __len__(self):
            return size

        def __iter__(self):
            for i in range(size // MiB):
                chunk = i.to_bytes(8, "big") + block[8:]
                sent.update(chunk)
                yield chunk

    url = f"{server.url}{ARTIFACTS}/1/big/artifacts/weights.bin"
    assert requests.put(url, data=Body(), timeout=300).status_code == 200
    assert (server.workdir / "artifacts/1/big/artifacts/weights.bin").stat().st_size == size
    after_upload = _memory_kb(worker, "VmHWM")

    received = hashlib.sha256()
    with requests.get(url, stream=True, timeout=300) as response:
        assert response.headers["Content-Length"] == str(size)
        for chunk in response.iter_content(MiB):
            received.update(chunk)
    after_download = _memory_kb(worker, "VmHWM")

    assert received.hexdigest() == sent.hexdigest()
    # Peak resident memory grew by well under a tenth of what passed through.
    for peak in (after_upload, after_download):
        assert peak - before < 40 * 1024, (before, after_upload, after_download)
    # JSON bodies are still held to the configured limit.
    too_big = requests.post(
        server.url + "/api/2.0/mlflow/experiments/create", json={"name": "x" * 2000}
    )
    assert too_big.status_code == 413


def _web_workers(server) -> list[int]:
    """gunicorn's web workers: children of the server process that are not the dispatcher."""
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    pids = [int(pid) for pid in children.read_text().split()]
    return [pid for pid in pids if b"\0worker\0" not in Path(f"/proc/{pid}/cmdline").read_bytes()]


def _memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


def test_interrupted_upload_leaves_nothing_behind(shared_server):
    url = shared_server.url + ARTIFACTS
    target = shared_server.workdir / "artifacts/3/r/artifacts/model.bin"
    assert requests.put(f"{url}/3/r/artifacts/model.bin", data=b"complete").status_code == 200

    sized = f"Content-Length: {8 * MiB}\r\n\r\n".encode() + b"\x00" * MiB  # an eighth of it
    chunked = b"Transfer-Encoding: chunked\r\n\r\n" + b"100000\r\n" + b"\x00" * MiB + b"\r\n"
    for path, headers_and_body in (
        ("3/r/artifacts/model.bin", sized),
        ("3/r/artifacts/new.bin", sized),
        ("3/r/artifacts/new.bin", chunked),  # no terminating zero-length chunk
    ):
        host, port = urlsplit(shared_server.url).netloc.split(":")
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(f"PUT {ARTIFACTS}/{path} HTTP/1.1\r\nHost: {host}\r\n".encode())
            sock.sendall(headers_and_body)
            sock.shutdown(socket.SHUT_WR)  # hang up before the body is complete
            answer = sock.makefile("rb").read()
        assert answer.startswith(b"HTTP/1.1 400"), answer[:300]
        assert b"nothing was stored" in answer
        assert _staging(shared_server) == []

    assert target.read_bytes() == b"complete"  # the old version, whole
    assert not target.with_name("new.bin").exists()
    assert requests.get(f"{url}/3/r/artifacts/new.bin").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "4/r/artifacts/" + "n" * 300 + ".bin",  # a file name longer than the file system holds
        "4/r/artifacts/" + "d" * 300 + "/model.bin",  # a directory name, likewise
    ],
)
def test_a_name_the_file_system_cannot_hold_is_a_400(shared_server, path):
    url = shared_server.url + ARTIFACTS
    answer = requests.put(f"{url}/{path}", data=b"bytes")
    assert answer.status_code == 400, answer.text
    assert answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    # Refused up front (the 255-byte rule) before the file system is asked.
    assert "longer than 255 bytes" in answer.json()["message"]
    assert _staging(shared_server) == []
    assert requests.get(url, params={"path": "4"}).json() == {}  # no directory left behind
    assert requests.get(f"{url}/{path}").status_code in (400, 404)


# --- traversal: refused with a JSON 4xx, nothing read or written outside the root -------------


@pytest.fixture(scope="module")
def outside(shared_server):
    """A secret next to the artifact root, and a symlink inside the root that points at it."""
    directory = shared_server.workdir / "outside"
    directory.mkdir(exist_ok=True)
    (directory / "secret.txt").write_text(SECRET)
    (shared_server.workdir / "artifacts" / "1").mkdir(parents=True, exist_ok=True)
    link = shared_server.workdir / "artifacts" / "1" / "escape"
    if not link.is_symlink():
        link.symlink_to(directory, target_is_directory=True)
    return directory


TRAVERSALS = {
    "dot-dot": "../outside/secret.txt",
    "dot-dot-deeper": "1/../../outside/secret.txt",
    "encoded": "%2e%2e/outside/secret.txt",
    "encoded-slashes": "%2E%2E%2Foutside%2Fsecret.txt",
    "double-encoded": "%252e%252e%252foutside%252fsecret.txt",
    "backslash": "..\\outside\\secret.txt",
    "encoded-backslash": "..%5Coutside%5Csecret.txt",
    "fullwidth-dots": "%EF%BC%8E%EF%BC%8E/outside/secret.txt",
    "absolute": "%2F{workdir}%2Foutside%2Fsecret.txt",
    "nul": "1/secret.txt%00.png",
    "symlink-out": "1/escape/secret.txt",
    "staging": ".podium-staging/x",
}


def _raw_request(server, method: str, target: str) -> tuple[int, str, bytes]:
    """Send the request line exactly as given: HTTP libraries would normalise the '..'."""
    host, port = urlsplit(server.url).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.putrequest(method, target, skip_accept_encoding=True)
        body = b"planted" if method == "PUT" else b""
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        connection.close()


def _snapshot(server) -> dict[str, bytes]:
    """Every file of the server's directory, but the database and the log it writes itself."""
    return {
        name: content
        for name, content in _files(server.workdir).items()
        if not name.startswith(("podium.db", "server-"))
    }


@pytest.mark.parametrize("method", ["PUT", "GET", "LIST", "DELETE"])
@pytest.mark.parametrize("path", list(TRAVERSALS.values()), ids=list(TRAVERSALS))
def test_traversal_is_refused(shared_server, outside, method, path):
    path = path.format(workdir=str(shared_server.workdir).strip("/").replace("/", "%2F"))
    before = _snapshot(shared_server)
    if method == "LIST":
        status, content_type, body = _raw_request(shared_server, "GET", f"{ARTIFACTS}?path={path}")
    else:
        status, content_type, body = _raw_request(shared_server, method, f"{ARTIFACTS}/{path}")
    assert 400 <= status < 500, (status, body)
    assert content_type == "application/json", body
    assert b'"error_code"' in body and SECRET.encode() not in body
    assert _snapshot(shared_server) == before
    assert (outside / "secret.txt").read_text() == SECRET
    assert sorted(os.listdir(outside)) == ["secret.txt"]


def test_listing_skips_links_out_of_the_root(shared_server, outside):
    listed = requests.get(shared_server.url + ARTIFACTS, params={"path": "1"}).json()
    assert "escape" not in [entry["path"] for entry in listed.get("files", [])]


def test_concurrent_uploads_of_one_path_leave_one_whole_file(shared_server):
    url = f"{shared_server.url}{ARTIFACTS}/5/race/artifacts/file.bin"
    bodies = [bytes([i]) * (2 * MiB) for i in range(6)]
    threads = [
        threading.Thread(target=requests.put, args=(url,), kwargs={"data": b}) for b in bodies
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert requests.get(url).content in bodies
    assert _staging(shared_server) == []


@pytest.mark.parametrize(
    "path",
    [
        "x" * 256 + "/model.pkl",  # one name past the file system's 255 bytes
        "dir/" + "é" * 128,  # 256 bytes in UTF-8, though 128 characters
    ],
    ids=["ascii", "utf-8"],
)
@pytest.mark.parametrize("method", ["PUT", "GET"])
def test_a_name_longer_than_the_file_system_allows_is_a_400(shared_server, method, path):
    before = _snapshot(shared_server)
    response = requests.request(method, f"{shared_server.url}{ARTIFACTS}/{path}", data=b"x")
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "longer than 255 bytes" in response.json()["message"]
    assert _snapshot(shared_server) == before and _staging(shared_server) == []


def test_a_name_of_255_bytes_is_stored(shared_server):
    path = "long/" + "n" * 255
    put = requests.put(f"{shared_server.url}{ARTIFACTS}/{path}", data=b"kept")
    assert put.status_code == 200, put.text
    assert requests.get(f"{shared_server.url}{ARTIFACTS}/{path}").content == b"kept"
