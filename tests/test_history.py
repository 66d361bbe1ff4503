"""Promotion history and as-of snapshots (Podium extensions under /api/2.0/podium)."""

import pytest

API = "/api/2.0/mlflow"
PODIUM = "/api/2.0/podium"
SOURCE = "s3://models/face/1"


@pytest.fixture
def call(client):
    def call(method, path, body=None, **query):
        response = client.open(
            path, method=method, json=body, query_string=query or None, auth=("ana", "pw")
        )
        assert response.status_code == 200, response.json
        return response.json

    return call


def _history(call, name, **query):
    return call("GET", PODIUM + "/registered-models/history", name=name, **query)["history"]


def _as_of(call, name, timestamp):
    return call("GET", PODIUM + "/registered-models/as-of", name=name, timestamp=timestamp)


@pytest.fixture
def promoted(call):
    """Model "face": v1 Staging -> Production, alias champion on v1, then v2 replaces both."""
    call("POST", API + "/registered-models/create", {"name": "face"})
    for _ in range(2):
        call("POST", API + "/model-versions/create", {"name": "face", "source": SOURCE})
    call(
        "POST",
        API + "/model-versions/transition-stage",
        {"name": "face", "version": "1", "stage": "Staging", "archive_existing_versions": False},
    )
    call(
        "POST",
        API + "/model-versions/transition-stage",
        {
            "name": "face",
            "version": "1",
            "stage": "Production",
            "archive_existing_versions": False,
            "comment": "passed review",
        },
    )
    call(
        "POST",
        API + "/registered-models/alias",
        {"name": "face", "alias": "champion", "version": "1"},
    )
    call(
        "POST",
        API + "/model-versions/transition-stage",
        {"name": "face", "version": "2", "stage": "Production", "archive_existing_versions": True},
    )
    call(
        "POST",
        API + "/registered-models/alias",
        {"name": "face", "alias": "champion", "version": "2"},
    )
    return _history(call, "face")


def test_history_records_every_stage_and_alias_change(promoted):
    assert [(e["version"], e["kind"]) for e in promoted] == [
        ("1", "stage"),
        ("1", "stage"),
        ("1", "alias"),
        ("1", "stage"),
        ("2", "stage"),
        ("2", "alias"),
    ]
    assert promoted[1] == {
        "version": "1",
        "kind": "stage",
        "from_stage": "Staging",
        "to_stage": "Production",
        "user": "ana",
        "comment": "passed review",
        "timestamp": promoted[1]["timestamp"],
    }
    assert promoted[3]["to_stage"] == "Archived"
    assert (promoted[5]["alias"], promoted[5]["from_version"], promoted[5]["to_version"]) == (
        "champion",
        "1",
        "2",
    )


def test_history_filtered_by_version(call, promoted):
    assert _history(call, "face", version="2") == [e for e in promoted if e["version"] == "2"]


def test_history_follows_renames(call, promoted):
    call("POST", API + "/registered-models/rename", {"name": "face", "new_name": "face-v2"})
    assert _history(call, "face-v2") == promoted


def test_unchanged_stage_or_alias_adds_no_history(call, promoted):
    call(
        "POST",
        API + "/model-versions/transition-stage",
        {"name": "face", "version": "2", "stage": "Production", "archive_existing_versions": True},
    )
    call(
        "POST",
        API + "/registered-models/alias",
        {"name": "face", "alias": "champion", "version": "2"},
    )
    assert _history(call, "face") == promoted


def test_alias_delete_and_version_delete_are_recorded(call, promoted):
    call(
        "POST",
        API + "/registered-models/alias",
        {"name": "face", "alias": "canary", "version": "2"},
    )
    call("DELETE", API + "/registered-models/alias", {"name": "face", "alias": "canary"})
    call("DELETE", API + "/model-versions/delete", {"name": "face", "version": "2"})
    tail = [
        (e["kind"], e.get("alias"), e.get("from_stage"), e.get("to_stage"), e.get("to_version"))
        for e in _history(call, "face")[len(promoted) :]
    ]
    assert tail == [
        ("alias", "canary", None, None, "2"),
        ("alias", "canary", None, None, None),
        ("stage", None, "Production", None, None),
        ("alias", "champion", None, None, None),
    ]


def test_as_of_replays_the_history(call, promoted):
    before = promoted[0]["timestamp"] - 1
    assert _as_of(call, "face", before)["stages"] == {
        "Staging": [],
        "Production": [],
        "Archived": [],
    }
    # The instant of the alias set on v1: v1 in Production, champion -> v1.
    at_alias = promoted[2]["timestamp"]
    snapshot = _as_of(call, "face", at_alias)
    if promoted[3]["timestamp"] > at_alias:  # v2's promotion may share the millisecond
        assert snapshot["stages"]["Production"] == ["1"]
        assert snapshot["aliases"] == {"champion": "1"}
    now = _as_of(call, "face", promoted[-1]["timestamp"])
    assert now["stages"] == {"Staging": [], "Production": ["2"], "Archived": ["1"]}
    assert now["aliases"] == {"champion": "2"}


def test_as_of_after_deletes(call, promoted):
    call("DELETE", API + "/model-versions/delete", {"name": "face", "version": "2"})
    last = _history(call, "face")[-1]["timestamp"]
    assert _as_of(call, "face", last) == {
        "name": "face",
        "timestamp": last,
        "stages": {"Staging": [], "Production": [], "Archived": ["1"]},
        "aliases": {},
    }


def test_history_survives_model_deletion_without_leaking_into_a_new_model(app, call, promoted):
    from registry.store.db import db
    from registry.store.tables.registry import Transition

    call("DELETE", API + "/registered-models/delete", {"name": "face"})
    call("POST", API + "/registered-models/create", {"name": "face"})
    assert _history(call, "face") == []
    with db.connection_context():
        kept = Transition.select().where(
            (Transition.model_name == "face") & Transition.model.is_null()
        )
        assert kept.count() == len(promoted)


@pytest.mark.parametrize(
    "query, code",
    [
        ({"name": "missing"}, 404),
        ({"name": "face", "version": "x"}, 400),
        ({}, 400),
    ],
)
def test_history_bad_input(client, promoted, query, code):
    response = client.get(PODIUM + "/registered-models/history", query_string=query)
    assert response.status_code == code
    assert set(response.json) == {"error_code", "message"}


@pytest.mark.parametrize("query", [{"name": "face"}, {"name": "face", "timestamp": "soon"}])
def test_as_of_bad_input(client, promoted, query):
    response = client.get(PODIUM + "/registered-models/as-of", query_string=query)
    assert response.status_code == 400
    assert response.json["error_code"] == "INVALID_PARAMETER_VALUE"
