"""`podium serve` with a mistake in its configuration: one line naming the setting and the fix,
a non-zero exit, and no gunicorn worker tracebacks."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _serve(tmp_path: Path, extra_path: str = "", **env) -> subprocess.CompletedProcess:
    settings = {
        "PODIUM_DATABASE_URL": f"sqlite:///{tmp_path / 'podium.db'}",
        "PODIUM_ARTIFACTS_DESTINATION": str(tmp_path / "artifacts"),
        **env,
    }
    environ = {**os.environ, **settings}
    if extra_path:
        environ["PYTHONPATH"] = os.pathsep.join([extra_path, str(ROOT)])
    return subprocess.run(
        [sys.executable, "-m", "registry.cli", "serve", "--port", str(_free_port())],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,  # a server that started would run on: the test would fail here
    )


CASES = [
    ({"PODIUM_WORKERS": "two"}, "PODIUM_WORKERS='two' is not valid: expected a whole number"),
    ({"PODIUM_DISPATCHER": "maybe"}, "PODIUM_DISPATCHER='maybe' is not valid: expected true"),
    ({"PODIUM_WORKER_CLASS": "gevnet"}, "PODIUM_WORKER_CLASS='gevnet' is not valid"),
    ({"PODIUM_WEBHOOK_RETRY_SCHEDULE": "5,soon"}, "PODIUM_WEBHOOK_RETRY_SCHEDULE='5,soon'"),
    ({"PODIUM_DATABASE_URL": "mysql://db/podium"}, "unsupported PODIUM_DATABASE_URL"),
    (
        {"PODIUM_DATABASE_URL": "postgresql://podium:hunter2@127.0.0.1:1/podium"},
        "PODIUM_DATABASE_URL=postgresql://podium:***@127.0.0.1:1/podium: cannot open",
    ),
    ({"PODIUM_DATABASE_URL": "sqlite:////nonexistent-dir/x/podium.db"}, "cannot open the database"),
    ({"PODIUM_ARTIFACTS_DESTINATION": "/proc/podium-artifacts"}, "PODIUM_ARTIFACTS_DESTINATION="),
]


@pytest.mark.parametrize("env, says", CASES, ids=[next(iter(env)) for env, _ in CASES])
def test_a_bad_setting_is_one_line_and_a_non_zero_exit(tmp_path, env, says):
    finished = _serve(tmp_path, **env)
    assert finished.returncode == 2, finished.stderr
    lines = finished.stderr.strip().splitlines()
    assert len(lines) == 1, finished.stderr
    assert lines[0].startswith("podium: ") and says in lines[0], lines[0]
    assert "hunter2" not in finished.stderr + finished.stdout  # passwords are never printed
    assert "Traceback" not in finished.stderr and "Worker failed" not in finished.stderr


def test_a_postgresql_url_without_the_driver_says_what_to_install(tmp_path):
    # An environment where psycopg2 cannot be imported, as after `pip install podium-registry`
    # without the postgres extra.
    absent = tmp_path / "no-driver" / "psycopg2"
    absent.mkdir(parents=True)
    (absent / "__init__.py").write_text("raise ImportError('No module named psycopg2')\n")
    finished = _serve(
        tmp_path,
        extra_path=str(absent.parent),
        PODIUM_DATABASE_URL="postgresql://postgres@127.0.0.1:5432/postgres",
    )
    assert finished.returncode == 2, finished.stderr
    (line,) = finished.stderr.strip().splitlines()
    assert "needs the PostgreSQL driver" in line and "podium-registry[postgres]" in line
