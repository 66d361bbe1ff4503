"""Personal access tokens: a name, an optional expiry, the time last used; only a hash is kept.

The token itself is shown once, at creation. Clients send it as `Authorization: Bearer ...`
(the MLflow client does when MLFLOW_TRACKING_TOKEN is set).
"""

import hashlib
import secrets

from registry.errors import InvalidParameter, PermissionDenied, ResourceDoesNotExist
from registry.store.db import db, reading
from registry.store.failures import retry_conflicts
from registry.store.statements import statement
from registry.store.tables.auth import AccessToken, User
from registry.store.tables.base import now_ms

PREFIX = "pdm_"  # recognisable in a leaked log or a secret scanner
MAX_TOKENS_PER_USER = 100
MAX_DAYS = 3650
DAY_MS = 86_400_000
# last_used is a write: on a token used many times a second, refresh it at most this often.
LAST_USED_RESOLUTION_MS = 60_000


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(*, user: User, name: str, expires_in_days: int | None = None) -> dict:
    """A new token for `user`: its secret (shown this once) and what is kept of it."""
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_DAYS:
        raise InvalidParameter(f"expires_in_days must be between 1 and {MAX_DAYS}.")
    token = PREFIX + secrets.token_urlsafe(32)
    created = now_ms()
    with db.atomic():
        if AccessToken.select().where(AccessToken.user == user.id).count() >= MAX_TOKENS_PER_USER:
            raise InvalidParameter(
                f"A user may hold at most {MAX_TOKENS_PER_USER} tokens; revoke some first."
            )
        info = AccessToken.create(
            user=user.id,
            name=name,
            digest=digest(token),
            created=created,
            expires=created + expires_in_days * DAY_MS if expires_in_days else None,
        )
    return {"token": token, "token_info": info}


def list_tokens(*, user: User) -> list[AccessToken]:
    with reading():
        query = AccessToken.select().where(AccessToken.user == user.id)
        return list(query.order_by(AccessToken.created, AccessToken.id))


@retry_conflicts
def revoke_token(*, token_id: int, acting: User) -> None:
    """Revoke a token of one's own; admins may revoke anyone's."""
    if not 0 < token_id < 2**63:  # an id from the URL, unbounded until here
        raise ResourceDoesNotExist(f"Token with id={token_id} not found")
    with db.atomic():
        found = AccessToken.get_or_none(AccessToken.id == token_id)
        if found is None or (found.user_id != acting.id and not acting.is_admin):
            raise ResourceDoesNotExist(f"Token with id={token_id} not found")
        found.delete_instance()


@statement
def _token_by_digest(token_digest):
    return AccessToken.select().where(AccessToken.digest == token_digest).limit(1)


@statement
def _user_by_id(user_id):
    return User.select().where(User.id == user_id).limit(1)


def user_of_token(token: str) -> User | None:
    """The user a live token belongs to, or None (unknown, revoked or expired)."""
    now = now_ms()
    with reading():
        found = _token_by_digest.first(digest(token))
        if found is None or (found.expires is not None and found.expires <= now):
            return None
        user = _user_by_id.first(found.user_id)
    if found.last_used is None or now - found.last_used > LAST_USED_RESOLUTION_MS:
        with db.atomic():
            AccessToken.update(last_used=now).where(AccessToken.id == found.id).execute()
    return user


def require_own(user: User | None) -> User:
    if user is None:
        raise PermissionDenied("Tokens belong to users: sign in to manage them.")
    return user
