"""A fuzzer driven by the served OpenAPI document, against a real gunicorn on a fresh database.

schemathesis (4.x, its command line) generates requests for every documented operation: valid
and invalid ones, boundary values, and chains along the document's links (create a model, then
get, update, version and delete it). The run fails on any 5xx, any answer whose status, content
type, headers or body the document does not allow, any invalid request answered with success,
a 405 without Allow, and any answer slower than 5 seconds.

The budget is fixed: PODIUM_FUZZ_MAX_EXAMPLES cases per operation and phase (default 25), up to
200 chains of 20 calls along the links (tests/schemathesis.toml), seed PODIUM_FUZZ_SEED (default
1): about two minutes on two busy cores, with a deadline of PODIUM_FUZZ_DEADLINE seconds
(default 300) for the whole run. Raise the first and the last to
fuzz longer locally; a failure prints schemathesis's report, with a `curl` line per case.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

MAX_EXAMPLES = int(os.environ.get("PODIUM_FUZZ_MAX_EXAMPLES", "25"))
SEED = os.environ.get("PODIUM_FUZZ_SEED", "1")
DEADLINE = int(os.environ.get("PODIUM_FUZZ_DEADLINE", "300"))
CONFIG = Path(__file__).with_name("schemathesis.toml")

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "unsupported_method",
    "use_after_free",
    "ensure_resource_availability",
]
# Not checked: positive_data_acceptance, because a document cannot state every rule a valid
# request must meet (a run that is deleted, a tag key's characters, a filter's grammar), and
# those requests rightly get MLflow's 400; the authentication checks, because Podium has none
# (an authenticating proxy goes in front).


@pytest.fixture
def fuzz_server(live_server_factory):
    return live_server_factory(
        env={
            # Generated webhooks must never be delivered anywhere; the synchronous `test` call
            # must give up on an unreachable receiver well within the 5 s limit.
            "PODIUM_DISPATCHER": "false",
            "PODIUM_WEBHOOK_TIMEOUT": "2",
        }
    )


def test_fuzz_the_api_from_its_own_document(fuzz_server, tmp_path):
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{fuzz_server.url}/api/2.0/podium/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--max-response-time",
        "5",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        SEED,
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path / "report"),
    ]
    try:
        run = subprocess.run(
            command, cwd=tmp_path, capture_output=True, text=True, timeout=DEADLINE
        )
    except subprocess.TimeoutExpired as timeout:
        output = (timeout.stdout or b"").decode(errors="replace")[-20_000:]
        pytest.fail(f"the fuzz run overran its {DEADLINE} s deadline:\n{output}")
    report = run.stdout[-60_000:] + run.stderr[-5_000:]
    assert run.returncode == 0, report
    # A run that tested nothing would also exit 0.
    assert "Fuzzing" in run.stdout and "Stateful" in run.stdout, report
