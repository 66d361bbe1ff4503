#!/usr/bin/env python3
"""Podium's benchmark: Podium against the stack's own ceiling, side by side, as ratios.

    python bench/run.py                      # everything, printed as Markdown
    python bench/run.py --update-readme      # ... and written into README.md's Performance part
    python bench/run.py --only point         # point: wrk per operation; scale; webhooks; auth

Point operations: the same wrk scenario (bench/lua/) against `podium serve` and against
bench/floor_app.py (Flask + peewee/SQLite doing one row per request) under gunicorn with the
same worker count. Scale: search latency with 1k, 10k and 100k versions (seeded straight into
the database) and a worker's resident memory. Webhooks: commit-to-receiver latency and
deliveries per second to a fast receiver on loopback. Auth: get_version and create_version
with PODIUM_AUTH=basic (a signed-in user, password verified once per process) against the same
server with it off. Needs `wrk` (apt-get install wrk).
"""

import argparse
import base64
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SCENARIOS = [
    "get_version",
    "get_latest",
    "search_versions",
    "create_version",
    "create_model",
    "transition",
    "set_alias",
    "log_metric",
]
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"


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


@contextmanager
def podium(work: Path, workers: int, name: str, extra_env: dict | None = None):
    port = free_port()
    env = {
        "PODIUM_DATABASE_URL": f"sqlite:///{work / (name + '.db')}",
        "PODIUM_ARTIFACTS_DESTINATION": str(work / (name + "-artifacts")),
        "PODIUM_ACCESS_LOG": "",
        **(extra_env or {}),
    }
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
def ceiling(work: Path, workers: int, *, keep_connection: bool = False):
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
        "FLOOR_KEEP_CONNECTION": "1" if keep_connection else "",
    }
    with server(command, env, work, port) as running:
        yield running


def wrk(base: str, scenario: str, seconds: int, connections: int, env: dict) -> dict:
    """One wrk run of a scenario; returns its RESULT line as numbers."""
    output = subprocess.run(
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
    ).stdout
    match = re.search(r"^RESULT (.*)$", output, re.MULTILINE)
    if not match:
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


AUTH_SCENARIOS = ["get_version", "create_version"]


def auth_cost(work: Path, *, workers: int, seconds: int, connections: int) -> list:
    """AUTH_SCENARIOS with PODIUM_AUTH=basic and with it off, on the same workload."""
    user, password = "bench", "bench-password"
    header = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    basic = {
        "PODIUM_AUTH": "basic",
        "PODIUM_ADMIN_USERNAME": user,
        "PODIUM_ADMIN_PASSWORD": password,
    }
    rows = {}
    for label, env, auth_header in (("none", {}, ""), ("basic", basic, header)):
        with podium(work, workers, f"auth-{label}", env) as (base, _process):
            scenario_env = {
                "N_VERSIONS": "200",
                "TAG": f"auth-{label}-{os.getpid()}",
                "RUN_ID": seed_over_http(base, 200, auth_header),
                "AUTH_HEADER": auth_header,
            }
            for scenario in AUTH_SCENARIOS:
                rows.setdefault(scenario, {})[label] = wrk(
                    base, scenario, seconds, connections, scenario_env
                )
    return [(scenario, r["basic"], r["none"]) for scenario, r in rows.items()]


def point_operations(
    work: Path, *, workers: int, seconds: int, connections: int, scenarios: list[str]
) -> list:
    """Each scenario against both ceilings and against Podium; one row per scenario."""
    servers = {
        "ceiling": lambda: ceiling(work, workers),
        "kept": lambda: ceiling(work, workers, keep_connection=True),
        "podium": lambda: podium(work, workers, "point"),
    }
    rows = {}
    for label, start in servers.items():
        with start() as (base, _process):
            env = {
                "N_VERSIONS": "200",
                "TAG": f"{label}-{os.getpid()}",
                "RUN_ID": seed_over_http(base, 200),
            }
            for scenario in scenarios:
                rows.setdefault(scenario, {})[label] = wrk(
                    base, scenario, seconds, connections, env
                )
    return [(scenario, r["podium"], r["ceiling"], r["kept"]) for scenario, r in rows.items()]


def seed_versions(database: Path, count: int) -> None:
    """Put model 'bench' with `count` versions straight into a fresh Podium database."""
    sys.path.insert(0, str(ROOT))
    from registry import store
    from registry.config import load_settings
    from registry.store.db import db
    from registry.store.tables.base import now_ms
    from registry.store.tables.registry import ModelVersion, RegisteredModel

    settings = {**load_settings(), "PODIUM_DATABASE_URL": f"sqlite:///{database}"}
    store.setup(settings)
    with db.connection_context(), db.atomic():
        model = RegisteredModel.create(name="bench", last_version=count)
        RegisteredModel.create(name="bench-search-other")
        start = now_ms() - count
        for first in range(1, count + 1, 1000):
            ModelVersion.insert_many(
                [
                    {
                        "model": model.id,
                        "version": v,
                        "source": f"s3://bench/models/{v}",
                        "creation_timestamp": start + v,
                        "last_updated_timestamp": start + v,
                    }
                    for v in range(first, min(first + 1000, count + 1))
                ]
            ).execute()
    db.close()


def worker_rss_mb(master: subprocess.Popen) -> float:
    """The largest resident set among the gunicorn master's worker processes, in MB."""
    sizes = []
    for child in Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split():
        status = Path(f"/proc/{child}/status").read_text()
        sizes.append(int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024)
    return max(sizes)


def search_scale(work: Path, *, workers: int, seconds: int, connections: int) -> list:
    """Search of 50 versions with 1k, 10k, 100k in the registry; RSS of a worker after."""
    rows = []
    for count in (1_000, 10_000, 100_000):
        name = f"scale-{count}"
        seed_versions(work / f"{name}.db", count)
        with podium(work, workers, name) as (base, process):
            result = wrk(base, "search_versions", seconds, connections, {})
            wrk(base, "get_version", 2, connections, {"N_VERSIONS": str(count)})
            result["rss_mb"] = worker_rss_mb(process)
        rows.append((count, result))
    return rows


class Receiver:
    """A fast loopback receiver noting when each event arrived and when it was created."""

    def __init__(self):
        self.arrivals = []  # (arrival time, event timestamp)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                arrived = time.time()
                created = datetime.fromisoformat(json.loads(body)["timestamp"]).timestamp()
                with receiver.lock:
                    receiver.arrivals.append((arrived, created))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.arrivals) < count and time.monotonic() < deadline:
            time.sleep(0.01)


def call(base: str, method: str, path: str, body: dict) -> dict:
    request = urllib.request.Request(
        base + "/api/2.0/mlflow/" + path,
        method=method,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"{}")


def webhooks(work: Path, *, workers: int) -> dict:
    """Commit-to-receiver latency (one event at a time) and throughput (a burst to 10 hooks)."""
    env = {
        "PODIUM_WEBHOOK_ALLOWED_SCHEMES": "http",
        "PODIUM_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    }
    receiver = Receiver()
    with podium(work, workers, "webhooks", env) as (base, _process):

        def subscribe(model):
            call(
                base,
                "POST",
                "webhooks",
                {
                    "name": model,
                    "url": receiver.url,
                    "model_names": [model],
                    "events": [{"entity": "MODEL_VERSION_TAG", "action": "SET"}],
                },
            )

        call(base, "POST", "registered-models/create", {"name": "latency"})
        call(base, "POST", "model-versions/create", {"name": "latency", "source": "s3://b/m"})
        subscribe("latency")
        for i in range(300):
            call(
                base,
                "POST",
                "model-versions/set-tag",
                {"name": "latency", "version": "1", "key": "k", "value": str(i)},
            )
            time.sleep(0.02)
        receiver.wait_for(300)
        latencies = sorted((arrived - created) * 1000 for arrived, created in receiver.arrivals)

        receiver.arrivals.clear()
        call(base, "POST", "registered-models/create", {"name": "burst"})
        call(base, "POST", "model-versions/create", {"name": "burst", "source": "s3://b/m"})
        for _ in range(10):
            subscribe("burst")
        events = 400
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(
                    lambda i: call(
                        base,
                        "POST",
                        "model-versions/set-tag",
                        {"name": "burst", "version": "1", "key": "k", "value": str(i)},
                    ),
                    range(events),
                )
            )
        receiver.wait_for(events * 10)
        times = sorted(arrived for arrived, _ in receiver.arrivals)
    return {
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1],
        "delivered": len(times),
        "per_second": (len(times) - 1) / (times[-1] - times[0]),
    }


def cpu_name() -> str:
    """The processor's model name where Linux tells it, else the architecture."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.machine()
    match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    return f"{match.group(1).strip()}, {platform.machine()}" if match else platform.machine()


def render(point, scale, hooks, args, auth=()) -> str:
    """The results as the Markdown the README carries."""
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {os.cpu_count()} cores "
        f"({cpu_name()}), Python {platform.python_version()}, "
        f"SQLite, {args.workers} gunicorn workers, `wrk -t1 -c{args.connections} "
        f"-d{args.seconds}s`, by `python bench/run.py`.",
        "",
    ]
    if point:
        lines += [
            "| operation | Podium req/s | p50 ms | p99 ms | errors | ceiling req/s | ratio "
            "| kept-connection ceiling req/s | ratio |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for scenario, ours, floor, kept in point:
            errors = int(ours.get("errors", 0))
            lines.append(
                f"| {scenario} | {ours['rps']:,.0f} | {ours['p50_ms']:.1f} | "
                f"{ours['p99_ms']:.1f} | {errors} | {floor['rps']:,.0f} | "
                f"{_ratio(ours, floor)} | {kept['rps']:,.0f} | {_ratio(ours, kept)} |"
            )
        lines.append("")
    if scale:
        lines += [
            "| versions in the registry | search (50) req/s | p50 ms | p99 ms | worker RSS MB |",
            "|---|---|---|---|---|",
        ]
        for count, result in scale:
            lines.append(
                f"| {count:,} | {result['rps']:,.0f} | {result['p50_ms']:.1f} | "
                f"{result['p99_ms']:.1f} | {result['rss_mb']:.0f} |"
            )
        first, last = scale[0][1], scale[-1][1]
        lines += [
            "",
            f"Search p50 at {scale[-1][0]:,} versions is "
            f"{last['p50_ms'] / first['p50_ms']:.2f}x its p50 at {scale[0][0]:,}.",
            "",
        ]
    if hooks:
        lines += [
            f"Webhooks: commit-to-receiver p50 {hooks['p50_ms']:.1f} ms, p99 "
            f"{hooks['p99_ms']:.1f} ms (one event at a time); {hooks['per_second']:,.0f} "
            f"deliveries/s draining a burst of {hooks['delivered']:,}.",
            "",
        ]
    if auth:
        lines += [
            "| with PODIUM_AUTH=basic | req/s | p50 ms | errors | PODIUM_AUTH=none req/s | ratio |",
            "|---|---|---|---|---|---|",
        ]
        for scenario, signed_in, open_ in auth:
            lines.append(
                f"| {scenario} | {signed_in['rps']:,.0f} | {signed_in['p50_ms']:.1f} | "
                f"{int(signed_in.get('errors', 0))} | {open_['rps']:,.0f} | "
                f"{_ratio(signed_in, open_)} |"
            )
        lines.append("")
    return "\n".join(lines)


def _ratio(ours: dict, floor: dict) -> str:
    return f"{ours['rps'] / floor['rps']:.2f}" if floor["rps"] else "n/a"


def update_readme(table: str) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = text.index(README_START), text.index(README_END)
    readme.write_text(text[: start + len(README_START)] + "\n" + table + "\n" + text[end:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per scenario")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--only", choices=["point", "scale", "webhooks", "auth"], action="append")
    parser.add_argument(
        "--scenario", choices=SCENARIOS, action="append", help="point scenarios to run (all)"
    )
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()
    if args.update_readme and (args.only or args.scenario):
        parser.error("--update-readme writes the whole table: run every part")
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    parts = set(args.only or ["point", "scale", "webhooks", "auth"])
    options = {"workers": args.workers, "seconds": args.seconds, "connections": args.connections}
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as tmp:
        work = Path(tmp)
        scenarios = args.scenario or SCENARIOS
        point = point_operations(work, **options, scenarios=scenarios) if "point" in parts else []
        scale = search_scale(work, **options) if "scale" in parts else []
        hooks = webhooks(work, workers=args.workers) if "webhooks" in parts else {}
        auth = auth_cost(work, **options) if "auth" in parts else []
    table = render(point, scale, hooks, args, auth)
    print(table)
    if args.update_readme:
        update_readme(table)


if __name__ == "__main__":
    main()
