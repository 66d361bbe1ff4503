"""The OpenAPI document, generated from the routes and the marshmallow schemas they exchange."""

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask

ERROR = {
    "type": "object",
    "properties": {"error_code": {"type": "string"}, "message": {"type": "string"}},
}


def openapi_document(app: Flask) -> dict:
    """Build the document once per app and reuse it."""
    if "podium_openapi" not in app.extensions:
        app.extensions["podium_openapi"] = _build(app)
    return app.extensions["podium_openapi"]


def _build(app: Flask) -> dict:
    from importlib.metadata import version

    spec = APISpec(
        title="Podium model registry",
        version=version("podium-registry"),
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
    )
    spec.components.schema("Error", ERROR)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions[rule.endpoint]
        if rule.rule.startswith("/ajax-api/") or not hasattr(view, "request_schema"):
            continue
        operations = {}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operations[method.lower()] = _operation(view, method, rule)
        spec.path(path=re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), operations=operations)
    return spec.to_dict()


def _operation(view, method: str, rule) -> dict:
    operation = {
        "operationId": f"{view.__name__}_{method.lower()}",
        "summary": (view.__doc__ or view.__name__.replace("_", " ")).strip().splitlines()[0],
        "responses": {
            "200": {"description": "Success"},
            "default": {
                "description": "MLflow-style error",
                "content": {"application/json": {"schema": "Error"}},
            },
        },
    }
    if view.response_schema is not None:
        operation["responses"]["200"]["content"] = {
            "application/json": {"schema": view.response_schema}
        }
    if view.request_schema is not None:
        if method == "GET":
            operation["parameters"] = [{"in": "query", "schema": view.request_schema}]
        else:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": view.request_schema}},
            }
    for argument in rule.arguments:
        operation.setdefault("parameters", []).append(
            {"in": "path", "name": argument, "required": True, "schema": {"type": "string"}}
        )
    return operation
