"""The object-storage recipe (deploy/compose.s3.yaml): valid Compose, Podium commands and
settings only, artifacts in the bucket rather than on a volume, the image able to reach S3."""

import json

import yaml
from test_deploy import DEPLOY, assert_known_settings, assert_podium_command

from registry.config import load_settings


def compose_file() -> dict:
    return yaml.safe_load((DEPLOY / "compose.s3.yaml").read_text())  # anchors and merges resolved


def test_the_object_storage_recipe_passes_the_compose_specification():
    from compose_spec import PyCompose

    spec = PyCompose.from_json(json.dumps(compose_file()))
    spec.to_spec()
    services = set(spec.to_dict()["services"])
    assert services == {"postgres", "minio", "minio-setup", "podium", "dispatcher"}


def test_the_object_storage_recipe_keeps_artifacts_in_the_bucket():
    compose = compose_file()
    services = compose["services"]
    for name in ("podium", "dispatcher"):
        service = services[name]
        assert_podium_command(service["command"])
        assert_known_settings(service["environment"])
        settings = load_settings(service["environment"])
        assert settings["PODIUM_ARTIFACTS_DESTINATION"] == "s3://podium/artifacts"
        assert service["environment"]["MLFLOW_S3_ENDPOINT_URL"] == "http://minio:9000"
        assert "volumes" not in service  # stateless: nothing of Podium's on a volume
        assert settings["PODIUM_AUTH"] == "basic"
    setup = services["minio-setup"]
    assert "mb --ignore-existing local/podium" in setup["command"][0]
    depends = services["podium"]["depends_on"]
    assert depends["minio-setup"]["condition"] == "service_completed_successfully"
    assert services["minio"]["healthcheck"]["test"] == ["CMD", "mc", "ready", "local"]
    assert set(compose["volumes"]) == {"postgres-data", "minio-data"}
    assert '".[postgres,s3]"' in (DEPLOY / "Dockerfile").read_text()  # the image has boto3
