#!/usr/bin/env python3
"""Server time of each web UI page at scale: 1,000 models, 20,000 versions, runs with
100 metrics x 1,000 steps.

    python bench/ui.py [--repeat 20]

Seeds a scratch SQLite database (rows written straight into the tables, runs through the
services), then renders every page through the WSGI app in-process and prints the median, p95
and worst time per page as Markdown. Nothing is asserted: the goal (50 ms) is read off the table.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODELS, VERSIONS_PER_MODEL = 1000, 20
BIG_RUNS, METRICS, STEPS, SMALL_RUNS = 3, 100, 1000, 200


def seed(app) -> dict:
    """Fill the database; return the names and ids the pages need."""
    from registry.services import experiments, run_data, runs, webhooks
    from registry.store.db import db
    from registry.store.tables.base import now_ms
    from registry.store.tables.registry import (
        Alias,
        ModelVersion,
        RegisteredModel,
        RegisteredModelTag,
        Transition,
    )

    now = now_ms()
    with app.app_context(), db.connection_context():
        experiment = experiments.create_experiment(name="bench")
        big = []
        for index in range(BIG_RUNS):
            run = runs.create_run(experiment_id=experiment, start_time=now, run_name=f"big-{index}")
            run_data.log_batch(
                run_id=run.run_id,
                params=[{"key": f"p{i}", "value": str(i * index)} for i in range(20)],
                metrics=[],
                tags=[],
            )
            for key in range(METRICS):
                points = [
                    {"key": f"m{key:03}", "value": random.random(), "timestamp": now + s, "step": s}
                    for s in range(STEPS)
                ]
                run_data.log_batch(run_id=run.run_id, metrics=points, params=[], tags=[])
            big.append(run.run_id)
        for index in range(SMALL_RUNS):
            run = runs.create_run(experiment_id=experiment, start_time=now + index)
            run_data.log_batch(
                run_id=run.run_id,
                params=[{"key": f"p{i}", "value": str(index)} for i in range(5)],
                metrics=[
                    {"key": f"m{i}", "value": index / 7, "timestamp": now, "step": 0}
                    for i in range(5)
                ],
                tags=[],
            )
        with db.atomic():
            RegisteredModel.insert_many(
                [
                    {
                        "name": f"model-{i:04}",
                        "description": f"Model **{i}**.",
                        "last_version": VERSIONS_PER_MODEL,
                        "creation_timestamp": now - i,
                        "last_updated_timestamp": now - i,
                    }
                    for i in range(MODELS)
                ]
            ).execute()
            ids = {m.name: m.id for m in RegisteredModel.select()}
            RegisteredModelTag.insert_many(
                [{"model": mid, "key": "team", "value": "vision"} for mid in ids.values()]
            ).execute()
            rows = []
            for name, mid in ids.items():
                for v in range(1, VERSIONS_PER_MODEL + 1):
                    stage = (
                        "Production"
                        if v == VERSIONS_PER_MODEL
                        else ("Staging" if v == VERSIONS_PER_MODEL - 1 else "Archived")
                    )
                    rows.append(
                        {
                            "model": mid,
                            "version": v,
                            "source": f"s3://b/{name}/{v}",
                            "run_id": big[0] if name == "model-0000" else "",
                            "current_stage": stage,
                            "creation_timestamp": now - 1000 + v,
                            "last_updated_timestamp": now - 1000 + v,
                        }
                    )
            for start in range(0, len(rows), 500):
                ModelVersion.insert_many(rows[start : start + 500]).execute()
            versions = {
                (r.model_id, r.version): r.id
                for r in ModelVersion.select(
                    ModelVersion.id, ModelVersion.model, ModelVersion.version
                )
            }
            Alias.insert_many(
                [
                    {
                        "model": mid,
                        "alias": "champion",
                        "version": versions[(mid, VERSIONS_PER_MODEL)],
                    }
                    for mid in ids.values()
                ]
            ).execute()
            history = []
            for name, mid in ids.items():
                for v in range(1, VERSIONS_PER_MODEL + 1):
                    history.append(
                        {
                            "model": mid,
                            "model_name": name,
                            "version": v,
                            "kind": "stage",
                            "from_stage": "None",
                            "to_stage": "Production",
                            "timestamp": now - 100_000 + v * 1000,
                            "user": "ci",
                        }
                    )
                    if v < VERSIONS_PER_MODEL:
                        history.append(
                            {
                                "model": mid,
                                "model_name": name,
                                "version": v,
                                "kind": "stage",
                                "from_stage": "Production",
                                "to_stage": "Archived",
                                "user": "ci",
                                "timestamp": now - 100_000 + (v + 1) * 1000,
                            }
                        )
            for start in range(0, len(history), 500):
                Transition.insert_many(history[start : start + 500]).execute()
        for index in range(10):
            webhooks.create_webhook(
                name=f"hook-{index}",
                url="https://10.0.0.5/hook",
                events=["model_version.stage_transitioned"],
                settings=app.config,
            )
    return {"experiment": experiment, "big": big}


def pages(seeded: dict) -> dict[str, str]:
    model = quote("model-0000")
    big = seeded["big"]
    return {
        "models (/)": "/",
        "models, by last modified": "/?sort=modified",
        "models, substring search": "/?q=model-05",
        "models, filter search": "/?q=" + quote("tag.team = 'vision' AND name LIKE 'model-01%'"),
        "model (20 versions, 39 history rows)": f"/models/{model}",
        "model, as of": f"/models/{model}?as_of=2001-01-01T00:00:00",
        "version (lineage: 100-metric run)": f"/models/{model}/versions/20",
        "experiments": "/experiments",
        "runs table (203 runs, page of 50)": f"/experiments/{seeded['experiment']}",
        "run (100 metrics x 1,000 steps)": f"/experiments/{seeded['experiment']}/runs/{big[0]}",
        "compare 3 such runs": "/compare?" + "&".join(f"run={r}" for r in big),
        "activity": "/activity",
        "webhooks": "/webhooks",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["PODIUM_SECRET_KEY_FILE"] = str(Path(scratch) / "podium.key")
        from registry import create_app

        app = create_app(
            {
                "PODIUM_DATABASE_URL": f"sqlite:///{scratch}/podium.db",
                "PODIUM_ARTIFACTS_DESTINATION": f"{scratch}/artifacts",
                "PODIUM_WEBHOOK_ALLOWED_NETWORKS": ["10.0.0.0/8"],
            }
        )
        started = time.perf_counter()
        seeded = seed(app)
        print(f"seeded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        client = app.test_client()
        print("| page | median ms | p95 ms | worst ms | bytes |")
        print("|---|---:|---:|---:|---:|")
        for label, path in pages(seeded).items():
            for _ in range(3):  # warm: compiled statements, templates, page cache
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)
            times = []
            for _ in range(args.repeat):
                begun = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - begun) * 1000)
            times.sort()
            p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
            print(
                f"| {label} | {statistics.median(times):.1f} | {p95:.1f} | {times[-1]:.1f} "
                f"| {len(response.data)} |"
            )


if __name__ == "__main__":
    main()
