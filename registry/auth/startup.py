"""The checks a server makes before it serves: never open to the network by accident, and never
`basic` with nobody able to sign in."""

import ipaddress
import logging

from registry.errors import InvalidParameter, ResourceAlreadyExists
from registry.services.users import ensure_admin
from registry.store.db import db
from registry.store.tables.auth import User

log = logging.getLogger(__name__)


class AuthConfigurationError(RuntimeError):
    """The authentication settings cannot serve as given; the message names the fix."""


def _loopback(bind: str) -> bool:
    if bind.startswith(("unix:", "fd://")):  # a socket only this host's processes reach
        return True
    host = bind.rsplit(":", 1)[0] if ":" in bind else bind
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def check_exposure(settings: dict, binds: list[str]) -> str:
    """The authentication mode to serve `binds` with; refuse an unset mode off loopback."""
    mode = settings["PODIUM_AUTH"]
    exposed = [bind for bind in binds if not _loopback(bind)]
    if mode == "none" and exposed:
        log.warning(
            "PODIUM_AUTH=none on %s: anyone who reaches it may change or delete anything",
            ", ".join(exposed),
        )
    if mode:
        return mode
    if exposed:
        raise AuthConfigurationError(
            f"refusing to listen on {exposed[0]} without authentication: set PODIUM_AUTH=basic "
            "(with PODIUM_ADMIN_USERNAME and PODIUM_ADMIN_PASSWORD for the first admin), or "
            "PODIUM_AUTH=none to serve it open on purpose"
        )
    return "none"


def prepare_admin(settings: dict) -> None:
    """With PODIUM_AUTH=basic: create the bootstrap admin if none exists, or refuse to start
    when there is no admin and nothing to create one from. Needs an open database."""
    if settings["PODIUM_AUTH"] != "basic":
        return
    username, password = settings["PODIUM_ADMIN_USERNAME"], settings["PODIUM_ADMIN_PASSWORD"]
    if username and not password:
        raise AuthConfigurationError(
            "PODIUM_ADMIN_USERNAME is set without PODIUM_ADMIN_PASSWORD: give the first admin a "
            "password (from a secret)"
        )
    with db.connection_context():
        if username:
            try:
                if ensure_admin(username=username, password=password):
                    log.info("created the admin %s (PODIUM_ADMIN_USERNAME)", username)
            except ResourceAlreadyExists:  # another worker created it a moment ago
                pass
            except InvalidParameter as error:  # a bad name, a short password
                raise AuthConfigurationError(
                    f"PODIUM_ADMIN_USERNAME/PASSWORD: {error.message}"
                ) from None
            return
        has_admin = User.select().where(User.is_admin == True).exists()  # noqa: E712 (peewee)
    if not has_admin:
        raise AuthConfigurationError(
            "PODIUM_AUTH=basic needs an admin to sign in with: set PODIUM_ADMIN_USERNAME and "
            "PODIUM_ADMIN_PASSWORD, or run `podium users create --admin NAME` first"
        )
