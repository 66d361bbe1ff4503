"""Every access decision of the web UI, in one place: who is signed in and what they may do.

Today nobody signs in and everything is allowed; the auth package replaces these bodies.
Templates call `may` to leave out controls the user may not use, and views call it again
before acting, so hiding a button is never the only guard.
"""

import functools

from flask import abort

LEVELS = ("READ", "EDIT", "MANAGE", "ADMIN")


def acting_user() -> str | None:
    """The signed-in user's name, or None when nobody is signed in."""
    return None


def may(level: str, *, model: str | None = None, experiment_id: str | None = None) -> bool:
    """Whether the acting user holds `level` on the model, experiment, or (neither) registry."""
    if level not in LEVELS:
        raise ValueError(f"unknown access level {level!r}")
    return True


def require(level: str, **resource) -> None:
    """Refuse the request (403) unless the acting user holds `level` on the resource."""
    if not may(level, **resource):
        abort(403)


def page(view):
    """Mark a UI view; where the sign-in redirect will go once the UI has users."""

    @functools.wraps(view)
    def wrapper(**kwargs):
        return view(**kwargs)

    wrapper.ui_page = True
    return wrapper
