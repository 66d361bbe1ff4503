"""Compiled statements give what the peewee query they are built from gives, compiled once.

Run on the suite's database (SQLite, or PostgreSQL with PODIUM_TEST_DATABASE_URL).
"""

import functools

import pytest

from registry.store import statements
from registry.store.db import db
from registry.store.statements import Statement, statement
from registry.store.tables.registry import ModelVersion, RegisteredModel
from registry.store.tables.tracking import Experiment, Metric, Run


@pytest.fixture
def database(app):
    with db.connection_context(), db.atomic() as transaction:
        yield
        transaction.rollback()


def counting(build):
    """A statement, and the list its builder appends to each time it runs (once per shape)."""
    calls = []

    @functools.wraps(build)  # keeps the signature, which tells the statement its arity
    def counted(*args, **shape):
        calls.append(args)
        return build(*args, **shape)

    return Statement(counted), calls


def make_models(*names):
    return [RegisteredModel.create(name=name) for name in names]


def test_rows_equal_the_peewee_querys_rows(database):
    make_models("a", "b'; DROP TABLE registered_model; --", "c")
    by_name = statement(lambda name: RegisteredModel.select().where(RegisteredModel.name == name))
    for name in ("a", "b'; DROP TABLE registered_model; --", "missing"):
        expected = [
            m.__data__ for m in RegisteredModel.select().where(RegisteredModel.name == name)
        ]
        assert [m.__data__ for m in by_name.rows(name)] == expected
    found = by_name.first("c")
    assert isinstance(found, RegisteredModel) and found.name == "c" and not found.is_dirty()
    assert by_name.first("missing") is None


def test_a_statement_compiles_once_per_shape(database):
    make_models("a", "b", "c", "d", "e")
    stmt, calls = counting(
        lambda names: (
            RegisteredModel.select(RegisteredModel.name)
            .where(RegisteredModel.name.in_(names))
            .order_by(RegisteredModel.name)
        )
    )
    assert stmt.tuples(["a"]) == [("a",)]
    assert stmt.tuples(["b"]) == [("b",)]
    assert len(calls) == 1
    # Lists are padded to a power of two: lengths 3 and 4 share one compiled shape.
    assert stmt.tuples(["a", "c", "e"]) == [("a",), ("c",), ("e",)]
    assert stmt.tuples(["b", "c", "d", "missing"]) == [("b",), ("c",), ("d",)]
    assert len(calls) == 2
    assert stmt.tuples([]) == []


def test_lists_longer_than_the_parameter_cap_are_read_in_parts(database, monkeypatch):
    monkeypatch.setattr(statements, "MAX_LIST", 4)
    models = make_models(*(f"m{i:02}" for i in range(11)))
    by_ids = statement(
        lambda ids: RegisteredModel.select(RegisteredModel.id).where(RegisteredModel.id.in_(ids))
    )
    ids = [m.id for m in models]
    assert sorted(row[0] for row in by_ids.tuples(ids)) == ids


def test_shape_keywords_compile_separately_and_the_cache_is_bounded(database, monkeypatch):
    monkeypatch.setattr(statements, "MAX_SHAPES", 3)
    make_models("a", "b", "c", "d")
    stmt, calls = counting(
        lambda limit, *, descending: (
            RegisteredModel.select(RegisteredModel.name)
            .order_by(RegisteredModel.name.desc() if descending else RegisteredModel.name)
            .limit(limit)
        )
    )
    assert stmt.tuples(1, descending=True) == [("d",)]
    assert stmt.tuples(1, descending=False) == [("a",)]
    assert stmt.tuples(2, descending=True) == [("d",), ("c",)]
    assert len(calls) == 2
    by_name, calls = counting(
        lambda *, name: RegisteredModel.select(RegisteredModel.name).where(
            RegisteredModel.name == name
        )
    )
    for name in ("a", "b", "a", "c", "d"):
        assert by_name.tuples(name=name) == [(name,)]
    assert len(calls) == 4  # "a" the second time was compiled already
    assert by_name.tuples(name="a") == [("a",)]
    assert len(calls) == 5  # ... but only three shapes are kept, and "a" was the oldest


def test_values_come_back_as_the_fields_would_give_them(database):
    experiment = Experiment.create(name="e")
    run = Run.create(run_id="r" * 32, experiment=experiment, artifact_uri="mlflow-artifacts:/r")
    Metric.create(run=run, key="loss", value=0.5, is_nan=True, timestamp=7, step=1)
    points = statement(lambda key: Metric.select().where(Metric.key == key))
    (point,) = points.rows("loss")
    assert point.is_nan is True  # SQLite stores it as 1
    assert (point.value, point.timestamp, point.run_id) == (0.5, 7, run.run_id)
    assert point.__data__ == Metric.get(Metric.key == "loss").__data__


def test_execute_inserts_updates_and_deletes(database):
    insert = statement(lambda name: RegisteredModel.insert(name=name, last_version=0))
    new_id = insert.execute("fresh")
    assert RegisteredModel.get_by_id(new_id).name == "fresh"
    touch = statement(
        lambda model_id, stamp: RegisteredModel.update(last_updated_timestamp=stamp).where(
            RegisteredModel.id == model_id
        )
    )
    assert touch.execute(new_id, 42) == 1
    assert RegisteredModel.get_by_id(new_id).last_updated_timestamp == 42
    assert touch.execute(new_id + 1000, 42) == 0
    remove = statement(
        lambda model_id: RegisteredModel.delete().where(RegisteredModel.id == model_id)
    )
    assert remove.execute(new_id) == 1


def test_misuse_is_refused(database):
    by_name = statement(lambda name: RegisteredModel.select().where(RegisteredModel.name == name))
    with pytest.raises(TypeError, match="takes 1 arguments"):
        by_name.rows("a", "b")
    joined = statement(
        lambda name: (
            ModelVersion.select(ModelVersion.id, RegisteredModel.name)
            .join(RegisteredModel)
            .where(RegisteredModel.name == name)
        )
    )
    with pytest.raises(TypeError, match="use tuples"):
        joined.rows("a")
    assert joined.tuples("a") == []


def test_create_and_save_match_peewees_own(database):
    model = statements.create(RegisteredModel, name="fresh", description="d")
    stored = RegisteredModel.get_by_id(model.id)
    assert stored.__data__ == model.__data__  # defaults filled in as create() fills them
    assert stored.creation_timestamp > 0 and stored.last_version == 0 and not model.is_dirty()
    version = statements.create(ModelVersion, model=model, version=1, source="s3://b/m")
    assert version.model is model and ModelVersion.get_by_id(version.id).model_id == model.id

    model.description, model.last_version = "changed", 5
    statements.save(model, RegisteredModel.description)  # only the columns named
    stored = RegisteredModel.get_by_id(model.id)
    assert (stored.description, stored.last_version) == ("changed", 0)
    assert model.dirty_fields == [RegisteredModel.last_version]

    experiment = Experiment.create(name="e")
    run = Run.create(run_id="r" * 32, experiment=experiment, artifact_uri="mlflow-artifacts:/r")
    point = statements.create(Metric, run=run, key="k", value=1.0, is_nan=True, timestamp=1)
    assert Metric.get_by_id(point.id).is_nan is True
    point.is_nan = False
    statements.save(point, Metric.is_nan)
    assert Metric.get_by_id(point.id).is_nan is False


def test_create_many_inserts_what_create_would(database):
    experiment = Experiment.create(name="e")
    run = Run.create(run_id="r" * 32, experiment=experiment, artifact_uri="mlflow-artifacts:/r")

    def points(first):
        return [
            {"run": run, "key": "k", "value": float(step), "is_nan": step == 2, "timestamp": step}
            for step in range(first, first + 3)
        ]

    statements.create_many(Metric, points(0))
    statements.create_many(Metric, points(3))  # runs the INSERT compiled for the first three
    stored = [
        (m.key, m.value, m.is_nan, m.timestamp, m.step)
        for m in Metric.select().where(Metric.run == run).order_by(Metric.id)
    ]
    assert stored == [("k", float(step), step == 2, step, 0) for step in range(6)]  # step: default
    run_row = {"experiment": experiment, "artifact_uri": "mlflow-artifacts:/s"}
    with pytest.raises(TypeError, match="same columns"):  # start_time: nullable, no default
        statements.create_many(
            Run, [{**run_row, "run_id": "s" * 32}, {**run_row, "run_id": "t" * 32, "start_time": 1}]
        )
