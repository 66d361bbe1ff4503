"""The `podium` command: serve the registry under gunicorn."""

import argparse
import sys

from gunicorn.app.base import BaseApplication

from registry.config import SETTINGS
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
    args = parser.parse_args(argv)

    if args.command == "serve":
        settings = gunicorn_settings(host=args.host, port=args.port, workers=args.workers)
        PodiumServer(settings).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
