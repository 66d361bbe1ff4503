#!/usr/bin/env python3
"""Seed a MLflow-REST-compatible server with the data the wrk scenarios expect.

usage: setup.py BASE_URL [N_VERSIONS]     (AUTH_HEADER, if set, is sent as Authorization)
Creates experiment 'bench', one run, registered model 'bench' with N versions.
Prints the run id (the wrk scripts read it from the RUN_ID environment variable).
Uses only the standard library so it runs against any server.
"""

import json
import os
import sys
import time
import urllib.request

base = sys.argv[1].rstrip("/")
n_versions = int(sys.argv[2]) if len(sys.argv) > 2 else 200


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        base + "/api/2.0/mlflow/" + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json"}
        | ({"Authorization": os.environ["AUTH_HEADER"]} if os.environ.get("AUTH_HEADER") else {}),
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"{}")


exp = call("POST", "experiments/create", {"name": f"bench-{time.time_ns()}"})["experiment_id"]
run = call("POST", "runs/create", {"experiment_id": exp, "start_time": int(time.time() * 1000)})[
    "run"
]
run_id = run["info"]["run_id"]
art = run["info"]["artifact_uri"]
call("POST", "registered-models/create", {"name": "bench"})
for _ in range(n_versions):
    call(
        "POST",
        "model-versions/create",
        {"name": "bench", "source": f"{art}/model", "run_id": run_id},
    )
call("POST", "registered-models/create", {"name": "bench-search-other"})
print(run_id)
