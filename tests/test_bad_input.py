"""Bad input: every malformed or invalid request gets MLflow's JSON error and changes nothing.

Each case runs against a seeded registry (model "seed": a tag, version 1 in Staging with a tag
and the alias "champion"; model "other") and compares everything a client can observe before
and after the request. GET routes take their fields from the query string and the other
methods from a JSON body, as the MLflow client sends them.
"""

import base64
import json
from dataclasses import dataclass, field, replace

import pytest

API = "/api/2.0/mlflow"
RM = f"{API}/registered-models"
MV = f"{API}/model-versions"
PODIUM = "/api/2.0/podium/registered-models"
SOURCE = "runs:/0123456789abcdef0123456789abcdef/model"

INVALID = "INVALID_PARAMETER_VALUE"
MISSING = "RESOURCE_DOES_NOT_EXIST"
EXISTS = "RESOURCE_ALREADY_EXISTS"
NO_ENDPOINT = "ENDPOINT_NOT_FOUND"
MALFORMED = "Malformed JSON request body"
VALUES = "more than 100000 JSON values"
NOT_JSON = "Content-Type must be one of ['application/json']"


@dataclass(frozen=True)
class Call:
    """One HTTP request: `fields` go to the query string (GET) or a JSON body, unless `data`."""

    method: str
    path: str
    fields: dict = field(default_factory=dict)
    data: bytes | str | dict | None = None
    content_type: str | None = None

    def send(self, client):
        if self.data is not None:
            return client.open(
                self.path, method=self.method, data=self.data, content_type=self.content_type
            )
        if self.method == "GET":
            return client.get(self.path, query_string=self.fields)
        return client.open(self.path, method=self.method, json=self.fields)

    def but(self, **changes) -> "Call":
        return replace(self, fields={**self.fields, **changes})

    def without(self, name: str) -> "Call":
        return replace(self, fields={k: v for k, v in self.fields.items() if k != name})


def get(path, **fields):
    return Call("GET", path, fields)


def post(path, **fields):
    return Call("POST", path, fields)


def patch(path, **fields):
    return Call("PATCH", path, fields)


def delete(path, **fields):
    return Call("DELETE", path, fields)


def raw(method, path, data, content_type="application/json"):
    return Call(method, path, data=data, content_type=content_type)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def refused(status, error_code, rows, marks=()):
    """Cases sharing one expected error. Each row: (id, request, what the message must say)."""
    params = []
    for case_id, call, says in rows:
        says = (says,) if isinstance(says, str) else tuple(says)
        assert says and all(says), f"{case_id}: a case must name what its message says"
        params.append(pytest.param(call, status, error_code, says, id=case_id, marks=marks))
    return params


# --- one valid request per route on the seeded registry; the matrix derives cases from them --

VALID = {
    "rm-create": post(f"{RM}/create", name="fresh"),
    "rm-get": get(f"{RM}/get", name="seed"),
    "rm-rename": post(f"{RM}/rename", name="seed", new_name="renamed"),
    "rm-update": patch(f"{RM}/update", name="seed", description="new"),
    "rm-delete": delete(f"{RM}/delete", name="seed"),
    "rm-search": get(f"{RM}/search", max_results="10"),
    "rm-latest-post": post(f"{RM}/get-latest-versions", name="seed", stages=["Staging"]),
    "rm-latest-get": get(f"{RM}/get-latest-versions", name="seed", stages=["Staging"]),
    "rm-set-tag": post(f"{RM}/set-tag", name="seed", key="k", value="v"),
    "rm-delete-tag": delete(f"{RM}/delete-tag", name="seed", key="team"),
    "mv-create": post(f"{MV}/create", name="seed", source=SOURCE),
    "mv-get": get(f"{MV}/get", name="seed", version="1"),
    "mv-update": patch(f"{MV}/update", name="seed", version="1", description="new"),
    "mv-delete": delete(f"{MV}/delete", name="seed", version="1"),
    "mv-transition": post(
        f"{MV}/transition-stage",
        name="seed",
        version="1",
        stage="Production",
        archive_existing_versions=False,
    ),
    "mv-search": get(f"{MV}/search", max_results="10"),
    "mv-download-uri": get(f"{MV}/get-download-uri", name="seed", version="1"),
    "mv-set-tag": post(f"{MV}/set-tag", name="seed", version="1", key="k", value="v"),
    "mv-delete-tag": delete(f"{MV}/delete-tag", name="seed", version="1", key="stage"),
    "alias-set": post(f"{RM}/alias", name="seed", alias="challenger", version="1"),
    "alias-delete": delete(f"{RM}/alias", name="seed", alias="champion"),
    "alias-get": get(f"{RM}/alias", name="seed", alias="champion"),
    "history": get(f"{PODIUM}/history", name="seed"),
    "as-of": get(f"{PODIUM}/as-of", name="seed", timestamp="0"),
}
READ_ONLY = {route for route, call in VALID.items() if call.method == "GET"} | {"rm-latest-post"}
OPTIONAL = {"description", "stages", "archive_existing_versions", "max_results"}
VERSIONED = [route for route, call in VALID.items() if "version" in call.fields]
CREATE, RENAME, DELETE = VALID["rm-create"], VALID["rm-rename"], VALID["rm-delete"]
RM_TAG, MV_TAG = VALID["rm-set-tag"], VALID["mv-set-tag"]
NEW_VERSION, TRANSITION = VALID["mv-create"], VALID["mv-transition"]
ALIAS, ALIAS_GET = VALID["alias-set"], VALID["alias-get"]
LATEST_POST, LATEST_GET = VALID["rm-latest-post"], VALID["rm-latest-get"]

BAD_VERSIONS = ["abc", "1.5", "-1", "0", "", "2147483648"]
BAD_NAMES = {
    "empty": ("", "cannot be empty"),
    "blank": ("   ", "cannot be empty"),
    "257-chars": ("x" * 257, "longer than 256"),
    "slash": ("a/b", "may not contain '/'"),
    "nul": ("a\x00b", "NUL"),
    "newline": ("a\nb", "control characters"),
}
NAME_FIELDS = {
    "rm-create": "name",
    "rm-get": "name",
    "rm-delete": "name",
    "rm-rename": "new_name",
    "mv-create": "name",
}
BAD_SOURCES = {
    "plain-path": ("/etc/passwd", "local paths"),
    "file-uri": ("file:///etc/passwd", "local paths"),
    "runs-traversal": ("runs:/x/../../y", "path traversal"),
    "encoded-traversal": ("mlflow-artifacts:/1/%2e%2e/x", "path traversal"),
    "http": ("http://evil/x", "scheme 'http' is not allowed"),
    "ftp": ("ftp://x/y", "scheme 'ftp' is not allowed"),
    "nul": ("runs:/abc/mo\x00del", "NUL"),
    "empty": ("", "source must be a non-empty string"),
}
SEARCH_LIMITS = {"rm-search": 1000, "mv-search": 200_000}

# --- the matrix: a row per case, so the formatter is kept off the tables --------------------
# fmt: off

PROTOCOL = [
    *refused(404, NO_ENDPOINT, [
        ("unknown-route", get(f"{API}/nope"), "No endpoint"),
        ("unknown-route-post", post(f"{RM}/nope", name="x"), "No endpoint"),
        ("unknown-api-version", get("/api/2.1/mlflow/registered-models/get", name="seed"),
         "No endpoint"),
        ("unknown-route-ajax", get("/ajax-api/2.0/mlflow/nope"), "No endpoint"),
    ]),
    *refused(405, NO_ENDPOINT, [
        ("get-on-post-route", get(CREATE.path, name="fresh"), "does not accept GET"),
        ("put-on-patch-route", Call("PUT", f"{RM}/update", {"name": "seed"}), "PUT"),
        ("post-on-get-route", post(f"{RM}/get", name="seed"), "does not accept POST"),
        ("post-on-delete-route", post(DELETE.path, name="seed"), "does not accept POST"),
        ("delete-on-search", delete(f"{RM}/search"), "does not accept DELETE"),
        ("patch-on-history", patch(f"{PODIUM}/history", name="seed"), "PATCH"),
    ]),
    *refused(400, INVALID, [
        ("json-truncated", raw("POST", CREATE.path, '{"name": '), MALFORMED),
        ("json-unquoted-key", raw("POST", CREATE.path, '{name: "x"}'), MALFORMED),
        ("json-single-quotes", raw("POST", CREATE.path, "{'name': 'x'}"), MALFORMED),
        ("json-trailing-garbage", raw("POST", CREATE.path, '{"name": "x"} x'), MALFORMED),
        ("json-delete-truncated", raw("DELETE", DELETE.path, '{"name": "seed"'), MALFORMED),
        ("json-patch-truncated", raw("PATCH", f"{RM}/update", '{"name"'), MALFORMED),
        ("body-list", raw("POST", CREATE.path, '[{"name": "x"}]'), "expected a JSON object"),
        ("body-string", raw("POST", CREATE.path, '"fresh"'), "expected a JSON object"),
        ("body-number", raw("POST", CREATE.path, "42"), "expected a JSON object"),
        ("body-null", raw("POST", CREATE.path, "null"), "expected a JSON object"),
        ("body-nan", raw("POST", CREATE.path, "NaN"), "expected a JSON object"),
        ("delete-body-list", raw("DELETE", DELETE.path, '["seed"]'), "expected a JSON object"),
        ("content-type-text", raw("POST", CREATE.path, '{"name": "x"}', "text/plain"), NOT_JSON),
        ("content-type-form", Call("POST", CREATE.path, data={"name": "x"}), NOT_JSON),
        ("content-type-missing", raw("POST", CREATE.path, '{"name": "x"}', None), NOT_JSON),
        ("content-type-form-on-delete",
         raw("DELETE", DELETE.path, "name=seed", "application/x-www-form-urlencoded"), NOT_JSON),
        ("nested-lists", raw("POST", CREATE.path, "[" * 5_000), "nested too deeply"),
        # Bounded before parsing: each two-byte [] or {} would cost ~60 bytes once parsed.
        ("many-arrays", raw("POST", CREATE.path, '{"tags": [' + "[]," * 100_000 + "[]]}"), VALUES),
        ("many-objects", raw("POST", CREATE.path, '{"tags": [' + "{}," * 100_000 + "{}]}"), VALUES),
        ("nested-objects", raw("POST", CREATE.path, '{"a":' * 100_000), "nested too deeply"),
        ("utf8-invalid-byte", raw("POST", CREATE.path, b'{"name": "\xff"}'), (MALFORMED, "utf-8")),
        ("utf8-overlong", raw("POST", CREATE.path, b'{"name": "\xc0\xae"}'), MALFORMED),
        ("utf8-truncated", raw("POST", CREATE.path, b'{"name": "\xe2\x82"}'), MALFORMED),
        ("ajax-missing-name", post("/ajax-api/2.0/mlflow/registered-models/create"),
         "Missing value for required parameter 'name'"),
    ]),
    *refused(400, INVALID, [
        ("utf8-encoded-surrogate", raw("POST", CREATE.path, b'{"name": "\xed\xa0\x80"}'),
         MALFORMED),
    ]),
]

DERIVED = [
    *refused(400, INVALID, [
        (f"{route}-missing-{name}", call.without(name),
         f"Missing value for required parameter '{name}'")
        for route, call in VALID.items()
        for name in sorted(call.fields.keys() - OPTIONAL)
    ]),
    *refused(404, MISSING, [
        (f"{route}-unknown-model", call.but(name="ghost"),
         "Registered Model with name=ghost not found")
        for route, call in VALID.items()
        if "name" in call.fields and route != "rm-create"
    ]),
    *refused(404, MISSING, [
        (f"{route}-unknown-version", VALID[route].but(version="99"),
         "Model Version (name=seed, version=99) not found")
        for route in VERSIONED
    ]),
    *refused(400, INVALID, [
        (f"{route}-version-{version or 'empty'}", VALID[route].but(version=version),
         ("Parameter 'version' must be", f"got '{version}'"))
        for route in VERSIONED
        for version in BAD_VERSIONS
    ]),
    *refused(400, INVALID, [
        (f"{route}-{param}-{label}", VALID[route].but(**{param: name}), says)
        for route, param in NAME_FIELDS.items()
        for label, (name, says) in BAD_NAMES.items()
    ]),
    *refused(400, INVALID, [
        (f"mv-create-source-{label}", NEW_VERSION.but(source=source), says)
        for label, (source, says) in BAD_SOURCES.items()
    ]),
]

FIELDS = [
    *refused(400, INVALID, [
        ("name-int", CREATE.but(name=5), ("Invalid value 5", "'name'")),
        ("name-list", CREATE.but(name=["seed"]), ("'name'", "not a string")),
        ("name-object", CREATE.but(name={"a": 1}), ("'name'", "not a string")),
        ("name-bool", CREATE.but(name=True), ("'name'", "not a string")),
        ("name-int-on-delete", DELETE.but(name=5), "'name'"),
        ("description-int", CREATE.but(description=5), "'description'"),
        ("tags-string", CREATE.but(tags="team=risk"), ("'tags'", "Not a valid list")),
        ("tags-object", CREATE.but(tags={"team": "risk"}), ("'tags'", "Not a valid list")),
        ("tags-null", CREATE.but(tags=None), "'tags'"),
        ("tag-without-key", CREATE.but(tags=[{"value": "v"}]), ("'tags'", "Missing data")),
        ("tag-not-object", CREATE.but(tags=["team"]), "'tags'"),
        ("tag-key-int", CREATE.but(tags=[{"key": 1, "value": "v"}]), "'tags'"),
        ("tag-key-empty", NEW_VERSION.but(tags=[{"key": "", "value": "v"}]),
         ("'tags'", "Invalid tag key")),
        ("tag-value-int", NEW_VERSION.but(tags=[{"key": "k", "value": 3}]), "'tags'"),
        ("rm-set-tag-key-empty", RM_TAG.but(key=""), "Invalid tag key"),
        ("rm-set-tag-key-251", RM_TAG.but(key="k" * 251), "Invalid tag key"),
        ("rm-set-tag-key-newline", RM_TAG.but(key="a\nb"), "Invalid tag key"),
        ("rm-set-tag-value-int", RM_TAG.but(value=5), "'value'"),
        ("rm-set-tag-value-too-long", RM_TAG.but(value="v" * 100_001), "exceeds 100000"),
        ("rm-delete-tag-key-int", VALID["rm-delete-tag"].but(key=5), "'key'"),
        ("source-int", NEW_VERSION.but(source=5), "'source'"),
        ("run-id-int", NEW_VERSION.but(run_id=5), "'run_id'"),
        ("version-list", TRANSITION.but(version=[1]), "'version'"),
        ("version-bool", TRANSITION.but(version=True), "'version'"),
        ("version-float", TRANSITION.but(version=1.5), "'version'"),
        ("stage-bogus", TRANSITION.but(stage="Bogus"),
         ("Invalid Model Version stage: Bogus", "one of None, Staging, Production, Archived")),
        ("stage-empty", TRANSITION.but(stage=""), "Invalid Model Version stage"),
        ("stage-trailing-space", TRANSITION.but(stage="Production "), "Invalid Model Version"),
        ("stage-int", TRANSITION.but(stage=1), "'stage'"),
        ("archive-maybe", TRANSITION.but(archive_existing_versions="maybe"),
         ("'archive_existing_versions'", "Not a valid boolean")),
        ("archive-2", TRANSITION.but(archive_existing_versions=2), "'archive_existing_versions'"),
        ("archive-list", TRANSITION.but(archive_existing_versions=[]),
         "'archive_existing_versions'"),
        ("archive-null", TRANSITION.but(archive_existing_versions=None),
         "'archive_existing_versions'"),
        ("latest-stages-bogus", LATEST_POST.but(stages=["Bogus"]), "stage: Bogus"),
        ("latest-stages-string", LATEST_POST.but(stages="Staging"), ("'stages'", "valid list")),
        ("latest-get-stages-bogus", LATEST_GET.but(stages=["Staging", "Bogus"]), "stage: Bogus"),
        ("alias-latest", ALIAS.but(alias="latest"), "reserved"),
        ("alias-LATEST", ALIAS.but(alias="LATEST"), "reserved"),
        ("alias-v1", ALIAS.but(alias="v1"), "reserved"),
        ("alias-V12", ALIAS.but(alias="V12"), "reserved"),
        ("alias-empty", ALIAS.but(alias=""), "Invalid alias name"),
        ("alias-space", ALIAS.but(alias="a b"), "Invalid alias name"),
        ("alias-slash", ALIAS.but(alias="a/b"), "Invalid alias name"),
        ("alias-256", ALIAS.but(alias="a" * 256), "Invalid alias name"),
        ("alias-int", ALIAS.but(alias=5), "'alias'"),
        ("alias-get-reserved", ALIAS_GET.but(alias="latest"), "reserved"),
        ("alias-delete-reserved", VALID["alias-delete"].but(alias="v1"), "reserved"),
        ("alias-get-unknown", ALIAS_GET.but(alias="ghost"),
         "Registered model alias ghost not found"),
        ("history-version-abc", VALID["history"].but(version="abc"), "'version' must be"),
        ("as-of-timestamp-abc", VALID["as-of"].but(timestamp="abc"), "'timestamp'"),
        ("as-of-timestamp-past-int64", VALID["as-of"].but(timestamp=str(2**63)),
         "64-bit integer"),
        ("as-of-timestamp-below-int64", VALID["as-of"].but(timestamp=str(-(2**63) - 1)),
         "64-bit integer"),
    ]),
    *refused(400, EXISTS, [
        ("create-existing", CREATE.but(name="seed"), "Registered Model (name=seed) already exists"),
        ("rename-onto-existing", RENAME.but(new_name="other"),
         "Registered Model (name=other) already exists"),
    ]),
    *refused(404, MISSING, [
        ("alias-set-unknown-version", ALIAS.but(version="7"), "version=7) not found"),
    ]),
    *refused(400, INVALID, [
        ("name-null", CREATE.but(name=None), "'name'"),
        ("new-name-null", RENAME.but(new_name=None), "'new_name'"),
        ("version-null", TRANSITION.but(version=None), "'version'"),
        ("stage-null", TRANSITION.but(stage=None), "'stage'"),
        ("alias-null", ALIAS.but(alias=None), "'alias'"),
        ("source-null", NEW_VERSION.but(source=None), "'source'"),
        ("key-null", MV_TAG.but(key=None), "'key'"),
        ("value-null", MV_TAG.but(value=None), "'value'"),
    ]),
    *refused(400, INVALID, [
        ("archive-yes", TRANSITION.but(archive_existing_versions="yes"),
         "'archive_existing_versions'"),
        ("archive-1", TRANSITION.but(archive_existing_versions=1), "'archive_existing_versions'"),
    ]),
]

SEARCH = [
    *refused(400, INVALID, [
        (f"{route}-{label}", VALID[route].but(**fields), says)
        for route, limit in SEARCH_LIMITS.items()
        for label, fields, says in [
            ("filter-unknown-key", {"filter": "foo = 'x'"}, "Invalid attribute key 'foo'"),
            ("filter-or", {"filter": "name = 'a' OR name = 'b'"}, "Invalid clause(s)"),
            ("filter-unterminated", {"filter": "name = 'seed"}, "unterminated string"),
            ("filter-no-value", {"filter": "name ="}, "expected a value"),
            ("filter-nul", {"filter": "name = 'a\x00'"}, "NUL character"),
            ("filter-bad-entity", {"filter": "run.name = 'x'"}, "Invalid entity type 'run'"),
            ("order-by-unknown-key", {"order_by": ["bogus"]}, "Invalid order by key 'bogus'"),
            ("order-by-direction", {"order_by": ["name SIDEWAYS"]}, "use ASC or DESC"),
            ("order-by-duplicate", {"order_by": ["name", "name DESC"]}, "duplicate field"),
            ("page-token-not-base64", {"page_token": "abc"}, "could not base64-decode"),
            ("page-token-not-json", {"page_token": b64("not json")}, "Invalid page token"),
            ("page-token-negative", {"page_token": b64('{"offset": -1}')}, "Invalid page token"),
            ("page-token-list", {"page_token": b64("[1]")}, "Invalid page token"),
            ("max-results-0", {"max_results": "0"}, f"at most {limit} and at least 1"),
            ("max-results-over", {"max_results": str(limit + 1)},
             f"at most {limit} and at least 1, but got value {limit + 1}"),
            ("max-results-negative", {"max_results": "-5"}, "at least 1"),
            ("max-results-abc", {"max_results": "abc"}, "'max_results': it must be an integer"),
            ("max-results-fraction", {"max_results": "1.5"}, "it must be an integer"),
            ("max-results-empty", {"max_results": ""}, "it must be an integer"),
        ]
    ]),
]

# Text a database cannot hold must be refused with a 400 on both databases, never a 500.
UNSTORABLE = [
    *refused(400, INVALID, [
        ("surrogate-name", CREATE.but(name="a\ud800b"), "'name'"),
        ("surrogate-description", VALID["rm-update"].but(description="a\ud800b"),
         "'description'"),
        ("surrogate-tag-key", RM_TAG.but(key="a\ud800b"), "'key'"),
        ("surrogate-tag-value", MV_TAG.but(value="a\ud800b"), "'value'"),
        ("surrogate-run-id", NEW_VERSION.but(run_id="a\ud800b"), "'run_id'"),
    ]),
    *refused(400, INVALID, [
        ("nul-rm-description", CREATE.but(description="a\x00b"), "'description'"),
        ("nul-mv-description", VALID["mv-update"].but(description="a\x00b"), "'description'"),
        ("nul-tag-value", RM_TAG.but(value="a\x00b"), "'value'"),
        ("nul-create-tag-value", NEW_VERSION.but(tags=[{"key": "k", "value": "a\x00b"}]),
         "'tags'"),
        ("nul-run-link", NEW_VERSION.but(run_link="a\x00b"), "'run_link'"),
        ("nul-comment", TRANSITION.but(comment="a\x00b"), "'comment'"),
        ("long-run-id", NEW_VERSION.but(run_id="r" * 300), "'run_id'"),
        ("long-model-id", NEW_VERSION.but(model_id="m" * 300), "'model_id'"),
    ]),
]

# fmt: on
CASES = [*PROTOCOL, *DERIVED, *FIELDS, *SEARCH, *UNSTORABLE]


# --- the seeded registry and what a client can observe of it --------------------------------


def seed(client) -> None:
    """Model "seed" (tag, version 1 in Staging with a tag and alias "champion") and "other"."""
    for call in [
        post(f"{RM}/create", name="seed", tags=[{"key": "team", "value": "risk"}]),
        post(f"{MV}/create", name="seed", source=SOURCE, tags=[{"key": "stage", "value": "qa"}]),
        post(f"{RM}/alias", name="seed", alias="champion", version="1"),
        post(f"{MV}/transition-stage", name="seed", version="1", stage="Staging"),
        post(f"{RM}/create", name="other"),
    ]:
        response = call.send(client)
        assert response.status_code == 200, response.get_data(as_text=True)


def observe(client) -> dict:
    """Everything a client can read back: both searches and the promotion histories."""
    models = get(f"{RM}/search", max_results="1000").send(client)
    versions = get(f"{MV}/search", max_results="200000").send(client)
    assert (models.status_code, versions.status_code) == (200, 200)
    state = {"models": models.get_json(), "versions": versions.get_json()}
    for name in ("seed", "other"):  # a history read answers 404 once a rename moved the model
        history = get(f"{PODIUM}/history", name=name).send(client)
        state[f"{name}-history"] = (history.status_code, history.get_json())
    return state


@pytest.fixture
def seeded(client):
    """The seeded client and its observed state, which must show what was seeded."""
    seed(client)
    state = observe(client)
    assert [m["name"] for m in state["models"]["registered_models"]] == ["other", "seed"]
    [version] = state["versions"]["model_versions"]
    assert (version["current_stage"], version["aliases"]) == ("Staging", ["champion"])
    status, history = state["seed-history"]
    assert (status, len(history["history"])) == (200, 2)
    return client, state


def assert_mlflow_error(response, status, error_code, says) -> None:
    text = response.get_data(as_text=True)
    assert response.status_code == status, text
    assert response.mimetype == "application/json", text
    body = response.get_json()
    assert set(body) == {"error_code", "message"}, body
    assert body["error_code"] == error_code, body
    for fragment in says:
        assert fragment in body["message"], body


# --- tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("route", list(VALID))
def test_baseline_request_succeeds_and_writes_are_observed(seeded, route):
    """Each case differs from one of these in one field, and the snapshot sees every write."""
    client, before = seeded
    response = VALID[route].send(client)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert (observe(client) == before) == (route in READ_ONLY)


@pytest.mark.parametrize(("call", "status", "error_code", "says"), CASES)
def test_bad_request_gets_json_error_and_changes_nothing(seeded, call, status, error_code, says):
    client, before = seeded
    assert_mlflow_error(call.send(client), status, error_code, says)
    assert observe(client) == before


@pytest.fixture
def small_limit_client(database_url, tmp_path):
    from registry import create_app

    app = create_app(
        {
            "TESTING": True,
            "PODIUM_DATABASE_URL": database_url,
            "PODIUM_ARTIFACTS_DESTINATION": str(tmp_path / "artifacts"),
            "PODIUM_MAX_REQUEST_BYTES": 1024,
        }
    )
    return app.test_client()


PADDING = "x" * 2000


@pytest.mark.parametrize(
    "call",
    [
        CREATE.but(description=PADDING),
        VALID["rm-update"].but(description=PADDING),
        DELETE.but(padding=PADDING),  # an ignored field: the delete would happen if read
        NEW_VERSION.but(description=PADDING),
        raw("POST", CREATE.path, "[" * 2000),
    ],
    ids=["rm-create", "rm-update", "rm-delete", "mv-create", "unparsed-body"],
)
def test_oversize_body_is_413_and_changes_nothing(small_limit_client, call):
    seed(small_limit_client)  # every seeding request fits in 1024 bytes and must succeed
    before = observe(small_limit_client)
    assert len(call.data if call.data is not None else json.dumps(call.fields)) > 1024
    response = call.send(small_limit_client)
    assert_mlflow_error(response, 413, INVALID, ["larger than the server accepts"])
    assert observe(small_limit_client) == before
