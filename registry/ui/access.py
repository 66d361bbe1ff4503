"""Every access decision of the web UI, in one place: who is signed in and what they may do.

The auth package decides (registry/auth): with authentication off, nobody is signed in and
everything is allowed. Templates call `may` to leave out controls the user may not use, and
views call it again before acting, so hiding a button is never the only guard. The levels are
the API's: a page shows and does exactly what the same user could through the API.
"""

import functools

from flask import abort

from registry.auth.rules import PAGE, PUBLIC_PAGE, default_level, viewer
from registry.auth.rules import acting_user as _signed_in
from registry.services.grants import level_of
from registry.store.tables.auth import LEVELS

__all__ = ["acting_user", "may", "page", "require", "viewer"]

LEVELS_SHOWN = ("READ", "EDIT", "MANAGE", "ADMIN")


def acting_user() -> str | None:
    """The signed-in user's name, or None when nobody is signed in."""
    user = _signed_in()
    return user.username if user is not None else None


def may(level: str, *, model: str | None = None, experiment_id: str | None = None) -> bool:
    """Whether the acting user holds `level` on the model, experiment, or (neither) registry."""
    if level not in LEVELS_SHOWN:
        raise ValueError(f"unknown access level {level!r}")
    user = _signed_in()
    if user is None or user.is_admin:  # authentication off, or an admin
        return True
    if level == "ADMIN":
        return False
    if model is not None:
        held = level_of(user, "registered_model", model, default=default_level())
    elif experiment_id is not None:
        held = level_of(user, "experiment", str(experiment_id), default=default_level())
    else:  # the registry as a whole: anyone signed in may look and create
        return level == "READ" or level == "EDIT"
    return held >= LEVELS[level]


def require(level: str, **resource) -> None:
    """Refuse the request unless the acting user holds `level` on the resource: a resource they
    may not even read answers 404, as the API does, so names do not leak."""
    if not may(level, **resource):
        abort(404 if not may("READ", **resource) else 403)


def page(view=None, *, public: bool = False):
    """Mark a UI view: signed in (strangers go to the sign-in page), or public (sign-in)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(**kwargs):
            return view(**kwargs)

        wrapper.ui_page = True
        wrapper.access = PUBLIC_PAGE if public else PAGE
        return wrapper

    return decorate(view) if view is not None else decorate
