"""MLflow's search grammar for runs, experiments and logged models, compiled to peewee.

The tokenizer, the AND-only parser and the comparison operators are the shared grammar's
(registry.search.grammar); this module adds what tracking searches have on top of them:
metrics and params beside tags, `IS [NOT] NULL`, more identifier spellings, and ordering by a
metric, param or tag (rows without one sort last, in either direction). Values are always bound
parameters.
"""

import operator
from dataclasses import dataclass
from functools import reduce

from peewee import SQL, Case, Expression, Model, Node, Ordering, fn

from registry.errors import InvalidParameter
from registry.search.grammar import (
    INT64,
    NUMERIC,
    PATTERN,
    STRING,
    Comparison,
    Parser,
    check_comparator,
    check_strings,
    compare,
    identifier,
    quoted_integer,
    tokenize,
)
from registry.store.tables.tracking import Dataset as DatasetRow
from registry.store.tables.tracking import (
    Experiment,
    ExperimentTag,
    LatestMetric,
    LoggedModel,
    LoggedModelParam,
    LoggedModelTag,
    Param,
    Run,
    RunInput,
    RunInputTag,
    RunTag,
)

_NULL_CHECKS = frozenset({"IS NULL", "IS NOT NULL"})
_ENTITY_WORDS = {
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
    "run": "attribute",
    "tag": "tag",
    "tags": "tag",
    "param": "param",
    "params": "param",
    "parameter": "param",
    "parameters": "param",
    "metric": "metric",
    "metrics": "metric",
    "dataset": "dataset",
    "datasets": "dataset",
}
_VALID_ENTITIES = "'metrics', 'params', 'tags', 'attributes' and 'datasets'"
DATASET_CONTEXT_TAG = "mlflow.data.context"


@dataclass(frozen=True)
class Column:
    node: Node
    comparators: frozenset[str]
    numeric: bool = False
    nullable: bool = False


@dataclass(frozen=True)
class KeyValues:
    """A key/value table of the searched rows: tags, params or latest metrics."""

    table: type[Model]
    owner: str  # the table's foreign key to the searched row
    comparators: frozenset[str]
    numeric: bool = False


@dataclass(frozen=True)
class Searchable:
    """What one kind of row can be filtered and ordered by."""

    what: str
    attributes: dict[str, Column]
    key_values: dict[str, KeyValues]
    identity: Node  # the searched row's primary key: the tie-breaker
    default_order: tuple[str, ...]

    def owned(self, kv: KeyValues, key: str) -> Expression:
        return (getattr(kv.table, kv.owner) == self.identity) & (kv.table.key == key)


_EXACT = frozenset({"=", "!="})
_TIME = frozenset(NUMERIC)

RUNS = Searchable(
    what="run",
    attributes={
        "run_id": Column(Run.run_id, STRING),
        "run_name": Column(Run.name, STRING),
        "run name": Column(Run.name, STRING),
        "Run name": Column(Run.name, STRING),
        "Run Name": Column(Run.name, STRING),
        "status": Column(Run.status, STRING),
        "user_id": Column(Run.user_id, STRING),
        "artifact_uri": Column(Run.artifact_uri, STRING),
        "lifecycle_stage": Column(Run.lifecycle_stage, STRING),
        "experiment_id": Column(Run.experiment, _EXACT, numeric=True),
        "start_time": Column(Run.start_time, _TIME, numeric=True, nullable=True),
        "created": Column(Run.start_time, _TIME, numeric=True, nullable=True),
        "Created": Column(Run.start_time, _TIME, numeric=True, nullable=True),
        "end_time": Column(Run.end_time, _TIME, numeric=True, nullable=True),
    },
    key_values={
        "metric": KeyValues(LatestMetric, "run", frozenset(NUMERIC), numeric=True),
        "param": KeyValues(Param, "run", STRING | _NULL_CHECKS),
        "tag": KeyValues(RunTag, "run", STRING | _NULL_CHECKS),
    },
    identity=Run.run_id,
    default_order=("start_time DESC",),
)

EXPERIMENTS = Searchable(
    what="experiment",
    attributes={
        "name": Column(Experiment.name, PATTERN),
        "experiment_id": Column(Experiment.id, _EXACT, numeric=True),
        "creation_time": Column(Experiment.creation_time, _TIME, numeric=True),
        "last_update_time": Column(Experiment.last_update_time, _TIME, numeric=True),
    },
    key_values={"tag": KeyValues(ExperimentTag, "experiment", PATTERN)},
    identity=Experiment.id,
    default_order=("creation_time DESC",),
)

LOGGED_MODELS = Searchable(
    what="logged model",
    attributes={
        "name": Column(LoggedModel.name, STRING),
        "model_id": Column(LoggedModel.model_id, STRING),
        "model_type": Column(LoggedModel.model_type, STRING),
        "status": Column(LoggedModel.status, STRING),
        "source_run_id": Column(LoggedModel.source_run_id, STRING),
        "creation_timestamp": Column(LoggedModel.creation_timestamp, _TIME, numeric=True),
        "creation_time": Column(LoggedModel.creation_timestamp, _TIME, numeric=True),
        "last_updated_timestamp": Column(LoggedModel.last_updated_timestamp, _TIME, numeric=True),
        "last_updated_time": Column(LoggedModel.last_updated_timestamp, _TIME, numeric=True),
    },
    key_values={
        "param": KeyValues(LoggedModelParam, "model", PATTERN),
        "tag": KeyValues(LoggedModelTag, "model", PATTERN),
    },
    identity=LoggedModel.model_id,
    default_order=("creation_timestamp DESC",),
)


# --- parsing ---------------------------------------------------------------------------------


class _Parser(Parser):
    """The shared parser, with tracking's identifiers and `IS [NOT] NULL`."""

    entities = _ENTITY_WORDS
    valid_entities = _VALID_ENTITIES

    def _comparison(self) -> Comparison:
        entity, key, text = self._subject()
        if self.pos < len(self.tokens) and self.tokens[self.pos].is_word("IS"):
            self.pos += 1
            negated = self.pos < len(self.tokens) and self.tokens[self.pos].is_word("NOT")
            self.pos += negated
            if not self._next("NULL").is_word("NULL"):
                raise InvalidParameter(f"Invalid filter: expected NULL after IS for '{key}'")
            return Comparison(entity, key, "IS NOT NULL" if negated else "IS NULL", "")
        return Comparison(entity, key, self._comparator(text), self._value())


# --- filters ---------------------------------------------------------------------------------


def _checked_value(comparison: Comparison, numeric: bool, what: str):
    value = comparison.value
    if numeric:
        value = quoted_integer(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidParameter(
                f"Expected a numeric value for {what} '{comparison.key}', got {value!r}"
            )
        if isinstance(value, int) and value not in INT64:
            raise InvalidParameter(f"Value {value} for {what} '{comparison.key}' is too large")
    else:
        check_strings(comparison, what)
    return value


def _dataset_condition(searchable: Searchable, c: Comparison) -> Node:
    """MLflow's `datasets.name|digest|context`: some dataset the run used matches."""
    if searchable is not RUNS:
        raise InvalidParameter(f"A {searchable.what} search cannot filter on datasets")
    if c.key not in ("name", "digest", "context"):
        raise InvalidParameter(
            f"Invalid dataset key '{c.key}' specified. Valid keys are ['context', 'digest', 'name']"
        )
    check_comparator(c, STRING, "dataset")
    check_strings(c, "dataset")
    used = RunInput.select(SQL("1"))
    if c.key == "context":
        matched = used.join(RunInputTag).where(
            (RunInputTag.key == DATASET_CONTEXT_TAG)
            & compare(RunInputTag.value, c.comparator, c.value)
        )
    else:
        column = DatasetRow.name if c.key == "name" else DatasetRow.digest
        matched = used.join(DatasetRow).where(compare(column, c.comparator, c.value))
    return fn.EXISTS(matched.where(RunInput.run == Run.run_id))


def _condition(searchable: Searchable, c: Comparison) -> Node:
    if c.entity == "dataset":
        return _dataset_condition(searchable, c)
    if c.entity == "attribute":
        column = searchable.attributes.get(c.key)
        if column is None:
            valid = sorted(k for k in searchable.attributes if " " not in k)
            raise InvalidParameter(
                f"Invalid attribute key '{c.key}' specified. Valid keys are {valid}"
            )
        check_comparator(c, column.comparators, "attribute")
        return compare(column.node, c.comparator, _checked_value(c, column.numeric, "attribute"))
    kv = searchable.key_values.get(c.entity)
    if kv is None:
        raise InvalidParameter(f"A {searchable.what} search cannot filter on {c.entity}s")
    check_comparator(c, kv.comparators, c.entity)
    owned = searchable.owned(kv, c.key)
    if c.comparator in _NULL_CHECKS:
        exists = fn.EXISTS(kv.table.select(SQL("1")).where(owned))
        return exists if c.comparator == "IS NOT NULL" else ~exists
    condition = compare(kv.table.value, c.comparator, _checked_value(c, kv.numeric, c.entity))
    if kv.numeric:
        condition = condition & (kv.table.is_nan == False)  # noqa: E712 (SQL, not Python)
    return fn.EXISTS(kv.table.select(SQL("1")).where(owned & condition))


def where(searchable: Searchable, filter_string: str | None) -> Node | None:
    """Compile a filter to a WHERE expression over the searched table, or None."""
    comparisons = _Parser(filter_string).parse() if filter_string else []
    conditions = [_condition(searchable, c) for c in comparisons]
    return reduce(operator.and_, conditions) if conditions else None


# --- ordering --------------------------------------------------------------------------------


def _order_key(clause: str) -> tuple[str, str, bool]:
    """Parse `<identifier> [ASC|DESC]` into (entity, key, ascending)."""
    tokens = tokenize(clause)
    if not tokens or len(tokens) > 2 or tokens[0].kind != "ident":
        raise InvalidParameter(f"Invalid order_by clause '{clause}'. Could not be parsed.")
    if len(tokens) == 2 and not tokens[1].is_word("ASC", "DESC"):
        raise InvalidParameter(
            f"Invalid ordering '{tokens[1].text}' in order_by clause '{clause}'; use ASC or DESC"
        )
    entity, key = identifier(tokens[0], _ENTITY_WORDS, _VALID_ENTITIES)
    return entity, key, len(tokens) == 1 or tokens[1].text.upper() == "ASC"


def ordering(searchable: Searchable, order_by: list[str]) -> list[Ordering | Node]:
    """ORDER BY nodes: the given clauses (or the default), then the row id as tie-breaker."""
    nodes, seen = [], set()
    for clause in order_by or searchable.default_order:
        entity, key, ascending = _order_key(clause)
        if entity == "attribute":
            column = searchable.attributes.get(key)
            if column is None:
                raise InvalidParameter(
                    f"Invalid order by key '{key}' specified. Valid keys are "
                    f"{sorted(k for k in searchable.attributes if ' ' not in k)}"
                )
            value, missing = column.node, None
            if column.nullable:
                missing = Case(None, [(column.node.is_null(), 1)], 0)
        else:
            kv = searchable.key_values.get(entity)
            if kv is None:
                raise InvalidParameter(f"A {searchable.what} search cannot order by {entity}s")
            owned = searchable.owned(kv, key)
            value = kv.table.select(kv.table.value).where(owned)
            # Rows without the key sort last in either direction, and NaN metrics just before.
            flag = Case(None, [(kv.table.is_nan, 1)], 0) if kv.numeric else SQL("0")
            missing = fn.COALESCE(kv.table.select(flag).where(owned), 2)
        if (entity, key) in seen:
            raise InvalidParameter(f"order_by contains duplicate field '{key}': {order_by}")
        seen.add((entity, key))
        if missing is not None:
            nodes.append(Ordering(missing, "ASC"))
        nodes.append(Ordering(value, "ASC" if ascending else "DESC"))
    nodes.append(searchable.identity.asc())
    return nodes
