"""MLflow's registry search grammar, compiled to peewee expressions; ordering and page tokens.

A filter is comparisons joined by AND, e.g. ``name LIKE 'fraud-%' AND tag.`team` = 'risk'``.
Values are always bound as parameters; user text never becomes SQL.
"""

import base64
import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce

from peewee import SQL, Expression, Field, Node, Ordering, fn

from registry.errors import InvalidParameter
from registry.store.db import is_sqlite
from registry.store.tables.registry import (
    ModelVersion,
    ModelVersionTag,
    RegisteredModel,
    RegisteredModelTag,
)

PROMPT_TAG_KEY = "mlflow.prompt.is_prompt"

_EQUALITY = frozenset({"=", "!="})
_PATTERN = _EQUALITY | {"LIKE", "ILIKE"}
_STRING = _PATTERN | {"IN", "NOT IN"}
_NUMERIC = _EQUALITY | {"<", "<=", ">", ">="}
_ENTITY_TYPES = ("attribute", "tag", "tags")
_INT64 = range(-(2**63), 2**63)  # what both databases can bind; beyond it they raise, not match
# Generous for any real client, yet small enough that the SQL stays within SQLite's parser depth
# (about 300 comparisons overflow it) and bound-parameter limit (32766): past those a filter
# would fail as a server error instead of a 400.
_MAX_COMPARISONS = 50
_MAX_LIST_VALUES = 500


@dataclass(frozen=True)
class _Attribute:
    column: Field
    comparators: frozenset[str]
    numeric: bool = False


_MODEL_ATTRIBUTES = {"name": _Attribute(RegisteredModel.name, _STRING)}
_VERSION_ATTRIBUTES = {
    "name": _Attribute(RegisteredModel.name, _STRING),
    "run_id": _Attribute(ModelVersion.run_id, _STRING),
    "source_path": _Attribute(ModelVersion.source, _PATTERN),
    "version_number": _Attribute(ModelVersion.version, _NUMERIC, numeric=True),
}


@dataclass(frozen=True)
class _Comparison:
    entity: str  # "attribute" or "tag"
    key: str
    comparator: str
    value: str | int | float | tuple[str, ...]


# --- tokenizer -------------------------------------------------------------------------------

_DQ = r'"(?:[^"\\]|\\.|"")*"'
_TOKEN = re.compile(
    rf"""
    (?P<space>\s+)
  | (?P<string>'(?:[^'\\]|\\.|'')*'|{_DQ})
  | (?P<ident>(?P<head>(?!\d)\w+)(?:\.(?P<rest>`[^`]+`|{_DQ}|\w+(?:\.\w+)*))?|`[^`]+`)
  | (?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<op><>|!=|==|<=|>=|=|<|>)
  | (?P<punct>[(),])
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    match: re.Match

    def is_word(self, *words: str) -> bool:
        return self.kind == "ident" and self.text.upper() in words


def _unquote(text: str) -> str:
    """Strip the quotes; a doubled quote or a backslash-escaped quote or backslash is one char."""
    quote, body = text[0], text[1:-1]
    if quote == "`":
        return body
    return re.sub(rf"\\([\\{quote}])|{quote}{quote}", lambda m: m.group(1) or quote, body)


def _tokenize(text: str) -> list[_Token]:
    # PostgreSQL cannot store or compare NUL; refuse it here rather than fail in the driver.
    if "\x00" in text:
        raise InvalidParameter("Invalid filter: NUL character in filter string")
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            what = "unterminated string" if text[pos] in "'\"`" else "unexpected character"
            raise InvalidParameter(
                f"Invalid filter '{text}': {what} {text[pos]!r} at position {pos}"
            )
        if m.lastgroup != "space":
            tokens.append(_Token(m.lastgroup, m.group(), m))
        pos = m.end()
    return tokens


# --- parser ----------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokenize(text)
        self.pos = 0

    def _next(self, expected: str) -> _Token:
        if self.pos == len(self.tokens):
            raise InvalidParameter(f"Invalid filter: expected {expected}, found end of filter")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def parse(self) -> list[_Comparison]:
        comparisons = []
        while self.pos < len(self.tokens):
            if comparisons:
                joiner = self._next("AND")
                if not joiner.is_word("AND"):
                    raise _invalid_clause(joiner)
            comparisons.append(self._comparison())
        if len(comparisons) > _MAX_COMPARISONS:
            raise InvalidParameter(
                f"Invalid filter: {len(comparisons)} comparisons, at most {_MAX_COMPARISONS}"
            )
        return comparisons

    def _comparison(self) -> _Comparison:
        entity, key, text = self._subject()
        return _Comparison(entity, key, self._comparator(text), self._value())

    def _subject(self) -> tuple[str, str, str]:
        """The identifier a comparison starts with: (entity, key, the identifier as written)."""
        token = self._next("a comparison")
        if token.is_word("OR", "NOT", "AND") or token.text == "(":
            raise _invalid_clause(token)
        if token.kind != "ident":
            raise InvalidParameter(
                f"Invalid comparison clause. Expected an identifier, found '{token.text}'"
            )
        entity, key = self._identify(token)
        return entity, key, token.text

    def _identify(self, token: _Token) -> tuple[str, str]:
        """(entity, key) of an identifier; other grammars built on this parser override it."""
        return _identifier(token)

    def _comparator(self, after: str) -> str:
        token = self._next(f"a comparator after '{after}'")
        if token.kind == "op":
            return token.text
        if token.is_word("LIKE", "ILIKE", "IN"):
            return token.text.upper()
        if token.is_word("NOT"):
            return "NOT " + self._next("a comparator after 'NOT'").text.upper()
        raise InvalidParameter(
            f"Invalid comparison clause. Expected a comparator after '{after}', "
            f"found '{token.text}'"
        )

    def _value(self) -> str | int | float | tuple[str, ...]:
        token = self._next("a value")
        if token.kind == "string":
            return _unquote(token.text)
        if token.kind == "number":
            is_int = re.fullmatch(r"[+-]?\d+", token.text)
            return int(token.text) if is_int else float(token.text)
        if token.text == "(":
            return self._list()
        raise InvalidParameter(f"Expected a quoted string value, found '{token.text}'")

    def _list(self) -> tuple[str, ...]:
        values = []
        while True:
            token = self._next("a quoted string or ')' in list")
            if token.text == ")" and values:
                break
            if token.kind != "string":
                raise InvalidParameter(
                    "While parsing a list in the query, expected a non-empty list of quoted "
                    f"string values, found '{token.text}'"
                )
            values.append(_unquote(token.text))
            separator = self._next("',' or ')' in list")
            if separator.text == ")":
                break
            if separator.text != ",":
                raise InvalidParameter(f"Expected ',' or ')' in list, found '{separator.text}'")
        if len(values) > _MAX_LIST_VALUES:
            raise InvalidParameter(f"List of {len(values)} values, at most {_MAX_LIST_VALUES}")
        return tuple(values)


def _invalid_clause(token: _Token) -> InvalidParameter:
    return InvalidParameter(f"Invalid clause(s) in filter string: {token.text}")


def _identifier(token: _Token) -> tuple[str, str]:
    """Split ``tag.key`` / ``attribute.key`` / ``key`` into (entity, unquoted key)."""
    head, rest = token.match.group("head"), token.match.group("rest")
    if head is None:  # a lone `backticked` key
        return "attribute", _unquote(token.text)
    if rest is None:
        return "attribute", head
    if head not in _ENTITY_TYPES:
        raise InvalidParameter(
            f"Invalid entity type '{head}'. Valid entity types are {_ENTITY_TYPES}"
        )
    key = _unquote(rest) if rest[0] in '`"' else rest
    return ("attribute" if head == "attribute" else "tag"), key


# --- compiler --------------------------------------------------------------------------------

_OPERATORS = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "IN": lambda column, values: column.in_(values),
    "NOT IN": lambda column, values: column.not_in(values),
}
# Each LIKE special character, written as GLOB: wildcards translate, GLOB's own become literal.
_LIKE_TO_GLOB = str.maketrans({"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"})


def _like(column: Node, pattern: str, *, case_sensitive: bool) -> Expression:
    if is_sqlite():
        # SQLite's LIKE ignores ASCII case unless a per-connection pragma says otherwise, and
        # peewee spells LIKE as GLOB there anyway; GLOB is always case-sensitive.
        glob = pattern.translate(_LIKE_TO_GLOB)
        if case_sensitive:
            return Expression(column, "GLOB", glob)
        # LOWER on both sides in SQL, so both are folded by the same (ASCII) rules.
        return Expression(fn.LOWER(column), "GLOB", fn.LOWER(glob))
    # PostgreSQL's LIKE treats backslash as an escape; MLflow's patterns have only % and _.
    return Expression(column, "LIKE" if case_sensitive else "ILIKE", pattern.replace("\\", "\\\\"))


def _compare(column: Node, comparator: str, value) -> Expression:
    if comparator in ("LIKE", "ILIKE"):
        return _like(column, value, case_sensitive=comparator == "LIKE")
    return _OPERATORS[comparator](column, value)


def _check_comparator(comparison: _Comparison, valid: frozenset[str], what: str) -> None:
    if comparison.comparator not in valid:
        raise InvalidParameter(
            f"Invalid comparator '{comparison.comparator}' for {what} '{comparison.key}'. "
            f"Valid comparators are {sorted(valid)}"
        )


def _attribute_condition(comparison: _Comparison, attributes: dict[str, _Attribute]) -> Node:
    attribute = attributes.get(comparison.key)
    if attribute is None:
        valid = "{" + ", ".join(repr(key) for key in sorted(attributes)) + "}"
        raise InvalidParameter(
            f"Invalid attribute key '{comparison.key}' specified. Valid keys are '{valid}'"
        )
    _check_comparator(comparison, attribute.comparators, "attribute")
    value, is_list = comparison.value, comparison.comparator in ("IN", "NOT IN")
    if attribute.numeric:
        # MLflow accepts a quoted integer here too; a fraction is never a version.
        if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
            value = int(value)
        if not isinstance(value, int) or value not in _INT64:
            raise InvalidParameter(
                f"Invalid value for numeric attribute '{comparison.key}': {value!r}"
            )
    elif isinstance(value, int | float):
        raise InvalidParameter(
            f"Only the 'version_number' attribute supports comparison with numeric values, "
            f"not '{comparison.key}' (got {value!r})"
        )
    elif is_list != isinstance(value, tuple):
        raise InvalidParameter(
            f"Comparator '{comparison.comparator}' for attribute '{comparison.key}' needs "
            + ("a list of quoted strings like ('a', 'b')" if is_list else "a quoted string")
        )
    return _compare(attribute.column, comparison.comparator, value)


def _tag_value(comparison: _Comparison) -> str:
    _check_comparator(comparison, _PATTERN, "tag")
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


def _tag_condition(comparison: _Comparison, tag_model, owner: Expression) -> Node:
    value = _tag_value(comparison)
    if comparison.key == PROMPT_TAG_KEY:
        # The client appends "is_prompt != 'true'" to every model search, and ordinary models
        # have no such tag, so for this key alone a missing tag counts as "not a prompt".
        if comparison.comparator == "!=" and value == "true":
            return ~_has_tag(tag_model, owner, PROMPT_TAG_KEY, tag_model.value == "true")
        if comparison.comparator == "=" and value == "false":
            has_false = _has_tag(tag_model, owner, PROMPT_TAG_KEY, tag_model.value == "false")
            return has_false | ~_has_tag(tag_model, owner, PROMPT_TAG_KEY)
    condition = _compare(tag_model.value, comparison.comparator, value)
    return _has_tag(tag_model, owner, comparison.key, condition)


def _parse(filter_string: str | None) -> list[_Comparison]:
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
        not_prompt = _Comparison("tag", PROMPT_TAG_KEY, "!=", "true")
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
        key = _unquote(key) if key[0] in '`"' else key
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


# --- page tokens -----------------------------------------------------------------------------


def fetch_page(
    read: Callable[[int, int], list], *, max_results: int, page_token: str | None
) -> tuple[list, dict]:
    """One page of an ordered listing, `read(limit, offset)` giving its rows; and
    {"next_page_token"} when more remain.

    Reads one row more than asked, to know whether another page exists without counting.
    """
    offset = decode_page_token(page_token)
    rows = read(max_results + 1, offset)
    if len(rows) <= max_results:
        return rows, {}
    return rows[:max_results], {"next_page_token": encode_page_token(offset + max_results)}


def sliced(query) -> Callable[[int, int], list]:
    """`read` for fetch_page over an ordered peewee query."""
    return lambda limit, offset: list(query.limit(limit).offset(offset))


def encode_page_token(offset: int) -> str:
    """MLflow's page token: base64 of JSON {"offset": N}."""
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_page_token(token: str | None) -> int:
    """The row offset a page token stands for; 0 for no token."""
    if not token:
        return 0
    try:
        decoded = base64.b64decode(token, validate=True)
    except ValueError:  # binascii.Error, or text that is not even ASCII
        raise InvalidParameter("Invalid page token, could not base64-decode") from None
    try:
        parsed = json.loads(decoded)
    except ValueError:
        raise InvalidParameter(f"Invalid page token, decoded value={decoded!r}") from None
    offset = parsed.get("offset") if isinstance(parsed, dict) else None
    # bool is an int in Python; JSON true is not an offset.
    if type(offset) is not int or offset not in _INT64 or offset < 0:
        raise InvalidParameter(f"Invalid page token, parsed value={parsed!r}")
    return offset
