"""The tracking calls older clients make and Podium used to drop: runs/log-model (the 2.x
log_model's metadata, kept as the mlflow.log-model.history tag) and runs/log-inputs (datasets
with their tags, and models), shown by get_run and searchable as MLflow's datasets.* filters."""

import json

import pytest

RUNS = "/api/2.0/mlflow/runs"


def _run(client, experiment_id="0") -> str:
    answer = client.post(f"{RUNS}/create", json={"experiment_id": experiment_id})
    return answer.json["run"]["info"]["run_id"]


def _dataset(name="iris", digest="d1", context="training", **extra) -> dict:
    tags = [{"key": "mlflow.data.context", "value": context}] if context else []
    fields = {"name": name, "digest": digest, "source_type": "local", "source": '{"uri": "x"}'}
    return {"tags": tags, "dataset": {**fields, **extra}}


def _model_json(run_id: str, **extra) -> str:
    model = {
        "run_id": run_id,
        "artifact_path": "model",
        "utc_time_created": "2026-12-03 10:00:00.000000",
        "model_uuid": "0123",
        "flavors": {"sklearn": {"pickled_model": "model.pkl", "config": {"secret": 1}}},
        "signature": {"inputs": "[]"},
        **extra,
    }
    return json.dumps(model)


def _tags(client, run_id) -> dict:
    run = client.get(f"{RUNS}/get", query_string={"run_id": run_id}).json["run"]
    return {tag["key"]: tag["value"] for tag in run["data"]["tags"]}


def test_log_model_appends_to_the_history_tag_as_mlflow_does(client):
    run_id = _run(client)
    for uuid in ("a", "b"):
        body = {"run_id": run_id, "model_json": _model_json(run_id, model_uuid=uuid)}
        answer = client.post(f"{RUNS}/log-model", json=body)
        assert (answer.status_code, answer.json) == (200, {})
    history = json.loads(_tags(client, run_id)["mlflow.log-model.history"])
    assert [entry["model_uuid"] for entry in history] == ["a", "b"]
    # What MLflow keeps of the MLmodel: ids, time, path and flavors without their config.
    assert history[0] == {
        "run_id": run_id,
        "utc_time_created": "2026-12-03 10:00:00.000000",
        "artifact_path": "model",
        "model_uuid": "a",
        "flavors": {"sklearn": {"pickled_model": "model.pkl"}},
    }


def test_the_history_stays_within_a_tags_limit_dropping_the_oldest(client):
    run_id = _run(client)
    for i in range(60):
        body = {"run_id": run_id, "model_json": _model_json(run_id, model_uuid=f"m{i:03d}")}
        assert client.post(f"{RUNS}/log-model", json=body).status_code == 200
    value = _tags(client, run_id)["mlflow.log-model.history"]
    assert len(value) <= 8000
    uuids = [entry["model_uuid"] for entry in json.loads(value)]
    assert uuids[-1] == "m059" and uuids == sorted(uuids) and len(uuids) < 60


@pytest.mark.parametrize(
    "body, status, words",
    [
        ({"model_json": "{}"}, 400, "Missing value for required parameter 'run_id'"),
        ({"run_id": "RUN"}, 400, "Missing value for required parameter 'model_json'"),
        ({"run_id": "RUN", "model_json": "not json"}, 400, "is not a valid JSON"),
        ({"run_id": "RUN", "model_json": "[1]"}, 400, "expected a JSON object"),
        ({"run_id": "RUN", "model_json": "[" * 50_000}, 400, "is not a valid JSON"),
        ({"run_id": "RUN", "model_json": '{"run_id": "x"}'}, 400, "missing mandatory fields"),
        ({"run_id": "0" * 32, "model_json": "MODEL"}, 404, "not found"),
    ],
)
def test_log_model_refuses_what_mlflow_refuses(client, body, status, words):
    run_id = _run(client)
    body = {k: v.replace("RUN", run_id) for k, v in body.items()}
    if body.get("model_json") == "MODEL":
        body["model_json"] = _model_json(run_id)
    answer = client.post(f"{RUNS}/log-model", json=body)
    assert answer.status_code == status, answer.json
    assert words in answer.json["message"]
    assert "mlflow.log-model.history" not in _tags(client, run_id)


def test_log_inputs_keeps_datasets_and_their_tags_and_get_run_shows_them(client):
    run_id = _run(client)
    first = _dataset(profile='{"num_rows": 3}', schema='{"mlflow_colspec": []}')
    body = {"run_id": run_id, "datasets": [first, _dataset(context="other"), _dataset("b", "d2")]}
    assert client.post(f"{RUNS}/log-inputs", json=body).status_code == 200
    # Logged again (a retry, or a second log_input of the same data): nothing changes.
    assert client.post(f"{RUNS}/log-inputs", json=body).status_code == 200
    run = client.get(f"{RUNS}/get", query_string={"run_id": run_id}).json["run"]
    assert run["inputs"]["dataset_inputs"] == [
        {
            "tags": [{"key": "mlflow.data.context", "value": "training"}],
            "dataset": {
                "name": "iris",
                "digest": "d1",
                "source_type": "local",
                "source": '{"uri": "x"}',
                "schema": '{"mlflow_colspec": []}',
                "profile": '{"num_rows": 3}',
            },
        },
        {
            "tags": [{"key": "mlflow.data.context", "value": "training"}],
            "dataset": {
                "name": "b",
                "digest": "d2",
                "source_type": "local",
                "source": '{"uri": "x"}',
                "schema": None,
                "profile": None,
            },
        },
    ]
    # Another run of the experiment shares the dataset, with tags of its own.
    other = _run(client)
    body = {"run_id": other, "datasets": [_dataset(context="evaluation")]}
    assert client.post(f"{RUNS}/log-inputs", json=body).status_code == 200
    inputs = client.get(f"{RUNS}/get", query_string={"run_id": other}).json["run"]["inputs"]
    assert inputs["dataset_inputs"][0]["tags"][0]["value"] == "evaluation"


@pytest.mark.parametrize(
    "dataset, words",
    [
        (_dataset(name="n" * 501), "'name' is longer than 500"),
        (_dataset(digest="d" * 37), "'digest' is longer than 36"),
        ({"tags": [], "dataset": {"name": "x", "digest": "y"}}, "Missing data for required"),
        ({"tags": [{"key": "k" * 256, "value": "v"}], "dataset": _dataset()["dataset"]}, "255"),
        ({"tags": [{"key": "k", "value": "v" * 501}], "dataset": _dataset()["dataset"]}, "500"),
        ({"tags": []}, "Missing data for required"),
    ],
)
def test_log_inputs_is_bounded_like_every_other_input(client, dataset, words):
    run_id = _run(client)
    answer = client.post(f"{RUNS}/log-inputs", json={"run_id": run_id, "datasets": [dataset]})
    assert answer.status_code == 400, answer.json
    assert answer.json["error_code"] == "INVALID_PARAMETER_VALUE"
    assert words in answer.json["message"]
    too_many = {"run_id": run_id, "datasets": [_dataset(digest=str(i)) for i in range(1001)]}
    assert client.post(f"{RUNS}/log-inputs", json=too_many).status_code == 400
    inputs = client.get(f"{RUNS}/get", query_string={"run_id": run_id}).json["run"]["inputs"]
    assert inputs == {"dataset_inputs": [], "model_inputs": []}


def test_a_deleted_run_takes_no_inputs(client):
    run_id = _run(client)
    client.post(f"{RUNS}/delete", json={"run_id": run_id})
    answer = client.post(f"{RUNS}/log-inputs", json={"run_id": run_id, "datasets": [_dataset()]})
    assert answer.status_code == 400 and "must be in the 'active' state" in answer.json["message"]


@pytest.mark.parametrize(
    "filter_string, expected",
    [
        ("datasets.name = 'iris'", {"a", "b"}),
        ("dataset.name = 'iris' AND datasets.context = 'training'", {"a"}),
        ("datasets.digest IN ('d2', 'nope')", {"b"}),
        ("datasets.name LIKE 'ir%'", {"a", "b"}),
        ("datasets.name ILIKE 'IRIS'", {"a", "b"}),
        ("datasets.context != 'training'", {"b"}),
        ("datasets.name NOT IN ('iris')", set()),
        ("datasets.name = 'iris' AND params.p = '1'", {"a"}),
    ],
)
def test_search_runs_filters_on_datasets(client, filter_string, expected):
    experiment = client.post("/api/2.0/mlflow/experiments/create", json={"name": filter_string})
    experiment_id = experiment.json["experiment_id"]
    runs = {"a": _run(client, experiment_id), "b": _run(client, experiment_id)}
    _run(client, experiment_id)  # a run without inputs matches no dataset filter
    client.post(f"{RUNS}/log-parameter", json={"run_id": runs["a"], "key": "p", "value": "1"})
    logged = {"a": [_dataset()], "b": [_dataset(digest="d2", context="evaluation")]}
    for key, datasets in logged.items():
        client.post(f"{RUNS}/log-inputs", json={"run_id": runs[key], "datasets": datasets})
    answer = client.post(
        f"{RUNS}/search", json={"experiment_ids": [experiment_id], "filter": filter_string}
    )
    assert answer.status_code == 200, answer.json
    names = {name for name, run_id in runs.items()}
    found = {info["info"]["run_id"] for info in answer.json.get("runs", [])}
    assert found == {runs[name] for name in names & expected}


@pytest.mark.parametrize(
    "filter_string, words",
    [
        ("datasets.size = 'x'", "Invalid dataset key 'size'"),
        ("datasets.name > 'a'", "Invalid comparator '>'"),
        ("datasets.name = 5", "needs a quoted string"),
    ],
)
def test_a_bad_dataset_filter_is_a_400(client, filter_string, words):
    answer = client.post(f"{RUNS}/search", json={"experiment_ids": ["0"], "filter": filter_string})
    assert answer.status_code == 400 and words in answer.json["message"]


def test_the_mlflow_3_client_logs_inputs_and_reads_them_back(mlflow_client, tmp_path):
    import mlflow
    import pandas as pd

    run = mlflow_client.create_run("0")
    frame = pd.DataFrame({"x": [1, 2, 3]})
    source = str(tmp_path / "x.csv")
    dataset = mlflow.data.from_pandas(frame, name="frame", source=source)
    mlflow_client.log_inputs(
        run.info.run_id,
        datasets=[
            mlflow.entities.DatasetInput(
                dataset._to_mlflow_entity(),
                tags=[mlflow.entities.InputTag("mlflow.data.context", "train")],
            )
        ],
    )
    [used] = mlflow_client.get_run(run.info.run_id).inputs.dataset_inputs
    assert (used.dataset.name, used.dataset.digest) == ("frame", dataset.digest)
    assert json.loads(used.dataset.profile)["num_rows"] == 3
    assert [(t.key, t.value) for t in used.tags] == [("mlflow.data.context", "train")]
    found = mlflow_client.search_runs(["0"], filter_string="datasets.context = 'train'")
    assert run.info.run_id in [r.info.run_id for r in found]


def test_schema_step_4_gives_a_version_3_database_the_input_tables(database_url):
    """A database as the release before kept it (schema version 3, no input tables) gets them
    from step 4 and keeps its rows."""
    from registry.store import migrations
    from registry.store.db import db, open_database
    from registry.store.migrations import SchemaVersion
    from registry.store.tables import ALL_TABLES, SEEDS
    from registry.store.tables.tracking import INPUT_TABLES, Experiment, Run, RunInput

    db.initialize(open_database(database_url))
    try:
        older = [model for model in ALL_TABLES if model not in INPUT_TABLES]
        with db.connection_context(), db.atomic():
            db.create_tables([*older, SchemaVersion])
            for seed in SEEDS:
                seed()
            for step in migrations.MIGRATIONS[:3]:
                SchemaVersion.create(version=step.version, description=step.description)
            Run.create(run_id="a" * 32, experiment=0, artifact_uri="mlflow-artifacts:/0/a")
        latest = migrations.LATEST_VERSION
        assert migrations.upgrade(ALL_TABLES, SEEDS) == (3, latest)
        with db.connection_context():
            assert {m._meta.table_name for m in INPUT_TABLES} <= set(db.get_tables())
            assert [r.run_id for r in Run.select()] == ["a" * 32]
            assert Experiment.select().count() == 1
            assert RunInput.select().count() == 0
        assert migrations.upgrade(ALL_TABLES, SEEDS) == (latest, latest)  # once only
    finally:
        db.close()
