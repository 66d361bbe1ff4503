"""The OpenAPI document says what the wire carries; the fuzzer (test_fuzz.py) holds answers to it.

These check the generator on the served document and on a schema of its own: nullable fields,
optional bodies, ids as strings, int64s, lengths and ranges, error statuses, links.
"""

import pytest
from flask import Flask
from marshmallow import fields, validate
from openapi_spec_validator import validate as validate_document

from registry.api import errors
from registry.api.exchange import exchange
from registry.api.openapi import openapi_document
from registry.schemas.base import RequestSchema, ResponseSchema

INT64 = {"type": "integer", "format": "int64", "minimum": -(2**63), "maximum": 2**63 - 1}


@pytest.fixture
def document(client):
    document = client.get("/api/2.0/podium/openapi.json").json
    validate_document(document)
    return document


def schema(document, name):
    return document["components"]["schemas"][name]


def operation(document, path, method):
    return document["paths"][f"/api/2.0/{path}"][method]


def query(document, path, name):
    parameters = operation(document, path, "get")["parameters"]
    return next(p for p in parameters if p["name"] == name)


def test_fields_that_may_be_null_are_nullable(document):
    run_info = schema(document, "RunInfoOut")["properties"]
    assert run_info["end_time"]["nullable"] is True
    assert run_info["start_time"]["nullable"] is True
    assert "nullable" not in run_info["run_id"]
    history = schema(document, "HistoryEntryOut")["properties"]
    assert history["to_stage"]["nullable"] is True


def test_ids_and_versions_are_strings(document):
    assert schema(document, "ModelVersionOut")["properties"]["version"]["type"] == "string"
    assert schema(document, "ExperimentOut")["properties"]["experiment_id"]["type"] == "string"
    assert schema(document, "RunInfoOut")["properties"]["experiment_id"]["type"] == "string"
    assert schema(document, "ExperimentIdResponse")["properties"]["experiment_id"] == {
        "type": "string"
    }
    # Requests: the string MLflow's client sends, or the integer Podium tolerates.
    version = query(document, "mlflow/model-versions/get", "version")["schema"]
    assert version["oneOf"][0] == {"type": "string", "pattern": "^[0-9]{1,10}$"}
    assert version["oneOf"][1]["type"] == "integer" and "type" not in version
    experiment = schema(document, "CreateRunIn")["properties"]["experiment_id"]
    assert [choice["type"] for choice in experiment["oneOf"]] == ["string", "integer"]


def test_integers_are_int64_with_their_ranges(document):
    metric = schema(document, "MetricItem")["properties"]
    assert {k: metric["timestamp"][k] for k in INT64} == INT64
    as_of = query(document, "podium/registered-models/as-of", "timestamp")
    assert {k: as_of["schema"][k] for k in INT64} == INT64
    assert schema(document, "ModelVersionOut")["properties"]["creation_timestamp"] == {
        "type": "integer",
        "format": "int64",
    }
    max_results = query(document, "mlflow/registered-models/search", "max_results")["schema"]
    assert (max_results["minimum"], max_results["maximum"]) == (1, 1000)


def test_lengths_and_choices_come_from_the_fields(document):
    create = schema(document, "CreateRegisteredModelIn")["properties"]
    assert (create["name"]["minLength"], create["name"]["maxLength"]) == (1, 256)
    assert create["description"]["maxLength"] == 100_000
    stage = schema(document, "TransitionStageIn")["properties"]["stage"]
    assert stage["enum"] == ["None", "Staging", "Production", "Archived"]
    status = schema(document, "UpdateRunIn")["properties"]["status"]
    assert "FINISHED" in status["enum"]


def test_a_body_is_required_only_when_a_field_is(document):
    assert operation(document, "mlflow/registered-models/create", "post")["requestBody"]["required"]
    assert not operation(document, "mlflow/runs/search", "post")["requestBody"]["required"]
    assert not operation(document, "mlflow/runs/create", "post")["requestBody"]["required"]
    assert not operation(document, "mlflow/logged-models/search", "post")["requestBody"]["required"]


def test_answers_are_the_success_and_podiums_error_statuses(document):
    responses = operation(document, "mlflow/registered-models/create", "post")["responses"]
    assert "default" not in responses
    assert {"200", "400", "403", "404", "413", "414", "431", "500", "503"} <= set(responses)
    assert "405" not in responses
    error = responses["404"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}
    empty = operation(document, "mlflow/registered-models/delete", "delete")["responses"]["200"]
    assert empty["content"]["application/json"]["schema"] == {"type": "object", "maxProperties": 0}
    download = operation(document, "mlflow-artifacts/artifacts/{path}", "get")["responses"]["200"]
    assert list(download["content"]) == ["*/*"]


def test_links_name_real_operations_and_their_fields(document):
    operations = {
        op["operationId"]: op for path in document["paths"].values() for op in path.values()
    }
    links = operations["create_registered_model_post"]["responses"]["200"]["links"]
    assert links["GetRegisteredModel"] == {
        "operationId": "get_registered_model_get",
        "parameters": {"name": "$response.body#/registered_model/name"},
    }
    for source in operations.values():
        for link in source["responses"]["200"].get("links", {}).values():
            target = operations[link["operationId"]]
            names = {p["name"] for p in target.get("parameters", [])}
            assert {n.removeprefix("path.") for n in link.get("parameters", {})} <= names
            if "requestBody" in link:
                body = target["requestBody"]["content"]["application/json"]["schema"]
                fields_of_body = schema(document, body["$ref"].rsplit("/", 1)[1])["properties"]
                assert set(link["requestBody"]) <= set(fields_of_body)


class Limited(RequestSchema):
    names = fields.List(fields.String(), validate=validate.Length(max=5), required=True)
    code = fields.String(validate=validate.Length(min=2, max=8))
    count = fields.Integer(validate=validate.Range(min=1, max=50))


class Answer(ResponseSchema):
    note = fields.String(allow_none=True)


def test_length_and_range_validators_become_limits_in_the_document():
    app = Flask(__name__)
    errors.init_app(app)

    @app.post("/limited")
    @exchange(Limited(), Answer())
    def limited(req):
        return {}

    document = openapi_document(app)
    validate_document(document)
    properties = document["components"]["schemas"]["Limited"]["properties"]
    assert properties["names"]["maxItems"] == 5
    assert (properties["code"]["minLength"], properties["code"]["maxLength"]) == (2, 8)
    assert (properties["count"]["minimum"], properties["count"]["maximum"]) == (1, 50)
    assert document["components"]["schemas"]["Answer"]["properties"]["note"]["nullable"]
    assert document["paths"]["/limited"]["post"]["requestBody"]["required"] is True
