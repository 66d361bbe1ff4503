"""Every integer a request carries is bounded to 64 bits before it reaches the database.

A larger one used to travel to the driver and fail there (OverflowError, a 500). The walk over
every request schema keeps a new field from bringing that back; the requests to a real gunicorn
show what a client sees.
"""

import importlib
import pkgutil

import pytest
import requests
from marshmallow import fields

import registry.schemas
from registry.schemas.base import RequestSchema
from registry.schemas.fields import INT64, Int64, MaxResults, Version

# Integer fields that carry their own, narrower bounds.
BOUNDED = (Int64, MaxResults, Version)


def _request_schemas():
    for module in pkgutil.iter_modules(registry.schemas.__path__):
        importlib.import_module(f"registry.schemas.{module.name}")
    pending, seen = list(RequestSchema.__subclasses__()), set()
    while pending:
        schema = pending.pop()
        if schema not in seen:
            seen.add(schema)
            pending.extend(schema.__subclasses__())
    # Only Podium's own: tests define request schemas of their own too.
    ours = [schema for schema in seen if schema.__module__.startswith("registry.schemas.")]
    return sorted(ours, key=lambda schema: schema.__name__)


def _integer_fields(schema, path):
    for name, field in schema().fields.items():
        inner = field.inner if isinstance(field, fields.List) else field
        if isinstance(inner, fields.Nested):
            yield from _integer_fields(type(inner.schema), f"{path}.{name}")
        elif isinstance(inner, fields.Integer | fields.Number) and not isinstance(
            inner, fields.Float
        ):
            yield f"{path}.{name}", inner


def test_every_request_integer_is_bounded():
    found = [
        (where, type(field).__name__)
        for schema in _request_schemas()
        for where, field in _integer_fields(schema, schema.__name__)
    ]
    assert any(where == "AsOfIn.timestamp" for where, _ in found)
    unbounded = [
        (where, kind) for where, kind in found if kind not in {b.__name__ for b in BOUNDED}
    ]
    assert unbounded == []


@pytest.mark.parametrize("value", [INT64.stop, INT64.start - 1, 10**30, str(INT64.stop)])
def test_int64_field_refuses_values_beyond_64_bits(value):
    from marshmallow import ValidationError

    with pytest.raises(ValidationError, match="64-bit integer"):
        Int64().deserialize(value, "timestamp")
    assert Int64().deserialize(INT64.stop - 1) == 2**63 - 1


@pytest.mark.parametrize("timestamp", [str(2**63), str(-(2**63) - 1), "9" * 40])
def test_as_of_beyond_int64_is_a_400_from_gunicorn(shared_server, timestamp):
    response = requests.get(
        f"{shared_server.url}/api/2.0/podium/registered-models/as-of",
        params={"name": "anything", "timestamp": timestamp},
        timeout=10,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "64-bit integer" in response.json()["message"]


@pytest.mark.parametrize(
    "route, body",
    [
        ("runs/create", {"experiment_id": "0", "start_time": 2**63}),
        ("runs/log-metric", {"key": "m", "value": 1.0, "timestamp": 2**64, "step": 0}),
        ("runs/log-metric", {"key": "m", "value": 1.0, "timestamp": 0, "step": -(2**63) - 1}),
    ],
)
def test_tracking_int64s_beyond_64_bits_are_400s(shared_server, route, body):
    run = requests.post(
        f"{shared_server.url}/api/2.0/mlflow/runs/create", json={"experiment_id": "0"}, timeout=10
    ).json()["run"]["info"]["run_id"]
    response = requests.post(
        f"{shared_server.url}/api/2.0/mlflow/{route}", json={"run_id": run, **body}, timeout=10
    )
    assert response.status_code == 400, response.text
    assert response.json()["error_code"] == "INVALID_PARAMETER_VALUE"
