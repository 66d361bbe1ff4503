"""A 200 MB artifact into S3 through MLflow's multipart upload, back out, and again as one
plain PUT, while the web worker's resident memory is sampled from /proc: it must stay under
100 MB throughout.

One gunicorn worker takes every part (the client sends several at once, on the worker's
threads), so what it holds per part, times the parts in flight, is what this measures.
"""

import hashlib
import os
import threading
import time
from pathlib import Path

import pytest
import requests
from conftest import LiveServer, fresh_database
from s3_server import S3Server

MiB = 1024 * 1024
SIZE = 200 * MiB
LIMIT_KB = 100 * 1024


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


class Sampler(threading.Thread):
    """The highest resident set size of one process, read every 20 ms."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, _rss_kb(pid), threading.Event()

    def run(self):
        while not self.done.wait(0.02):
            self.peak = max(self.peak, _rss_kb(self.pid))

    def stop(self) -> int:
        self.done.set()
        self.join()
        return self.peak


def _web_worker(server) -> int:
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    pids = [int(pid) for pid in children.read_text().split()]
    [worker] = [
        pid for pid in pids if b"\0worker\0" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    return worker


@pytest.fixture
def server(tmp_path):
    s3 = S3Server()
    bucket = s3.bucket()
    with fresh_database(tmp_path) as url:
        live = LiveServer(url, tmp_path, workers=1, env=s3.env(f"s3://{bucket}/big")).start()
        try:
            yield live, s3, bucket
        finally:
            live.stop()
            s3.stop()


def test_a_200_mb_multipart_upload_keeps_the_worker_under_100_mb(server, tmp_path, monkeypatch):
    from mlflow import MlflowClient

    live, s3, bucket = server
    monkeypatch.setenv("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "true")
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE", str(100 * MiB))
    monkeypatch.setenv("MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE", str(10 * MiB))  # MLflow's default
    weights = tmp_path / "weights.bin"
    digest, block = hashlib.sha256(), os.urandom(MiB)
    with open(weights, "wb") as out:
        for i in range(SIZE // MiB):
            chunk = i.to_bytes(4, "big") + block[4:]
            digest.update(chunk)
            out.write(chunk)

    client = MlflowClient(live.url)
    run = client.create_run("0")
    worker = _web_worker(live)
    client.list_artifacts(run.info.run_id)  # warm the worker: imports, a connection to S3
    baseline = _rss_kb(worker)
    sampler = Sampler(worker)
    sampler.start()
    started = time.monotonic()
    client.log_artifact(run.info.run_id, str(weights), artifact_path="model")
    upload_seconds = time.monotonic() - started
    upload_peak = sampler.stop()

    key = f"big/0/{run.info.run_id}/artifacts/model/weights.bin"
    head = s3.client.head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == SIZE
    assert "-20" in head["ETag"], head["ETag"]  # completed from 20 parts
    assert s3.pending_uploads(bucket) == []

    sampler = Sampler(worker)
    sampler.start()
    received = hashlib.sha256()
    url = f"{live.url}/api/2.0/mlflow-artifacts/artifacts/0/{run.info.run_id}/artifacts/model/"
    with requests.get(url + "weights.bin", stream=True, timeout=300) as response:
        assert response.headers["Content-Length"] == str(SIZE)
        for chunk in response.iter_content(MiB):
            received.update(chunk)
    download_peak = sampler.stop()
    assert received.hexdigest() == digest.hexdigest()

    # A plain PUT of 200 MB (no Content-Length: generated as sent) streams into S3 part by part.
    sampler = Sampler(worker)
    sampler.start()
    sent = hashlib.sha256()

    def body():
        for i in range(SIZE // MiB):
            chunk = (i + 7).to_bytes(4, "big") + block[4:]
            sent.update(chunk)
            yield chunk

    put = requests.put(url + "plain.bin", data=body(), timeout=300)
    put_peak = sampler.stop()
    assert put.status_code == 200, put.text
    stored = s3.client.get_object(Bucket=bucket, Key=key.replace("weights.bin", "plain.bin"))
    assert hashlib.sha256(stored["Body"].read()).hexdigest() == sent.hexdigest()
    assert s3.pending_uploads(bucket) == []

    print(
        f"\nworker RSS: {baseline / 1024:.0f} MB before, peak {upload_peak / 1024:.0f} MB "
        f"during the 200 MB multipart upload ({upload_seconds:.1f} s), peak "
        f"{download_peak / 1024:.0f} MB during the download, peak {put_peak / 1024:.0f} MB "
        "during a plain 200 MB PUT"
    )
    for peak in (upload_peak, download_peak, put_peak):
        assert peak < LIMIT_KB, (baseline, upload_peak, download_peak, put_peak)
