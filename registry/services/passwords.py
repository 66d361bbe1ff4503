"""Password hashing: argon2id, memory-hard, with its parameters stored in each hash."""

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from registry.store.tables.auth import MAX_PASSWORD

_hasher = PasswordHasher()  # argon2-cffi's defaults: RFC 9106's second recommendation

MIN_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; with no hash (an unknown user) it costs the same time."""
    try:
        return _hasher.verify(password_hash or _unknown_user_hash(), password) and bool(
            password_hash
        )
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _unknown_user_hash() -> str:
    # Verifying against this makes a wrong user name take as long as a wrong password.
    return _hasher.hash("no user has this password")


def password_problem(password: object) -> str | None:
    """Why `password` cannot be set, or None."""
    if not isinstance(password, str) or not password:
        return "Password cannot be empty."
    if len(password) < MIN_LENGTH:
        return f"Password must be at least {MIN_LENGTH} characters long."
    if len(password) > MAX_PASSWORD:
        return f"Password must be at most {MAX_PASSWORD} characters long."
    return None
