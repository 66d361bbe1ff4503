"""Waking a dispatcher when a commit queues deliveries, so that it need not poll for them.

PostgreSQL: a NOTIFY in the queueing transaction, which the server hands to every listening
dispatcher, on any host, at commit (and to none on rollback). SQLite, whose writers all share
one host: after the commit, a datagram to an abstract Unix socket named after the database
file, which one dispatcher of that database binds. A wake-up is only a hint: a dispatcher that
misses one (no channel, a lost connection, a second dispatcher on the same SQLite file) finds
the deliveries at its next safety poll, PODIUM_DISPATCH_POLL_MS.
"""

import hashlib
import logging
import os
import select
import socket
import threading
from collections.abc import Callable

from registry.store.db import db, is_sqlite
from registry.store.failures import first_line

log = logging.getLogger(__name__)

CHANNEL = "podium_deliveries"
# A listener whose connection was lost tries again after this long, doubling up to the cap.
_RECONNECT_SECONDS = (0.25, 2.0)
_CHECK_STOP_SECONDS = 0.5  # how long a listener blocks before looking whether to stop


def deliveries_queued() -> None:
    """Wake the dispatchers once the current transaction commits; call it inside it."""
    if not is_sqlite():
        db.execute_sql(f"NOTIFY {CHANNEL}")
        return
    address = _local_address(db.obj.database)
    if address is not None:
        db.after_commit(lambda: _poke(address))


def _local_address(path: str) -> bytes | None:
    """The abstract socket name for a SQLite database file (Linux); None for :memory:."""
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    digest = hashlib.sha256(os.path.realpath(path).encode()).hexdigest()[:32]
    return b"\0podium-dispatch-" + digest.encode()


_sender: tuple[int, socket.socket] | None = None  # (pid, socket): a forked child makes its own


def _poke(address: bytes) -> None:
    global _sender
    if _sender is None or _sender[0] != os.getpid():
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.setblocking(False)
        _sender = (os.getpid(), sock)
    try:
        _sender[1].sendto(b"!", address)
    except OSError:
        pass  # nobody listens, or its queue is full of wake-ups already: both are fine


class Listener:
    """Calls `wake()` from a thread of its own whenever a commit queued deliveries."""

    def __init__(self, wake: Callable[[], None]):
        self.wake = wake
        self.stopping = threading.Event()
        self.thread = None

    def start(self) -> bool:
        """Open the wake-up channel; False if there is none (the safety poll alone then)."""
        if is_sqlite():
            address = _local_address(db.obj.database)
            if address is None:
                return False
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                sock.bind(address)
            except OSError:  # EADDRINUSE: another dispatcher of this database is woken
                sock.close()
                log.info("another dispatcher on this host is woken by commits; this one polls")
                return False
            sock.settimeout(_CHECK_STOP_SECONDS)
            target = lambda: self._receive(sock)  # noqa: E731
        else:
            target = self._listen
        self.thread = threading.Thread(target=target, name="wakeup", daemon=True)
        self.thread.start()
        return True

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join()

    def _receive(self, sock: socket.socket) -> None:
        with sock:
            while not self.stopping.is_set():
                try:
                    sock.recv(64)
                except TimeoutError:
                    continue
                self._drain(sock)
                self.wake()

    @staticmethod
    def _drain(sock: socket.socket) -> None:
        # A burst of commits leaves many datagrams; one wake-up covers them all.
        sock.setblocking(False)
        try:
            while True:
                sock.recv(64)
        except BlockingIOError:
            pass
        finally:
            sock.settimeout(_CHECK_STOP_SECONDS)

    def _listen(self) -> None:
        delay, lost = _RECONNECT_SECONDS[0], False
        while not self.stopping.is_set():
            try:
                connection = _listening_connection()
            except Exception as error:  # the database is away: the dispatcher says so itself
                if not lost:
                    log.info("wake-up channel unavailable (%s); polling", first_line(error))
                    lost = True
                self.stopping.wait(delay)
                delay = min(delay * 2, _RECONNECT_SECONDS[1])
                continue
            if lost:
                log.info("wake-up channel back")
                lost = False
            delay = _RECONNECT_SECONDS[0]
            self.wake()  # commits made while it was not listening
            try:
                self._wait_for_notifies(connection)
            except Exception as error:
                log.info("wake-up channel lost (%s); polling", first_line(error))
                lost = True
                self.wake()
            finally:
                connection.close()

    def _wait_for_notifies(self, connection) -> None:
        while not self.stopping.is_set():
            readable, _, _ = select.select([connection], [], [], _CHECK_STOP_SECONDS)
            if readable:
                connection.poll()
                if connection.notifies:
                    connection.notifies.clear()
                    self.wake()


def _listening_connection():
    """A connection of its own (not the pool's), in autocommit, listening on CHANNEL."""
    import psycopg2  # only PostgreSQL deployments have it

    connection = psycopg2.connect(dbname=db.obj.database, **db.obj.connect_params)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f"LISTEN {CHANNEL}")
    return connection
