"""Podium's settings: read once from PODIUM_* environment variables, with documented defaults."""

import os

# name -> (default, converter, description). The README and `podium serve --help` list these.
SETTINGS = {
    "DATABASE_URL": (
        "sqlite:///podium.db",
        str,
        "sqlite:///path/to/file.db or postgresql://user@host:5432/db",
    ),
    "ARTIFACTS_DESTINATION": ("./podium-artifacts", str, "directory that holds uploaded artifacts"),
    "HOST": ("127.0.0.1", str, "address `podium serve` binds to"),
    "PORT": (5000, int, "port `podium serve` binds to"),
    "WORKERS": (2, int, "gunicorn worker processes"),
    "MAX_REQUEST_BYTES": (
        16 * 1024 * 1024,
        int,
        "largest JSON request body accepted (artifact uploads are exempt)",
    ),
    "SQLITE_BUSY_TIMEOUT_MS": (30000, int, "how long a SQLite writer waits for the write lock"),
    "ALLOW_LOCAL_SOURCES": (
        False,
        lambda value: str(value).strip().lower() in ("1", "true", "yes", "on"),
        "accept plain paths and file: URIs as model version sources",
    ),
}


def load_settings(environ=None) -> dict:
    """Return every setting as a Flask config entry named PODIUM_<NAME>."""
    environ = os.environ if environ is None else environ
    config = {}
    for name, (default, convert, _description) in SETTINGS.items():
        raw = environ.get("PODIUM_" + name)
        config["PODIUM_" + name] = default if raw in (None, "") else convert(raw)
    return config
