"""The database connection: one proxy for every table, configured from a URL; locks."""

import fcntl
import itertools
import logging
import os
import threading
import time
from contextlib import contextmanager, nullcontext

from peewee import (
    Database,
    DatabaseError,
    DatabaseProxy,
    InterfaceError,
    OperationalError,
    SqliteDatabase,
)
from playhouse import db_url
from playhouse.pool import PooledDatabase, PooledPostgresqlDatabase

from registry.store import prepared

db = DatabaseProxy()
log = logging.getLogger(__name__)

# Any fixed 64-bit number: PostgreSQL advisory lock serialising schema setup across processes.
_SCHEMA_LOCK_ID = 0x50_6F_64_69_75_6D


# Pooled PostgreSQL connections: recycled after this many seconds, so a server-side idle timeout
# or a failover never hands out a long-dead connection; a process needing more than its pool
# waits this long for one to come back before the request fails.
_POOL_STALE_SECONDS = 300
_POOL_WAIT_SECONDS = 30


class QueuedWritersSqliteDatabase(SqliteDatabase):
    """SQLite whose write transactions queue on an OS file lock before taking SQLite's.

    SQLite's busy handler polls: a writer finding the lock taken sleeps 1, 2, 5, ... up to 100 ms
    between tries, so under contention most of its wait is sleep and tail latency reaches
    hundreds of milliseconds. Queued on flock() instead, the next writer wakes the moment the
    previous one commits. The busy timeout remains the backstop (other programs, backups).

    Opening a connection queues too: switching a new database to WAL needs it alone, and SQLite
    answers "database is locked" at once, without waiting, to processes that race to do it.

    SQLite's own WAL checkpoint runs inside COMMIT, before the queue could be left, and copies
    up to 1,000 pages and fsyncs the database file: every queued writer waits that out (write p99
    up to ~150 ms where fsync is slow). So the automatic checkpoint is off; every
    CHECKPOINT_EVERY-th write commit of a process wakes that process's checkpoint thread, which
    checkpoints (PASSIVE, as SQLite does) while writers go on. The WAL only starts over after a
    checkpoint that no write overtook, so once it holds more than RESTART_PAGES the thread
    checkpoints again holding the queue: writers then wait for the pages written meanwhile, not
    for the whole copy, and the next writer starts the WAL over.
    """

    CHECKPOINT_EVERY = 100
    RESTART_PAGES = 1000  # SQLite's own checkpoint threshold
    # Told how many seconds each write waited in the queue, when set (the metrics set it).
    on_queue_wait = None

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        self._lock_path = f"{database}-writers"
        self._threads = threading.Lock()  # flock does not separate threads of one process
        self._file = None
        self._file_pid = None
        self._holding = threading.local()
        self._write_commits = itertools.count(1)
        self._checkpoint_due = threading.Event()
        self._checkpointer_pid = None
        self._starting = threading.Lock()

    def begin(self, lock_type=None):
        queued = (lock_type or self._lock_type) == "IMMEDIATE"
        if queued:
            self._enter_queue()
        try:
            super().begin(lock_type)
        except BaseException:
            self._leave_queue()
            raise

    def _add_conn_hooks(self, conn):
        self._enter_queue()
        try:
            super()._add_conn_hooks(conn)  # the pragmas, journal_mode=wal among them
        finally:
            self._leave_queue()

    def commit(self):
        try:
            super().commit()
        finally:
            wrote = self._leave_queue()
        if wrote and next(self._write_commits) % self.CHECKPOINT_EVERY == 0:
            self._wake_checkpointer()

    def _wake_checkpointer(self) -> None:
        with self._starting:  # two threads of one process must not start two checkpointers
            if self._checkpointer_pid != os.getpid():  # threads do not survive a fork
                self._checkpointer_pid = os.getpid()
                self._checkpoint_due = threading.Event()
                threading.Thread(
                    target=self._checkpoint_when_due,
                    args=(self._checkpoint_due,),
                    name="wal-checkpoint",
                    daemon=True,
                ).start()
        self._checkpoint_due.set()

    def _checkpoint_when_due(self, due: threading.Event) -> None:
        while True:
            due.wait()
            due.clear()
            self._checkpoint()

    def _checkpoint(self) -> None:
        try:
            _busy, wal_pages, _copied = self.execute_sql(
                "PRAGMA wal_checkpoint(PASSIVE)"
            ).fetchone()
            if wal_pages > self.RESTART_PAGES:
                self._enter_queue()
                try:
                    self.execute_sql("PRAGMA wal_checkpoint(PASSIVE)")
                finally:
                    self._leave_queue()
        except Exception:  # the thread must live on; the next wake retries
            log.exception("WAL checkpoint failed; the next one retries")

    def rollback(self):
        try:
            super().rollback()
        finally:
            self._leave_queue()

    def _enter_queue(self) -> None:
        # Re-entrant per thread: a transaction that has to connect first queues only once.
        depth = getattr(self._holding, "depth", 0)
        if depth == 0:
            started = time.perf_counter()
            self._threads.acquire()
            try:
                if self._file_pid != os.getpid():  # a lock file inherited across fork is shared
                    descriptor = os.open(self._lock_path, os.O_WRONLY | os.O_CREAT, 0o600)
                    self._file = open(descriptor, "a")  # noqa: SIM115 - kept open
                    self._file_pid = os.getpid()
                fcntl.flock(self._file, fcntl.LOCK_EX)
            except BaseException:
                self._threads.release()
                raise
            if self.on_queue_wait is not None:
                self.on_queue_wait(time.perf_counter() - started)
        self._holding.depth = depth + 1

    def _leave_queue(self) -> bool:
        """Step out of the queue; True if this left it (the end of a write transaction)."""
        depth = getattr(self._holding, "depth", 0)
        if depth == 0:  # e.g. the end of a read transaction, which never queued
            return False
        self._holding.depth = depth - 1
        if depth == 1:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._threads.release()
        return depth == 1


class PooledPostgres(PooledPostgresqlDatabase):
    """PostgreSQL connections pooled per process, each checked by its first statement.

    peewee's pool sends `SELECT 1` on every connection it hands out, so that one the server
    ended while it sat in the pool (a restart, a failover, idle_session_timeout) is discarded,
    not used: one more round trip for every request. Here a pooled connection is handed out
    unchecked, and if its first statement finds the driver reporting the connection lost, that
    statement never ran: the connection is discarded and the statement runs again on the next
    one, so clients see nothing either way.

    BEGIN is not sent alone: it goes out in front of the transaction's first statement, in the
    same message ("BEGIN; SELECT ..."), which saves a round trip per transaction (a transition
    took 8: BEGIN, 6 statements, COMMIT). A transaction that ran no statement sends neither
    BEGIN nor COMMIT.
    """

    def __init__(self, *args, prepared_statements: bool = True, **kwargs):
        super().__init__(*args, connection_factory=prepared.connection_class(), **kwargs)
        self.prepared_statements = prepared_statements
        self._untried = threading.local()  # this thread's connection has run no statement yet
        self._unsent = threading.local()  # this thread's BEGIN, waiting for a first statement

    def _is_closed(self, conn):
        # The driver's own flags, no round trip; a transaction left open is rolled back.
        status = self._adapter.txn_status(conn)
        if conn.closed or status == self._adapter.txn_unknown:
            return True
        return status != self._adapter.txn_idle and super()._is_closed(conn)

    def connect(self, reuse_if_open=False):
        opened = super().connect(reuse_if_open)
        if opened:
            self._untried.value = True
        return opened

    def begin(self, isolation_level=None):
        isolation_level = isolation_level or self._isolation_level
        level = isolation_level and self._adapter.isolation_level_str(isolation_level)
        self._unsent.value = f"BEGIN TRANSACTION ISOLATION LEVEL {level}" if level else "BEGIN"

    def commit(self):
        if not self._discard_unsent_begin():
            super().commit()

    def rollback(self):
        if not self._discard_unsent_begin():
            super().rollback()

    def close(self):
        self._discard_unsent_begin()
        return super().close()

    def execute_sql(self, sql, params=None, prepare=False):
        """Run sql; with `prepare`, as a statement prepared on the connection (see
        registry.store.prepared: for the compiled statements, whose SQL never changes)."""
        if prepare and prepared.verdict(sql) is None:
            self._try_preparing(sql)
        begin = getattr(self._unsent, "value", None)
        self._unsent.value = None

        def run():
            text, name = self._prepared_form(sql, params) if prepare else (sql, None)
            if begin:  # the driver sends both as one query; the result is text's
                text = f"{begin}; {text}"
            cursor = super(PooledPostgres, self).execute_sql(text, params)
            if name:
                self._state.conn.prepared[sql] = name
            return cursor

        return self._first_statement(run, begins=bool(begin))

    def _prepared_form(self, sql, params) -> tuple[str, str | None]:
        # What to send on this thread's connection: EXECUTE of the statement prepared there; or
        # PREPARE and EXECUTE in one query, with the name to remember once it has run; or sql.
        if self.is_closed():
            self.connect()
        known, count = self._state.conn.prepared, len(params or ())
        name = known.get(sql)
        if name:
            return prepared.execute_statement(name, count), None
        if not prepared.verdict(sql) or len(known) >= prepared.MAX_PER_CONNECTION:
            return sql, None
        name = prepared.new_name()
        both = f"{prepared.prepare_statement(name, sql)}; {prepared.execute_statement(name, count)}"
        return both, name

    def _try_preparing(self, sql) -> None:
        # Once per process and statement: whether PostgreSQL prepares it, found out inside a
        # savepoint so that a refusal leaves the caller's transaction as it was.
        name = prepared.new_name()
        statement = prepared.prepare_statement(name, sql)
        if statement is None:
            prepared.judge(sql, False)
            return
        in_transaction = self.in_transaction()
        try:
            if in_transaction:
                self.execute_sql(f"SAVEPOINT {name}; {statement}; RELEASE SAVEPOINT {name}")
            else:
                self.execute_sql(statement)
        except DatabaseError as error:
            if self._lost():
                raise
            if in_transaction:
                self.execute_sql(f"ROLLBACK TO SAVEPOINT {name}")
            log.info("PostgreSQL does not prepare %.80s... (%s); it runs as a query", sql, error)
            prepared.judge(sql, False)
            return
        self._state.conn.prepared[sql] = name
        prepared.judge(sql, True)

    def _discard_unsent_begin(self) -> bool:
        unsent = getattr(self._unsent, "value", None)
        self._unsent.value = None
        return bool(unsent)

    def _first_statement(self, run, *, begins: bool):
        if not getattr(self._untried, "value", False):
            return run()
        # Every pooled connection may have been ended at once (a server restart): try each in
        # turn, then a new one, which is not retried.
        for _ in range(self._max_connections):
            self._untried.value = False
            try:
                return run()
            except (InterfaceError, OperationalError):
                # Inside a transaction only its first statement (the one carrying BEGIN) may
                # move to another connection: nothing of the transaction ran on the lost one.
                if not self._lost() or (self.in_transaction() and not begins):
                    raise
                # Open connection_context()s and the transaction carry on with the next one.
                state = self._state
                carried = (state.ctx, state.transactions, state.commit_callbacks)
                state.transactions = []  # close() refuses while a transaction is open
                try:
                    self.close()  # the pool discards it: the driver reports it lost
                    self.connect()
                finally:
                    state.ctx, state.transactions, state.commit_callbacks = carried
        self._untried.value = False
        return run()

    def _lost(self) -> bool:
        conn = self._state.conn
        return (
            conn is None
            or bool(conn.closed)
            or (self._adapter.txn_status(conn) == self._adapter.txn_unknown)
        )


def open_database(
    url: str,
    *,
    busy_timeout_ms: int = 30000,
    pool_size: int = 0,
    connect_timeout: int = 5,
    prepared_statements: bool = True,
) -> Database:
    """Build (but do not connect) the database named by a sqlite:/// or postgresql:// URL.

    With `pool_size` > 0, PostgreSQL connections are pooled per process (PooledPostgres): closing
    one (at the end of each request) returns it to the pool instead of ending the session, and
    a connection a restarted server dropped is discarded, not used. A PostgreSQL connection
    attempt gives up after `connect_timeout` seconds: an unreachable server is an answer (503),
    never a hang.
    """
    if url.startswith("sqlite:"):
        return QueuedWritersSqliteDatabase(
            db_url.parse(url)["database"],
            # busy_timeout first: the WAL switch itself may have to wait for another process.
            pragmas=(
                ("busy_timeout", busy_timeout_ms),
                ("journal_mode", "wal"),
                ("synchronous", "normal"),
                ("foreign_keys", 1),
                ("wal_autocheckpoint", 0),  # see QueuedWritersSqliteDatabase
            ),
            # Every transaction takes the write lock up front, so two writers never deadlock on
            # a read-to-write upgrade; they queue on busy_timeout instead.
            lock_type="IMMEDIATE",
        )
    if url.startswith(("postgres:", "postgresql:")) and pool_size > 0:
        settings = db_url.parse(url)
        if not settings.get("database"):
            raise ValueError(f"PODIUM_DATABASE_URL {url!r} names no database")
        return PooledPostgres(
            **settings,
            max_connections=pool_size,
            stale_timeout=_POOL_STALE_SECONDS,
            timeout=_POOL_WAIT_SECONDS,
            connect_timeout=connect_timeout,
            prepared_statements=prepared_statements,
        )
    if url.startswith(("postgres:", "postgresql:", "postgres+pool:", "postgresql+pool:")):
        return db_url.connect(url, connect_timeout=connect_timeout)
    raise ValueError(f"unsupported PODIUM_DATABASE_URL {url!r}: use sqlite:/// or postgresql://")


def create_database_file(url: str) -> None:
    """Create a SQLite database file that does not exist yet readable by its owner only.

    SQLite creates the file with the process's umask (usually world-readable) and gives its WAL
    and shared-memory files the database file's mode, so creating it first covers all three.
    An existing file keeps the mode its owner chose.
    """
    if not url.startswith("sqlite:"):
        return
    path = db_url.parse(url)["database"]
    if path in ("", ":memory:") or path.startswith("file:"):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except (FileExistsError, FileNotFoundError):  # no directory: SQLite's own error says so
        pass


def execute_compiled(sql: str, params):
    """Run a compiled statement's SQL: on pooled PostgreSQL connections, prepared once each."""
    database = db.obj
    if isinstance(database, PooledPostgres) and database.prepared_statements:
        return database.execute_sql(sql, params, prepare=True)
    return db.execute_sql(sql, params)


def is_sqlite() -> bool:
    return isinstance(db.obj, SqliteDatabase)


def locked(query):
    """Add FOR UPDATE where the database has row locks; SQLite's IMMEDIATE transaction suffices."""
    return query if is_sqlite() else query.for_update()


def reading():
    """For a service call that only reads.

    On SQLite, a deferred transaction: one consistent snapshot without taking the write lock.
    On PostgreSQL, no transaction at all: at READ COMMITTED each statement of a transaction
    sees its own snapshot anyway, so BEGIN and COMMIT would change nothing but cost two of a
    read's four round trips (get_version: BEGIN, model and version, tags and aliases, COMMIT).
    """
    return db.atomic("DEFERRED") if is_sqlite() else nullcontext()


@contextmanager
def schema_lock():
    """One transaction that only one process at a time may hold: for changing the schema.

    SQLite: the transaction is IMMEDIATE, so it holds the database's write lock. PostgreSQL: a
    transaction-scoped advisory lock, released at commit or rollback.
    """
    with db.connection_context():
        with db.atomic():
            if not is_sqlite():
                db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK_ID,))
            yield


def create_schema(models, seeds=()) -> None:
    """Create missing tables, then run each seed, safely when several processes start at once."""
    with schema_lock():
        db.create_tables(models, safe=True)
        for seed in seeds:  # rows that must always exist, e.g. the Default experiment
            seed()


def _forget_inherited_connection() -> None:
    # A connection opened before a fork must not be shared with the child: drop it unclosed.
    # (Not dispose(): it takes locks that another thread of the parent may have held.)
    if db.obj is not None:
        db.obj._state.reset()
        if isinstance(db.obj, PooledDatabase):  # the pooled ones belong to the parent too
            db.obj._connections, db.obj._in_use = [], {}
        if isinstance(db.obj, QueuedWritersSqliteDatabase):  # so is its place in the queue
            db.obj._threads, db.obj._holding = threading.Lock(), threading.local()
            db.obj._starting = threading.Lock()  # and the checkpoint thread, which stays behind


os.register_at_fork(after_in_child=_forget_inherited_connection)
