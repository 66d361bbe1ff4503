"""What a run logs: params (write-once), metrics (full history plus the latest point), tags."""

import json
import math

from peewee import EXCLUDED, Tuple

from registry.errors import InvalidParameter, ResourceDoesNotExist
from registry.search import pages
from registry.services.runs import RUN_NAME_TAG
from registry.services.tracking_lookup import find_run
from registry.store.db import db, reading
from registry.store.failures import retry_conflicts
from registry.store.statements import statement
from registry.store.tables.tracking import LatestMetric, Metric, Param, Run, RunTag

_INSERT_CHUNK = 250  # rows per INSERT, well inside SQLite's bound-parameter limit
LOGGED_MODELS_TAG = "mlflow.log-model.history"
_MODEL_REQUIRED = ("artifact_path", "flavors", "utc_time_created", "run_id")
_MODEL_KEPT = ("run_id", "utc_time_created", "artifact_path", "model_uuid")
_MAX_TAG_VALUE = 8000  # a run tag's limit (MLflow's)


def log_param(*, run_id: str, key: str, value: str) -> None:
    """Log one param; logging it again is fine only with the same value."""
    log_batch(run_id=run_id, params=[{"key": key, "value": value}])


def log_metric(
    *, run_id: str, key: str, value: float, timestamp: int, step: int = 0, model_id: str = ""
) -> None:
    """Append one point to a metric's history."""
    metric = {"key": key, "value": value, "timestamp": timestamp, "step": step}
    log_batch(run_id=run_id, metrics=[metric], model_id=model_id)


def set_tag(*, run_id: str, key: str, value: str) -> None:
    """Set (or overwrite) one tag; mlflow.runName renames the run."""
    log_batch(run_id=run_id, tags=[{"key": key, "value": value}])


@retry_conflicts
def delete_tag(*, run_id: str, key: str) -> None:
    """Remove one tag from an active run."""
    with db.atomic():
        run = find_run(run_id, for_update=True, active=True)
        removed = RunTag.delete().where((RunTag.run == run) & (RunTag.key == key)).execute()
        if not removed:
            raise ResourceDoesNotExist(f"No tag with name: {key} in run with id {run_id}")


@retry_conflicts
def log_batch(
    *,
    run_id: str,
    metrics: list[dict] = (),
    params: list[dict] = (),
    tags: list[dict] = (),
    model_id: str = "",
) -> None:
    """Log metrics, params and tags to an active run, all or nothing (the request schema holds
    them to MLflow's batch limits)."""
    params = _unique_params(params)
    with db.atomic():
        run = find_run(run_id, for_update=True, active=True)
        _log_params(run, params)
        _log_metrics(run, metrics, model_id)
        _set_tags(run, {tag["key"]: tag["value"] for tag in tags})


@retry_conflicts
def log_model(*, run_id: str, model_json: str) -> None:
    """Append a model's metadata to the run's mlflow.log-model.history tag (2.x log_model).

    As MLflow keeps it: the model's run id, time, artifact path, uuid and flavors (without each
    flavor's `config`). The tag is bounded like any other, so the oldest entries give way.
    """
    try:
        model = json.loads(model_json)
    except (ValueError, RecursionError):
        raise InvalidParameter(
            f"Malformed model info. \n {model_json[:200]} \n is not a valid JSON."
        ) from None
    if not isinstance(model, dict):
        raise InvalidParameter("Malformed model info: expected a JSON object.")
    missing = sorted(set(_MODEL_REQUIRED) - set(model))
    if missing:
        raise InvalidParameter(f"Model json is missing mandatory fields: {set(missing)}")
    entry = {key: model[key] for key in _MODEL_KEPT if key in model}
    flavors = model["flavors"] if isinstance(model["flavors"], dict) else {}
    entry["flavors"] = {
        name: {k: v for k, v in config.items() if k != "config"}
        if isinstance(config, dict)
        else config
        for name, config in flavors.items()
    }
    if len(json.dumps([entry])) > _MAX_TAG_VALUE:
        raise InvalidParameter(
            f"The model's metadata is longer than a run tag may be ({_MAX_TAG_VALUE} characters)."
        )
    with db.atomic():
        run = find_run(run_id, for_update=True, active=True)
        tag = RunTag.get_or_none((RunTag.run == run) & (RunTag.key == LOGGED_MODELS_TAG))
        try:
            history = json.loads(tag.value) if tag else []
        except (ValueError, RecursionError):
            history = []  # set by hand to something else: start over
        history = [*history, entry] if isinstance(history, list) else [entry]
        value = json.dumps(history)
        while len(value) > _MAX_TAG_VALUE:
            history = history[1:]
            value = json.dumps(history)
        _set_tags(run, {LOGGED_MODELS_TAG: value})


def get_metric_history(
    *, run_id: str, metric_key: str, max_results: int = 25_000, page_token: str | None = None
) -> dict:
    """Every point logged for one metric of a run, by step then time, a page at a time."""
    with reading():
        run = find_run(run_id)
        query = (
            Metric.select()
            .where((Metric.run == run) & (Metric.key == metric_key))
            .order_by(Metric.step, Metric.timestamp, Metric.id)
        )
        rows, more = pages.fetch_page(
            pages.sliced(query), max_results=max_results, page_token=page_token
        )
    return {"metrics": rows, **more}


def _unique_params(params) -> dict[str, str]:
    unique = {}
    for param in params:
        if unique.setdefault(param["key"], param["value"]) != param["value"]:
            raise InvalidParameter(
                f"Duplicate parameter keys have been submitted: ['{param['key']}']. Please "
                "ensure the request contains only one param value per param key."
            )
    return unique


def _log_params(run: Run, params: dict[str, str]) -> None:
    if not params:
        return
    existing = {
        p.key: p.value
        for p in Param.select().where((Param.run == run) & Param.key.in_(list(params)))
    }
    changed = {key: value for key, value in params.items() if existing.get(key, value) != value}
    if changed:
        old = [{"key": key, "value": existing[key]} for key in changed]
        new = [{"key": key, "value": value} for key, value in changed.items()]
        raise InvalidParameter(
            f"Changing param values is not allowed. Params were already logged='{old}' for "
            f"run ID='{run.run_id}'. Attempted logging new params '{new}'."
        )
    rows = [{"run": run, "key": k, "value": v} for k, v in params.items() if k not in existing]
    for start in range(0, len(rows), _INSERT_CHUNK):
        Param.insert_many(rows[start : start + _INSERT_CHUNK]).execute()


@statement
def _raise_latest_point(run_id, key, value, is_nan, timestamp, step):
    # Insert the key's latest point, or overwrite the stored one if this one ranks higher
    # (_rank's order, compared in SQL): one statement instead of a read and a write, which on
    # PostgreSQL is one round trip fewer per logged metric.
    kept = (LatestMetric.value, LatestMetric.is_nan, LatestMetric.timestamp, LatestMetric.step)
    point = {
        LatestMetric.run: run_id,
        LatestMetric.key: key,
        LatestMetric.value: value,
        LatestMetric.is_nan: is_nan,
        LatestMetric.timestamp: timestamp,
        LatestMetric.step: step,
    }
    return LatestMetric.insert(point).on_conflict(
        conflict_target=[LatestMetric.run, LatestMetric.key],
        update={field: getattr(EXCLUDED, field.column_name) for field in kept},
        where=(
            Tuple(EXCLUDED.step, EXCLUDED.timestamp, EXCLUDED.value)
            > Tuple(LatestMetric.step, LatestMetric.timestamp, LatestMetric.value)
        ),
    )


def _log_metrics(run: Run, metrics, model_id: str) -> None:
    if not metrics:
        return
    rows, newest = [], {}
    for metric in metrics:
        is_nan = math.isnan(metric["value"])
        row = {
            "run": run.run_id,
            "key": metric["key"],
            "value": 0.0 if is_nan else metric["value"],
            "is_nan": is_nan,
            "timestamp": metric["timestamp"],
            "step": metric.get("step", 0),
            "model_id": model_id or metric.get("model_id", ""),
        }
        rows.append(row)
        if row["key"] not in newest or _rank(row) > _rank(newest[row["key"]]):
            newest[row["key"]] = row
    for start in range(0, len(rows), _INSERT_CHUNK):
        # A point sent twice (a client retry) is stored once, as MLflow's primary key does.
        Metric.insert_many(rows[start : start + _INSERT_CHUNK]).on_conflict_ignore().execute()
    for key, row in newest.items():
        _raise_latest_point.execute(
            run.run_id, key, row["value"], row["is_nan"], row["timestamp"], row["step"]
        )


def _rank(row: dict) -> tuple:
    """MLflow's order for "latest": step, then timestamp, then value."""
    return row["step"], row["timestamp"], row["value"]


def _set_tags(run: Run, tags: dict[str, str]) -> None:
    for key, value in tags.items():
        RunTag.insert(run=run, key=key, value=value).on_conflict(
            conflict_target=[RunTag.run, RunTag.key], update={RunTag.value: value}
        ).execute()
    if tags.get(RUN_NAME_TAG):
        run.name = tags[RUN_NAME_TAG]
        run.save()
