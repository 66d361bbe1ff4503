"""The benchmark harness runs end to end. Speed is reported by bench/, never asserted here."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import reachable_postgres

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.skipif(shutil.which("wrk") is None, reason="needs wrk (apt-get install wrk)"),
    pytest.mark.skipif(
        bool(os.environ.get("PODIUM_TEST_DATABASE_URL")),
        reason="the benchmark measures SQLite; it runs in the SQLite pass",
    ),
]


def table_rows(output: str, key_cells: int = 1) -> dict:
    """The Markdown table rows bench/run.py printed, by their first cell (or first cells)."""
    rows = {}
    for line in output.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            key = cells[0] if key_cells == 1 else tuple(cells[:key_cells])
            rows[key] = cells[key_cells:]
    return rows


def bench(*arguments: str) -> str:
    """bench/run.py's Markdown, after checking it ran to the end."""
    result = subprocess.run(
        # A few seeded versions: the smoke test pays each server's seeding once per part.
        [sys.executable, str(ROOT / "bench" / "run.py"), *arguments, "--seed-versions", "20"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    if arguments[0] == "--only":
        assert f"bench: {arguments[1]} took" in result.stderr, "each part says how long it took"
    return result.stdout


def number(cell: str) -> float:
    return float(cell.replace(",", ""))


def test_point_scenarios_run_against_podium_and_both_ceilings():
    output = bench(
        "--only", "point", "--seconds", "1", "--scenario", "get_version", "--scenario", "set_alias"
    )
    rows = table_rows(output)
    assert set(rows) == {"operation", "get_version", "set_alias"}
    for name in ("get_version", "set_alias"):
        podium_rps, p50, p99, tail, errors, busiest, ceiling_rps, _ratio, kept_rps, _kept = rows[
            name
        ]
        assert errors == "0", f"{name}: wrk saw errors or non-2xx answers"
        # Two workers: the busier one did at least half of the work and at most all of it.
        assert 0.5 <= number(busiest) <= 1.0, f"{name}: the workers' CPU split was not measured"
        for rps in (podium_rps, ceiling_rps, kept_rps):
            assert number(rps) > 0, f"{name}: a server answered nothing"
        # The table rounds p50 and p99 to 0.1 ms and computes the tail before rounding, so the
        # shown tail lies between the ratios of the rounding bounds (itself rounded to 0.1).
        low = (number(p99) - 0.05) / (number(p50) + 0.05) - 0.05
        high = (number(p99) + 0.05) / max(number(p50) - 0.05, 0.001) + 0.05
        assert low <= number(tail) <= high, f"{name}: p99/p50 does not follow from p50 and p99"


def test_update_readme_refuses_a_partial_run():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--only", "point", "--update-readme"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "whole table" in result.stderr


def test_auth_part_signs_every_request_in_with_a_password_and_with_a_token():
    output = bench("--only", "auth", "--seconds", "1", "--scenario", "create_version")
    rows = table_rows(output, key_cells=2)
    for name in ("create_version",):
        for way in ("none", "basic", "basic, bearer token"):
            rps, _p50, _p99, _tail, errors, ratio = rows[(name, way)]
            assert errors == "0", f"{name}, {way}: wrk saw errors or non-2xx answers (401 is one)"
            assert number(rps) > 0
        assert rows[(name, "none")][-1] == "1.00"


@pytest.mark.skipif(not reachable_postgres(), reason="needs a PostgreSQL server")
def test_postgres_part_runs_podium_and_its_ceiling_on_fresh_databases():
    import psycopg2

    def bench_databases() -> set:
        with psycopg2.connect(reachable_postgres()) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT datname FROM pg_database WHERE datname LIKE 'podium_bench_%'")
            return {name for (name,) in cursor.fetchall()}

    before = bench_databases()
    output = bench("--only", "postgres", "--seconds", "1", "--scenario", "create_version")
    podium_rps, _p50, _p99, _tail, errors, busiest, ceiling_rps, _ratio = table_rows(output)[
        "create_version"
    ]
    assert errors == "0" and number(podium_rps) > 0 and number(ceiling_rps) > 0
    assert 0.5 <= number(busiest) <= 1.0
    assert "On PostgreSQL" in output
    assert bench_databases() <= before, "a benchmark database was left behind"


def test_ui_part_times_the_four_target_pages():
    output = bench("--only", "ui", "--ui-small", "--ui-repeat", "3")
    rows = table_rows(output)
    for page in ("models list", "model", "version", "run"):
        p50, p99, worst = (number(cell) for cell in rows[page])
        assert 0 < p50 <= p99 <= worst


def test_scale_part_searches_each_size_and_moves_the_largest():
    output = bench("--only", "scale", "--seconds", "1", "--scale-versions", "1000")
    rows = table_rows(output)
    rps, _p50, _p99, _tail, rss = rows["1,000"]
    assert number(rps) > 0 and number(rss) > 10
    assert "1,003 rows" in output  # two models and the Default experiment besides the versions
    for command in ("podium export", "podium import"):
        seconds, rows_per_s, peak = (number(cell) for cell in rows[command])
        assert seconds > 0 and rows_per_s > 0 and peak > 10


def test_webhooks_part_delivers_every_event_of_the_backlog():
    output = bench("--only", "webhooks", "--hook-events", "30")
    assert "deliveries/s draining 300 (a backlog of 30 events" in output
