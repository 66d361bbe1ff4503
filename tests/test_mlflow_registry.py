"""Every registry flow through the real MLflow client against a live gunicorn server."""

import pytest
import requests
from mlflow.exceptions import MlflowException

SOURCE = "mlflow-artifacts:/1/0123456789abcdef0123456789abcdef/artifacts/model"


def _register(client, name, count=1, **kwargs):
    client.create_registered_model(name)
    return [client.create_model_version(name, SOURCE, **kwargs) for _ in range(count)]


def test_create_and_get_registered_model(mlflow_client, model_name):
    created = mlflow_client.create_registered_model(
        model_name, tags={"team": "vision"}, description="detects faces"
    )
    fetched = mlflow_client.get_registered_model(model_name)

    assert created.name == fetched.name == model_name
    assert fetched.description == "detects faces"
    assert fetched.tags == {"team": "vision"}
    assert fetched.creation_timestamp > 0
    assert fetched.latest_versions == []


def test_non_ascii_names_and_text_come_back_as_sent(shared_server, mlflow_client, model_name):
    # Bodies are UTF-8 (registry/api/json_encoding.py), not \u escapes: the client must read
    # them back unchanged, through search too.
    name = f"{model_name}-модель-ü-✓"
    mlflow_client.create_registered_model(name, description="détecte les visages ✓")
    mlflow_client.create_model_version(name, SOURCE, tags={"note": "ünïcødé"})

    assert mlflow_client.get_registered_model(name).description == "détecte les visages ✓"
    (found,) = mlflow_client.search_model_versions(f"name='{name}'")
    assert (found.name, found.tags) == (name, {"note": "ünïcødé"})
    raw = requests.get(
        f"{shared_server.url}/api/2.0/mlflow/registered-models/get", params={"name": name}
    )
    assert raw.headers["Content-Type"] == "application/json"
    assert "модель".encode() in raw.content


def test_create_existing_name_is_resource_already_exists(mlflow_client, model_name):
    mlflow_client.create_registered_model(model_name)
    with pytest.raises(MlflowException) as error:
        mlflow_client.create_registered_model(model_name)
    assert error.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_register_model_tolerates_existing_model(shared_server, model_name):
    import mlflow

    mlflow.set_tracking_uri(shared_server.url)
    mlflow.set_registry_uri(shared_server.url)
    first = mlflow.register_model(SOURCE, model_name)
    second = mlflow.register_model(SOURCE, model_name)
    assert (first.version, second.version) == ("1", "2")
    assert second.status == "READY"


def test_rename_update_and_delete_model(mlflow_client, model_name):
    _register(mlflow_client, model_name)
    mlflow_client.rename_registered_model(model_name, model_name + "-new")
    assert mlflow_client.get_registered_model(model_name + "-new").name == model_name + "-new"
    with pytest.raises(MlflowException) as error:
        mlflow_client.get_registered_model(model_name)
    assert error.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert mlflow_client.get_model_version(model_name + "-new", "1").name == model_name + "-new"

    updated = mlflow_client.update_registered_model(model_name + "-new", description="v2")
    assert updated.description == "v2"

    mlflow_client.delete_registered_model(model_name + "-new")
    with pytest.raises(MlflowException) as error:
        mlflow_client.get_model_version(model_name + "-new", "1")
    assert error.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_rename_onto_existing_name_fails(mlflow_client, model_name):
    mlflow_client.create_registered_model(model_name)
    mlflow_client.create_registered_model(model_name + "-other")
    with pytest.raises(MlflowException) as error:
        mlflow_client.rename_registered_model(model_name, model_name + "-other")
    assert error.value.error_code == "RESOURCE_ALREADY_EXISTS"


def test_model_version_lifecycle(mlflow_client, model_name):
    run = mlflow_client.create_run("0").info  # a run_id must name a run on this server
    source = run.artifact_uri + "/model"
    mlflow_client.create_registered_model(model_name)
    version = mlflow_client.create_model_version(
        model_name,
        source,
        run_id=run.run_id,
        tags={"framework": "sklearn"},
        description="first",
        run_link="http://ci/42",
    )
    assert version.version == "1"
    assert version.status == "READY"
    assert version.current_stage == "None"
    assert version.tags == {"framework": "sklearn"}
    assert version.run_id == run.run_id

    updated = mlflow_client.update_model_version(model_name, "1", description="better")
    assert updated.description == "better"
    assert mlflow_client.get_model_version_download_uri(model_name, "1") == source

    mlflow_client.delete_model_version(model_name, "1")
    with pytest.raises(MlflowException) as error:
        mlflow_client.get_model_version(model_name, "1")
    assert error.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_a_source_naming_another_host_is_refused(shared_server, mlflow_client, model_name):
    """The client would fetch mlflow-artifacts://evil.example/... from that host, sending its
    tracking credentials there; only this server's own host (or none) is accepted."""
    mlflow_client.create_registered_model(model_name)
    path = "/1/0123456789abcdef0123456789abcdef/artifacts/model"
    for host in ("evil.example", "127.0.0.1:1"):
        with pytest.raises(MlflowException) as error:
            mlflow_client.create_model_version(model_name, f"mlflow-artifacts://{host}{path}")
        assert error.value.error_code == "INVALID_PARAMETER_VALUE"
        assert "no host other than this server's" in error.value.message
    assert mlflow_client.search_model_versions(f"name = '{model_name}'") == []
    own = shared_server.url.removeprefix("http://")
    version = mlflow_client.create_model_version(model_name, f"mlflow-artifacts://{own}{path}")
    assert version.version == "1"


def test_version_numbers_are_never_reused(mlflow_client, model_name):
    _register(mlflow_client, model_name, count=3)
    mlflow_client.delete_model_version(model_name, "3")
    assert mlflow_client.create_model_version(model_name, SOURCE).version == "4"


def test_tags_on_models_and_versions(mlflow_client, model_name):
    _register(mlflow_client, model_name)
    mlflow_client.set_registered_model_tag(model_name, "owner", "ana")
    mlflow_client.set_registered_model_tag(model_name, "owner", "bo")
    mlflow_client.set_model_version_tag(model_name, "1", "validated", "true")
    assert mlflow_client.get_registered_model(model_name).tags == {"owner": "bo"}
    assert mlflow_client.get_model_version(model_name, "1").tags == {"validated": "true"}

    mlflow_client.delete_registered_model_tag(model_name, "owner")
    mlflow_client.delete_model_version_tag(model_name, "1", "validated")
    assert mlflow_client.get_registered_model(model_name).tags == {}
    assert mlflow_client.get_model_version(model_name, "1").tags == {}


def test_stage_transitions_with_archiving(mlflow_client, model_name):
    _register(mlflow_client, model_name, count=3)
    mlflow_client.transition_model_version_stage(model_name, "1", "production")
    moved = mlflow_client.transition_model_version_stage(model_name, "2", "Production")
    assert moved.current_stage == "Production"
    assert mlflow_client.get_model_version(model_name, "1").current_stage == "Production"

    mlflow_client.transition_model_version_stage(
        model_name, "3", "PRODUCTION", archive_existing_versions=True
    )
    stages = {v: mlflow_client.get_model_version(model_name, v).current_stage for v in "123"}
    assert stages == {"1": "Archived", "2": "Archived", "3": "Production"}


def test_bad_stage_is_invalid_parameter(mlflow_client, model_name):
    _register(mlflow_client, model_name)
    with pytest.raises(MlflowException) as error:
        mlflow_client.transition_model_version_stage(model_name, "1", "Bogus")
    assert error.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "Bogus" in error.value.message
    assert mlflow_client.get_model_version(model_name, "1").current_stage == "None"


def test_latest_versions_per_stage(mlflow_client, model_name):
    _register(mlflow_client, model_name, count=4)
    mlflow_client.transition_model_version_stage(model_name, "1", "Production")
    mlflow_client.transition_model_version_stage(model_name, "2", "Staging")
    mlflow_client.transition_model_version_stage(model_name, "3", "Staging")

    latest = mlflow_client.get_latest_versions(model_name)
    assert sorted((v.current_stage, v.version) for v in latest) == [
        ("None", "4"),
        ("Production", "1"),
        ("Staging", "3"),
    ]
    staging = mlflow_client.get_latest_versions(model_name, stages=["staging"])
    assert [(v.current_stage, v.version) for v in staging] == [("Staging", "3")]
    model = mlflow_client.get_registered_model(model_name)
    assert sorted(v.version for v in model.latest_versions) == ["1", "3", "4"]


def test_latest_versions_of_a_missing_or_empty_model(mlflow_client, model_name):
    with pytest.raises(MlflowException) as error:
        mlflow_client.get_latest_versions(model_name)
    assert error.value.error_code == "RESOURCE_DOES_NOT_EXIST"

    mlflow_client.create_registered_model(model_name)
    assert mlflow_client.get_latest_versions(model_name) == []
    mlflow_client.create_model_version(model_name, SOURCE, tags={"k": "v"})
    mlflow_client.set_registered_model_alias(model_name, "champion", "1")
    mlflow_client.transition_model_version_stage(model_name, "1", "Production")
    mlflow_client.create_model_version(model_name, SOURCE)

    latest = mlflow_client.get_latest_versions(model_name)
    assert [(v.current_stage, v.version) for v in latest] == [("None", "2"), ("Production", "1")]
    assert (latest[1].tags, latest[1].aliases) == ({"k": "v"}, ["champion"])
    assert mlflow_client.get_latest_versions(model_name, stages=["Archived"]) == []


def test_get_latest_versions_by_get(shared_server, model_name, mlflow_client):
    _register(mlflow_client, model_name, count=2)
    response = requests.get(
        shared_server.url + "/api/2.0/mlflow/registered-models/get-latest-versions",
        params={"name": model_name, "stages": ["None", "Staging"]},
    )
    assert response.status_code == 200
    assert [v["version"] for v in response.json()["model_versions"]] == ["2"]


def test_aliases(mlflow_client, model_name):
    _register(mlflow_client, model_name, count=2)
    mlflow_client.set_registered_model_alias(model_name, "champion", "1")
    assert mlflow_client.get_model_version_by_alias(model_name, "champion").version == "1"
    assert mlflow_client.get_model_version(model_name, "1").aliases == ["champion"]

    mlflow_client.set_registered_model_alias(model_name, "champion", "2")
    moved = mlflow_client.get_model_version_by_alias(model_name, "champion")
    assert (moved.version, moved.aliases) == ("2", ["champion"])
    assert mlflow_client.get_model_version(model_name, "1").aliases == []
    assert mlflow_client.get_registered_model(model_name).aliases == {"champion": "2"}

    mlflow_client.delete_registered_model_alias(model_name, "champion")
    mlflow_client.delete_registered_model_alias(model_name, "champion")  # a no-op, as in MLflow
    with pytest.raises(MlflowException) as error:
        mlflow_client.get_model_version_by_alias(model_name, "champion")
    assert error.value.error_code == "INVALID_PARAMETER_VALUE"


def test_an_alias_to_a_missing_version_or_model_is_refused_and_stores_nothing(
    mlflow_client, model_name
):
    # The model and the version are read in one query; each miss keeps its own error.
    with pytest.raises(MlflowException) as error:
        mlflow_client.set_registered_model_alias(model_name, "champion", "1")
    assert error.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert f"name={model_name}" in error.value.message

    _register(mlflow_client, model_name)
    with pytest.raises(MlflowException) as error:
        mlflow_client.set_registered_model_alias(model_name, "champion", "7")
    assert error.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert "version=7" in error.value.message
    assert mlflow_client.get_registered_model(model_name).aliases == {}
    assert mlflow_client.get_model_version(model_name, "1").aliases == []


@pytest.mark.parametrize("alias", ["latest", "Latest", "v1", "V42"])
def test_reserved_aliases_are_rejected(mlflow_client, model_name, alias):
    _register(mlflow_client, model_name)
    with pytest.raises(MlflowException) as error:
        mlflow_client.set_registered_model_alias(model_name, alias, "1")
    assert error.value.error_code == "INVALID_PARAMETER_VALUE"
    assert mlflow_client.get_registered_model(model_name).aliases == {}


def test_deleting_a_version_removes_its_aliases(mlflow_client, model_name):
    _register(mlflow_client, model_name, count=2)
    mlflow_client.set_registered_model_alias(model_name, "champion", "1")
    mlflow_client.set_registered_model_alias(model_name, "challenger", "2")
    mlflow_client.delete_model_version(model_name, "1")
    assert mlflow_client.get_registered_model(model_name).aliases == {"challenger": "2"}


def test_load_model_uri_resolution(shared_server, mlflow_client, model_name):
    """models:/name@alias, models:/name/<version> and models:/name/<Stage> resolve to the source."""
    import mlflow
    from mlflow.store.artifact.models_artifact_repo import ModelsArtifactRepository

    # The repository resolves through the process-wide registry URI (reset after each test).
    mlflow.set_tracking_uri(shared_server.url)
    mlflow.set_registry_uri(shared_server.url)
    _register(mlflow_client, model_name, count=2)
    mlflow_client.set_registered_model_alias(model_name, "champion", "1")
    mlflow_client.transition_model_version_stage(model_name, "2", "Staging")
    for uri in (
        f"models:/{model_name}@champion",
        f"models:/{model_name}/1",
        f"models:/{model_name}/Staging",
        f"models:/{model_name}/latest",
    ):
        resolved = ModelsArtifactRepository.get_underlying_uri(uri)
        assert resolved == SOURCE, uri


def test_search_registered_models_with_pagination(mlflow_client, model_name):
    names = [f"{model_name}-{i:02d}" for i in range(7)]
    for name in names:
        mlflow_client.create_registered_model(name, tags={"family": model_name})
    mlflow_client.create_registered_model(model_name + "-Upper")

    found, token = [], None
    while True:
        page = mlflow_client.search_registered_models(
            filter_string=f"name LIKE '{model_name}-0%'", max_results=3, page_token=token
        )
        found += [m.name for m in page]
        token = page.token
        if not token:
            break
    assert found == names

    by_tag = mlflow_client.search_registered_models(filter_string=f"tags.family = '{model_name}'")
    assert sorted(m.name for m in by_tag) == names
    descending = mlflow_client.search_registered_models(
        filter_string=f"name LIKE '{model_name}-0%'", order_by=["name DESC"]
    )
    assert [m.name for m in descending] == names[::-1]
    case_blind = mlflow_client.search_registered_models(
        filter_string=f"name ILIKE '{model_name.upper()}-UPPER'"
    )
    assert [m.name for m in case_blind] == [model_name + "-Upper"]


def test_search_model_versions(mlflow_client, model_name):
    run = mlflow_client.create_run("0").info
    run_id, source = run.run_id, run.artifact_uri + "/model"
    mlflow_client.create_registered_model(model_name)
    for _ in range(5):
        mlflow_client.create_model_version(model_name, source, run_id=run_id)
    mlflow_client.set_model_version_tag(model_name, "2", "validated", "true")

    found = mlflow_client.search_model_versions(
        f"name = '{model_name}' AND version_number >= 3", order_by=["version_number ASC"]
    )
    assert [v.version for v in found] == ["3", "4", "5"]
    tagged = mlflow_client.search_model_versions(
        f"name = '{model_name}' AND tag.validated = 'true'"
    )
    assert [v.version for v in tagged] == ["2"]
    by_run = mlflow_client.search_model_versions(f"run_id = '{run_id}'")
    assert len(by_run) == 5

    page = mlflow_client.search_model_versions(f"name = '{model_name}'", max_results=2)
    assert len(page) == 2 and page.token


def test_invalid_filter_names_the_problem(mlflow_client):
    with pytest.raises(MlflowException) as error:
        mlflow_client.search_model_versions("name = 'a' OR name = 'b'")
    assert error.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "OR" in error.value.message
    with pytest.raises(MlflowException) as error:
        mlflow_client.search_registered_models(filter_string="colour = 'red'")
    assert "colour" in error.value.message


def test_a_repeated_search_sees_changes_and_a_repeated_bad_filter_fails_again(
    mlflow_client, model_name
):
    """Searches are compiled once per filter: the SQL is kept, never the answer or an error."""
    _register(mlflow_client, model_name, count=2)
    search = f"name = '{model_name}' AND tag.ready = 'yes'"
    assert list(mlflow_client.search_model_versions(search)) == []
    mlflow_client.set_model_version_tag(model_name, "2", "ready", "yes")
    assert [v.version for v in mlflow_client.search_model_versions(search)] == ["2"]
    for _ in range(2):
        with pytest.raises(MlflowException) as error:
            mlflow_client.search_model_versions(f"name = '{model_name}' OR version_number = 1")
        assert error.value.error_code == "INVALID_PARAMETER_VALUE"
    assert [v.version for v in mlflow_client.search_model_versions(search)] == ["2"]


def test_unknown_entities_are_resource_does_not_exist(mlflow_client, model_name):
    for call in (
        lambda: mlflow_client.get_registered_model(model_name),
        lambda: mlflow_client.create_model_version(model_name, SOURCE),
    ):
        with pytest.raises(MlflowException) as error:
            call()
        assert error.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    mlflow_client.create_registered_model(model_name)
    with pytest.raises(MlflowException) as error:
        mlflow_client.get_model_version(model_name, "99")
    assert error.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert "version=99" in error.value.message


def test_history_through_the_api(shared_server, mlflow_client, model_name):
    _register(mlflow_client, model_name, count=2)
    mlflow_client.transition_model_version_stage(model_name, "1", "Staging")
    mlflow_client.transition_model_version_stage(model_name, "1", "Production")
    mlflow_client.set_registered_model_alias(model_name, "champion", "1")
    mlflow_client.transition_model_version_stage(
        model_name, "2", "Production", archive_existing_versions=True
    )
    mlflow_client.set_registered_model_alias(model_name, "champion", "2")
    mlflow_client.rename_registered_model(model_name, model_name + "-renamed")

    response = requests.get(
        shared_server.url + "/api/2.0/podium/registered-models/history",
        params={"name": model_name + "-renamed"},
        auth=("ana", "secret"),
    )
    history = response.json()["history"]
    summary = [
        (
            e["version"],
            e["kind"],
            e.get("from_stage") or e.get("from_version"),
            e.get("to_stage") or e.get("to_version"),
        )
        for e in history
    ]
    assert summary == [
        ("1", "stage", "None", "Staging"),
        ("1", "stage", "Staging", "Production"),
        ("1", "alias", None, "1"),
        ("1", "stage", "Production", "Archived"),
        ("2", "stage", "None", "Production"),
        ("2", "alias", "1", "2"),
    ]
    timestamps = [e["timestamp"] for e in history]
    assert timestamps == sorted(timestamps)
