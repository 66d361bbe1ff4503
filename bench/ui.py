#!/usr/bin/env python3
"""Server time of each web UI page at scale: 1,000 models, 20,000 versions, runs with
100 metrics x 1,000 steps.

    python bench/ui.py [--repeat 20] [--targets] [--json]

Seeds a scratch SQLite database (rows written straight into the tables, runs through the
services), then renders every page through the WSGI app in-process and prints the median, p95,
p99 and worst time per page as Markdown (or JSON). `--targets` renders only the pages the
performance targets name (models list, model, version, run); `bench/run.py --only ui` runs
that. Nothing is asserted: the goals (p50 20 ms, p99 50 ms) are read off the table.
"""

import argparse
import json
import math
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
# The pages the targets of the performance work name, by their labels in pages().
TARGETS = ("models list", "model", "version", "run")


def seed(app, *, models=MODELS, metrics=METRICS, steps=STEPS) -> dict:
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
            for key in range(metrics):
                points = [
                    {"key": f"m{key:03}", "value": random.random(), "timestamp": now + s, "step": s}
                    for s in range(steps)
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
                    for i in range(models)
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
    """Label to path; the model page has 20 versions and 39 history rows, the version page the
    lineage of a big run, the runs table 203 runs (a page of 50)."""
    model = quote("model-0000")
    big = seeded["big"]
    return {
        "models list": "/",
        "models, by last modified": "/?sort=modified",
        "models, substring search": "/?q=model-05",
        "models, filter search": "/?q=" + quote("tag.team = 'vision' AND name LIKE 'model-01%'"),
        "model": f"/models/{model}",
        "model, as of": f"/models/{model}?as_of=2001-01-01T00:00:00",
        "version": f"/models/{model}/versions/{VERSIONS_PER_MODEL}",
        "experiments": "/experiments",
        "runs table": f"/experiments/{seeded['experiment']}",
        "run": f"/experiments/{seeded['experiment']}/runs/{big[0]}",
        "compare 3 such runs": "/compare?" + "&".join(f"run={r}" for r in big),
        "activity": "/activity",
        "webhooks": "/webhooks",
    }


def percentile(ordered: list[float], percent: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    return ordered[max(0, math.ceil(len(ordered) * percent / 100) - 1)]


def measure(*, repeat: int, targets_only: bool, models: int, metrics: int, steps: int) -> dict:
    """Seed a scratch registry and time each page `repeat` times; the sizes and a row per page."""
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
        seeded = seed(app, models=models, metrics=metrics, steps=steps)
        seconds = time.perf_counter() - started
        client = app.test_client()
        rows = []
        for label, path in pages(seeded).items():
            if targets_only and label not in TARGETS:
                continue
            for _ in range(3):  # warm: compiled statements, templates, page cache
                response = client.get(path)
                assert response.status_code == 200, (path, response.status_code)
            times = []
            for _ in range(repeat):
                begun = time.perf_counter()
                response = client.get(path)
                times.append((time.perf_counter() - begun) * 1000)
            times.sort()
            rows.append(
                {
                    "page": label,
                    "p50_ms": statistics.median(times),
                    "p95_ms": percentile(times, 95),
                    "p99_ms": percentile(times, 99),
                    "worst_ms": times[-1],
                    "bytes": len(response.data),
                }
            )
    sizes = {
        "models": models,
        "versions": models * VERSIONS_PER_MODEL,
        "metrics": metrics,
        "steps": steps,
        "repeat": repeat,
        "seed_seconds": seconds,
    }
    return {"sizes": sizes, "pages": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--targets", action="store_true", help="only " + ", ".join(TARGETS))
    parser.add_argument("--json", action="store_true", help="print JSON, not Markdown")
    parser.add_argument("--models", type=int, default=MODELS)
    parser.add_argument("--metrics", type=int, default=METRICS, help="per big run")
    parser.add_argument("--steps", type=int, default=STEPS, help="per metric of a big run")
    args = parser.parse_args()
    result = measure(
        repeat=args.repeat,
        targets_only=args.targets,
        models=args.models,
        metrics=args.metrics,
        steps=args.steps,
    )
    print(f"seeded in {result['sizes']['seed_seconds']:.0f} s", file=sys.stderr)
    if args.json:
        print(json.dumps(result))
        return
    print("| page | median ms | p95 ms | p99 ms | worst ms | bytes |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in result["pages"]:
        print(
            f"| {row['page']} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} | {row['p99_ms']:.1f} "
            f"| {row['worst_ms']:.1f} | {row['bytes']} |"
        )


if __name__ == "__main__":
    main()
