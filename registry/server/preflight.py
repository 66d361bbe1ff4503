"""What `podium serve` checks before it starts gunicorn, so a mistake is one line, not a boot loop.

Each worker would find the same problem, print a traceback and exit, and gunicorn would stop with
"Worker failed to boot". Here the settings are read, the database is opened and brought up to
date, and the artifact root is written to once, in the master, before any worker exists; the
first failure becomes a StartupError naming the setting and the fix.
"""

from peewee import ImproperlyConfigured, OperationalError

from registry import store
from registry.artifacts.interface import StoreConfigError
from registry.artifacts.store import open_store
from registry.config import SettingError, load_settings
from registry.errors import PodiumError
from registry.store.check import redacted
from registry.store.db import db
from registry.store.migrations import SchemaTooNew


class StartupError(RuntimeError):
    """Podium cannot start as configured; the message says which setting and what to do."""


def checked_settings() -> dict:
    """The settings, or a StartupError naming the variable that does not parse."""
    try:
        return load_settings()
    except SettingError as error:
        raise StartupError(str(error)) from None


def prepare_database(settings: dict) -> tuple[int, int]:
    """Open PODIUM_DATABASE_URL and bring its schema up to date; the versions before and after."""
    url = redacted(settings["PODIUM_DATABASE_URL"])
    try:
        return store.setup(settings)
    except ImproperlyConfigured:  # peewee's word for a driver that is not installed
        raise StartupError(
            f"PODIUM_DATABASE_URL={url} needs the PostgreSQL driver, which is not installed: "
            "pip install 'podium-registry[postgres]'"
        ) from None
    except ValueError as error:  # an unsupported URL
        raise StartupError(str(error)) from None
    except SchemaTooNew as error:
        raise StartupError(f"PODIUM_DATABASE_URL={url}: {error}") from None
    except OperationalError as error:
        reason = str(error).strip().splitlines()[0]
        raise StartupError(
            f"PODIUM_DATABASE_URL={url}: cannot open the database ({reason}); check that the "
            "server runs and accepts this user, or for SQLite that the directory exists and is "
            "writable"
        ) from None


def check_artifact_root(settings: dict) -> None:
    """Open PODIUM_ARTIFACTS_DESTINATION (creating a directory if need be) and write to it once."""
    root = settings["PODIUM_ARTIFACTS_DESTINATION"]
    try:
        open_store(settings).check()  # a directory is created as the workers would
    except StoreConfigError as error:
        raise StartupError(str(error)) from None
    except OSError as error:
        raise StartupError(
            f"PODIUM_ARTIFACTS_DESTINATION={root!r} cannot be written ({error.strerror}); choose "
            "a directory the service's user may create files in"
        ) from None
    except PodiumError as error:  # an object store that refuses or does not answer
        raise StartupError(f"PODIUM_ARTIFACTS_DESTINATION={root!r}: {error.message}") from None


def check_before_serving() -> dict:
    """Every check `podium serve` makes before gunicorn starts; the settings when all pass."""
    settings = checked_settings()
    # Unpooled, so closing it really ends the session: nothing may cross the fork into the
    # workers, and the master would otherwise hold an idle pooled connection for its lifetime.
    prepare_database({**settings, "PODIUM_DATABASE_POOL_SIZE": 0})
    db.close()
    check_artifact_root(settings)
    return settings
