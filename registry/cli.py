"""The `podium` command: serve, deliver webhooks, migrate and check the database, export, import,
user accounts, and the keys that encrypt webhook secrets."""

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

from registry.config import SETTINGS
from registry.server.application import PodiumServer
from registry.server.preflight import (
    StartupError,
    check_before_serving,
    checked_settings,
    prepare_database,
)


def _settings_help() -> str:
    lines = ["environment variables:"]
    for name, (default, _convert, description) in SETTINGS.items():
        lines.append(f"  PODIUM_{name:<24} {description} (default: {default})")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """Every `podium` command and option."""
    parser = argparse.ArgumentParser(prog="podium", description="Podium model registry")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the registry under gunicorn",
        epilog=_settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", help="address to bind (default: PODIUM_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default: PODIUM_PORT or 5000)")
    serve.add_argument(
        "--workers", type=int, help="worker processes (default: PODIUM_WORKERS or 2)"
    )
    worker = commands.add_parser(
        "worker",
        help="run the webhook dispatcher alone (for deployments with PODIUM_DISPATCHER=false)",
        epilog=_settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    worker.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)
    database = commands.add_parser("db", help="schema and health of PODIUM_DATABASE_URL")
    database_commands = database.add_subparsers(dest="db_command", required=True)
    database_commands.add_parser("upgrade", help="apply missing schema migrations")
    database_commands.add_parser(
        "check",
        help="report settings, schema version, row counts and whether the artifact store is "
        "writable; exit 1 unless ready to serve",
    )
    export = commands.add_parser("export", help="write the whole registry to a directory")
    export.add_argument("directory", type=Path, help="a new or empty directory")
    load = commands.add_parser("import", help="load an export into an empty database")
    load.add_argument("directory", type=Path, help="a directory written by `podium export`")
    accounts = commands.add_parser("users", help="user accounts, for PODIUM_AUTH=basic")
    accounts_commands = accounts.add_subparsers(dest="users_command", required=True)
    create = accounts_commands.add_parser(
        "create", help="create a user; the password is prompted for, or read from stdin"
    )
    create.add_argument("username")
    create.add_argument("--admin", action="store_true", help="make the user an admin")
    keys = commands.add_parser("secrets", help="the keys that encrypt webhook secrets at rest")
    keys_commands = keys.add_subparsers(dest="secrets_command", required=True)
    keys_commands.add_parser("new-key", help="print a new random key for PODIUM_SECRET_KEY")
    keys_commands.add_parser(
        "rotate",
        help="re-encrypt every stored secret with the first key, so the others can be dropped",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `podium` console script."""
    from registry.store.secrets import SecretKeyError

    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except (StartupError, SecretKeyError) as error:
        print(f"podium: {error}", file=sys.stderr)
        return 2


def _run(args) -> int:
    if args.command == "serve":
        check_before_serving()
        PodiumServer(_serve_overrides(args)).run()
    elif args.command == "worker":
        run_worker(parent_pid=args.parent_pid)
    elif args.command == "db":
        return run_db_command(args.db_command)
    elif args.command == "secrets":
        return run_secrets_command(args.secrets_command)
    elif args.command == "users":
        return run_users_command(args.username, admin=args.admin)
    else:
        return run_transfer(args.command, args.directory)
    return 0


def run_users_command(username: str, *, admin: bool) -> int:
    """`podium users create [--admin] NAME`: offline, straight into the database."""
    import getpass

    from registry.errors import PodiumError
    from registry.services import users
    from registry.store.db import db

    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {username}: ")
        if getpass.getpass("again: ") != password:
            raise StartupError("the two passwords differ; nothing was created")
    else:
        password = sys.stdin.readline().rstrip("\n")
    prepare_database(checked_settings())
    try:
        with db.connection_context():
            users.create_user(username=username, password=password, is_admin=admin)
    except PodiumError as error:
        raise StartupError(error.message) from None
    print(f"created {'the admin' if admin else 'the user'} {username}")
    return 0


def run_secrets_command(command: str) -> int:
    """`podium secrets new-key` and `podium secrets rotate`."""
    from registry import store
    from registry.store import secrets
    from registry.store.db import db
    from registry.store.tables import ALL_TABLES

    if command == "new-key":
        print(secrets.new_key())
        return 0
    store.setup(checked_settings())
    with db.connection_context(), db.atomic():
        count = secrets.reencrypt(ALL_TABLES)
    print(f"re-encrypted {count} stored secrets with the first key")
    return 0


def _serve_overrides(args) -> dict:
    """gunicorn settings named on the command line, which win over the configuration file."""
    overrides = {}
    if args.host or args.port:
        settings = checked_settings()
        overrides["bind"] = (
            f"{args.host or settings['PODIUM_HOST']}:{args.port or settings['PODIUM_PORT']}"
        )
    if args.workers:
        overrides["workers"] = args.workers
    return overrides


def run_db_command(command: str) -> int:
    """`podium db upgrade` and `podium db check`."""
    from registry.artifacts.store import check_store
    from registry.store.check import check_database
    from registry.store.tables import ALL_TABLES

    settings = checked_settings()
    if command == "check":
        store_ready = check_store(settings)  # first: the database's report ends with its rows
        return 0 if check_database(settings, ALL_TABLES) and store_ready else 1
    before, after = prepare_database(settings)
    print(f"schema version {after}" + (f" (was {before})" if before != after else ": up to date"))
    return 0


def run_transfer(command: str, directory: Path) -> int:
    """`podium export DIR` and `podium import DIR`, on PODIUM_DATABASE_URL."""
    from registry import store
    from registry.store import transfer
    from registry.store.tables import ALL_TABLES, SEEDS

    settings = checked_settings()
    started = time.monotonic()
    try:
        if command == "export":
            store.setup(settings)
            manifest = transfer.export_registry(directory, ALL_TABLES)
        else:
            # The schema without the seed rows: the export has them.
            store.setup(settings, seeded=False)
            manifest = transfer.import_registry(directory, ALL_TABLES, SEEDS)
    except transfer.TransferError as error:
        print(f"podium {command}: {error}", file=sys.stderr)
        return 1
    rows = sum(table["rows"] for table in manifest["tables"])
    verb = "exported to" if command == "export" else "imported from"
    seconds = time.monotonic() - started
    print(
        f"{rows} rows in {len(manifest['tables'])} tables {verb} {directory} "
        f"in {seconds:.1f} s ({rows / max(seconds, 0.001):,.0f} rows/s)"
    )
    return 0


def run_worker(*, parent_pid: int | None = None) -> None:
    """Deliver webhooks until SIGTERM/SIGINT (or until the parent process is gone)."""
    from hooks.dispatcher import Dispatcher
    from registry.metrics import database as database_time
    from registry.server import logs
    from registry.store.db import db

    settings = checked_settings()
    logs.configure(settings["PODIUM_LOG_FORMAT"])
    prepare_database(settings)
    database_time.instrument(db.obj)  # its claims queue for SQLite's write lock too
    if not parent_pid and settings["PODIUM_WORKER_METRICS_PORT"]:
        # Alone (not beside gunicorn, whose /metrics adds this process in), it has no web
        # server to be scraped through: its delivery counters get a port of their own.
        from prometheus_client import start_http_server

        start_http_server(settings["PODIUM_WORKER_METRICS_PORT"], addr=settings["PODIUM_HOST"])
    dispatcher = Dispatcher(settings)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: dispatcher.stop())
    if parent_pid:
        threading.Thread(
            target=_stop_when_orphaned, args=(parent_pid, dispatcher), daemon=True
        ).start()
    dispatcher.run()


def _stop_when_orphaned(parent_pid: int, dispatcher) -> None:
    # Started by gunicorn's master: if the master dies (even by SIGKILL), stop too.
    while not dispatcher.stopping.wait(1.0):
        if os.getppid() != parent_pid:
            dispatcher.stop()


if __name__ == "__main__":
    sys.exit(main())
