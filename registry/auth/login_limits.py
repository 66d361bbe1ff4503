"""Failed sign-ins, counted per user name and address, so passwords cannot be guessed at speed.

Past PODIUM_LOGIN_ATTEMPTS failures within PODIUM_LOGIN_WINDOW seconds, that user name from
that address is answered 429 until the oldest failure leaves the window. Counted in the
database, so every worker and host shares the count; the real user, from their own address,
is never locked out by someone else's guessing, and nobody is locked out for longer than the
window.
"""

import hashlib

from peewee import fn

from registry.errors import TooManyAttempts
from registry.store.db import db
from registry.store.tables.auth import LoginFailure
from registry.store.tables.base import now_ms


def _key(username: str, address: str) -> str:
    return hashlib.sha256(f"{username}\0{address}".encode()).hexdigest()


def check(username: str, address: str, *, attempts: int, window: int) -> None:
    """Raise TooManyAttempts while this user name from this address has failed too often."""
    since = now_ms() - window * 1000
    recent = LoginFailure.select(fn.COUNT(LoginFailure.id), fn.MIN(LoginFailure.at)).where(
        (LoginFailure.key == _key(username, address)) & (LoginFailure.at > since)
    )
    count, oldest = recent.tuples().get()
    if count >= attempts:
        retry_after = max(1, -(-(oldest - since) // 1000))
        raise TooManyAttempts(
            f"Too many failed sign-ins for this user from this address; try again in "
            f"{retry_after} seconds.",
            retry_after=retry_after,
        )


def record_failure(username: str, address: str, *, window: int) -> None:
    """Count one failure, dropping this key's failures that left the window."""
    key, now = _key(username, address), now_ms()
    with db.atomic():
        LoginFailure.delete().where(
            (LoginFailure.key == key) & (LoginFailure.at <= now - window * 1000)
        ).execute()
        LoginFailure.create(key=key, at=now)
