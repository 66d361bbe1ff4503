"""The OpenAPI document, generated from the routes and the marshmallow schemas they exchange.

It is what the fuzzer (tests/test_fuzz.py) is driven by and checks answers against, so it says
exactly what the wire carries: which fields may be null, which bodies may be left out, ids and
versions as strings, int64s, lengths and ranges, and every error status Podium answers with.
"""

import re
from importlib.metadata import version

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from marshmallow import Schema

from registry.api.openapi_links import LINKS
from registry.api.openapi_properties import podium_field_properties
from registry.errors import PodiumError

ERROR = {
    "type": "object",
    "required": ["error_code", "message"],
    "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
}
# A view with no response schema answers an empty JSON object.
EMPTY = {"type": "object", "maxProperties": 0}
# Answered by gunicorn before any route runs, in the same JSON shape (registry/server/http.py).
HTTP_ERRORS = (414, 431)


def openapi_document(app: Flask) -> dict:
    """Build the document once per app and reuse it."""
    if "podium_openapi" not in app.extensions:
        app.extensions["podium_openapi"] = _build(app)
    return app.extensions["podium_openapi"]


def _build(app: Flask) -> dict:
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="Podium model registry",
        version=version("podium-registry"),
        openapi_version="3.0.3",
        plugins=[plugin],
    )
    plugin.converter.add_attribute_function(podium_field_properties)
    spec.components.schema("Error", ERROR)
    errors = _error_statuses()
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions[rule.endpoint]
        if rule.rule.startswith("/ajax-api/") or not hasattr(view, "request_schema"):
            continue
        operations = {}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operations[method.lower()] = _operation(view, method, rule, errors)
        spec.path(path=re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), operations=operations)
    return spec.to_dict()


def _error_statuses() -> list[int]:
    """Every status an error of Podium's hierarchy carries, and gunicorn's own refusals."""
    statuses, pending = set(HTTP_ERRORS), [PodiumError]
    while pending:
        error = pending.pop()
        statuses.add(error.http_status)
        pending.extend(error.__subclasses__())
    # 405 is an answer about the route, not this operation: it is never one of its answers.
    return sorted(statuses - {405})


def _operation(view, method: str, rule, errors: list[int]) -> dict:
    operation_id = f"{view.__name__}_{method.lower()}"
    success = {"description": "Success", "content": _success_content(view)}
    if operation_id in LINKS:
        success["links"] = LINKS[operation_id]
    operation = {
        "operationId": operation_id,
        "summary": (view.__doc__ or view.__name__.replace("_", " ")).strip().splitlines()[0],
        "responses": {
            "200": success,
            **{
                str(status): {
                    "description": "MLflow-style error",
                    "content": {"application/json": {"schema": "Error"}},
                }
                for status in errors
            },
        },
    }
    schema = view.request_schema
    if schema is not None and method == "GET":
        operation["parameters"] = [{"in": "query", "schema": schema}]
    elif schema is not None:
        operation["requestBody"] = {
            # A body whose every field is optional may be left out altogether.
            "required": _has_required_field(schema),
            "content": {"application/json": {"schema": schema}},
        }
    elif method == "PUT":  # the artifact upload: the body is the file's bytes
        operation["requestBody"] = {
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            }
        }
    for argument in rule.arguments:
        operation.setdefault("parameters", []).append(
            {"in": "path", "name": argument, "required": True, "schema": {"type": "string"}}
        )
    return operation


def _success_content(view) -> dict:
    if getattr(view, "streams_bytes", False):  # a download, typed by the file's name
        return {"*/*": {"schema": {"type": "string", "format": "binary"}}}
    return {"application/json": {"schema": view.response_schema or EMPTY}}


def _has_required_field(schema: Schema) -> bool:
    return any(field.required for field in schema.fields.values())
