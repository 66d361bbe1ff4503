"""The benchmark harness runs end to end. Speed is reported by bench/, never asserted here."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.skipif(shutil.which("wrk") is None, reason="needs wrk (apt-get install wrk)"),
    pytest.mark.skipif(
        bool(os.environ.get("PODIUM_TEST_DATABASE_URL")),
        reason="the benchmark measures SQLite; it runs in the SQLite pass",
    ),
]


def table_rows(output: str) -> dict[str, list[str]]:
    """The Markdown table rows bench/run.py printed, by their first cell."""
    rows = {}
    for line in output.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def test_point_scenarios_run_against_podium_and_both_ceilings():
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--only",
            "point",
            "--seconds",
            "1",
            "--scenario",
            "get_version",
            "--scenario",
            "set_alias",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    assert set(rows) == {"operation", "get_version", "set_alias"}
    for name in ("get_version", "set_alias"):
        podium_rps, _p50, _p99, errors, ceiling_rps, _ratio, kept_rps, _kept_ratio = rows[name]
        assert errors == "0", f"{name}: wrk saw errors or non-2xx answers"
        for rps in (podium_rps, ceiling_rps, kept_rps):
            assert float(rps.replace(",", "")) > 0, f"{name}: a server answered nothing"


def test_update_readme_refuses_a_partial_run():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--only", "point", "--update-readme"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2 and "whole table" in result.stderr


def test_auth_part_signs_every_request_in():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--only", "auth", "--seconds", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = table_rows(result.stdout)
    for name in ("get_version", "create_version"):
        signed_in_rps, _p50, errors, open_rps, _ratio = rows[name]
        assert errors == "0", f"{name}: wrk saw errors or non-2xx answers (a 401 is one)"
        assert float(signed_in_rps.replace(",", "")) > 0 and float(open_rps.replace(",", "")) > 0
