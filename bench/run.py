#!/usr/bin/env python3
"""Podium's benchmark: Podium against the stack's own ceiling, side by side, as ratios.

    python bench/run.py                      # every part, printed as Markdown
    python bench/run.py --update-readme      # ... and written into README.md's Performance part
    python bench/run.py --only point         # one part: point, postgres, auth, ui, scale, webhooks
    python bench/run.py --only metrics --scenario get_version   # the cost of /metrics

Point operations: the same wrk scenario (bench/lua/) against `podium serve` and against
bench/floor_app.py (Flask + peewee/SQLite doing one row per request) under gunicorn with the
same worker count. Postgres: the same on a fresh PostgreSQL database each, Podium against the
floor app on PostgreSQL (which keeps its connection). Every wrk table has p99/p50, the tail.
Auth: get_version and create_version with PODIUM_AUTH=none, basic (password verified once per
process) and a bearer token made through Podium's API, as ratios to none. UI: server time of
the models list, model, version and run pages at 1,000 models / 20,000 versions / runs with 100
metrics x 1,000 steps (bench/ui.py, in its own process). Scale: search latency with 1k to 1M
versions (seeded straight into the database), a worker's resident memory, and `podium export`
and `podium import` of the largest registry with their rate and peak memory. Webhooks:
commit-to-receiver latency and deliveries per second to a fast receiver in its own process
(bench/webhook_receiver.py). Metrics (only when asked for): the point scenarios against Podium
with PODIUM_METRICS=false and =true. Each part's duration is printed to stderr. Needs `wrk`
(apt-get install wrk) and, for the postgres part, a PostgreSQL server (BENCH_POSTGRES_URL,
default postgresql://postgres@127.0.0.1:5432).
"""

import argparse
import base64
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from servers import (
    BENCH,
    POSTGRES_SERVER,
    ROOT,
    busiest_worker_share,
    call,
    ceiling,
    podium,
    postgres_database,
    seed_over_http,
    web_worker_cpu_seconds,
    worker_rss_mb,
    wrk,
)

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
PARTS = ["point", "postgres", "auth", "ui", "scale", "webhooks", "metrics"]
DEFAULT_PARTS = [part for part in PARTS if part != "metrics"]
README_START, README_END = "<!-- bench:start -->", "<!-- bench:end -->"
# Versions of model 'bench' each server is seeded with over HTTP (--seed-versions).
SEEDED = {"versions": 200}


def scenario_env(base: str, label: str, auth_header: str = "") -> dict:
    """Seed `base` over HTTP; the environment the wrk scenarios read."""
    return {
        "N_VERSIONS": str(SEEDED["versions"]),
        "TAG": f"{label}-{os.getpid()}",
        "RUN_ID": seed_over_http(base, SEEDED["versions"], auth_header),
        "AUTH_HEADER": auth_header,
    }


def point_operations(
    work: Path, *, workers: int, seconds: int, connections: int, scenarios: list[str]
) -> list:
    """Each scenario against both ceilings and against Podium; one row per scenario."""
    with ExitStack() as stack:
        started = {
            "ceiling": stack.enter_context(ceiling(work, workers)),
            "kept": stack.enter_context(ceiling(work, workers, keep_connection=True)),
            "podium": stack.enter_context(podium(work, workers, "point")),
        }
        rows = side_by_side(started, scenarios, seconds=seconds, connections=connections)
    return [(scenario, r["podium"], r["ceiling"], r["kept"]) for scenario, r in rows.items()]


def side_by_side(
    started: dict[str, tuple], scenarios: list[str], *, seconds: int, connections: int
) -> dict:
    """{scenario: {label: wrk result}} from servers that all run at once, taking turns.

    Each scenario runs on every server back to back, the first of them rotating from one
    scenario to the next: a shared machine's speed drifts by a fifth within minutes, and a
    ratio of two runs made minutes apart measured that drift as much as the servers.
    """
    envs = {label: scenario_env(base, label) for label, (base, _process) in started.items()}
    labels = list(started)
    rows = {}
    for turn, scenario in enumerate(scenarios):
        for label in labels[turn % len(labels) :] + labels[: turn % len(labels)]:
            base, process = started[label]
            before = web_worker_cpu_seconds(process)
            result = wrk(base, scenario, seconds, connections, envs[label])
            result["busiest_share"] = busiest_worker_share(before, web_worker_cpu_seconds(process))
            rows.setdefault(scenario, {})[label] = result
    return rows


def postgres_operations(
    work: Path, *, workers: int, seconds: int, connections: int, scenarios: list[str]
) -> dict:
    """Each scenario against the floor app and Podium, each on a fresh PostgreSQL database."""
    with ExitStack() as stack:
        floor_url = stack.enter_context(postgres_database("ceiling"))
        podium_url = stack.enter_context(postgres_database("podium"))
        started = {
            "ceiling": stack.enter_context(ceiling(work, workers, database_url=floor_url)),
            "podium": stack.enter_context(
                podium(work, workers, "postgres", database_url=podium_url)
            ),
        }
        rows = side_by_side(started, scenarios, seconds=seconds, connections=connections)
    return {
        "server_version": postgres_version(),
        "rows": [(scenario, r["podium"], r["ceiling"]) for scenario, r in rows.items()],
    }


def postgres_version() -> str:
    import psycopg2

    connection = psycopg2.connect(f"{POSTGRES_SERVER}/postgres")
    try:
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return cursor.fetchone()[0].split()[0]
    finally:
        connection.close()


AUTH_SCENARIOS = ["get_version", "create_version"]


def auth_cost(
    work: Path, *, workers: int, seconds: int, connections: int, scenarios: list[str]
) -> list:
    """AUTH_SCENARIOS with PODIUM_AUTH=none, basic and a bearer token, on the same workload.

    Each way gets a server and database of its own, so that one way's created versions do not
    weigh on the next. Of `scenarios`, only AUTH_SCENARIOS run (all of them if none is)."""
    scenarios = [name for name in AUTH_SCENARIOS if name in scenarios] or AUTH_SCENARIOS
    user, password = "bench", "bench-password"
    basic_header = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    basic = {
        "PODIUM_AUTH": "basic",
        "PODIUM_ADMIN_USERNAME": user,
        "PODIUM_ADMIN_PASSWORD": password,
    }
    results = {}
    for way in ("none", "basic", "bearer token"):
        env = {} if way == "none" else basic
        with podium(work, workers, f"auth-{way.split()[0]}", env) as (base, _process):
            header = ""
            if way == "basic":
                header = basic_header
            elif way == "bearer token":
                made = call(
                    base,
                    "POST",
                    "podium/tokens",
                    {"name": "bench"},
                    {"Authorization": basic_header},
                )
                header = "Bearer " + made["token"]
            env = scenario_env(base, f"auth-{way.split()[0]}", header)
            for scenario in scenarios:
                results[(scenario, way)] = wrk(base, scenario, seconds, connections, env)
    return [
        (scenario, way, results[(scenario, way)], results[(scenario, "none")])
        for scenario in scenarios
        for way in ("none", "basic", "bearer token")
    ]


def metrics_cost(
    work: Path, *, workers: int, seconds: int, connections: int, scenarios: list[str]
) -> list:
    """Each scenario against Podium with metrics off and on; (scenario, off, on) rows.

    Both servers run side by side and take turns, twice and in both orders, keeping each one's
    better run: the difference sought is a few percent, less than a shared machine drifts in a
    minute.
    """
    best = {}
    with (
        podium(work, workers, "metrics-off", {"PODIUM_METRICS": "false"}) as (off, _),
        podium(work, workers, "metrics-on", {"PODIUM_METRICS": "true"}) as (on, _),
    ):
        envs = {base: scenario_env(base, f"m{i}") for i, base in enumerate((off, on))}
        turns = [("false", off), ("true", on)]
        for _round in range(2):
            for scenario in scenarios:
                # Whichever runs first in a pair measured faster on a busy machine: alternate.
                for setting, base in turns if _round == 0 else turns[::-1]:
                    result = wrk(base, scenario, seconds, connections, envs[base])
                    key = (scenario, setting)
                    if key not in best or result["rps"] > best[key]["rps"]:
                        best[key] = result
    return [
        (scenario, best[(scenario, "false")], best[(scenario, "true")]) for scenario in scenarios
    ]


def ui_pages(*, repeat: int, small: bool) -> dict:
    """bench/ui.py --targets in its own process (it imports and configures the registry)."""
    sizes = ["--models", "20", "--metrics", "5", "--steps", "20"] if small else []
    output = subprocess.run(
        [sys.executable, str(BENCH / "ui.py"), "--targets", "--json", "--repeat", str(repeat)]
        + sizes,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output)


def seed_versions(database: Path, count: int) -> None:
    """Put model 'bench' with `count` versions straight into a fresh Podium database.

    One transaction of plain `executemany` inserts: 1M versions take about 10 s this way,
    where peewee's insert_many (building each batch's SQL from dicts) took several times that.
    """
    sys.path.insert(0, str(ROOT))
    from registry import store
    from registry.config import load_settings
    from registry.store.db import db
    from registry.store.tables.base import now_ms
    from registry.store.tables.registry import ModelVersion, RegisteredModel

    settings = {**load_settings(), "PODIUM_DATABASE_URL": f"sqlite:///{database}"}
    store.setup(settings)
    fields = [field for field in ModelVersion._meta.sorted_fields if field.name != "id"]
    insert = (
        f'INSERT INTO "{ModelVersion._meta.table_name}" '
        f"({', '.join(field.column_name for field in fields)}) "
        f"VALUES ({', '.join('?' for _ in fields)})"
    )
    with db.connection_context(), db.atomic():
        model = RegisteredModel.create(name="bench", last_version=count)
        RegisteredModel.create(name="bench-search-other")
        start = now_ms() - count

        def row(v: int) -> tuple:
            given = {
                "model": model.id,
                "version": v,
                "source": f"s3://bench/models/{v}",
                "creation_timestamp": start + v,
                "last_updated_timestamp": start + v,
            }
            return tuple(
                given[field.name] if field.name in given else field.default for field in fields
            )

        db.connection().executemany(insert, (row(v) for v in range(1, count + 1)))
    db.close()


def search_scale(
    work: Path, *, workers: int, seconds: int, connections: int, sizes: list[int]
) -> dict:
    """Search of 50 versions at each size; a worker's RSS after; export/import of the largest."""
    rows = []
    for count in sizes:
        name = f"scale-{count}"
        database = work / f"{name}.db"
        started = time.perf_counter()
        seed_versions(database, count)
        seeded = time.perf_counter() - started
        print(f"bench: seeded {count:,} versions in {seeded:.0f} s", file=sys.stderr)
        with podium(work, workers, name) as (base, process):
            wrk(base, "search_versions", 1, connections, {})  # warm: each worker's first search
            result = wrk(base, "search_versions", seconds, connections, {})
            wrk(base, "get_version", min(2, seconds), connections, {"N_VERSIONS": str(count)})
            result["rss_mb"] = worker_rss_mb(process)
        result["seed_s"] = seeded
        rows.append((count, result))
        if count != sizes[-1]:
            for leftover in work.glob(f"{name}.db*"):
                leftover.unlink()
    return {"search": rows, "transfer": export_import(work, work / f"scale-{sizes[-1]}.db")}


def measured_run(command: list[str], env: dict, cwd: Path) -> dict:
    """Run a command to its end; its wall time, peak resident memory (MB) and output."""
    with tempfile.TemporaryFile("w+") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, env={**os.environ, **env}, cwd=cwd, stdout=output, stderr=subprocess.STDOUT
        )
        # wait4 reaps this one child and hands back its own rusage (ru_maxrss: its VmHWM, KB).
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {text[-2000:]}")
    return {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024, "output": text}


def export_import(work: Path, database: Path) -> dict:
    """`podium export` of `database`, then `podium import` of it into a fresh SQLite database."""
    directory = work / "export"
    # The key the database was made with: the one the environment names, else the default file.
    given = {"PODIUM_SECRET_KEY", "PODIUM_SECRET_KEY_FILE"} & set(os.environ)
    key = {} if given else {"PODIUM_SECRET_KEY_FILE": f"{database}.key"}
    podium_cli = [sys.executable, "-m", "registry.cli"]
    exported = measured_run(
        podium_cli + ["export", str(directory)],
        {"PODIUM_DATABASE_URL": f"sqlite:///{database}", **key},
        work,
    )
    size_mb = sum(path.stat().st_size for path in directory.iterdir()) / 2**20
    imported = measured_run(
        podium_cli + ["import", str(directory)],
        {"PODIUM_DATABASE_URL": f"sqlite:///{work / 'imported.db'}", **key},
        work,
    )
    rows = int(re.search(r"(\d+) rows in", imported["output"]).group(1))
    shutil.rmtree(directory)
    for step in (exported, imported):
        step["rows_per_s"] = rows / step["seconds"]
    return {"rows": rows, "export_mb": size_mb, "export": exported, "import": imported}


class Receiver:
    """bench/webhook_receiver.py in a process of its own, and what it has seen."""

    def __init__(self):
        self.process = subprocess.Popen(
            [sys.executable, str(BENCH / "webhook_receiver.py")],
            stdout=subprocess.PIPE,
            text=True,
        )
        port = int(self.process.stdout.readline())
        self.base = f"http://127.0.0.1:{port}"
        self.url = self.base + "/hook"

    def _get(self, path: str, method: str = "GET"):
        request = urllib.request.Request(self.base + path, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def count(self) -> int:
        return self._get("/count")

    def arrivals(self) -> list[tuple[float, float]]:
        """(arrival time, event timestamp) of each delivery since the last clear()."""
        return self._get("/arrivals")

    def clear(self) -> None:
        self._get("/arrivals", "DELETE")

    def wait_for(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while self.count() < count and time.monotonic() < deadline:
            time.sleep(0.02)

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


HOOK_ENV = {
    "PODIUM_WEBHOOK_ALLOWED_SCHEMES": "http",
    "PODIUM_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
}


def webhooks(work: Path, *, workers: int, events: int) -> dict:
    """Commit-to-receiver latency, one event at a time, with the dispatcher `podium serve` runs;
    then deliveries per second draining a backlog of `events` events to 10 hooks each, which
    a separate `podium worker` starts on once all are committed, so that the rate measured is
    the dispatcher's own and not how fast the events were made."""
    receiver = Receiver()
    try:
        with podium(work, workers, "webhooks", HOOK_ENV) as (base, _process):
            make_models(base, receiver.url, "latency", hooks=1)
            one_by_one = min(300, events)
            for i in range(one_by_one):
                set_tag(base, "latency", i)
                time.sleep(0.02)
            receiver.wait_for(one_by_one)
            latencies = sorted(
                (arrived - created) * 1000 for arrived, created in receiver.arrivals()
            )
        receiver.clear()
        held = {**HOOK_ENV, "PODIUM_DISPATCHER": "false"}
        with podium(work, workers, "webhooks-backlog", held) as (base, _process):
            make_models(base, receiver.url, "burst", hooks=10)
            started = time.perf_counter()
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda i: set_tag(base, "burst", i), range(events)))
            committed_s = time.perf_counter() - started
            dispatcher = subprocess.Popen(
                [sys.executable, "-m", "registry.cli", "worker"],
                env={
                    **os.environ,
                    **HOOK_ENV,
                    "PODIUM_DATABASE_URL": f"sqlite:///{work / 'webhooks-backlog.db'}",
                },
                cwd=work,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                receiver.wait_for(events * 10)
            finally:
                dispatcher.terminate()
                dispatcher.wait(timeout=30)
            times = sorted(arrived for arrived, _ in receiver.arrivals())
    finally:
        receiver.close()
    return {
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)],
        "events": events,
        "delivered": len(times),
        "commits_per_s": events / committed_s,
        "per_second": (len(times) - 1) / (times[-1] - times[0]),
    }


def make_models(base: str, receiver_url: str, model: str, *, hooks: int) -> None:
    """Model `model` with version 1, and `hooks` webhooks on its version tags."""
    call(base, "POST", "mlflow/registered-models/create", {"name": model})
    call(base, "POST", "mlflow/model-versions/create", {"name": model, "source": "s3://b/m"})
    for index in range(hooks):
        call(
            base,
            "POST",
            "mlflow/webhooks",
            {
                "name": f"{model}-{index}",
                "url": receiver_url,
                "model_names": [model],
                "events": [{"entity": "MODEL_VERSION_TAG", "action": "SET"}],
            },
        )


def set_tag(base: str, model: str, value: int) -> None:
    call(
        base,
        "POST",
        "mlflow/model-versions/set-tag",
        {"name": model, "version": "1", "key": "k", "value": str(value)},
    )


def cpu_name() -> str:
    """The processor's model name where Linux tells it, else the architecture."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.machine()
    match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    return f"{match.group(1).strip()}, {platform.machine()}" if match else platform.machine()


def render(results: dict, args) -> str:
    """The results as the Markdown the README carries."""
    lines = [
        f"Measured {datetime.now(UTC):%Y-%m-%d} on {os.cpu_count()} cores "
        f"({cpu_name()}), Python {platform.python_version()}, "
        f"SQLite, {args.workers} gunicorn workers, `wrk -t1 -c{args.connections} "
        f"-d{args.seconds}s`, by `python bench/run.py`.",
        "",
    ]
    if results.get("point"):
        lines += [
            "| operation | Podium req/s | p50 ms | p99 ms | p99/p50 | errors | busiest worker "
            "| ceiling req/s | ratio | kept-connection ceiling req/s | ratio |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for scenario, ours, floor, kept in results["point"]:
            lines.append(
                f"| {scenario} | {ours['rps']:,.0f} | {ours['p50_ms']:.1f} | "
                f"{ours['p99_ms']:.1f} | {_tail(ours)} | {int(ours.get('errors', 0))} | "
                f"{_share(ours)} | {floor['rps']:,.0f} | {_ratio(ours, floor)} | "
                f"{kept['rps']:,.0f} | "
                f"{_ratio(ours, kept)} |"
            )
        lines.append("")
    if results.get("postgres"):
        postgres = results["postgres"]
        lines += [
            f"On PostgreSQL {postgres['server_version']} (local server, a fresh database per "
            "server), against the floor app on PostgreSQL keeping its connection:",
            "",
            "| operation | Podium req/s | p50 ms | p99 ms | p99/p50 | errors | busiest worker "
            "| ceiling req/s | ratio |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for scenario, ours, floor in postgres["rows"]:
            lines.append(
                f"| {scenario} | {ours['rps']:,.0f} | {ours['p50_ms']:.1f} | "
                f"{ours['p99_ms']:.1f} | {_tail(ours)} | {int(ours.get('errors', 0))} | "
                f"{_share(ours)} | {floor['rps']:,.0f} | {_ratio(ours, floor)} |"
            )
        lines.append("")
    if results.get("auth"):
        lines += [
            "| operation | PODIUM_AUTH | req/s | p50 ms | p99 ms | p99/p50 | errors "
            "| ratio to none |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for scenario, way, result, open_ in results["auth"]:
            shown = "basic, bearer token" if way == "bearer token" else way
            lines.append(
                f"| {scenario} | {shown} | {result['rps']:,.0f} | {result['p50_ms']:.1f} | "
                f"{result['p99_ms']:.1f} | {_tail(result)} | {int(result.get('errors', 0))} | "
                f"{_ratio(result, open_)} |"
            )
        lines.append("")
    if results.get("ui"):
        sizes = results["ui"]["sizes"]
        lines += [
            f"UI pages, server time in-process over {sizes['repeat']} renders each, at "
            f"{sizes['models']:,} models / {sizes['versions']:,} versions / runs with "
            f"{sizes['metrics']} metrics x {sizes['steps']:,} steps (`bench/ui.py`):",
            "",
            "| page | p50 ms | p99 ms | worst ms |",
            "|---|---|---|---|",
        ]
        for row in results["ui"]["pages"]:
            lines.append(
                f"| {row['page']} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} | "
                f"{row['worst_ms']:.1f} |"
            )
        lines.append("")
    if results.get("scale"):
        search = results["scale"]["search"]
        lines += [
            "| versions in the registry | search (50) req/s | p50 ms | p99 ms | p99/p50 "
            "| worker RSS MB |",
            "|---|---|---|---|---|---|",
        ]
        for count, result in search:
            lines.append(
                f"| {count:,} | {result['rps']:,.0f} | {result['p50_ms']:.1f} | "
                f"{result['p99_ms']:.1f} | {_tail(result)} | {result['rss_mb']:.0f} |"
            )
        first, last = search[0][1], search[-1][1]
        transfer = results["scale"]["transfer"]
        lines += [
            "",
            f"Search p50 at {search[-1][0]:,} versions is "
            f"{last['p50_ms'] / first['p50_ms']:.2f}x its p50 at {search[0][0]:,}.",
            "",
            f"Moving the {search[-1][0]:,}-version registry ({transfer['rows']:,} rows, "
            f"{transfer['export_mb']:,.0f} MB exported):",
            "",
            "| command | seconds | rows/s | peak RSS MB |",
            "|---|---|---|---|",
        ]
        for step in ("export", "import"):
            measured = transfer[step]
            lines.append(
                f"| podium {step} | {measured['seconds']:.1f} | {measured['rows_per_s']:,.0f} "
                f"| {measured['peak_rss_mb']:.0f} |"
            )
        lines.append("")
    if results.get("metrics"):
        lines += [
            "| operation | metrics off req/s | p50 ms | p99/p50 | metrics on req/s | p50 ms "
            "| p99/p50 | on/off |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for scenario, off, on in results["metrics"]:
            lines.append(
                f"| {scenario} | {off['rps']:,.0f} | {off['p50_ms']:.1f} | {_tail(off)} | "
                f"{on['rps']:,.0f} | {on['p50_ms']:.1f} | {_tail(on)} | {_ratio(on, off)} |"
            )
        lines.append("")
    if results.get("webhooks"):
        hooks = results["webhooks"]
        lines += [
            f"Webhooks, to a receiver in its own process: commit-to-receiver p50 "
            f"{hooks['p50_ms']:.1f} ms, p99 {hooks['p99_ms']:.1f} ms (one event at a time); "
            f"{hooks['per_second']:,.0f} deliveries/s draining {hooks['delivered']:,} "
            f"(a backlog of {hooks['events']:,} events to 10 hooks each, committed at "
            f"{hooks['commits_per_s']:,.0f}/s before a `podium worker` started on it).",
            "",
        ]
    return "\n".join(lines)


def _ratio(ours: dict, floor: dict) -> str:
    return f"{ours['rps'] / floor['rps']:.2f}" if floor["rps"] else "n/a"


def _tail(result: dict) -> str:
    """p99 as a multiple of p50 (the target is at most 5)."""
    return f"{result['p99_ms'] / result['p50_ms']:.1f}" if result["p50_ms"] else "n/a"


def _share(result: dict) -> str:
    """The busiest worker's share of the workers' CPU time (0.50 of two: an even spread)."""
    return f"{result['busiest_share']:.2f}" if "busiest_share" in result else "n/a"


def update_readme(table: str) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = text.index(README_START), text.index(README_END)
    readme.write_text(text[: start + len(README_START)] + "\n" + table + "\n" + text[end:])


def sizes(text: str) -> list[int]:
    return sorted(int(word.replace("_", "")) for word in text.split(","))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="wrk duration per scenario")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--only", choices=PARTS, action="append", help="parts to run (all)")
    parser.add_argument(
        "--scenario", choices=SCENARIOS, action="append", help="point scenarios to run (all)"
    )
    parser.add_argument(
        "--scale-versions",
        type=sizes,
        default=sizes("1000,10000,100000,1000000"),
        help="registry sizes the scale part searches, comma-separated; the largest is "
        "exported and imported (default 1000,10000,100000,1000000)",
    )
    parser.add_argument("--ui-repeat", type=int, default=100, help="renders per UI page")
    parser.add_argument(
        "--ui-small", action="store_true", help="a tiny UI registry (a smoke test, not a measure)"
    )
    parser.add_argument(
        "--hook-events", type=int, default=1000, help="events in the webhook burst (10 hooks)"
    )
    parser.add_argument(
        "--seed-versions", type=int, default=200, help="versions each wrk server starts with"
    )
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args()
    SEEDED["versions"] = args.seed_versions
    if args.update_readme and (args.only or args.scenario):
        parser.error("--update-readme writes the whole table: run every part")
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    parts = [part for part in PARTS if part in (args.only or DEFAULT_PARTS)]
    options = {"workers": args.workers, "seconds": args.seconds, "connections": args.connections}
    scenarios = args.scenario or SCENARIOS
    results, took = {}, {}
    with tempfile.TemporaryDirectory(prefix="podium-bench-") as tmp:
        work = Path(tmp)
        runs = {
            "point": lambda: point_operations(work, **options, scenarios=scenarios),
            "postgres": lambda: postgres_operations(work, **options, scenarios=scenarios),
            "auth": lambda: auth_cost(work, **options, scenarios=scenarios),
            "ui": lambda: ui_pages(repeat=args.ui_repeat, small=args.ui_small),
            "scale": lambda: search_scale(work, **options, sizes=args.scale_versions),
            "webhooks": lambda: webhooks(work, workers=args.workers, events=args.hook_events),
            "metrics": lambda: metrics_cost(work, **options, scenarios=scenarios),
        }
        for part in parts:
            started = time.perf_counter()
            results[part] = runs[part]()
            took[part] = time.perf_counter() - started
            print(f"bench: {part} took {took[part]:.0f} s", file=sys.stderr, flush=True)
    print(
        "bench: "
        + ", ".join(f"{part} {seconds:.0f} s" for part, seconds in took.items())
        + f"; {sum(took.values()) / 60:.1f} min in all",
        file=sys.stderr,
    )
    table = render(results, args)
    print(table)
    if args.update_readme:
        update_readme(table)


if __name__ == "__main__":
    main()
