"""Who is asking: HTTP Basic credentials (as the MLflow client sends them) or a bearer token.

Checking a password with argon2 costs tens of milliseconds by design, so a request must not pay
it every time. Each process remembers the passwords it verified, keyed by a keyed hash, with the
user's credential version at the time; every request still reads the user's row (one indexed
lookup) and trusts the memory only while the version matches. A password change, an admin
change or a deletion (no row) therefore takes effect on every process at once.
"""

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict

from flask import current_app, request

from registry.auth import login_limits
from registry.errors import Unauthenticated
from registry.services import tokens
from registry.services.passwords import verify_password
from registry.services.users import find_user
from registry.store.tables.auth import User

CACHE_SIZE = 4096
CACHE_SECONDS = 300


class VerifiedPasswords:
    """The passwords this process verified recently, as keyed hashes, never in clear."""

    def __init__(self, size: int = CACHE_SIZE, seconds: float = CACHE_SECONDS):
        self._key = secrets.token_bytes(32)  # per process: nothing to steal from a dump
        self._size, self._seconds = size, seconds
        self._entries: OrderedDict[bytes, tuple[int, int, float]] = OrderedDict()
        self._lock = threading.Lock()

    def _fingerprint(self, username: str, password: str, address: str) -> bytes:
        # The address too: a password verified for one client is no shortcut past the sign-in
        # limit for another, who would otherwise learn from a 200 that a guess was right.
        message = f"{username}\0{password}\0{address}".encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def holds(self, user: User, password: str, address: str) -> bool:
        fingerprint = self._fingerprint(user.username, password, address)
        with self._lock:
            entry = self._entries.get(fingerprint)
        if entry is None:
            return False
        user_id, version, expires = entry
        return (
            user_id == user.id and version == user.credential_version and expires > time.monotonic()
        )

    def remember(self, user: User, password: str, address: str) -> None:
        fingerprint = self._fingerprint(user.username, password, address)
        entry = (user.id, user.credential_version, time.monotonic() + self._seconds)
        with self._lock:
            self._entries[fingerprint] = entry
            self._entries.move_to_end(fingerprint)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


verified = VerifiedPasswords()


def authenticate() -> User:
    """The user the request's credentials name, or Unauthenticated (401)."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        user = tokens.user_of_token(value.strip())
        if user is None:
            raise Unauthenticated("The access token is unknown, revoked or expired.")
        return user
    credentials = request.authorization if scheme.lower() == "basic" else None
    if credentials is None or credentials.username is None:
        raise Unauthenticated("Authentication required: send a user name and password.")
    return check_password(credentials.username, credentials.password or "")


def check_password(username: str, password: str) -> User:
    """The user these credentials prove; Unauthenticated, or TooManyAttempts past the limit."""
    user = find_user(username)
    address = request.remote_addr or ""
    if user is not None and verified.holds(user, password, address):
        return user
    settings = current_app.config
    window = settings["PODIUM_LOGIN_WINDOW"]
    login_limits.check(username, address, attempts=settings["PODIUM_LOGIN_ATTEMPTS"], window=window)
    # A user that does not exist costs the same argon2 verification as a wrong password.
    if verify_password(user.password_hash if user else None, password) and user is not None:
        verified.remember(user, password, address)
        return user
    login_limits.record_failure(username, address, window=window)
    raise Unauthenticated("Invalid username or password.")
