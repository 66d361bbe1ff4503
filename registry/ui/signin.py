"""The sign-in page and the sign-out button, with PODIUM_AUTH=basic.

A password checked here is held to the same rules as one sent with an API request: argon2,
the failed sign-in limit per user name and address, the same answer for a wrong user name as a
wrong password. With authentication off both routes answer 404.
"""

from flask import abort, redirect, render_template, request, url_for

from registry.auth import enabled, sessions
from registry.auth.identity import check_password
from registry.errors import TooManyAttempts, Unauthenticated
from registry.ui.access import page
from registry.ui.blueprint import bp


def _require_enabled() -> None:
    if not enabled():
        abort(404, "Signing in is not enabled on this server (PODIUM_AUTH is not basic).")


@bp.get("/sign-in")
@page(public=True)
def sign_in():
    _require_enabled()
    return render_template("sign_in.html", username="", error=None, next=_next())


@bp.post("/sign-in")
@page(public=True)
def sign_in_submit():
    _require_enabled()
    username = request.form.get("username", "")
    try:
        user = check_password(username, request.form.get("password", ""))
    except (Unauthenticated, TooManyAttempts) as refused:
        status = 429 if isinstance(refused, TooManyAttempts) else 401
        html = render_template(
            "sign_in.html", username=username, error=refused.message, next=_next()
        )
        return html, status
    sessions.begin(user)
    return redirect(_next(), 303)


@bp.post("/sign-out")
@page
def sign_out():
    _require_enabled()
    sessions.end()
    return redirect(url_for("ui.sign_in"), 303)


def _next() -> str:
    """Where to go after signing in: a path on this site only, never another origin."""
    target = request.values.get("next", "/")
    safe = target.startswith("/") and not target.startswith(("//", "/\\"))
    return target if safe else "/"
