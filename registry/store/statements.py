"""Hot queries compiled to SQL once, then run with fresh values.

peewee writes a query's SQL anew on every execution, and for the registry's keyed lookups that
costs far more than running them: ~150 µs to compile against ~10 µs for SQLite to answer. A
`Statement` is declared once, as a function from its arguments to a peewee query. Its first run
on a kind of database compiles the query with placeholders where the arguments go; every later
run only binds the values. The SQL is the same text peewee would write, so behaviour does not
change, only its cost.

- Positional arguments are bound as given, without the field conversions peewee would apply:
  pass values of the column's own type (str, int).
- A list argument becomes an IN list. Lists are padded to a power of two (repeating their last
  value, which IN ignores), so a few compiled shapes serve every length; lists longer than
  MAX_LIST are read in several queries, since databases cap bound parameters.
- Keyword arguments shape the query itself (a search filter, an ordering, FOR UPDATE): they are
  passed to the builder as they are and each distinct set is compiled once; the newest
  MAX_SHAPES are kept.
- `rows()` builds model instances straight from the fetched values, converted as the fields
  would: its query selects only its model's fields. `tuples()` takes any columns.
"""

import inspect
import threading
from collections.abc import Callable, Sequence
from typing import NamedTuple

from peewee import (
    CharField,
    Field,
    FloatField,
    ForeignKeyField,
    Insert,
    IntegerField,
    Model,
    Query,
    TextField,
    Value,
)

from registry.store.db import db, execute_compiled

MAX_LIST = 1024
MAX_SHAPES = 256


class _Slot:
    """Stands, while a statement compiles, for argument `index` (item `item` if a list)."""

    __slots__ = ("index", "item")

    def __init__(self, index: int, item: int | None = None):
        self.index, self.item = index, item


def _placeholder(index: int, item: int | None = None) -> Value:
    # converter=False: the slot must reach the parameter list untouched by the field's db_value.
    return Value(_Slot(index, item), converter=False)


class _Compiled(NamedTuple):
    sql: str
    params: list  # constants, and _Slots where the arguments go
    query: Query
    fields: list[str | None]  # per column: its model field's name, if it is one (for rows())
    converters: list  # per column: a function from the driver's value, or None


class Statement:
    """A query built by `build(*args, **shape)`, compiled once per database kind and shape."""

    def __init__(self, build: Callable[..., Query], arity: int | None = None):
        self._build = build
        self._arity = arity
        if arity is None:
            self._arity = sum(
                p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                for p in inspect.signature(build).parameters.values()
            )
        self._compiled: dict[tuple, _Compiled] = {}
        self._compiling = threading.Lock()  # gthread workers share the cache

    def rows(self, *args, **shape) -> list[Model]:
        """Every row the query selects, as instances of its model (it selects only its fields)."""
        compiled, rows = self._select(args, shape)
        if None in compiled.fields:
            raise TypeError("rows() needs a query selecting only its model's fields; use tuples()")
        return [instance(compiled.query.model, compiled.fields, values) for values in rows]

    def tuples(self, *args, **shape) -> list[tuple]:
        """Every row the query selects, as a tuple in the order of its columns."""
        _compiled, rows = self._select(args, shape)
        return rows

    def first(self, *args, **shape) -> Model | None:
        """The first row, as an instance of the query's model, or None."""
        rows = self.rows(*args, **shape)
        return rows[0] if rows else None

    def execute(self, *args, **shape) -> int | None:
        """Run an INSERT (returning the new row's id), UPDATE or DELETE (returning rows changed).

        An upsert whose conflict left the stored row as it was has no new id: None on
        PostgreSQL, and SQLite's lastrowid means nothing then.
        """
        compiled, params = self._bind(args, shape)
        cursor = execute_compiled(compiled.sql, params)
        if isinstance(compiled.query, Insert):
            if cursor.description:  # PostgreSQL: INSERT ... RETURNING id
                row = cursor.fetchone()
                return row[0] if row else None
            return cursor.lastrowid
        return cursor.rowcount

    def _select(self, args: Sequence, shape: dict) -> tuple[_Compiled, list[tuple]]:
        long_list = next(
            (i for i, arg in enumerate(args) if _is_list(arg) and len(arg) > MAX_LIST), None
        )
        if long_list is not None:
            rows, values = [], args[long_list]
            for start in range(0, len(values), MAX_LIST):
                chunk = values[start : start + MAX_LIST]
                compiled, more = self._select(
                    [*args[:long_list], chunk, *args[long_list + 1 :]], shape
                )
                rows += more
            return compiled, rows
        compiled, params = self._bind(args, shape)
        rows = execute_compiled(compiled.sql, params).fetchall()
        if any(compiled.converters):
            rows = [
                tuple(
                    v if c is None else c(v) for v, c in zip(row, compiled.converters, strict=True)
                )
                for row in rows
            ]
        return compiled, rows

    def _bind(self, args: Sequence, shape: dict) -> tuple[_Compiled, list]:
        if len(args) != self._arity:
            raise TypeError(f"statement takes {self._arity} arguments, got {len(args)}")
        args = [_padded(arg) if _is_list(arg) else arg for arg in args]
        key = (
            type(db.obj),
            *(len(arg) if _is_list(arg) else None for arg in args),
            *((name, _hashable(value)) for name, value in sorted(shape.items())),
        )
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compile(args, shape)
            with self._compiling:
                if len(self._compiled) >= MAX_SHAPES:
                    del self._compiled[next(iter(self._compiled))]  # the oldest
                self._compiled[key] = compiled
        params = [
            (args[p.index] if p.item is None else args[p.index][p.item]) if type(p) is _Slot else p
            for p in compiled.params
        ]
        return compiled, params

    def _compile(self, args: Sequence, shape: dict) -> _Compiled:
        placeholders = [
            [_placeholder(i, j) for j in range(len(arg))] if _is_list(arg) else _placeholder(i)
            for i, arg in enumerate(args)
        ]
        query = self._build(*placeholders, **shape)
        sql, params = query.sql()
        columns = [node.unwrap() for node in getattr(query, "selected_columns", None) or ()]
        return _Compiled(
            sql,
            params,
            query,
            fields=[
                column.name if isinstance(column, Field) and column.model is query.model else None
                for column in columns
            ],
            converters=[_converter(column) for column in columns],
        )


def instance(table: type[Model], names: Sequence[str], values: Sequence) -> Model:
    """A row of `table` from its fields' names and fetched values, without peewee's defaults."""
    row = table(__no_default__=True)
    row.__data__ = dict(zip(names, values, strict=True))
    return row


def statement(build: Callable[..., Query]) -> Statement:
    """Declare a compiled-once query: `@statement def by_name(name): return Model.select()...`."""
    return Statement(build)


_creates: dict[tuple, Statement] = {}
_create_manys: dict[tuple, Statement] = {}
_saves: dict[tuple, Statement] = {}


def create(table: type[Model], /, **values) -> Model:
    """`table.create(**values)`, with its INSERT compiled once per table and set of columns."""
    instance = table(**values)  # fills in the fields' defaults, as create() does
    fields = [table._meta.fields[name] for name in instance.__data__]
    key = (table, *instance.__data__)
    insert = _creates.get(key)
    if insert is None:
        insert = _creates[key] = Statement(
            lambda *columns: table.insert(dict(zip(fields, columns, strict=True))),
            arity=len(fields),
        )
    new_id = insert.execute(*(field.db_value(instance.__data__[field.name]) for field in fields))
    primary_key = table._meta.primary_key
    if instance.__data__.get(primary_key.name) is None:
        instance.__data__[primary_key.name] = new_id
    instance._dirty.clear()
    return instance


def create_many(table: type[Model], rows: Sequence[dict]) -> None:
    """`create()` for several rows of the same columns, in one INSERT compiled once per table,
    set of columns and number of rows (callers keep batches small: each row is bound apart)."""
    instances = [table(**values) for values in rows]
    names = tuple(instances[0].__data__)
    if any(tuple(row.__data__) != names for row in instances):
        raise TypeError("create_many() needs rows of the same columns")
    fields = [table._meta.fields[name] for name in names]
    key = (table, len(rows), *names)
    insert = _create_manys.get(key)
    if insert is None:
        width = len(fields)

        def build(*values):
            return table.insert_many(
                [
                    dict(zip(fields, values[start : start + width], strict=True))
                    for start in range(0, len(values), width)
                ]
            )

        insert = _create_manys[key] = Statement(build, arity=width * len(rows))
    insert.execute(
        *(field.db_value(row.__data__[field.name]) for row in instances for field in fields)
    )


def save(instance: Model, *fields: Field) -> None:
    """`instance.save(only=fields)`: UPDATE those columns of its row, compiled once per set."""
    model = type(instance)
    primary_key = model._meta.primary_key
    key = (model, *(field.name for field in fields))
    update = _saves.get(key)
    if update is None:
        update = _saves[key] = Statement(
            lambda *columns: model.update(dict(zip(fields, columns[:-1], strict=True))).where(
                primary_key == columns[-1]
            ),
            arity=len(fields) + 1,
        )
    update.execute(
        *(field.db_value(instance.__data__.get(field.name)) for field in fields),
        instance.__data__[primary_key.name],
    )
    instance._dirty.difference_update(field.name for field in fields)


def _is_list(value) -> bool:
    return isinstance(value, (list, tuple))


def _hashable(value):
    return tuple(value) if isinstance(value, list) else value


def _padded(values: Sequence) -> list:
    values = list(values)
    if not values:
        return values
    size = 1
    while size < len(values):
        size *= 2
    return values + [values[-1]] * (size - len(values))


def _converter(column) -> Callable | None:
    """How a column's value from the driver becomes the field's Python value (None: as it is).

    sqlite3 and psycopg2 already return integers, floats and text as int, float and str (SQLite's
    REAL affinity stores an integer given to a float column as a float); other fields (booleans
    stored as 0/1 on SQLite, for one) are converted as peewee would, and so are the fields that
    define a conversion of their own (encrypted secrets).
    """
    field = column.rel_field if isinstance(column, ForeignKeyField) else column
    if not isinstance(field, Field):
        return None
    plain = isinstance(field, (IntegerField, FloatField, CharField, TextField))
    if plain and type(field).python_value is Field.python_value:
        return None
    return field.python_value
