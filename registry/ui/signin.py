"""The sign-in page and the sign-out button, off until the auth package is wired in.

While ENABLED is false both routes answer 404. The auth wiring sets it, and replaces
`check_credentials` and `forget` with the real ones (and access.acting_user reads the result).
"""

from flask import abort, redirect, render_template, request, session, url_for

from registry.ui.access import page
from registry.ui.blueprint import bp

ENABLED = False
USER_KEY = "user"


def check_credentials(username: str, password: str) -> str | None:
    """The user name the credentials prove, or None. Today nothing is proven."""
    return None


def forget() -> None:
    """End the signed-in session."""
    session.pop(USER_KEY, None)


def _require_enabled() -> None:
    if not ENABLED:
        abort(404, "Signing in is not enabled on this server.")


@bp.get("/sign-in")
@page
def sign_in():
    _require_enabled()
    return render_template("sign_in.html", username="", error=None, next=_next())


@bp.post("/sign-in")
@page
def sign_in_submit():
    _require_enabled()
    username = request.form.get("username", "")
    user = check_credentials(username, request.form.get("password", ""))
    if user is None:
        html = render_template(
            "sign_in.html", username=username, error="Wrong username or password.", next=_next()
        )
        return html, 401
    session.clear()  # a fresh session (and CSRF token) for the signed-in user
    session[USER_KEY] = user
    return redirect(_next(), 303)


@bp.post("/sign-out")
@page
def sign_out():
    _require_enabled()
    forget()
    return redirect(url_for("ui.sign_in"), 303)


def _next() -> str:
    """Where to go after signing in: a path on this site only, never another origin."""
    target = request.values.get("next", "/")
    return target if target.startswith("/") and not target.startswith("//") else "/"
