"""Browser sessions for the web UI: a password proves who you are once, then a signed cookie.

The cookie (Flask's session, signed with a key derived from PODIUM_SECRET_KEY, HttpOnly,
SameSite=Lax) holds the user's id and credential version. Every request reads the user's row,
so a password change, an admin change or a deletion ends the user's sessions on every worker.
"""

from flask import redirect, request, session, url_for

from registry.services.users import find_user_by_id
from registry.store.tables.auth import User

_KEY = "user"


def begin(user: User) -> None:
    """Sign `user` in: a fresh session (and with it a fresh CSRF token)."""
    session.clear()
    session[_KEY] = [user.id, user.credential_version]


def end() -> None:
    session.clear()


def session_user() -> User | None:
    """The user this browser signed in as, while their credentials are unchanged."""
    held = session.get(_KEY)
    if not isinstance(held, list) or len(held) != 2:
        return None
    user = find_user_by_id(held[0])
    if user is None or user.credential_version != held[1]:
        return None
    return user


def to_sign_in():
    """The answer to a stranger on a UI page: the sign-in page, then back here."""
    target = request.full_path if request.method == "GET" else request.path
    return redirect(url_for("ui.sign_in", next=target.rstrip("?")), 303)
