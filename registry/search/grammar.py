"""The grammar every MLflow search filter shares: tokens, the AND-only parser, values, comparators.

A filter is comparisons joined by AND, e.g. ``name LIKE 'fraud-%' AND tag.`team` = 'risk'``.
registry.search.registry and registry.search.tracking say which identifiers exist and what each
may be compared with; this module turns text into `Comparison`s and a comparison into a peewee
expression. Values are always bound as parameters; user text never becomes SQL.
"""

import operator
import re
from dataclasses import dataclass

from peewee import Expression, Node, fn

from registry.errors import InvalidParameter
from registry.store.db import is_sqlite

EQUALITY = frozenset({"=", "!="})
PATTERN = EQUALITY | {"LIKE", "ILIKE"}
STRING = PATTERN | {"IN", "NOT IN"}
NUMERIC = EQUALITY | {"<", "<=", ">", ">="}
INT64 = range(-(2**63), 2**63)  # what both databases can bind; beyond it they raise, not match
# Generous for any real client, yet small enough that the SQL stays within SQLite's parser depth
# (about 300 comparisons overflow it) and bound-parameter limit (32766): past those a filter
# would fail as a server error instead of a 400.
MAX_COMPARISONS = 50
MAX_LIST_VALUES = 500


@dataclass(frozen=True)
class Comparison:
    entity: str  # "attribute", "tag", and in tracking searches "param" or "metric"
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
class Token:
    kind: str
    text: str
    match: re.Match

    def is_word(self, *words: str) -> bool:
        return self.kind == "ident" and self.text.upper() in words


def unquote(text: str) -> str:
    """Strip the quotes; a doubled quote or a backslash-escaped quote or backslash is one char."""
    quote, body = text[0], text[1:-1]
    if quote == "`":
        return body
    return re.sub(rf"\\([\\{quote}])|{quote}{quote}", lambda m: m.group(1) or quote, body)


def tokenize(text: str) -> list[Token]:
    """The tokens of a filter or order_by clause, whitespace dropped."""
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
            tokens.append(Token(m.lastgroup, m.group(), m))
        pos = m.end()
    return tokens


def identifier(token: Token, entities: dict[str, str], valid: str) -> tuple[str, str]:
    """Split ``entity.key`` / ``key`` / a lone `backticked` key into (entity, unquoted key).

    `entities` maps each spelling of an entity to its name; a bare key is an attribute.
    """
    head, rest = token.match.group("head"), token.match.group("rest")
    if head is None:  # a lone `backticked` key
        return "attribute", unquote(token.text)
    if rest is None:
        return "attribute", head
    entity = entities.get(head)
    if entity is None:
        raise InvalidParameter(f"Invalid entity type '{head}'. Valid entity types are {valid}")
    return entity, unquote(rest) if rest[0] in '`"' else rest


# --- parser ----------------------------------------------------------------------------------


class Parser:
    """Comparisons joined by AND. A search's parser names its entities (and may add syntax)."""

    entities: dict[str, str] = {}
    valid_entities = ""  # as the error message for an unknown entity lists them

    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.pos = 0

    def _next(self, expected: str) -> Token:
        if self.pos == len(self.tokens):
            raise InvalidParameter(f"Invalid filter: expected {expected}, found end of filter")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def parse(self) -> list[Comparison]:
        comparisons = []
        while self.pos < len(self.tokens):
            if comparisons:
                joiner = self._next("AND")
                if not joiner.is_word("AND"):
                    raise _invalid_clause(joiner)
            comparisons.append(self._comparison())
        if len(comparisons) > MAX_COMPARISONS:
            raise InvalidParameter(
                f"Invalid filter: {len(comparisons)} comparisons, at most {MAX_COMPARISONS}"
            )
        return comparisons

    def _comparison(self) -> Comparison:
        entity, key, text = self._subject()
        return Comparison(entity, key, self._comparator(text), self._value())

    def _subject(self) -> tuple[str, str, str]:
        """The identifier a comparison starts with: (entity, key, the identifier as written)."""
        token = self._next("a comparison")
        if token.is_word("OR", "NOT", "AND") or token.text == "(":
            raise _invalid_clause(token)
        if token.kind != "ident":
            raise InvalidParameter(
                f"Invalid comparison clause. Expected an identifier, found '{token.text}'"
            )
        entity, key = identifier(token, self.entities, self.valid_entities)
        return entity, key, token.text

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
            return unquote(token.text)
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
            values.append(unquote(token.text))
            separator = self._next("',' or ')' in list")
            if separator.text == ")":
                break
            if separator.text != ",":
                raise InvalidParameter(f"Expected ',' or ')' in list, found '{separator.text}'")
        if len(values) > MAX_LIST_VALUES:
            raise InvalidParameter(f"List of {len(values)} values, at most {MAX_LIST_VALUES}")
        return tuple(values)


def _invalid_clause(token: Token) -> InvalidParameter:
    return InvalidParameter(f"Invalid clause(s) in filter string: {token.text}")


# --- checking values -------------------------------------------------------------------------


def check_comparator(comparison: Comparison, valid: frozenset[str], what: str) -> None:
    """Refuse a comparator that `what` (attribute, tag, param, metric) does not support."""
    if comparison.comparator not in valid:
        raise InvalidParameter(
            f"Invalid comparator '{comparison.comparator}' for {what} '{comparison.key}'. "
            f"Valid comparators are {sorted(valid)}"
        )


def quoted_integer(value):
    """MLflow accepts a quoted integer where a number is expected: '5' is 5."""
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value)
    return value


def check_strings(comparison: Comparison, what: str) -> None:
    """A string comparison needs one quoted string, IN and NOT IN a list of them."""
    value, is_list = comparison.value, comparison.comparator in ("IN", "NOT IN")
    if is_list != isinstance(value, tuple) or isinstance(value, int | float):
        raise InvalidParameter(
            f"Comparator '{comparison.comparator}' for {what} '{comparison.key}' needs "
            + ("a list of quoted strings like ('a', 'b')" if is_list else "a quoted string")
        )


# --- compiling -------------------------------------------------------------------------------

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


def compare(column: Node, comparator: str, value) -> Expression:
    """`column <comparator> value` as a peewee expression, LIKE case-sensitive on both databases."""
    if comparator in ("LIKE", "ILIKE"):
        return _like(column, value, case_sensitive=comparator == "LIKE")
    return _OPERATORS[comparator](column, value)
