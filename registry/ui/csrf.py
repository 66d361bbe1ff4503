"""CSRF tokens: one random token per browser session, in Flask's signed session cookie.

Every form carries it in a hidden field; a POST whose field does not match is refused with 400
before its view runs, so it changes nothing.
"""

import hashlib
import hmac
import secrets

from flask import Flask, abort, request, session
from flask.sessions import SecureCookieSessionInterface

FIELD = "csrf_token"
_PURPOSE = b"podium-ui-session"


def token() -> str:
    """This session's token, made on first use."""
    if FIELD not in session:
        session[FIELD] = secrets.token_urlsafe(32)
    return session[FIELD]


def check() -> None:
    """Abort with 400 unless the form's token matches the session's."""
    sent, held = request.form.get(FIELD, ""), session.get(FIELD, "")
    if not held or not hmac.compare_digest(sent.encode(), held.encode()):
        abort(
            400,
            "The form has expired or did not come from this site (CSRF token missing or"
            " wrong). Reload the page and try again.",
        )


class _SessionCookies(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, marked Secure whenever the request came over HTTPS
    (directly, or by X-Forwarded-Proto from a proxy PODIUM_FORWARDED_ALLOW_IPS trusts)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure or super().get_cookie_secure(app)

    def open_session(self, app: Flask, request):
        # API clients send no cookie: they get an empty session without Flask building its
        # signing serializer first (8% of a get_version request's time, by py-spy).
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)


def configure(app: Flask, key: str) -> None:
    """Sign sessions with a key derived from Podium's secret key, the same in every worker."""
    app.secret_key = hmac.new(key.encode(), _PURPOSE, hashlib.sha256).hexdigest()
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_NAME"] = "podium_session"
    app.session_interface = _SessionCookies()
