"""A private PostgreSQL server for tests that stop, kill and restart the database under Podium.

Made with initdb in a temporary directory and run with pg_ctl on a free port, as the `postgres`
user when the tests run as root (PostgreSQL refuses to run as root).
"""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _binaries() -> str:
    """The directory holding initdb and pg_ctl, or "" if PostgreSQL's server is not installed."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return os.path.dirname(os.path.realpath(found))
    # Debian and Ubuntu keep the server binaries off PATH, one directory per major version.
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return os.path.dirname(candidates[0]) if candidates else ""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unavailable_reason() -> str:
    """Why a private cluster cannot be made here; "" when it can."""
    if not _binaries():
        return "needs PostgreSQL's server binaries (initdb, pg_ctl)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root needs a `postgres` user to run the server as"
    return ""


class PrivateCluster:
    """initdb + pg_ctl on a free loopback port; stop(), kill() and start() it at will."""

    def __init__(self):
        self.bin = _binaries()
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.directory = Path(tempfile.mkdtemp(prefix="podium-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "server.log"
        self.user = "postgres" if os.geteuid() == 0 else None
        self.process = None
        if self.user:
            entry = pwd.getpwnam(self.user)
            os.chown(self.directory, entry.pw_uid, entry.pw_gid)
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--no-sync", "--no-instructions",
        )  # fmt: skip

    def _run(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [os.path.join(self.bin, program), *args],
            user=self.user,
            capture_output=True,
            text=True,
            check=check,
            timeout=60,
            cwd=self.directory,
        )

    def start(self) -> "PrivateCluster":
        """Run the server (a child of this process, so no zombie keeps its pid) until it answers."""
        import psycopg2

        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [
                    os.path.join(self.bin, "postgres"), "-D", str(self.data), "-p", str(self.port),
                    "-c", "listen_addresses=127.0.0.1", "-k", str(self.directory),
                    "-c", "fsync=off", "-c", "max_connections=60",
                ],
                user=self.user,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"PostgreSQL exited at start:\n{self.log.read_text()}")
            try:
                psycopg2.connect(self.url, connect_timeout=2).close()
                return self
            except psycopg2.OperationalError:  # starting, or recovering from a crash
                time.sleep(0.05)
        raise RuntimeError(f"PostgreSQL did not start:\n{self.log.read_text()}")

    def stop(self, mode: str = "fast") -> None:
        """A clean shutdown: `fast` ends the sessions; `immediate` aborts like a crash would."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT if mode == "fast" else signal.SIGQUIT)
        self.process.wait(timeout=60)

    def kill(self) -> None:
        """SIGKILL the postmaster and every server process: a crash, with recovery at start."""
        processes = _children(self.process.pid)
        self.process.kill()
        for pid in processes:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(timeout=60)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in processes):
            if time.monotonic() > deadline:
                raise RuntimeError("server processes outlived SIGKILL")
            time.sleep(0.05)

    def create_database(self, name: str) -> str:
        """A new database on this server; its URL."""
        import psycopg2

        admin = psycopg2.connect(self.url)
        admin.autocommit = True
        try:
            with admin.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            admin.close()
        return self.url.rsplit("/", 1)[0] + "/" + name

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):  # not a process, or gone meanwhile
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
