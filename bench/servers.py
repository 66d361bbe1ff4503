"""The servers the benchmark starts (Podium, the ceilings, scratch PostgreSQL databases) and the
load it puts on them (wrk scenarios, seeding over HTTP)."""

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
POSTGRES_SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("server exited while starting")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port}")


@contextmanager
def server(command: list[str], env: dict, cwd: Path, port: int):
    """Run a gunicorn server until the block ends; yield its base URL and process."""
    process = subprocess.Popen(
        command,
        env={**os.environ, **env},
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_port(port, process)
        time.sleep(0.5)  # let every worker finish booting
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def secret_key() -> str:
    """A Fernet key for PODIUM_SECRET_KEY (PostgreSQL has no default key file)."""
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


@contextmanager
def podium(
    work: Path,
    workers: int,
    name: str,
    extra_env: dict | None = None,
    database_url: str = "",
):
    """`podium serve` on a SQLite database in `work` named `name`, or on `database_url`."""
    port = free_port()
    env = {
        "PODIUM_DATABASE_URL": database_url or f"sqlite:///{work / (name + '.db')}",
        "PODIUM_ARTIFACTS_DESTINATION": str(work / (name + "-artifacts")),
        "PODIUM_ACCESS_LOG": "",
        **(extra_env or {}),
    }
    if database_url:
        env.setdefault("PODIUM_SECRET_KEY", secret_key())
    command = [
        sys.executable,
        "-m",
        "registry.cli",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    with server(command, env, work, port) as running:
        yield running


@contextmanager
def ceiling(work: Path, workers: int, *, keep_connection: bool = False, database_url: str = ""):
    """bench/floor_app.py under gunicorn, on SQLite in `work` or on `database_url`."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-w",
        str(workers),
        "-b",
        f"127.0.0.1:{port}",
        "--chdir",
        str(BENCH),
        "floor_app:app",
    ]
    name = "floor-kept" if keep_connection else "floor"
    env = {
        "FLOOR_DB": str(work / f"{name}.db"),
        "FLOOR_DATABASE_URL": database_url,
        "FLOOR_KEEP_CONNECTION": "1" if keep_connection else "",
    }
    with server(command, env, work, port) as running:
        yield running


@contextmanager
def postgres_database(label: str):
    """A fresh PostgreSQL database for one run, dropped afterwards; yields its URL."""
    import psycopg2

    name = f"podium_bench_{label}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = psycopg2.connect(f"{POSTGRES_SERVER}/postgres")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"{POSTGRES_SERVER}/{name}"
        finally:
            with admin.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


def wrk(base: str, scenario: str, seconds: int, connections: int, env: dict) -> dict:
    """One wrk run of a scenario; returns its RESULT line as numbers."""
    ran = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(BENCH / "lua" / f"{scenario}.lua"),
            base,
        ],
        env={**os.environ, **env, "LUA_DIR": str(BENCH / "lua")},
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"^RESULT (.*)$", ran.stdout, re.MULTILINE)
    if not match:
        print(f"bench: wrk {scenario} gave no result: {ran.stderr[-500:]}", file=sys.stderr)
        return {"rps": 0.0, "p50_ms": 0.0, "p99_ms": 0.0, "errors": -1}
    return {k: float(v) for k, v in (pair.split("=") for pair in match.group(1).split())}


def seed_over_http(base: str, versions: int, auth_header: str = "") -> str:
    """bench/setup.py: experiment, run, model 'bench' with `versions` versions; the run id."""
    return subprocess.run(
        [sys.executable, str(BENCH / "setup.py"), base, str(versions)],
        env={**os.environ, "AUTH_HEADER": auth_header},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def call(base: str, method: str, path: str, body: dict, headers: dict | None = None) -> dict:
    """One JSON request to Podium's API (`path` under /api/2.0/)."""
    request = urllib.request.Request(
        base + "/api/2.0/" + path,
        method=method,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def worker_rss_mb(master: subprocess.Popen) -> float:
    """The largest resident set among the gunicorn master's worker processes, in MB."""
    sizes = []
    for child in Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split():
        status = Path(f"/proc/{child}/status").read_text()
        sizes.append(int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024)
    return max(sizes)


def web_worker_cpu_seconds(master: subprocess.Popen) -> dict[int, float]:
    """CPU seconds (user + system) used so far by each gunicorn web worker of `master`.

    The dispatcher that `podium serve` starts beside the workers is left out.
    """
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for child in Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split():
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            fields = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # a worker that exited meanwhile
            continue
        if b"worker" in command:  # `podium worker`: the dispatcher
            continue
        used[int(child)] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return used


def busiest_worker_share(before: dict[int, float], after: dict[int, float]) -> float:
    """The share of the workers' CPU time between two readings that the busiest one used.

    With keep-alive, each wrk connection stays on the worker that accepted it; 0.5 of two
    workers means the load was spread evenly, 1.0 that one worker served every connection.
    """
    spent = [after[pid] - before.get(pid, 0.0) for pid in after]
    return max(spent) / sum(spent) if sum(spent) else 0.0
