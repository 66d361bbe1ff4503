"""Server-side prepared statements for the compiled statements, on pooled PostgreSQL connections.

PostgreSQL parses and plans every query it is sent, and for the registry's keyed lookups that
costs more than answering them. Measured on a local server (psycopg2, one connection): the
model-and-version query of a get_version took 194 us sent as a query and 116 us as EXECUTE of
a statement prepared on the connection; its tags-and-aliases query 133 us and 101 us; a bare
`SELECT 1` 79 us. The compiled statements (registry.store.statements) already have fixed SQL,
so each is prepared once per connection, in the same message as its first EXECUTE, and run by
name afterwards. The values are still bound by the driver, as literals of the EXECUTE.

A statement PostgreSQL refuses to prepare (a parameter whose type it cannot infer, say) is
found out once per process, inside a savepoint, and from then on sent as a plain query.
"""

import functools
import itertools

MAX_PER_CONNECTION = 256  # then further statements run unprepared: the server keeps each one

_names = itertools.count(1)
# SQL -> whether PostgreSQL prepared it (True) or refused (False); absent: not tried yet.
_verdicts: dict[str, bool] = {}


@functools.cache
def connection_class() -> type:
    """A psycopg2 connection class that knows the statements prepared in its session.

    Made on first use: psycopg2 is installed only with the postgres extra.
    """
    import psycopg2.extensions

    class Connection(psycopg2.extensions.connection):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.prepared: dict[str, str] = {}  # SQL -> the name it is prepared under

    return Connection


def new_name() -> str:
    # Never reused: a PREPARE whose outcome is unknown (its query failed) leaves no name that
    # a later PREPARE could collide with.
    return f"podium_{next(_names)}"


def prepare_statement(name: str, sql: str) -> str | None:
    """`PREPARE name AS sql` with $n parameters, or None if sql has a `%` that is not a `%s`."""
    parts = sql.split("%s")
    if any("%" in part for part in parts):
        return None
    numbered = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))
    return f"PREPARE {name} AS {numbered}"


def execute_statement(name: str, param_count: int) -> str:
    """`EXECUTE name(%s, ...)`: the driver binds the values as it would for the query."""
    return (
        f"EXECUTE {name}({', '.join(['%s'] * param_count)})" if param_count else f"EXECUTE {name}"
    )


def verdict(sql: str) -> bool | None:
    return _verdicts.get(sql)


def judge(sql: str, prepared: bool) -> None:
    _verdicts[sql] = prepared
