"""The work one request can cause is bounded by its size: hostile bodies sent to a real gunicorn
are refused fast with a 400, and the worker's peak memory stays a small multiple of the body."""

from pathlib import Path

import pytest
import requests

API = "/api/2.0/mlflow"
MB = 1024 * 1024


def _workers(server) -> list[int]:
    """The pids of the gunicorn workers of `server` (children of its master but the dispatcher)."""
    master, dispatcher = server.process.pid, server.dispatcher_pid()
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if parent == master and int(entry.name) != dispatcher:
            pids.append(int(entry.name))
    return pids


def _peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmHWM for {pid}")


def _list_of(item: str, size: int) -> str:
    return ",".join([item] * (size // (len(item) + 1)))


def _distinct_strings(size: int) -> str:
    # Two-letter strings: unlike one-letter ones, CPython builds a new object for each.
    letters = "abcdefghijklmnopqrstuvwxyz"
    pairs = [f'"{a}{b}"' for a in letters for b in letters]
    return ",".join(pairs[i % len(pairs)] for i in range(size // 5))


def _body(prefix: str, items: str) -> str:
    return "{" + prefix + items + "]}"


CREATE, BATCH, HOOK = "registered-models/create", "runs/log-batch", "webhooks"
# (route, body, what the message says): each body is hostile in its own way. Most are refused by
# their count of JSON values before parsing; the ones just under that bound by a list's maximum
# length, counted before its items are checked.
HOSTILE = [
    (CREATE, lambda: _body('"name": "m", "tags": [', _list_of("1", 2 * MB)), "JSON values"),
    (CREATE, lambda: _body('"name": "m", "tags": [', _list_of("{}", 14 * MB)), "JSON values"),
    (CREATE, lambda: _body('"name": "m", "tags": [', _list_of("[]", 14 * MB)), "JSON values"),
    (CREATE, lambda: _body('"name": "m", "tags": [', _distinct_strings(14 * MB)), "JSON values"),
    (
        CREATE,
        lambda: _body('"name": "m", "description": [', _list_of("1.5", 14 * MB)),
        "JSON values",
    ),
    (CREATE, lambda: _body('"name": "m", "tags": [', ",".join(["1"] * 90_000)), "at most 1000"),
    (BATCH, lambda: _body('"run_id": "r", "metrics": [', ",".join(["0"] * 90_000)), "1000 metrics"),
    (BATCH, lambda: _body('"run_id": "r", "params": [', ",".join(['{"key": 1}'] * 99)), "index 0"),
    (
        HOOK,
        lambda: _body(
            '"name": "w", "url": "https://x.example", "events": [', ",".join(['"e"'] * 90_000)
        ),
        "at most 100",
    ),
    (CREATE, lambda: '{"name": "m", "description": "' + "d" * 14 * MB + '"}', "longer than"),
]


@pytest.mark.parametrize("route, make_body, says", HOSTILE)
def test_hostile_bodies_are_refused_with_bounded_memory(live_server, route, make_body, says):
    workers = _workers(live_server)
    assert workers, "found no gunicorn workers"
    before = max(_peak_rss_mb(pid) for pid in workers)
    body = make_body().encode()
    response = requests.post(
        f"{live_server.url}{API}/{route}",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 400, response.text[:300]
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert says in response.json()["message"]
    assert len(response.content) < 2000  # the error quotes a few items, not the list
    peak = max(_peak_rss_mb(pid) for pid in workers)
    print(f"{route}: body {len(body) / MB:.1f} MiB, worker peak {before:.0f} -> {peak:.0f} MiB")
    # The body is held as bytes and as text, and at most a bounded number of values is parsed:
    # a few times its size (before the bounds, a 14 MiB body of {} took over 300 MiB).
    assert peak - before < 4 * len(body) / MB + 16, (before, peak)
    searched = requests.get(f"{live_server.url}{API}/registered-models/search", timeout=10).json()
    assert searched.get("registered_models", []) == []  # and nothing was stored
