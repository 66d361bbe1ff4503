"""The gunicorn master's first check: never serve the network without authentication by
accident, and never `PODIUM_AUTH=basic` with nobody able to sign in.

Runs as gunicorn's on_starting hook, before anything listens, for `podium serve` and
`gunicorn -c deploy/gunicorn.conf.py` alike, with the addresses gunicorn will really bind
(command-line overrides included). A refusal is one line on stderr and exit status 2.
"""

import logging
import sys

from registry import store
from registry.auth.startup import AuthConfigurationError, check_exposure, prepare_admin
from registry.config import SettingError, load_settings
from registry.store.db import db
from registry.store.failures import DATABASE_ERRORS
from registry.store.secrets import SecretKeyError

log = logging.getLogger(__name__)


def refuse_unsafe_exposure(server) -> None:
    """gunicorn on_starting hook."""
    try:
        settings = load_settings()
        mode = check_exposure(settings, list(server.cfg.bind))
        if mode == "basic":
            _check_admin(settings)
    except (AuthConfigurationError, SettingError, SecretKeyError) as error:
        print(f"podium: {error}", file=sys.stderr)
        sys.exit(2)


def _check_admin(settings: dict) -> None:
    try:
        # Unpooled, and closed again: no connection may cross the fork into the workers.
        store.setup({**settings, "PODIUM_DATABASE_POOL_SIZE": 0})
        prepare_admin(settings)
    except DATABASE_ERRORS as error:
        # The workers wait for the database and check again once it answers.
        log.warning("cannot check for an admin account now (%s)", str(error).strip()[:200])
    finally:
        db.close()
