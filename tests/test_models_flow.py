"""Models end to end through the real MLflow client: log_model, register_model, aliases and
load_model; the checks on a version's links to runs and logged models; Podium's lineage read.
"""

import hashlib
import json
from pathlib import Path

import pytest
import requests
from mlflow.exceptions import MlflowException

LINEAGE = "/api/2.0/podium/model-versions/lineage"
INVALID = "INVALID_PARAMETER_VALUE"
MISSING = "RESOURCE_DOES_NOT_EXIST"


@pytest.fixture
def fluent(shared_server, tmp_path, monkeypatch):
    """The fluent `mlflow` API on the live server, run from a scratch directory."""
    import mlflow

    monkeypatch.chdir(tmp_path)
    mlflow.set_tracking_uri(shared_server.url)
    mlflow.set_registry_uri(shared_server.url)
    yield mlflow
    while mlflow.active_run():
        mlflow.end_run()


@pytest.fixture
def trained(fluent, model_name):
    """A scikit-learn model logged with log_model in a run that also logs a param and metric."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    features = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
    labels = np.array([0, 0, 0, 1, 1, 1])
    fluent.set_experiment(model_name)
    with fluent.start_run() as run:
        classifier = LogisticRegression().fit(features, labels)
        fluent.log_param("C", classifier.C)
        logged = fluent.sklearn.log_model(classifier, name="model", input_example=features[:2])
        fluent.log_metric("accuracy", classifier.score(features, labels))
    return run, logged, classifier, features


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_log_register_alias_load_and_predict(fluent, shared_server, trained, model_name):
    run, logged, classifier, features = trained
    client = fluent.MlflowClient()
    assert logged.model_id.startswith("m-") and logged.model_uri == f"models:/{logged.model_id}"
    experiment_id = run.info.experiment_id
    model_dir = f"mlflow-artifacts:/{experiment_id}/models/{logged.model_id}/artifacts"
    assert client.get_logged_model(logged.model_id).artifact_location == model_dir

    version = fluent.register_model(f"runs:/{run.info.run_id}/model", model_name)
    assert (version.version, version.status) == ("1", "READY")
    stored = client.get_model_version(model_name, "1")
    assert (stored.source, stored.run_id) == (f"models:/{logged.model_id}", run.info.run_id)
    assert client.get_model_version_download_uri(model_name, "1") == model_dir
    # The client records the version on the logged model, which Podium keeps.
    versions_tag = client.get_logged_model(logged.model_id).tags["mlflow.modelVersions"]
    assert json.loads(versions_tag) == [{"name": model_name, "version": "1"}]

    client.set_registered_model_alias(model_name, "champion", "1")
    loaded = fluent.pyfunc.load_model(f"models:/{model_name}@champion")
    assert list(loaded.predict(features)) == list(classifier.predict(features))

    # Registering straight from models:/m-...: the server fills in the run from the model.
    second = fluent.register_model(logged.model_uri, model_name)
    assert client.get_model_version(model_name, second.version).run_id == run.info.run_id
    client.transition_model_version_stage(model_name, second.version, "Staging")
    for uri in (f"models:/{model_name}/{second.version}", f"models:/{model_name}/Staging"):
        assert list(fluent.pyfunc.load_model(uri).predict(features[:3])) == [0, 0, 0]
    sklearn_model = fluent.sklearn.load_model(f"models:/{model_name}/1")
    assert sklearn_model.coef_.tolist() == classifier.coef_.tolist()

    # The model's files went to the server's artifact root, under the logged model.
    on_server = shared_server.workdir / "artifacts" / experiment_id / "models"
    files = {p.name for p in (on_server / logged.model_id / "artifacts").iterdir()}
    assert {"MLmodel", "model.skops", "requirements.txt", "input_example.json"} <= files


def test_lineage_of_a_registered_model(fluent, shared_server, trained, model_name):
    run, logged, _classifier, _features = trained
    fluent.register_model(f"runs:/{run.info.run_id}/model", model_name)
    response = requests.get(shared_server.url + LINEAGE, params={"name": model_name, "version": 1})
    assert response.status_code == 200, response.text
    lineage = response.json()

    assert lineage["model_version"]["version"] == "1"
    assert lineage["artifact_uri"].endswith(f"/models/{logged.model_id}/artifacts")
    ran = lineage["run"]
    assert ran["info"]["run_id"] == run.info.run_id and ran["info"]["status"] == "FINISHED"
    assert ran["data"]["params"] == [{"key": "C", "value": "1.0"}]
    [accuracy] = ran["data"]["metrics"]
    assert (accuracy["key"], accuracy["value"]) == ("accuracy", 1.0)
    assert {"key": "mlflow.user", "value": run.data.tags["mlflow.user"]} in ran["data"]["tags"]
    assert ran["outputs"]["model_outputs"] == [{"model_id": logged.model_id, "step": 0}]
    model = lineage["logged_model"]["info"]
    assert (model["model_id"], model["status"]) == (logged.model_id, "LOGGED_MODEL_READY")
    assert model["source_run_id"] == run.info.run_id

    # Sizes and digests were recorded at upload; they match the bytes the server holds.
    directory = (
        shared_server.workdir / "artifacts" / run.info.experiment_id / "models"
        / logged.model_id / "artifacts"
    )  # fmt: skip
    on_disk = {
        str(p.relative_to(directory)): (p.stat().st_size, _sha256(p))
        for p in directory.rglob("*")
        if p.is_file()
    }
    recorded = {f["path"]: (f["size"], f["sha256"]) for f in lineage["artifacts"]}
    assert recorded == on_disk and "model.skops" in recorded


def test_lineage_of_files_logged_in_the_run(fluent, shared_server, mlflow_client, model_name):
    """A version whose source is a directory of the run's own artifacts (MLflow 2.x layout)."""
    run = mlflow_client.create_run("0")
    for name, content in (("MLmodel", "flavors: {}\n"), ("weights/w.bin", "0123456789")):
        mlflow_client.log_text(run.info.run_id, content, f"model/{name}")
    mlflow_client.log_text(run.info.run_id, "not part of the model", "notes.txt")
    mlflow_client.create_registered_model(model_name)
    for source in (run.info.artifact_uri + "/model", f"runs:/{run.info.run_id}/model"):
        version = mlflow_client.create_model_version(model_name, source, run_id=run.info.run_id)
        lineage = requests.get(
            shared_server.url + LINEAGE, params={"name": model_name, "version": version.version}
        ).json()
        assert lineage["artifact_uri"] == run.info.artifact_uri + "/model"
        assert [(f["path"], f["size"]) for f in lineage["artifacts"]] == [
            ("MLmodel", 12),
            ("weights/w.bin", 10),
        ]
        assert lineage["artifacts"][1]["sha256"] == hashlib.sha256(b"0123456789").hexdigest()

    # A version with no run and no server-side files: no run, no model, no files.
    bare = mlflow_client.create_model_version(model_name, "s3://bucket/models/7")
    lineage = requests.get(
        shared_server.url + LINEAGE, params={"name": model_name, "version": bare.version}
    ).json()
    assert (lineage["artifacts"], "run" in lineage, "logged_model" in lineage) == ([], False, False)
    missing = requests.get(shared_server.url + LINEAGE, params={"name": model_name, "version": 99})
    assert (missing.status_code, missing.json()["error_code"]) == (404, MISSING)


def test_version_links_are_checked(mlflow_client, model_name):
    run = mlflow_client.create_run("0").info
    other = mlflow_client.create_run("0").info
    model = mlflow_client.create_logged_model("0", source_run_id=run.run_id, name="m")
    mlflow_client.create_registered_model(model_name)

    def refused(source, **links):
        with pytest.raises(MlflowException) as error:
            mlflow_client.create_model_version(model_name, source, **links)
        return error.value.error_code

    assert refused(run.artifact_uri + "/model", run_id="f" * 32) == MISSING
    assert refused(other.artifact_uri + "/model", run_id=run.run_id) == INVALID
    assert refused(run.artifact_uri.rsplit("/", 1)[0] + "/elsewhere", run_id=run.run_id) == INVALID
    assert refused(f"models:/{model.model_id}", model_id="m-" + "0" * 32) == INVALID
    assert refused("models:/m-" + "0" * 32) == MISSING
    assert mlflow_client.search_model_versions(f"name = '{model_name}'") == []

    accepted = [
        (run.artifact_uri + "/model", {"run_id": run.run_id}),
        (model.artifact_location + "/sub", {"run_id": run.run_id}),  # the run's logged model
        (f"runs:/{run.run_id}/model", {"run_id": run.run_id}),
        (f"models:/{model.model_id}", {}),
        ("s3://bucket/path", {}),
    ]
    for source, links in accepted:
        mlflow_client.create_model_version(model_name, source, **links)
    versions = mlflow_client.search_model_versions(
        f"name = '{model_name}'", order_by=["version_number"]
    )
    assert [v.run_id or "" for v in versions] == [run.run_id] * 4 + [""]
    assert mlflow_client.get_model_version_download_uri(model_name, "4") == (
        model.artifact_location
    )


def test_logged_models_through_the_client(mlflow_client, model_name):
    from mlflow.entities import LoggedModelStatus

    experiment_id = mlflow_client.create_experiment(model_name)
    run_id = mlflow_client.create_run(experiment_id).info.run_id
    params = {f"p{i:03d}": str(i) for i in range(150)}  # past the 100 sent with the create
    created = mlflow_client.create_logged_model(
        experiment_id,
        name="clf",
        source_run_id=run_id,
        params=params,
        tags={"team": "vision", "stage": "qa"},
        model_type="sklearn",
    )
    assert created.status == LoggedModelStatus.PENDING
    assert created.artifact_location == (
        f"mlflow-artifacts:/{experiment_id}/models/{created.model_id}/artifacts"
    )
    mlflow_client.set_logged_model_tags(created.model_id, {"team": "audio"})
    mlflow_client.delete_logged_model_tag(created.model_id, "stage")
    ready = mlflow_client.finalize_logged_model(created.model_id, LoggedModelStatus.READY)
    assert ready.status == LoggedModelStatus.READY
    fetched = mlflow_client.get_logged_model(created.model_id)
    assert (fetched.params, fetched.tags) == (params, {"team": "audio"})
    assert (fetched.model_type, fetched.source_run_id) == ("sklearn", run_id)

    other = mlflow_client.create_logged_model(experiment_id, name="other")
    unnamed = mlflow_client.create_logged_model(experiment_id)
    assert unnamed.name and unnamed.name not in ("clf", "other")

    def names(**search):
        return [m.name for m in mlflow_client.search_logged_models([experiment_id], **search)]

    assert names(filter_string="name = 'clf'") == ["clf"]
    assert names(filter_string=f"source_run_id = '{run_id}' AND tags.team = 'audio'") == ["clf"]
    assert names(filter_string="params.p007 = '7'") == ["clf"]
    ordered = names(order_by=[{"field_name": "name", "ascending": False}])
    assert ordered == sorted(["clf", "other", unnamed.name], reverse=True)

    mlflow_client.delete_logged_model(other.model_id)
    with pytest.raises(MlflowException) as error:
        mlflow_client.get_logged_model(other.model_id)
    assert error.value.error_code == MISSING
    assert "other" not in names()
    with pytest.raises(MlflowException) as error:
        mlflow_client.search_logged_models([experiment_id], filter_string="name = 'a' OR 1")
    assert error.value.error_code == INVALID
