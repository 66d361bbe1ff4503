"""Authentication and permissions: who is asking, and what they may do.

One request hook resolves the caller (identity.py) before any view runs; each route declares
what it requires next to its view with `@access(rule)` (rules.py), and search and list routes
filter their query for the caller (registry.search.permitted). With PODIUM_AUTH=none (or unset,
on a loopback address) every route is open and the hook is not installed.
"""

import logging

from flask import Flask, current_app, g, request

from registry.auth import sessions
from registry.auth.identity import authenticate
from registry.auth.startup import prepare_admin
from registry.errors import PermissionDenied

log = logging.getLogger(__name__)


def enabled(app: Flask | None = None) -> bool:
    return (app or current_app).config["PODIUM_AUTH"] == "basic"


def init_app(app: Flask) -> None:
    """Install the gate when PODIUM_AUTH=basic (creating the bootstrap admin if need be)."""
    if not enabled(app):
        return
    prepare_admin(app.config)
    app.before_request(_gate)


def _is_static(endpoint: str) -> bool:
    return endpoint == "static" or endpoint.endswith(".static")


def _gate():
    endpoint = request.endpoint
    if endpoint is None:  # no such route, or not this method: the same answer for anyone
        return
    rule = getattr(current_app.view_functions[endpoint], "access", None)
    if rule is None and not _is_static(endpoint):
        log.error("the route %s declares no access rule; refused", endpoint)
        raise PermissionDenied("This route declares no access rule, so it is refused.")
    if rule is None or rule.public:
        return
    if rule.browser:  # a UI page: the session, else credentials, else the sign-in page
        user = sessions.session_user()
        if user is None and "Authorization" not in request.headers:
            return sessions.to_sign_in()
        user = user or authenticate()
    else:
        user = authenticate()
    g.user = user
    g.username = user.username  # for the request's log lines
