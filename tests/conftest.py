"""Shared fixtures: a fresh database per test, the Flask app on it, and a real gunicorn server.

Set PODIUM_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres to run the whole
suite on PostgreSQL: each fixture then creates (and drops) a database of its own on that server.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

POSTGRES_URL = os.environ.get("PODIUM_TEST_DATABASE_URL", "")
# Where tests that need PostgreSQL whatever the suite's backend (several hosts, moving between
# backends) look for a server when PODIUM_TEST_DATABASE_URL is not set.
LOCAL_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

# The MLflow client retries 5xx for minutes by default; a test must see the first answer.
os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "60"


@pytest.fixture(autouse=True)
def _mlflow_uris_stay_in_their_test():
    """MLflow keeps the tracking and registry URIs a test sets process-wide, and exports them
    to child processes: after each test, back to none, so no later test reaches a stopped
    server."""
    yield
    mlflow = sys.modules.get("mlflow")
    if mlflow is not None:
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri("")
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.environ.pop("MLFLOW_REGISTRY_URI", None)


@pytest.fixture(scope="session", autouse=True)
def secret_key_file(tmp_path_factory):
    """One key file for the whole run, as every host of a deployment shares one: PostgreSQL
    needs a key to be given, and moving data between backends needs the same key on both.
    Tests of the SQLite default (a key file beside the database) clear the variable."""
    from registry.store import secrets

    path = tmp_path_factory.mktemp("secret-key") / "podium.key"
    previous = os.environ.get("PODIUM_SECRET_KEY_FILE")
    os.environ["PODIUM_SECRET_KEY_FILE"] = str(path)
    secrets.configure({"PODIUM_SECRET_KEY_FILE": str(path)})  # for tests that skip create_app
    yield path
    if previous is None:
        del os.environ["PODIUM_SECRET_KEY_FILE"]
    else:
        os.environ["PODIUM_SECRET_KEY_FILE"] = previous


@contextmanager
def postgres_database(server_url: str = ""):
    """A new database on `server_url` (default: PODIUM_TEST_DATABASE_URL), dropped afterwards."""
    import psycopg2

    server_url = server_url or POSTGRES_URL
    name = "podium_test_" + uuid.uuid4().hex[:12]
    admin = psycopg2.connect(server_url)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(server_url)
        yield urlunsplit(parts._replace(path="/" + name))
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


@contextmanager
def fresh_database(directory: Path):
    """A new empty database: a SQLite file in `directory`, or a new PostgreSQL database."""
    if POSTGRES_URL:
        with postgres_database() as url:
            yield url
    else:
        yield f"sqlite:///{directory / 'podium.db'}"


def reachable_postgres() -> str:
    """PODIUM_TEST_DATABASE_URL, else a local server if one answers; "" when there is none."""
    import psycopg2

    try:
        psycopg2.connect(POSTGRES_URL or LOCAL_POSTGRES_URL, connect_timeout=3).close()
    except psycopg2.OperationalError:
        return ""
    return POSTGRES_URL or LOCAL_POSTGRES_URL


@pytest.fixture
def postgres_database_url():
    """A new PostgreSQL database whichever backend the suite runs on; skips if none answers."""
    server = reachable_postgres()
    if not server:
        pytest.skip(f"needs PostgreSQL: none at PODIUM_TEST_DATABASE_URL or {LOCAL_POSTGRES_URL}")
    with postgres_database(server) as url:
        yield url


@pytest.fixture
def database_url(tmp_path):
    with fresh_database(tmp_path) as url:
        yield url


@pytest.fixture
def app(database_url, tmp_path):
    from registry import create_app

    return create_app(
        {
            "TESTING": True,
            "PODIUM_DATABASE_URL": database_url,
            "PODIUM_ARTIFACTS_DESTINATION": str(tmp_path / "artifacts"),
        }
    )


@pytest.fixture
def client(app):
    return app.test_client()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """`podium serve` in a subprocess: real gunicorn, real workers, real HTTP."""

    def __init__(self, database_url: str, workdir: Path, workers: int = 2, env: dict | None = None):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.log = workdir / f"server-{self.port}.log"
        self.env = {
            **os.environ,
            "PODIUM_DATABASE_URL": database_url,
            "PODIUM_ARTIFACTS_DESTINATION": str(workdir / "artifacts"),
            "PODIUM_ACCESS_LOG": "",
            **(env or {}),
        }
        self.workers = workers
        self.process = None

    def start(self) -> "LiveServer":
        command = [
            sys.executable,
            "-m",
            "registry.cli",
            "serve",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]
        logged = self.log.stat().st_size if self.log.exists() else 0  # a restart appends
        with open(self.log, "ab") as log:
            # A session of its own, so kill() reaches the master, workers and dispatcher at once.
            self.process = subprocess.Popen(
                command,
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log.read_text()}")
            # Up once every worker has built the app, not only the first to answer: a test that
            # stops or kills one relies on the others serving.
            if self._serving_workers(logged) >= self.workers:
                try:
                    if requests.get(self.url + "/health", timeout=1).status_code == 200:
                        return self
                except (requests.ConnectionError, requests.Timeout):
                    pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not become healthy:\n{self.log.read_text()}")

    def _serving_workers(self, logged: int) -> int:
        with open(self.log, "rb") as log:
            log.seek(logged)
            return len(re.findall(rb"worker \d+ is serving", log.read()))

    def dispatcher_pid(self) -> int:
        """The pid of the webhook dispatcher (`podium worker`) this server's master started."""
        master = self.process.pid
        for entry in Path("/proc").iterdir():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                command = (entry / "cmdline").read_bytes().split(b"\0")
            except (OSError, ValueError, IndexError):  # not a process, or gone meanwhile
                continue
            if parent == master and b"worker" in command and str(master).encode() in command:
                return int(entry.name)
        raise RuntimeError("this server runs no dispatcher")

    def kill(self) -> None:
        """SIGKILL every process of the server at once: no shutdown code runs."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def live_server_factory(database_url, tmp_path):
    """Start one or more live servers on this test's database; all are stopped afterwards."""
    servers = []

    def start(workers: int = 2, env: dict | None = None) -> LiveServer:
        server = LiveServer(database_url, tmp_path, workers=workers, env=env).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def live_server(live_server_factory):
    return live_server_factory()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """One live server (2 workers) for a whole test module; tests use names of their own."""
    directory = tmp_path_factory.mktemp("server")
    with fresh_database(directory) as url:
        server = LiveServer(url, directory).start()
        yield server
        server.stop()


@pytest.fixture
def mlflow_client(shared_server):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=shared_server.url, registry_uri=shared_server.url)


@pytest.fixture
def model_name(request):
    """A registered model name unique to this test (tests share a module's server)."""
    return f"{request.node.name[:60]}-{uuid.uuid4().hex[:8]}".replace("[", "-").replace("]", "")
