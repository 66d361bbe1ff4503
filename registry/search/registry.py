"""The registry's searches: registered models and model versions, filtered and ordered.

The grammar is registry.search.grammar's; this module says which attributes and tags each search
has, hides prompts as MLflow's server does, and orders with a unique tail for stable pages.
"""

import operator
import re
from dataclasses import dataclass
from functools import reduce

from peewee import SQL, Expression, Field, Node, Ordering, fn

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
    quoted_integer,
    unquote,
)
from registry.store.tables.registry import (
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelTag,
)

PROMPT_TAG_KEY = "mlflow.prompt.is_prompt"


@dataclass(frozen=True)
class _Attribute:
    column: Field
    comparators: frozenset[str]
    numeric: bool = False


_MODEL_ATTRIBUTES = {"name": _Attribute(RegisteredModel.name, STRING)}
_VERSION_ATTRIBUTES = {
    "name": _Attribute(RegisteredModel.name, STRING),
    "run_id": _Attribute(ModelVersion.run_id, STRING),
    "source_path": _Attribute(ModelVersion.source, PATTERN),
    "version_number": _Attribute(ModelVersion.version, NUMERIC, numeric=True),
}


class _Parser(Parser):
    entities = {"attribute": "attribute", "tag": "tag", "tags": "tag"}
    valid_entities = str(("attribute", "tag", "tags"))


# --- filters ---------------------------------------------------------------------------------


def _attribute_condition(comparison: Comparison, attributes: dict[str, _Attribute]) -> Node:
    attribute = attributes.get(comparison.key)
    if attribute is None:
        valid = "{" + ", ".join(repr(key) for key in sorted(attributes)) + "}"
        raise InvalidParameter(
            f"Invalid attribute key '{comparison.key}' specified. Valid keys are '{valid}'"
        )
    check_comparator(comparison, attribute.comparators, "attribute")
    value = comparison.value
    if attribute.numeric:
        value = quoted_integer(value)  # a fraction is never a version
        if not isinstance(value, int) or value not in INT64:
            raise InvalidParameter(
                f"Invalid value for numeric attribute '{comparison.key}': {value!r}"
            )
    elif isinstance(value, int | float):
        raise InvalidParameter(
            f"Only the 'version_number' attribute supports comparison with numeric values, "
            f"not '{comparison.key}' (got {value!r})"
        )
    else:
        check_strings(comparison, "attribute")
    return compare(attribute.column, comparison.comparator, value)


def _tag_value(comparison: Comparison) -> str:
    check_comparator(comparison, PATTERN, "tag")
    if not isinstance(comparison.value, str):
        raise InvalidParameter(
            f"Expected a quoted string value for tag '{comparison.key}'. "
            f"Got value {comparison.value!r}"
        )
    return comparison.value


def _has_tag(tag_model, owner: Expression, key: str, condition: Node | None = None) -> Node:
    """EXISTS a tag row of the outer row with this key (and value condition)."""
    where = owner & (tag_model.key == key)
    return fn.EXISTS(
        tag_model.select(SQL("1")).where(where if condition is None else where & condition)
    )


def _tag_condition(comparison: Comparison, tag_model, owner: Expression) -> Node:
    value = _tag_value(comparison)
    if comparison.key == PROMPT_TAG_KEY:
        # The client appends "is_prompt != 'true'" to every model search, and ordinary models
        # have no such tag, so for this key alone a missing tag counts as "not a prompt".
        if comparison.comparator == "!=" and value == "true":
            return ~_has_tag(tag_model, owner, PROMPT_TAG_KEY, tag_model.value == "true")
        if comparison.comparator == "=" and value == "false":
            has_false = _has_tag(tag_model, owner, PROMPT_TAG_KEY, tag_model.value == "false")
            return has_false | ~_has_tag(tag_model, owner, PROMPT_TAG_KEY)
    condition = compare(tag_model.value, comparison.comparator, value)
    return _has_tag(tag_model, owner, comparison.key, condition)


def _parse(filter_string: str | None) -> list[Comparison]:
    return _Parser(filter_string).parse() if filter_string else []


def _all(conditions: list[Node]) -> Node | None:
    return reduce(operator.and_, conditions) if conditions else None


def registered_model_where(filter_string: str | None) -> Node | None:
    """Compile a registered-model filter to a WHERE expression over RegisteredModel, or None."""
    model_tag = RegisteredModelTag.model == RegisteredModel.id
    return _all(
        [
            _attribute_condition(c, _MODEL_ATTRIBUTES)
            if c.entity == "attribute"
            else _tag_condition(c, RegisteredModelTag, model_tag)
            for c in _parse(filter_string)
        ]
    )


def model_version_where(filter_string: str | None) -> Node:
    """Compile a model-version filter (ModelVersion joined to RegisteredModel); hides prompts."""
    version_tag = ModelVersionTag.version == ModelVersion.id
    # Prompt-ness is a property of the registered model, so that key reads the model's tags.
    model_tag = RegisteredModelTag.model == ModelVersion.model
    conditions, mentions_prompt = [], False
    for c in _parse(filter_string):
        if c.entity == "attribute":
            conditions.append(_attribute_condition(c, _VERSION_ATTRIBUTES))
        elif c.key == PROMPT_TAG_KEY:
            mentions_prompt = True
            conditions.append(_tag_condition(c, RegisteredModelTag, model_tag))
        else:
            conditions.append(_tag_condition(c, ModelVersionTag, version_tag))
    if not mentions_prompt:
        # MLflow's server leaves prompt versions out unless the filter asks about them.
        not_prompt = Comparison("tag", PROMPT_TAG_KEY, "!=", "true")
        conditions.append(_tag_condition(not_prompt, RegisteredModelTag, model_tag))
    return _all(conditions)


# --- ordering --------------------------------------------------------------------------------

_ORDER_CLAUSE = re.compile(r'\s*(?P<key>`[^`]+`|"[^"]+"|[^\s`"]+)(?:\s+(?P<direction>\S+))?\s*')
_MODEL_ORDER_KEYS = {
    "name": RegisteredModel.name,
    "timestamp": RegisteredModel.last_updated_timestamp,
    "last_updated_timestamp": RegisteredModel.last_updated_timestamp,
}
_VERSION_ORDER_KEYS = {
    "name": RegisteredModel.name,
    "version_number": ModelVersion.version,
    "creation_timestamp": ModelVersion.creation_timestamp,
    "last_updated_timestamp": ModelVersion.last_updated_timestamp,
}
_VERSION_DEFAULT_ORDER = ["last_updated_timestamp DESC", "name ASC", "version_number DESC"]


def _ordering(order_by: list[str], keys: dict[str, Field], tie_breakers) -> list[Ordering]:
    # Peewee overloads == on columns to build SQL, so "column in list" is always true: use ids.
    orderings, seen = [], set()
    for clause in order_by:
        m = _ORDER_CLAUSE.fullmatch(clause)
        if m is None:
            raise InvalidParameter(f"Invalid order_by clause '{clause}'. Could not be parsed.")
        key, direction = m.group("key"), (m.group("direction") or "ASC").upper()
        key = unquote(key) if key[0] in '`"' else key
        if key not in keys:
            raise InvalidParameter(
                f"Invalid order by key '{key}' specified. Valid keys are {sorted(keys)}"
            )
        if direction not in ("ASC", "DESC"):
            raise InvalidParameter(
                f"Invalid ordering '{m.group('direction')}' in order_by clause '{clause}'; "
                "use ASC or DESC"
            )
        column = keys[key]
        if id(column) in seen:  # by column, so "timestamp" duplicates "last_updated_timestamp"
            raise InvalidParameter(f"order_by contains duplicate field '{key}': {order_by}")
        seen.add(id(column))
        orderings.append(column.asc() if direction == "ASC" else column.desc())
    # A unique tail makes the order total, so OFFSET pages neither repeat nor skip rows.
    orderings += [ordering for ordering in tie_breakers if id(ordering.node) not in seen]
    return orderings


def registered_model_ordering(order_by: list[str] | None) -> list[Ordering]:
    """ORDER BY nodes for a registered-model search; name ASC is the default and tie-breaker."""
    return _ordering(order_by or [], _MODEL_ORDER_KEYS, [RegisteredModel.name.asc()])


def model_version_ordering(order_by: list[str] | None) -> list[Ordering]:
    """ORDER BY nodes for a model-version search, ending in name ASC, version DESC."""
    tie_breakers = [RegisteredModel.name.asc(), ModelVersion.version.desc()]
    return _ordering(order_by or _VERSION_DEFAULT_ORDER, _VERSION_ORDER_KEYS, tie_breakers)
