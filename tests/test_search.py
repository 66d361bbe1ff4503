"""Registry search: the filter grammar, ordering and page tokens, run against real databases.

Runs on SQLite, and also on PostgreSQL when PODIUM_TEST_DATABASE_URL names a server (the module
then creates a scratch database of its own there and drops it afterwards).
"""

import base64

import pytest
from conftest import POSTGRES_URL, postgres_database

from registry.errors import InvalidParameter
from registry.search.pages import decode_page_token, encode_page_token
from registry.search.registry import (
    model_version_ordering,
    model_version_where,
    registered_model_ordering,
    registered_model_where,
)
from registry.store.db import create_schema, db, open_database
from registry.store.tables.registry import (
    REGISTRY_TABLES,
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelTag,
)

PROMPT = "mlflow.prompt.is_prompt"


@pytest.fixture(scope="module")
def postgres_url():
    with postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"])
def database(request, tmp_path):
    """An empty schema on each available backend, connected for the test."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/t.db"
    else:
        url = request.getfixturevalue("postgres_url")
    db.initialize(open_database(url))
    db.connect()
    db.drop_tables(REGISTRY_TABLES, safe=True)  # the PostgreSQL database is shared by the module
    create_schema(REGISTRY_TABLES)
    yield request.param
    db.close()


def add_model(name, tags=None, **fields):
    model = RegisteredModel.create(name=name, **fields)
    for key, value in (tags or {}).items():
        RegisteredModelTag.create(model=model, key=key, value=value)
    return model


def add_version(model, version, tags=None, **fields):
    row = ModelVersion.create(
        model=model, version=version, source=fields.pop("source", "s"), **fields
    )
    for key, value in (tags or {}).items():
        ModelVersionTag.create(version=row, key=key, value=value)
    return row


MODELS = {
    "fraud": {"team": "risk", "env": "prod"},
    "Fraud_v2": {"team": "Risk"},
    "churn*[?]": {},  # GLOB's special characters, literal here
    "churnabc": {"env": "dev"},
    "o'brien": {},
    "back\\slash": {},
    "prompt-a": {PROMPT: "true"},
    "prompt-off": {PROMPT: "false"},
}
ALL_NAMES = set(MODELS)
VERSIONS = [  # model, version, run_id, source, tags
    ("fraud", 1, "r1", "s3://bucket/fraud/1", {"stage": "champion"}),
    ("fraud", 2, "r2", "s3://bucket/fraud/2", {"stage": "Challenger"}),
    ("fraud", 3, "", "S3://BUCKET/x", {}),
    ("Fraud_v2", 1, "r1", "file:///tmp/m", {}),
    ("churnabc", 1, "r3", "runs:/r3/model", {}),
    ("prompt-a", 1, "", "prompt", {}),
    ("prompt-off", 1, "", "prompt", {}),
]
NOT_PROMPT = {f"{m}/{v}" for m, v, *_ in VERSIONS} - {"prompt-a/1"}


@pytest.fixture
def seeded(database):
    models = {name: add_model(name, tags) for name, tags in MODELS.items()}
    for model, version, run_id, source, tags in VERSIONS:
        add_version(models[model], version, tags, run_id=run_id, source=source)


def model_names(filter_string):
    where = registered_model_where(filter_string)
    query = RegisteredModel.select()
    return {m.name for m in (query if where is None else query.where(where))}


def versions(filter_string=None, order_by=None):
    query = (
        ModelVersion.select(ModelVersion, RegisteredModel)
        .join(RegisteredModel)
        .where(model_version_where(filter_string))
        .order_by(*model_version_ordering(order_by))
    )
    return [f"{v.model.name}/{v.version}" for v in query]


# --- registered model filters --------------------------------------------------------------


@pytest.mark.parametrize(
    "filter_string, expected",
    [
        (None, ALL_NAMES),
        ("", ALL_NAMES),
        ("  ", ALL_NAMES),
        ("name = 'fraud'", {"fraud"}),
        ('attribute.name = "fraud"', {"fraud"}),
        ("`name` = 'fraud'", {"fraud"}),
        ("name != 'fraud'", ALL_NAMES - {"fraud"}),
        ("name = 'FRAUD'", set()),  # equality is case-sensitive too
        # LIKE is case-sensitive, ILIKE is not, on both backends
        ("name LIKE 'fraud%'", {"fraud"}),
        ("name like 'Fraud%'", {"Fraud_v2"}),
        ("name ILIKE 'fraud%'", {"fraud", "Fraud_v2"}),
        ("name ILIKE 'CHURN*%'", {"churn*[?]"}),
        # % is any run, _ exactly one character
        ("name LIKE '%raud%'", {"fraud", "Fraud_v2"}),
        ("name LIKE 'churn___'", {"churnabc"}),
        ("name LIKE 'Fraud_v_'", {"Fraud_v2"}),
        ("name LIKE 'fraud_'", set()),
        # GLOB's * ? [ are ordinary characters in a LIKE pattern
        ("name LIKE 'churn*%'", {"churn*[?]"}),
        ("name LIKE 'churn?bc'", set()),
        ("name LIKE '%[?]'", {"churn*[?]"}),
        ("name LIKE 'churn_[%'", {"churn*[?]"}),
        ("name LIKE 'churn[a]bc'", set()),
        # a backslash is an ordinary character (PostgreSQL's LIKE would take it as an escape)
        (r"name LIKE 'back\slash'", {"back\\slash"}),
        (r"name LIKE 'back\\sla%'", {"back\\slash"}),
        ("name LIKE 'backslash'", set()),
        # quotes inside values: doubled, backslash-escaped, or the other kind of quote
        ("name = 'o''brien'", {"o'brien"}),
        (r"name = 'o\'brien'", {"o'brien"}),
        ('name = "o\'brien"', {"o'brien"}),
        ("name IN ('fraud', 'churnabc', 'missing')", {"fraud", "churnabc"}),
        ("name in ('fraud',)", {"fraud"}),
        ("name NOT IN ('fraud', 'churnabc')", ALL_NAMES - {"fraud", "churnabc"}),
        ('name not in ("fraud")', ALL_NAMES - {"fraud"}),
        ("tag.team = 'risk'", {"fraud"}),
        ("tags.team != 'risk'", {"Fraud_v2"}),  # a missing tag is never "not equal"
        ("tag.team LIKE 'R%'", {"Fraud_v2"}),
        ("tag.team ILIKE 'r%'", {"fraud", "Fraud_v2"}),
        ("tag.missing != 'x'", set()),
        ("tag.missing LIKE '%'", set()),
        ("tag.`team` = 'risk' AND tag.\"env\" = 'prod'", {"fraud"}),
        ("tag.env = 'prod' and name like 'f%'", {"fraud"}),
        ("tag.env = 'prod' AND name = 'churnabc'", set()),
        # the prompt tag: only != 'true' and = 'false' count a missing tag as a match
        (f"tags.`{PROMPT}` != 'true'", ALL_NAMES - {"prompt-a"}),
        (f"tags.`{PROMPT}` = 'false'", ALL_NAMES - {"prompt-a"}),
        (f"tags.`{PROMPT}` = 'true'", {"prompt-a"}),
        (f"tags.{PROMPT} != 'false'", {"prompt-a"}),
        (f"tags.{PROMPT} LIKE '%'", {"prompt-a", "prompt-off"}),
        (f"name LIKE 'fraud%' AND tags.`{PROMPT}` != 'true'", {"fraud"}),
        pytest.param(" AND ".join(["name != 'x'"] * 50), ALL_NAMES, id="50-comparisons"),
    ],
)
def test_registered_model_filter(seeded, filter_string, expected):
    assert model_names(filter_string) == expected


# --- model version filters ------------------------------------------------------------------


@pytest.mark.parametrize(
    "filter_string, expected",
    [
        (None, NOT_PROMPT),  # prompt versions are hidden unless asked for
        ("name = 'fraud'", {"fraud/1", "fraud/2", "fraud/3"}),
        ("name ILIKE 'fraud%'", {"fraud/1", "fraud/2", "fraud/3", "Fraud_v2/1"}),
        ("name LIKE 'prompt%'", {"prompt-off/1"}),
        ("run_id = 'r1'", {"fraud/1", "Fraud_v2/1"}),
        ("run_id IN ('r1', 'r3')", {"fraud/1", "Fraud_v2/1", "churnabc/1"}),
        ("run_id NOT IN ('r1')", NOT_PROMPT - {"fraud/1", "Fraud_v2/1"}),
        ("run_id LIKE 'r_'", {"fraud/1", "fraud/2", "Fraud_v2/1", "churnabc/1"}),
        ("source_path LIKE 's3://%'", {"fraud/1", "fraud/2"}),
        ("source_path ILIKE 's3://%'", {"fraud/1", "fraud/2", "fraud/3"}),
        ("source_path = 'file:///tmp/m'", {"Fraud_v2/1"}),
        ("source_path != 'file:///tmp/m'", NOT_PROMPT - {"Fraud_v2/1"}),
        ("version_number = 2", {"fraud/2"}),
        ("version_number = '3'", {"fraud/3"}),  # MLflow accepts a quoted integer
        ("version_number != 1", {"fraud/2", "fraud/3"}),
        ("version_number > 1", {"fraud/2", "fraud/3"}),
        ("version_number >= 3", {"fraud/3"}),
        ("version_number < 2", NOT_PROMPT - {"fraud/2", "fraud/3"}),
        ("version_number <= 2", NOT_PROMPT - {"fraud/3"}),
        ("version_number > -1", NOT_PROMPT),
        ("tag.stage = 'champion'", {"fraud/1"}),
        ("tag.stage != 'champion'", {"fraud/2"}),
        ("tag.stage LIKE 'C%'", {"fraud/2"}),
        ("tag.stage ILIKE 'c%'", {"fraud/1", "fraud/2"}),
        ("name = 'fraud' AND version_number >= 2 AND tag.stage ILIKE '%er'", {"fraud/2"}),
        (f"tags.`{PROMPT}` = 'true'", {"prompt-a/1"}),
        (f"tags.`{PROMPT}` != 'true'", NOT_PROMPT),
        (f"tags.`{PROMPT}` = 'false'", NOT_PROMPT),
        (f"tags.`{PROMPT}` != 'false'", {"prompt-a/1"}),
    ],
)
def test_model_version_filter(seeded, filter_string, expected):
    assert set(versions(filter_string)) == expected


def test_values_are_bound_parameters(seeded):
    hostile = "x'); DROP TABLE registered_model; --"
    where = registered_model_where("name = 'x''); DROP TABLE registered_model; --'")
    sql, params = RegisteredModel.select().where(where).sql()
    assert "DROP" not in sql and hostile in params
    sql, params = (
        ModelVersion.select()
        .join(RegisteredModel)
        .where(model_version_where("version_number > 7"))
        .sql()
    )
    assert "7" not in sql and 7 in params
    assert model_names(None) == ALL_NAMES  # and the table is still there


# --- ordering and pagination ----------------------------------------------------------------


@pytest.mark.parametrize(
    "order_by, expected",
    [
        (None, ["a", "b", "c"]),
        ([], ["a", "b", "c"]),
        (["name DESC"], ["c", "b", "a"]),
        (["name asc"], ["a", "b", "c"]),
        (["timestamp"], ["b", "a", "c"]),  # ties on the timestamp fall back to name ASC
        (["last_updated_timestamp ASC"], ["b", "a", "c"]),
        (["`timestamp` DESC"], ["a", "c", "b"]),
        (["last_updated_timestamp desc", "name DESC"], ["c", "a", "b"]),
    ],
)
def test_registered_model_ordering(database, order_by, expected):
    for name, updated in [("b", 1), ("a", 2), ("c", 2)]:
        add_model(name, last_updated_timestamp=updated)
    query = RegisteredModel.select().order_by(*registered_model_ordering(order_by))
    assert [m.name for m in query] == expected


@pytest.fixture
def ordered_versions(database):
    a, b = add_model("a"), add_model("b")
    for model, version, created, updated in [
        (a, 1, 10, 30),
        (a, 2, 20, 10),
        (b, 1, 10, 30),
        (b, 2, 30, 20),
    ]:
        add_version(model, version, creation_timestamp=created, last_updated_timestamp=updated)


@pytest.mark.parametrize(
    "order_by, expected",
    [
        (None, ["a/1", "b/1", "b/2", "a/2"]),  # updated DESC, name ASC, version DESC
        (["name"], ["a/2", "a/1", "b/2", "b/1"]),
        (["name DESC"], ["b/2", "b/1", "a/2", "a/1"]),
        (["version_number"], ["a/1", "b/1", "a/2", "b/2"]),
        (["`version_number` DESC"], ["a/2", "b/2", "a/1", "b/1"]),
        (["creation_timestamp ASC"], ["a/1", "b/1", "a/2", "b/2"]),
        (["creation_timestamp DESC"], ["b/2", "a/2", "a/1", "b/1"]),
        (["last_updated_timestamp"], ["a/2", "b/2", "a/1", "b/1"]),
        (["last_updated_timestamp DESC", "name DESC"], ["b/1", "a/1", "b/2", "a/2"]),
    ],
)
def test_model_version_ordering(ordered_versions, order_by, expected):
    assert versions(order_by=order_by) == expected


def test_pages_of_one_cover_every_row_once(ordered_versions):
    query = (
        ModelVersion.select(ModelVersion, RegisteredModel)
        .join(RegisteredModel)
        .where(model_version_where(None))
        .order_by(*model_version_ordering(["creation_timestamp"]))
    )
    seen, token = [], None
    while True:
        offset = decode_page_token(token)
        page = list(query.offset(offset).limit(2))  # one row plus one to know there is more
        seen += [f"{v.model.name}/{v.version}" for v in page[:1]]
        if len(page) < 2:
            break
        token = encode_page_token(offset + 1)
    assert seen == versions(order_by=["creation_timestamp"])
    assert len(set(seen)) == 4


@pytest.mark.parametrize("offset", [0, 1, 100, 2**40])
def test_page_token_round_trip(offset):
    assert decode_page_token(encode_page_token(offset)) == offset


def test_page_token_is_mlflows():
    assert encode_page_token(1) == "eyJvZmZzZXQiOiAxfQ=="
    assert decode_page_token("eyJvZmZzZXQiOiAxfQ==") == 1
    assert decode_page_token(None) == decode_page_token("") == 0


# --- errors ---------------------------------------------------------------------------------


def short_id(value):
    return value[:40] if isinstance(value, str) else None


def b64(text):
    return base64.b64encode(text.encode()).decode()


MODEL_FILTER_ERRORS = [
    ("name = 'a' OR name = 'b'", "Invalid clause(s) in filter string: OR"),
    ("NOT name = 'a'", "Invalid clause(s) in filter string: NOT"),
    ("(name = 'a')", "Invalid clause(s) in filter string: ("),
    ("name = 'a' AND (name = 'b')", "Invalid clause(s) in filter string: ("),
    ("name = 'a' name = 'b'", "Invalid clause(s) in filter string: name"),
    ("name = 'a' ; DROP TABLE x", "';'"),
    ("foo = 'a'", "Invalid attribute key 'foo' specified. Valid keys are '{'name'}'"),
    ("run_id = 'a'", "'run_id'"),
    ("metric.x = 'a'", "Invalid entity type 'metric'"),
    ("name > 'a'", "'>'"),
    ("name <> 'a'", "'<>'"),
    ("name == 'a'", "'=='"),
    ("name NOT LIKE 'a'", "'NOT LIKE'"),
    ("name & 'a'", "'&'"),
    ("tag.x IN ('a')", "Invalid comparator 'IN' for tag 'x'"),
    ("tag.x IS NULL", "'IS'"),
    ("tag.x = 1", "tag 'x'"),
    ("name = 1", "'name'"),
    ("name = foo", "'foo'"),
    ("name = 'a", "unterminated string"),
    ("name IN 'a'", "'IN'"),
    ("name = ('a', 'b')", "'='"),
    ("name IN ()", "')'"),
    ("name IN ('a', 1)", "'1'"),
    ("name IN ('a' 'b')", "''b''"),
    ("name = 'a' AND", "found end of filter"),
    ("name", "comparator after 'name'"),
    ("name =", "expected a value"),
    ("= 'a'", "'='"),
    ("name = 'a\x00'", "NUL"),
    (" AND ".join(["name = 'a'"] * 51), "at most 50"),
    ("name IN (" + ", ".join(["'a'"] * 501) + ")", "at most 500"),
]
VERSION_FILTER_ERRORS = [
    ("version_number = 1.5", "1.5"),
    ("version_number = 'abc'", "'abc'"),
    ("version_number = 99999999999999999999", "99999999999999999999"),
    ("version_number LIKE '1'", "Invalid comparator 'LIKE' for attribute 'version_number'"),
    ("version_number IN ('1')", "'IN'"),
    ("source_path IN ('a')", "'IN'"),
    ("run_id > 'a'", "'>'"),
    ("foo = 'a'", "'foo' specified. Valid keys are"),
    ("name = 'a' OR version_number = 1", "Invalid clause(s) in filter string: OR"),
]


@pytest.mark.parametrize(
    "where, filter_string, message",
    [(registered_model_where, f, m) for f, m in MODEL_FILTER_ERRORS]
    + [(model_version_where, f, m) for f, m in VERSION_FILTER_ERRORS],
    ids=short_id,
)
def test_invalid_filter(database, where, filter_string, message):
    with pytest.raises(InvalidParameter) as raised:
        where(filter_string)
    assert message in raised.value.message


@pytest.mark.parametrize(
    "ordering, order_by, message",
    [
        (registered_model_ordering, ["foo"], "'foo'"),
        (registered_model_ordering, ["version_number"], "'version_number'"),
        (registered_model_ordering, ["name sideways"], "'sideways'"),
        (registered_model_ordering, ["name ASC extra"], "'name ASC extra'"),
        (registered_model_ordering, [""], "''"),
        (registered_model_ordering, ["name", "name DESC"], "duplicate field 'name'"),
        (registered_model_ordering, ["timestamp", "last_updated_timestamp"], "duplicate"),
        (model_version_ordering, ["timestamp"], "'timestamp'"),
        (model_version_ordering, ["creation_timestamp", "`creation_timestamp` DESC"], "duplicate"),
    ],
)
def test_invalid_order_by(ordering, order_by, message):
    with pytest.raises(InvalidParameter) as raised:
        ordering(order_by)
    assert message in raised.value.message


@pytest.mark.parametrize(
    "token, message",
    [
        ("!!!", "could not base64-decode"),
        ("é", "could not base64-decode"),
        ("eyJvZmZzZXQiOiAxfQ", "could not base64-decode"),  # padding cut off
        (b64("not json"), "decoded value"),
        (b64('{"offset": -1}'), "parsed value"),
        (b64('{"offset": "5"}'), "parsed value"),
        (b64('{"offset": 1.5}'), "parsed value"),
        (b64('{"offset": true}'), "parsed value"),
        (b64('{"offset": 99999999999999999999}'), "parsed value"),
        (b64('{"other": 1}'), "parsed value"),
        (b64("[1]"), "parsed value"),
    ],
)
def test_invalid_page_token(token, message):
    with pytest.raises(InvalidParameter) as raised:
        decode_page_token(token)
    assert message in raised.value.message
