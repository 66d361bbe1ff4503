"""The `podium` command: serve the registry under gunicorn, or run the webhook dispatcher."""

import argparse
import logging
import os
import signal
import sys
import threading

from gunicorn.app.base import BaseApplication

from registry.config import SETTINGS, load_settings
from registry.serving import gunicorn_settings


class PodiumServer(BaseApplication):
    """gunicorn, configured in code, serving create_app()."""

    def __init__(self, settings: dict):
        self.settings = settings
        super().__init__()

    def load_config(self):
        for key, value in self.settings.items():
            self.cfg.set(key, value)

    def load(self):
        from registry import create_app

        return create_app()


def _settings_help() -> str:
    lines = ["environment variables:"]
    for name, (default, _convert, description) in SETTINGS.items():
        lines.append(f"  PODIUM_{name:<24} {description} (default: {default})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `podium` console script."""
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
    args = parser.parse_args(argv)

    if args.command == "serve":
        settings = gunicorn_settings(host=args.host, port=args.port, workers=args.workers)
        PodiumServer(settings).run()
    elif args.command == "worker":
        run_worker(parent_pid=args.parent_pid)
    return 0


def run_worker(*, parent_pid: int | None = None) -> None:
    """Deliver webhooks until SIGTERM/SIGINT (or until the parent process is gone)."""
    from hooks.dispatcher import Dispatcher
    from registry import db
    from registry.tables import ALL_TABLES, SEEDS

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = load_settings()
    db.setup(settings, ALL_TABLES, SEEDS)
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
