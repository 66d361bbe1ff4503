"""The tracking side through the real MLflow client against a live server: the quickstart,
experiments, runs, params, metrics, tags and run search; plus the wire details and bad input.
"""

import math
import re
import time
from pathlib import Path

import pytest
import requests
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException

API = "/api/2.0/mlflow"
INVALID = "INVALID_PARAMETER_VALUE"
MISSING = "RESOURCE_DOES_NOT_EXIST"


@pytest.fixture
def fluent(shared_server):
    """The fluent `mlflow` API pointed at the live server; any run left active is ended."""
    import mlflow

    mlflow.set_tracking_uri(shared_server.url)
    mlflow.set_registry_uri(shared_server.url)
    yield mlflow
    while mlflow.active_run():
        mlflow.end_run()


@pytest.fixture
def experiment_id(mlflow_client, model_name):
    return mlflow_client.create_experiment(model_name)


def _error(call) -> MlflowException:
    with pytest.raises(MlflowException) as error:
        call()
    return error.value


def _files_under(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()}


# --- the quickstart ---------------------------------------------------------------------------


def test_quickstart_from_another_directory(
    fluent, shared_server, tmp_path, monkeypatch, model_name
):
    """MLflow's quickstart, unchanged, from a client directory that is not the server's."""
    from random import randint, random

    from mlflow import log_artifacts, log_metric, log_param

    client_dir = tmp_path / "client"
    (client_dir / "outputs" / "sub").mkdir(parents=True)
    monkeypatch.chdir(client_dir)
    assert Path.cwd() != shared_server.workdir
    (client_dir / "outputs" / "test.txt").write_text("hello world!")
    (client_dir / "outputs" / "sub" / "a.json").write_text('{"a": 1}')

    # The quickstart itself.
    fluent.set_experiment(model_name)
    param1 = randint(0, 100)
    log_param("param1", param1)
    values = [random(), random() + 1, random() + 2]
    for value in values:
        log_metric("foo", value)
    log_artifacts("outputs")
    run = fluent.active_run()
    fluent.end_run()

    client = fluent.MlflowClient()
    finished = client.get_run(run.info.run_id)
    assert finished.info.status == "FINISHED" and finished.info.end_time
    assert finished.data.params == {"param1": str(param1)}
    assert finished.data.metrics == {"foo": values[-1]}
    history = client.get_metric_history(run.info.run_id, "foo")
    assert [m.value for m in history] == values
    assert [m.timestamp for m in history] == sorted(m.timestamp for m in history)

    experiment = client.get_experiment_by_name(model_name)
    assert run.info.experiment_id == experiment.experiment_id
    artifact_uri = f"mlflow-artifacts:/{experiment.experiment_id}/{run.info.run_id}/artifacts"
    assert finished.info.artifact_uri == artifact_uri
    listed = client.list_artifacts(run.info.run_id)
    assert [(f.path, f.is_dir) for f in listed] == [("sub", True), ("test.txt", False)]
    assert [f.file_size for f in listed] == [None, len("hello world!")]
    assert [f.path for f in client.list_artifacts(run.info.run_id, "sub")] == ["sub/a.json"]

    # The bytes are on the server, under its artifact root, and nowhere in the client's directory.
    on_server = shared_server.workdir / "artifacts" / experiment.experiment_id / run.info.run_id
    assert _files_under(on_server) == {"artifacts/test.txt", "artifacts/sub/a.json"}
    assert (on_server / "artifacts" / "test.txt").read_text() == "hello world!"
    assert _files_under(client_dir) == {"outputs/test.txt", "outputs/sub/a.json"}

    # Directory downloads: the whole run, and one sub-directory.
    whole = fluent.artifacts.download_artifacts(run_id=run.info.run_id, dst_path="all")
    assert _files_under(Path(whole)) == {"test.txt", "sub/a.json"}
    assert (Path(whole) / "sub" / "a.json").read_text() == '{"a": 1}'
    sub = fluent.artifacts.download_artifacts(
        run_id=run.info.run_id, artifact_path="sub", dst_path="part"
    )
    assert _files_under(Path(sub)) == {"a.json"}
    text = fluent.artifacts.load_text(f"runs:/{run.info.run_id}/test.txt")
    assert text == "hello world!"


# --- experiments ------------------------------------------------------------------------------


def test_default_experiment_exists_and_new_ids_follow_it(client):
    """Experiment 0 is seeded in every fresh database; the first created one is 1, not 0."""
    default = client.get(
        f"{API}/experiments/get-by-name", query_string={"experiment_name": "Default"}
    )
    assert default.json["experiment"]["experiment_id"] == "0"
    assert default.json["experiment"]["lifecycle_stage"] == "active"
    assert default.json["experiment"]["artifact_location"] == "mlflow-artifacts:/0"
    ids = [client.post(f"{API}/experiments/create", json={"name": n}).json for n in "ab"]
    assert ids == [{"experiment_id": "1"}, {"experiment_id": "2"}]


def test_missing_experiment_by_name_is_json_resource_does_not_exist(shared_server, mlflow_client):
    response = requests.get(
        shared_server.url + f"{API}/experiments/get-by-name",
        params={"experiment_name": "no-such-experiment"},
    )
    assert response.status_code == 404
    assert response.json()["error_code"] == MISSING
    assert mlflow_client.get_experiment_by_name("no-such-experiment") is None


def test_experiment_lifecycle(fluent, mlflow_client, model_name):
    experiment_id = mlflow_client.create_experiment(model_name, tags={"team": "vision"})
    assert re.fullmatch(r"[1-9]\d*", experiment_id)
    experiment = mlflow_client.get_experiment(experiment_id)
    assert (experiment.name, experiment.tags) == (model_name, {"team": "vision"})
    assert experiment.lifecycle_stage == "active"
    assert experiment.artifact_location == f"mlflow-artifacts:/{experiment_id}"

    assert _error(lambda: mlflow_client.create_experiment(model_name)).error_code == (
        "RESOURCE_ALREADY_EXISTS"
    )
    mlflow_client.rename_experiment(experiment_id, model_name + "-renamed")
    mlflow_client.set_experiment_tag(experiment_id, "stage", "dev")
    mlflow_client.delete_experiment_tag(experiment_id, "team")
    renamed = mlflow_client.get_experiment_by_name(model_name + "-renamed")
    assert (renamed.experiment_id, renamed.tags) == (experiment_id, {"stage": "dev"})

    run = mlflow_client.create_run(experiment_id)
    mlflow_client.delete_experiment(experiment_id)
    assert mlflow_client.get_experiment(experiment_id).lifecycle_stage == "deleted"
    assert mlflow_client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(MlflowException, match="deleted"):
        fluent.set_experiment(model_name + "-renamed")
    assert _error(lambda: mlflow_client.create_run(experiment_id)).error_code == INVALID

    mlflow_client.restore_experiment(experiment_id)
    assert mlflow_client.get_experiment(experiment_id).lifecycle_stage == "active"
    assert mlflow_client.get_run(run.info.run_id).info.lifecycle_stage == "active"
    assert _error(lambda: mlflow_client.delete_experiment("0")).error_code == INVALID
    assert _error(lambda: mlflow_client.get_experiment("987654")).error_code == MISSING


def test_search_experiments(mlflow_client, model_name):
    names = [f"{model_name}-{i}" for i in range(5)]
    ids = [mlflow_client.create_experiment(n, tags={"i": str(i)}) for i, n in enumerate(names)]
    mlflow_client.delete_experiment(ids[4])

    found, token = [], None
    while True:
        page = mlflow_client.search_experiments(
            filter_string=f"name LIKE '{model_name}-%'",
            order_by=["name DESC"],
            max_results=2,
            page_token=token,
        )
        found += [e.name for e in page]
        token = page.token
        if not token:
            break
    assert found == names[3::-1]
    tagged = mlflow_client.search_experiments(filter_string=f"tags.i = '2' AND name = '{names[2]}'")
    assert [e.experiment_id for e in tagged] == [ids[2]]
    deleted = mlflow_client.search_experiments(
        view_type=ViewType.DELETED_ONLY, filter_string=f"name LIKE '{model_name}%'"
    )
    assert [e.name for e in deleted] == [names[4]]
    everything = mlflow_client.search_experiments(view_type=ViewType.ALL)
    assert {"0", *ids} <= {e.experiment_id for e in everything}


# --- runs -------------------------------------------------------------------------------------


def test_run_lifecycle(mlflow_client, experiment_id):
    started = mlflow_client.create_run(experiment_id, start_time=1234)
    info = started.info
    assert re.fullmatch(r"[0-9a-f]{32}", info.run_id)
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d{1,3}", info.run_name)  # a generated name
    assert started.data.tags["mlflow.runName"] == info.run_name
    assert (info.status, info.start_time, info.lifecycle_stage) == ("RUNNING", 1234, "active")
    assert info.artifact_uri == f"mlflow-artifacts:/{experiment_id}/{info.run_id}/artifacts"

    named = mlflow_client.create_run(experiment_id, run_name="baseline")
    assert named.info.run_name == "baseline"
    mlflow_client.update_run(named.info.run_id, name="baseline-2")
    renamed = mlflow_client.get_run(named.info.run_id)
    assert (renamed.info.run_name, renamed.data.tags["mlflow.runName"]) == ("baseline-2",) * 2

    mlflow_client.set_terminated(info.run_id, "KILLED", end_time=5678)
    ended = mlflow_client.get_run(info.run_id).info
    assert (ended.status, ended.end_time) == ("KILLED", 5678)

    mlflow_client.delete_run(info.run_id)
    assert mlflow_client.get_run(info.run_id).info.lifecycle_stage == "deleted"
    refused = _error(lambda: mlflow_client.log_param(info.run_id, "k", "v"))
    assert refused.error_code == INVALID and "active" in refused.message
    mlflow_client.restore_run(info.run_id)
    mlflow_client.log_param(info.run_id, "k", "v")
    assert _error(lambda: mlflow_client.get_run("f" * 32)).error_code == MISSING


def test_params_are_written_once(mlflow_client, experiment_id):
    run_id = mlflow_client.create_run(experiment_id).info.run_id
    mlflow_client.log_param(run_id, "depth", 3)
    mlflow_client.log_param(run_id, "depth", "3")  # the same value again is fine
    changed = _error(lambda: mlflow_client.log_param(run_id, "depth", 5))
    assert (
        changed.error_code == INVALID and "Changing param values is not allowed" in changed.message
    )

    # A batch that changes a param is refused whole: its metric and tag are not kept either.
    batch = dict(
        metrics=[Metric("m", 1.0, 1, 0)], params=[Param("depth", "7")], tags=[RunTag("t", "x")]
    )
    assert _error(lambda: mlflow_client.log_batch(run_id, **batch)).error_code == INVALID
    data = mlflow_client.get_run(run_id).data
    assert (data.params, data.metrics, "t" in data.tags) == ({"depth": "3"}, {}, False)


def test_metric_history_and_non_finite_values(mlflow_client, experiment_id):
    run_id = mlflow_client.create_run(experiment_id).info.run_id
    points = [(0, 1.5), (1, math.nan), (2, math.inf), (3, -math.inf), (4, 0.25)]
    for step, value in points:
        mlflow_client.log_metric(run_id, "loss", value, timestamp=1000 + step, step=step)
    mlflow_client.log_metric(run_id, "loss", 0.25, timestamp=1004, step=4)  # a retry: kept once
    mlflow_client.log_metric(run_id, "edge", math.nan, timestamp=1, step=0)

    history = mlflow_client.get_metric_history(run_id, "loss")
    assert [(m.step, m.timestamp) for m in history] == [(s, 1000 + s) for s, _ in points]
    got = [m.value for m in history]
    assert got[0] == 1.5 and math.isnan(got[1]) and got[2:] == [math.inf, -math.inf, 0.25]
    metrics = mlflow_client.get_run(run_id).data.metrics
    assert metrics["loss"] == 0.25 and math.isnan(metrics["edge"])

    # The latest value is the highest step, whatever order the points arrive in.
    mlflow_client.log_metric(run_id, "late", 9.0, timestamp=50, step=9)
    mlflow_client.log_metric(run_id, "late", 1.0, timestamp=99, step=1)
    assert mlflow_client.get_run(run_id).data.metrics["late"] == 9.0
    # On one step the later timestamp wins, then on one timestamp the larger value.
    for value, timestamp in [(5.0, 20), (4.0, 30), (3.0, 25), (6.0, 30), (2.0, 30)]:
        mlflow_client.log_metric(run_id, "tie", value, timestamp=timestamp, step=2)
    assert mlflow_client.get_run(run_id).data.metrics["tie"] == 6.0
    assert mlflow_client.get_metric_history(run_id, "never-logged") == []


def test_log_batch_within_and_beyond_mlflow_limits(shared_server, mlflow_client, experiment_id):
    run_id = mlflow_client.create_run(experiment_id).info.run_id
    url = shared_server.url + f"{API}/runs/log-batch"

    def metrics(n):
        return [{"key": f"m{i}", "value": i, "timestamp": 1, "step": 0} for i in range(n)]

    def pairs(prefix, n):
        return [{"key": f"{prefix}{i}", "value": str(i)} for i in range(n)]

    accepted = requests.post(
        url, json={"run_id": run_id, "metrics": metrics(900), "params": pairs("p", 100)}
    )
    assert (accepted.status_code, accepted.json()) == (200, {})
    for body, says in [
        ({"metrics": metrics(1001)}, "at most 1000 metrics"),
        ({"params": pairs("q", 101)}, "at most 100 params"),
        ({"tags": pairs("t", 101)}, "at most 100 tags"),
        (
            {"metrics": metrics(950), "tags": pairs("t", 51)},
            "at most 1000 metrics, params, and tags",
        ),
    ]:
        refused = requests.post(url, json={"run_id": run_id, **body})
        assert refused.status_code == 400 and says in refused.json()["message"], refused.text
    data = mlflow_client.get_run(run_id).data
    assert (len(data.metrics), len(data.params)) == (900, 100)
    assert not any(key.startswith("t") for key in data.tags if not key.startswith("mlflow."))


def test_tags_on_runs(mlflow_client, experiment_id):
    run_id = mlflow_client.create_run(experiment_id).info.run_id
    mlflow_client.set_tag(run_id, "team", "vision")
    mlflow_client.set_tag(run_id, "team", "audio")
    mlflow_client.set_tag(run_id, "mlflow.runName", "by-tag")
    mlflow_client.log_batch(run_id, tags=[RunTag("a", "1"), RunTag("b", "2")])
    mlflow_client.delete_tag(run_id, "a")
    run = mlflow_client.get_run(run_id)
    assert run.info.run_name == "by-tag"
    assert {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")} == {
        "team": "audio",
        "b": "2",
    }
    assert _error(lambda: mlflow_client.delete_tag(run_id, "a")).error_code == MISSING


def test_log_inputs_is_accepted(fluent, experiment_id):
    import numpy as np

    fluent.set_experiment(experiment_id=experiment_id)
    with fluent.start_run() as run:
        fluent.log_input(fluent.data.from_numpy(np.array([1.0, 2.0]), name="xs"), context="train")
    assert fluent.MlflowClient().get_run(run.info.run_id).info.status == "FINISHED"


@pytest.fixture
def searchable_runs(mlflow_client, experiment_id):
    """Five runs: (accuracy, model param, team tag, status, start time) differ in each."""
    rows = [
        (0.9, "tree", "vision", "FINISHED", 1000),
        (0.7, "linear", "vision", "FINISHED", 2000),
        (0.4, "tree", "audio", "FAILED", 3000),
        (None, "forest", "audio", "RUNNING", 4000),
        (0.95, None, None, "FINISHED", 5000),
    ]
    names = []
    for i, (accuracy, model, team, status, start) in enumerate(rows):
        run = mlflow_client.create_run(experiment_id, start_time=start, run_name=f"run-{i}")
        if accuracy is not None:
            mlflow_client.log_metric(run.info.run_id, "accuracy", accuracy, timestamp=start)
        if model is not None:
            mlflow_client.log_param(run.info.run_id, "model", model)
        if team is not None:
            mlflow_client.set_tag(run.info.run_id, "team", team)
        if status != "RUNNING":
            mlflow_client.set_terminated(run.info.run_id, status, end_time=start + 10)
        names.append(run.info.run_name)
    return experiment_id


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.accuracy > 0.5", {0, 1, 4}),
        ("metrics.accuracy <= 0.7 and params.model = 'tree'", {2}),
        ("params.model = 'tree'", {0, 2}),
        ("params.model != 'tree'", {1, 3}),
        ("params.model LIKE '%ree%'", {0, 2}),
        ("params.model IN ('linear', 'forest')", {1, 3}),
        ("params.model IS NULL", {4}),
        ("tags.team = 'audio'", {2, 3}),
        ("tag.`team` ILIKE 'VIS%'", {0, 1}),
        ("attributes.status = 'FINISHED'", {0, 1, 4}),
        ("status != 'FINISHED'", {2, 3}),
        ("attributes.run_name = 'run-3'", {3}),
        ("run_name LIKE 'run-%' AND attributes.start_time >= 3000", {2, 3, 4}),
        ("attributes.end_time < 2500", {0, 1}),
        ("metrics.accuracy > 0.5 and tags.team = 'vision' and params.model = 'linear'", {1}),
    ],
)
def test_search_runs_filters(mlflow_client, searchable_runs, filter_string, expected):
    found = mlflow_client.search_runs([searchable_runs], filter_string)
    assert {int(run.info.run_name.split("-")[1]) for run in found} == expected


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ([], [4, 3, 2, 1, 0]),  # newest first by default
        (["metrics.accuracy DESC"], [4, 0, 1, 2, 3]),  # without the metric: last
        (["metrics.accuracy"], [2, 1, 0, 4, 3]),
        (["params.model ASC", "start_time DESC"], [3, 1, 2, 0, 4]),
        (["attributes.start_time ASC"], [0, 1, 2, 3, 4]),
        (["tags.team DESC", "run_name"], [0, 1, 2, 3, 4]),
    ],
)
def test_search_runs_order(mlflow_client, searchable_runs, order_by, expected):
    found = mlflow_client.search_runs([searchable_runs], order_by=order_by)
    assert [int(run.info.run_name.split("-")[1]) for run in found] == expected


def test_search_runs_pages_and_view_types(mlflow_client, searchable_runs):
    seen, token = [], None
    while True:
        page = mlflow_client.search_runs(
            [searchable_runs], order_by=["start_time"], max_results=2, page_token=token
        )
        seen += [run.info.run_name for run in page]
        token = page.token
        if not token:
            break
    assert seen == [f"run-{i}" for i in range(5)]

    [doomed] = mlflow_client.search_runs([searchable_runs], "attributes.run_name = 'run-2'")
    mlflow_client.delete_run(doomed.info.run_id)
    active = mlflow_client.search_runs([searchable_runs])
    deleted = mlflow_client.search_runs([searchable_runs], run_view_type=ViewType.DELETED_ONLY)
    both = mlflow_client.search_runs([searchable_runs], run_view_type=ViewType.ALL)
    assert (len(active), [r.info.run_name for r in deleted], len(both)) == (4, ["run-2"], 5)


@pytest.mark.parametrize(
    ("filter_string", "says"),
    [
        ("metrics.accuracy > 'high'", "numeric"),
        ("params.model > 'a'", "'>'"),
        ("colour = 'red'", "colour"),
        ("dataset.size = 'x'", "dataset"),  # name, digest and context only
        ("params.model = 'a' OR params.model = 'b'", "OR"),
        ("params.model IS 'x'", "NULL"),
    ],
)
def test_search_runs_rejects_bad_filters(mlflow_client, searchable_runs, filter_string, says):
    error = _error(lambda: mlflow_client.search_runs([searchable_runs], filter_string))
    assert error.error_code == INVALID and says in error.message


# --- the wire ---------------------------------------------------------------------------------


def test_wire_details(shared_server, mlflow_client, experiment_id):
    """Ids as strings, run_uuid beside run_id, non-finite doubles as proto JSON strings, 200s."""
    run_id = mlflow_client.create_run(experiment_id).info.run_id
    mlflow_client.log_metric(run_id, "x", math.inf, timestamp=1)
    body = requests.get(shared_server.url + f"{API}/runs/get", params={"run_uuid": run_id}).json()
    info = body["run"]["info"]
    assert (info["run_id"], info["run_uuid"], info["experiment_id"]) == (
        run_id,
        run_id,
        experiment_id,
    )
    assert body["run"]["data"]["metrics"] == [
        {"key": "x", "value": "Infinity", "timestamp": 1, "step": 0}
    ]
    assert body["run"]["outputs"] == {"model_outputs": []}
    # The web UI's mirror of every tracking route, and the server-info probe.
    mirrored = requests.get(shared_server.url + f"/ajax-api/2.0/mlflow/runs/get?run_id={run_id}")
    assert mirrored.json()["run"]["info"]["run_id"] == run_id
    info = requests.get(shared_server.url + "/api/3.0/mlflow/server-info").json()
    # Multipart uploads through the proxy (mpu/*); downloads stream through it, never presigned.
    assert info["multipart_uploads_enabled"] is True
    assert info["multipart_downloads_enabled"] is False


# --- bad input: MLflow's JSON error, and nothing changes ---------------------------------------


@pytest.fixture
def seeded_run(client):
    experiment = client.post(f"{API}/experiments/create", json={"name": "bad-input"}).json
    run = client.post(f"{API}/runs/create", json={**experiment, "start_time": 1}).json["run"]
    return run["info"]["run_id"]


def _bad_requests(run_id: str) -> list:
    run = {"run_id": run_id}
    metric = {**run, "key": "m", "value": 1.0, "timestamp": 1}
    return [
        ("POST", "runs/log-metric", {"key": "m", "value": 1, "timestamp": 1}, "'run_id'"),
        ("POST", "runs/log-metric", {**metric, "value": "lots"}, "'value'"),
        ("POST", "runs/log-metric", {**metric, "value": True}, "'value'"),
        ("POST", "runs/log-metric", {**metric, "timestamp": 1.5}, "'timestamp'"),
        ("POST", "runs/log-metric", {**metric, "timestamp": None}, "'timestamp'"),
        ("POST", "runs/log-metric", {**metric, "key": "../escape"}, "'key'"),
        ("POST", "runs/log-metric", {**metric, "key": "a\x00b"}, "'key'"),
        ("POST", "runs/log-metric", {**metric, "key": "k" * 251}, "'key'"),
        ("POST", "runs/log-metric", {**metric, "run_id": "no/slashes"}, "'run_id'"),
        ("POST", "runs/log-parameter", {**run, "key": "p", "value": "v" * 6001}, "'value'"),
        ("POST", "runs/set-tag", {**run, "key": "t", "value": "v" * 8001}, "'value'"),
        ("POST", "runs/set-tag", {**run, "key": "t", "value": "\ud800"}, "'value'"),
        ("POST", "runs/update", {**run, "status": "DONE"}, "'status'"),
        ("POST", "runs/create", {"experiment_id": "abc"}, "Invalid experiment ID"),
        ("POST", "runs/search", {"experiment_ids": ["1"], "page_token": "%%%"}, "page token"),
        ("POST", "runs/search", {"experiment_ids": ["1"], "order_by": ["bogus DESC"]}, "bogus"),
        ("POST", "runs/search", {"experiment_ids": ["1"], "run_view_type": "SOME"}, "SOME"),
        ("POST", "runs/search", {"experiment_ids": ["1"], "max_results": 50001}, "50000"),
        # Signs alone are not an integer (this once reached int() and answered 500).
        ("POST", "runs/search", {"experiment_ids": ["1"], "filter": "start_time > '+-5'"}, "'+-5'"),
        ("GET", "experiments/get", {"experiment_id": "1.5"}, "Invalid experiment ID"),
        ("POST", "experiments/create", {"name": " "}, "Invalid experiment name"),
        ("POST", "experiments/create", {"name": "x", "artifact_location": "/tmp/x"}, "local"),
        ("GET", "metrics/get-history", {**run}, "'metric_key'"),
    ]


def test_bad_tracking_input_is_refused_and_changes_nothing(client, seeded_run):
    before = client.get(f"{API}/runs/get", query_string={"run_id": seeded_run}).json
    for method, route, fields, says in _bad_requests(seeded_run):
        if method == "GET":
            response = client.get(f"{API}/{route}", query_string=fields)
        else:
            response = client.open(f"{API}/{route}", method=method, json=fields)
        assert response.status_code == 400, (route, fields, response.json)
        assert response.json["error_code"] == INVALID, (route, fields, response.json)
        assert says in response.json["message"], (route, fields, response.json)
    assert client.get(f"{API}/runs/get", query_string={"run_id": seeded_run}).json == before
    searched = client.post(f"{API}/experiments/search", json={"max_results": 10}).json
    assert sorted(e["name"] for e in searched["experiments"]) == ["Default", "bad-input"]


def test_unknown_ids_are_resource_does_not_exist(client, seeded_run):
    for method, route, fields in [
        ("GET", "runs/get", {"run_id": "0" * 32}),
        ("POST", "runs/log-parameter", {"run_id": "0" * 32, "key": "k", "value": "v"}),
        ("GET", "experiments/get", {"experiment_id": "4242"}),
        ("POST", "runs/create", {"experiment_id": "4242"}),
        ("GET", "logged-models/m-" + "0" * 32, {}),
        ("GET", "logged-models/not%00an-id", {}),
        ("POST", "runs/outputs", {"run_id": seeded_run, "models": [{"model_id": "m-x"}]}),
    ]:
        if method == "GET":
            response = client.get(f"{API}/{route}", query_string=fields)
        else:
            response = client.post(f"{API}/{route}", json=fields)
        assert (response.status_code, response.json["error_code"]) == (404, MISSING), route


def test_timestamps_are_milliseconds(mlflow_client, experiment_id):
    before = int(time.time() * 1000)
    experiment = mlflow_client.get_experiment(experiment_id)
    assert before - 60_000 < experiment.creation_time <= int(time.time() * 1000)
